package platformsettings

import (
	"fmt"
	"sort"
	"strings"
)

// FromSecret makes the settings of a Secret whose keys are the platform's setting names
// (BLOBSTORE_TYPE, SMART_DOCKER_PASSWORD, ...) and whose values are written as the
// platform's PAAS_ environment variables are: each is read as Dynaconf reads
// PAAS_<key>, so a dict is an inline TOML table or @json. A key with a PAAS_ prefix is
// taken as it is. Sources name the Secret and key, never a value.
func FromSecret(name string, data map[string][]byte) (*Settings, error) {
	env := &Env{Vars: make(map[string]Var, len(data))}
	for key, value := range data {
		envName := key
		if !strings.HasPrefix(key, Prefix+"_") {
			envName = Prefix + "_" + key
		}
		env.Vars[envName] = Var{Value: string(value), Known: true, Source: fmt.Sprintf("Secret %s key %s", name, key)}
	}
	return FromEnv(env)
}

// Store types, as blue-krill's StoreType names them (paasng/utils/blobstore.py).
const (
	StoreBKRepo = "bkrepo"
	StoreS3     = "s3"
)

// BlobStore is the platform's blob store for source packages, as make_blob_store builds
// it for BLOBSTORE_BUCKET_AP_PACKAGES (paasng/utils/blobstore.py, settings/__init__.py).
type BlobStore struct {
	// Type is StoreBKRepo or StoreS3 (detect_default_blob_store).
	Type string
	// Endpoint, Project, Username, Password: BLOBSTORE_BKREPO_CONFIG's ENDPOINT,
	// PROJECT, USERNAME, PASSWORD; for S3, BLOBSTORE_S3_ENDPOINT, ACCESS_KEY and
	// SECRET_KEY (no project).
	Endpoint, Project, Username, Password string
	// Region and SignatureVersion: BLOBSTORE_S3_REGION_NAME and _SIG_VERSION.
	Region, SignatureVersion string
	// Bucket is BLOBSTORE_BUCKET_AP_PACKAGES.
	Bucket string
	// Sources says which settings gave it, never a value.
	Sources string
}

// BlobStore reads the blob store settings with the platform's defaults. A missing
// BLOBSTORE_BKREPO_CONFIG key is a *Missing (the platform raises KeyError).
func (s *Settings) BlobStore() (*BlobStore, error) {
	r := settingReader{s: s}
	store := &BlobStore{Bucket: r.str("BLOBSTORE_BUCKET_AP_PACKAGES", "bkpaas3-source-packages")}
	// detect_default_blob_store: an explicit s3/bkrepo type, else bkrepo when
	// BLOBSTORE_BKREPO_CONFIG is truthy, else s3.
	storeType := r.str("BLOBSTORE_TYPE", "")
	bkrepo := s.Get("BLOBSTORE_BKREPO_CONFIG")
	switch {
	case storeType == StoreS3 || storeType == StoreBKRepo:
		store.Type = storeType
	case bkrepo != nil && Truthy(bkrepo.Value):
		store.Type = StoreBKRepo
	default:
		store.Type = StoreS3
	}
	if store.Type == StoreBKRepo {
		if bkrepo == nil || !Truthy(bkrepo.Value) {
			return nil, &Missing{Setting: Prefix + "_BLOBSTORE_BKREPO_CONFIG", Message: "BLOBSTORE_TYPE is bkrepo but BLOBSTORE_BKREPO_CONFIG is not set: the platform cannot reach its blob store"}
		}
		if err := reproducible(bkrepo, "BLOBSTORE_BKREPO_CONFIG"); err != nil {
			return nil, err
		}
		config, ok := bkrepo.Value.(map[string]any)
		if !ok {
			return nil, &Missing{Setting: Prefix + "_BLOBSTORE_BKREPO_CONFIG", Message: fmt.Sprintf("BLOBSTORE_BKREPO_CONFIG (%s) is not a mapping: the platform cannot read it", bkrepo.Source)}
		}
		var missing []string
		get := func(key string) string {
			v, ok := config[key]
			if !ok {
				missing = append(missing, key)
			}
			return PyStr(v)
		}
		store.Endpoint, store.Project = get("ENDPOINT"), get("PROJECT")
		store.Username, store.Password = get("USERNAME"), get("PASSWORD")
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, &Missing{Setting: Prefix + "_BLOBSTORE_BKREPO_CONFIG", Message: fmt.Sprintf(
				"BLOBSTORE_BKREPO_CONFIG (%s) lacks %s: the platform raises KeyError making its blob store", bkrepo.Source, strings.Join(missing, ", "))}
		}
		r.sources = append(r.sources, "BLOBSTORE_BKREPO_CONFIG from "+bkrepo.Source)
	} else {
		store.Endpoint = r.str("BLOBSTORE_S3_ENDPOINT", "http://127.0.0.1:9100")
		store.Username = r.str("BLOBSTORE_S3_ACCESS_KEY", "minio")
		store.Password = r.str("BLOBSTORE_S3_SECRET_KEY", "")
		store.Region = r.str("BLOBSTORE_S3_REGION_NAME", "us-east-1")
		store.SignatureVersion = r.str("BLOBSTORE_S3_SIG_VERSION", "s3v4")
	}
	store.Sources = r.summary()
	return store, r.err
}

// SmartRegistry is the registry S-mart imports push to (settings/__init__.py
// SMART_DOCKER_*, smart_app/conf.py), and the base images an import starts from.
type SmartRegistry struct {
	// Host, Namespace, Username, Password: SMART_DOCKER_REGISTRY_ADDR, _NAMESPACE,
	// _USERNAME, _PASSWORD, with the platform's defaults.
	Host, Namespace, Username, Password string
	// Sources says which settings gave it, never a value.
	Sources string
	s       *Settings
}

// SmartRegistry reads the S-mart registry settings with the platform's defaults.
func (s *Settings) SmartRegistry() (*SmartRegistry, error) {
	r := settingReader{s: s}
	reg := &SmartRegistry{
		Host:      r.str("SMART_DOCKER_REGISTRY_ADDR", "index.docker.io"),
		Namespace: r.str("SMART_DOCKER_NAMESPACE", "bkpaas/docker"),
		Username:  r.str("SMART_DOCKER_USERNAME", "bkpaas"),
		Password:  r.str("SMART_DOCKER_PASSWORD", "blueking"),
		s:         s,
	}
	reg.Sources = r.summary()
	return reg, r.err
}

// BaseImage is an image S-mart imports build on.
type BaseImage struct {
	// Ref is "name:tag" as the platform's release line names it.
	Ref string
	// Alternative is the other line's name where 1.7 and main differ (main prefixes a
	// SMART_CNB_IMAGE_CONF name with the namespace, 1.7 does not, and the line tells
	// only 1.6 from 1.7+): either may be the one the platform uses.
	Alternative string
	// Default: every import of its kind uses it (the slug base, the default CNB image);
	// otherwise only a package that chooses its id (SMART_CNB_IMAGE_CONF) does.
	Default bool
	// ID is the SMART_CNB_IMAGE_CONF id, empty for the others.
	ID string
}

// BaseImages are the images an S-mart import builds on, on a release line
// (settings/__init__.py): 1.6 {ns}/slug-pilot:<APP_IMAGE tag>-smart and
// {ns}/run-heroku-bionic:<HEROKU_RUNNER_IMAGE tag>-smart; 1.7 and later
// {ns}/slug-app:<APP_IMAGE tag> and every SMART_CNB_IMAGE_CONF image (default
// {ns}/run-heroku-bionic:v1.0.4). A tag that cannot be read (empty) is latest, as
// parse_image(...).tag or 'latest'.
func (reg *SmartRegistry) BaseImages(line string) ([]BaseImage, error) {
	r := settingReader{s: reg.s}
	tagOf := func(setting string) string {
		if t := imageTag(r.str(setting, "")); t != "" {
			return t
		}
		return "latest"
	}
	ns := reg.Namespace
	if line == "1.6" {
		return []BaseImage{
			{Ref: ns + "/slug-pilot:" + tagOf("APP_IMAGE") + "-smart", Default: true},
			{Ref: ns + "/run-heroku-bionic:" + tagOf("HEROKU_RUNNER_IMAGE") + "-smart", Default: true},
		}, r.err
	}
	images := []BaseImage{{Ref: ns + "/slug-app:" + tagOf("APP_IMAGE"), Default: true}}
	conf := map[string]any{}
	if st := reg.s.Get("SMART_CNB_IMAGE_CONF"); st != nil {
		if err := reproducible(st, "SMART_CNB_IMAGE_CONF"); err != nil {
			return nil, err
		}
		m, ok := st.Value.(map[string]any)
		if !ok {
			return nil, &Missing{Setting: Prefix + "_SMART_CNB_IMAGE_CONF", Message: fmt.Sprintf("SMART_CNB_IMAGE_CONF (%s) is not a mapping", st.Source)}
		}
		conf = m
	}
	if _, ok := conf["default"]; !ok {
		images = append(images, BaseImage{Ref: ns + "/run-heroku-bionic:v1.0.4", Default: true, ID: "default"})
	}
	ids := make([]string, 0, len(conf))
	for id := range conf {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		image, _ := conf[id].(map[string]any)
		name, tag := PyStr(image["name"]), PyStr(image["tag"])
		b := BaseImage{Ref: name + ":" + tag, Default: id == "default", ID: id}
		if !strings.HasPrefix(name, ns+"/") {
			b.Alternative = ns + "/" + name + ":" + tag
		}
		images = append(images, b)
	}
	return images, r.err
}

// imageTag is the tag of an image reference (parse_image(...).tag): after the last
// colon that follows the last slash, before any digest; "" when there is none.
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// settingReader reads string settings with defaults, keeping the first setting it
// cannot reproduce and the sources of those set.
type settingReader struct {
	s       *Settings
	sources []string
	err     error
}

func (r *settingReader) str(name, def string) string {
	st := r.s.Get(name)
	if st == nil {
		return def
	}
	if err := reproducible(st, name); err != nil {
		if r.err == nil {
			r.err = err
		}
		return def
	}
	r.sources = append(r.sources, name+" from "+st.Source)
	return PyStr(st.Value)
}

func (r *settingReader) summary() string {
	if len(r.sources) == 0 {
		return "the platform's defaults"
	}
	return strings.Join(r.sources, "; ")
}

// AppImageRegistry is the platform's default app image registry (APP_DOCKER_*,
// settings/__init__.py): every cluster's on 1.6, and on 1.7 and later that of each
// cluster without a row in cluster_clusterappimageregistry (get_image_registry_by_app).
type AppImageRegistry struct {
	Host, Namespace, Username, Password string
	SkipTLSVerify                       bool
	Sources                             string
}

// AppImageRegistry reads the default app image registry with the platform's defaults.
func (s *Settings) AppImageRegistry() (*AppImageRegistry, error) {
	r := settingReader{s: s}
	reg := &AppImageRegistry{
		Host:      r.str("APP_DOCKER_REGISTRY_ADDR", "index.docker.io"),
		Namespace: r.str("APP_DOCKER_NAMESPACE", "bkpaas/docker"),
		Username:  r.str("APP_DOCKER_USERNAME", "bkpaas"),
		Password:  r.str("APP_DOCKER_PASSWORD", "blueking"),
	}
	if st := s.Get("APP_DOCKER_REGISTRY_SKIP_TLS_VERIFY"); st != nil {
		reg.SkipTLSVerify = Truthy(st.Value)
		r.sources = append(r.sources, "APP_DOCKER_REGISTRY_SKIP_TLS_VERIFY from "+st.Source)
	}
	reg.Sources = r.summary()
	return reg, r.err
}

// Describe reads one of the dependency settings (BlobStoreSetting,
// SmartRegistrySetting, RemoteServicesSetting) and says where it came from, or why the
// platform cannot use it.
func (s *Settings) Describe(name string) (string, error) {
	switch name {
	case BlobStoreSetting:
		store, err := s.BlobStore()
		if err != nil {
			return "", err
		}
		return store.Type + ", " + store.Sources, nil
	case SmartRegistrySetting:
		reg, err := s.SmartRegistry()
		if err != nil {
			return "", err
		}
		return reg.Sources, nil
	case AppImageRegistrySetting:
		reg, err := s.AppImageRegistry()
		if err != nil {
			return "", err
		}
		return reg.Sources, nil
	case RemoteServicesSetting:
		endpoints, err := s.RemoteServiceEndpoints()
		if err != nil {
			return "", err
		}
		sources := make([]string, 0, len(endpoints))
		for _, e := range endpoints {
			sources = append(sources, e.Name+" from "+e.Source)
		}
		if len(sources) == 0 {
			return "no remote service provider configured", nil
		}
		return strings.Join(sources, "; "), nil
	}
	return "", fmt.Errorf("no setting %q", name)
}
