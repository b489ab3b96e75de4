package platformsettings

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The platform's settings files (docs/conformance.md, rows SET06-SET10). The platform's
// Dynaconf is LazySettings(environments=False, load_dotenv=True,
// includes=[BASE_DIR/"settings_files/*.yaml", BASE_DIR/"settings_local.yaml"],
// ENVVAR_PREFIX_FOR_DYNACONF="PAAS", ENVVAR_FOR_DYNACONF="PAAS_SETTINGS")
// (paasng/settings/__init__.py), BASE_DIR being /app in the image. Dynaconf 3.2.13 loads,
// later winning: the files PAAS_SETTINGS names, then the environment, then the
// includes, then the environment again. paasdiag reads the files that ConfigMap and
// Secret volumes give the container, as the kubelet projects them; the others it names.

const (
	// platformBaseDir is BASE_DIR = Path(__file__).parents[2] of
	// /app/paasng/settings/__init__.py (apiserver/Dockerfile: WORKDIR /app, ADD ./paasng .).
	platformBaseDir = "/app"
	// settingsFilesDir and settingsFilesPattern make the include settings_files/*.yaml.
	settingsFilesDir     = platformBaseDir + "/settings_files"
	settingsFilesPattern = "*.yaml"
	// localSettings is the include settings_local.yaml.
	localSettings = platformBaseDir + "/settings_local.yaml"
	// SettingsVar is the platform's ENVVAR_FOR_DYNACONF: the variable naming more
	// settings files.
	SettingsVar = "PAAS_SETTINGS"
)

// Stage says when Dynaconf loads a settings file.
type Stage int

const (
	// StageSettingsFiles is a file PAAS_SETTINGS names, or its .local. sibling:
	// settings_loader loads them before the environment, which wins over them.
	StageSettingsFiles Stage = iota
	// StageIncludes is one of the platform's includes, /app/settings_files/*.yaml then
	// /app/settings_local.yaml, or a .local. sibling: load_includes loads them after
	// the environment, which Dynaconf then loads once more.
	StageIncludes
)

// SettingsFile is a settings file the platform's Dynaconf loads, with the content a
// ConfigMap or Secret volume gives it.
type SettingsFile struct {
	// Path is where the container sees it.
	Path string
	// Data is its content.
	Data string
	// Object says where the content comes from: "ConfigMap c key k".
	Object string
	Stage  Stage
}

// Source says where the file comes from, without its content: "ConfigMap c key k,
// mounted at /app/settings_local.yaml".
func (f SettingsFile) Source() string { return f.Object + ", mounted at " + f.Path }

// UnseenFile is a settings file the platform's Dynaconf would load, or looks for, that
// paasdiag cannot read: one not mounted from a ConfigMap or Secret (baked into the
// image, or on another kind of volume), one it does not parse (not YAML), a Python
// module.
type UnseenFile struct {
	// Path is the file, or the pattern or variable ("/app/settings_files/*.yaml",
	// ".env", "PAAS_SETTINGS").
	Path string
	// Named is true for what PAAS_SETTINGS names: the platform's configuration asks for
	// it. False for the places Dynaconf always looks (the platform's includes, .local.
	// siblings, .env), which may well hold nothing.
	Named bool
	// Reason is a sentence for status, naming no value.
	Reason string
}

// SettingsFiles are the settings files of the platform's Dynaconf that ReadEnv resolved
// from the container's volumes.
type SettingsFiles struct {
	// Loaded are the files read, in the order Dynaconf loads them (a file may come
	// twice, as Dynaconf loads it twice).
	Loaded []SettingsFile
	// Unseen are the files Dynaconf would load, or looks for, that paasdiag cannot read.
	Unseen []UnseenFile
	// Warnings say how what paasdiag read may differ from what the process loads.
	Warnings []string
}

// yamlExtensions are Dynaconf's YAML_EXTENSIONS; allExtensions its ALL_EXTENSIONS and
// .py (dynaconf/constants.py, loaders/__init__.py settings_loader).
var (
	yamlExtensions = []string{".yaml", ".yml"}
	allExtensions  = map[string]string{".ini": "INI", ".conf": "INI", ".properties": "INI", ".toml": "TOML", ".tml": "TOML",
		".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".py": "Python"}
)

func isYAML(p string) bool {
	for _, ext := range yamlExtensions {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

func fileKind(p string) string {
	for ext, kind := range allExtensions {
		if strings.HasSuffix(p, ext) {
			return kind
		}
	}
	return ""
}

// localName is Dynaconf's get_local_filename: settings.yaml -> settings.local.yaml.
func localName(p string) string {
	dir, base := path.Split(p)
	name, ext := base, ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		name, ext = base[:i], base[i+1:]
	}
	return dir + name + ".local." + ext
}

// hasMagic is glob's has_magic.
func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// podFS is the container's file system as far as ConfigMap, Secret and projected
// volumes make it known: a path is a file (with its content), a directory, absent, or
// unknown (the image's, or on a volume paasdiag cannot read).
type podFS struct {
	r       *envReader
	mounts  []fsMount
	volumes map[string]*corev1.Volume
	sources map[string]*volSources
}

type fsMount struct {
	path, volume, subPath string
	// opaque says why what is mounted cannot be known (a subPathExpr of the running pod).
	opaque string
}

type fsKind int

const (
	fsAbsent fsKind = iota
	fsFile
	fsDir
	fsUnknown
)

type fsEntry struct {
	kind fsKind
	data string
	// object: "ConfigMap c key k", for a file.
	object string
	// why a path is unknown: "is not mounted from a ConfigMap or Secret".
	why string
}

// volSources are what a volume projects: one ConfigMap or Secret, or the sources of a
// projected volume in order (a later one's file wins).
type volSources struct {
	list []*volSource
	// opaque says why the volume cannot be read (not a ConfigMap, Secret or projected one).
	opaque string
}

type volSource struct {
	kind, name string
	items      []corev1.KeyToPath
	optional   bool
	volume     string
	// opaque: a projection paasdiag does not read (downwardAPI, a token), at paths.
	opaque      string
	opaquePaths []string
	files       map[string]fsEntry
}

func newPodFS(r *envReader, volumes []corev1.Volume, mounts []corev1.VolumeMount, vars map[string]Var) *podFS {
	fs := &podFS{r: r, volumes: map[string]*corev1.Volume{}, sources: map[string]*volSources{}}
	for i := range volumes {
		fs.volumes[volumes[i].Name] = &volumes[i]
	}
	for _, m := range mounts {
		fm := fsMount{path: path.Join("/", m.MountPath), volume: m.Name, subPath: m.SubPath}
		if m.SubPathExpr != "" {
			// The kubelet expands it with the container's variables.
			fm.subPath = expand(m.SubPathExpr, vars)
			if strings.Contains(fm.subPath, "$(") {
				fm.opaque = fmt.Sprintf("is mounted from volume %q with subPathExpr %q, which depends on the running pod", m.Name, m.SubPathExpr)
			}
		}
		if fm.subPath != "" {
			fm.subPath = path.Clean(fm.subPath)
		}
		fs.mounts = append(fs.mounts, fm)
	}
	return fs
}

// covering is the mount that shows p: the deepest one at p or above it.
func (fs *podFS) covering(p string) (*fsMount, string) {
	var best *fsMount
	for i := range fs.mounts {
		m := &fs.mounts[i]
		if m.path == p || m.path == "/" || strings.HasPrefix(p, m.path+"/") {
			if best == nil || len(m.path) >= len(best.path) {
				best = m
			}
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, strings.TrimPrefix(strings.TrimPrefix(p, best.path), "/")
}

const notMounted = "is not mounted from a ConfigMap or Secret"

func (fs *podFS) volSources(name string) *volSources {
	if vs, ok := fs.sources[name]; ok {
		return vs
	}
	vs := &volSources{}
	fs.sources[name] = vs
	v := fs.volumes[name]
	switch {
	case v == nil:
		vs.opaque = fmt.Sprintf("is mounted from volume %q, which the pod does not define", name)
	case v.ConfigMap != nil:
		vs.list = []*volSource{{kind: "ConfigMap", name: v.ConfigMap.Name, items: v.ConfigMap.Items,
			optional: v.ConfigMap.Optional != nil && *v.ConfigMap.Optional, volume: name}}
	case v.Secret != nil:
		vs.list = []*volSource{{kind: "Secret", name: v.Secret.SecretName, items: v.Secret.Items,
			optional: v.Secret.Optional != nil && *v.Secret.Optional, volume: name}}
	case v.Projected != nil:
		for _, p := range v.Projected.Sources {
			switch {
			case p.ConfigMap != nil:
				vs.list = append(vs.list, &volSource{kind: "ConfigMap", name: p.ConfigMap.Name, items: p.ConfigMap.Items,
					optional: p.ConfigMap.Optional != nil && *p.ConfigMap.Optional, volume: name})
			case p.Secret != nil:
				vs.list = append(vs.list, &volSource{kind: "Secret", name: p.Secret.Name, items: p.Secret.Items,
					optional: p.Secret.Optional != nil && *p.Secret.Optional, volume: name})
			case p.DownwardAPI != nil:
				s := &volSource{opaque: "a downwardAPI projection", volume: name}
				for _, it := range p.DownwardAPI.Items {
					s.opaquePaths = append(s.opaquePaths, path.Clean(it.Path))
				}
				vs.list = append(vs.list, s)
			case p.ServiceAccountToken != nil:
				vs.list = append(vs.list, &volSource{opaque: "a service account token", volume: name, opaquePaths: []string{path.Clean(p.ServiceAccountToken.Path)}})
			case p.ClusterTrustBundle != nil:
				vs.list = append(vs.list, &volSource{opaque: "a cluster trust bundle", volume: name, opaquePaths: []string{path.Clean(p.ClusterTrustBundle.Path)}})
			case p.PodCertificate != nil:
				s := &volSource{opaque: "a pod certificate", volume: name}
				for _, q := range []string{p.PodCertificate.CredentialBundlePath, p.PodCertificate.KeyPath, p.PodCertificate.CertificateChainPath} {
					if q != "" {
						s.opaquePaths = append(s.opaquePaths, path.Clean(q))
					}
				}
				vs.list = append(vs.list, s)
			}
		}
	default:
		vs.opaque = fmt.Sprintf("is mounted from volume %q (%s), which paasdiag cannot read", name, volumeType(v))
	}
	return vs
}

func volumeType(v *corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return "emptyDir"
	case v.HostPath != nil:
		return "hostPath"
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case v.DownwardAPI != nil:
		return "downwardAPI"
	case v.CSI != nil:
		return "csi"
	case v.Ephemeral != nil:
		return "ephemeral"
	case v.Image != nil:
		return "image"
	case v.NFS != nil:
		return "nfs"
	}
	return "not a ConfigMap or Secret"
}

// mayHave says whether the source can project the path rel, or paths under it,
// without reading its object: a source with items only projects their paths; one
// without projects its keys, which have no "/".
func (s *volSource) mayHave(rel string) bool {
	if len(s.items) == 0 {
		return rel == "" || !strings.Contains(rel, "/")
	}
	for _, it := range s.items {
		p := path.Clean(it.Path)
		if rel == "" || p == rel || strings.HasPrefix(p, rel+"/") {
			return true
		}
	}
	return false
}

// load reads the source's object and projects it as the kubelet does (configmap and
// secret MakePayload): every key, or the items (key to path); a missing object or key
// is nothing when optional and keeps the pod from starting otherwise.
func (fs *podFS) load(s *volSource) error {
	if s.files != nil || s.opaque != "" {
		return nil
	}
	data, err := fs.r.data(s.kind, s.name)
	if err != nil {
		return err
	}
	s.files = map[string]fsEntry{}
	if data == nil {
		if s.optional {
			return nil
		}
		return &Problem{fmt.Sprintf("settingsFrom: %s %q of volume %q of Deployment %q not found (not optional: the platform's pods would not start)", s.kind, s.name, s.volume, fs.r.env.Deployment)}
	}
	if len(s.items) == 0 {
		for k, v := range data {
			s.files[k] = fsEntry{kind: fsFile, data: v, object: fmt.Sprintf("%s %s key %s", s.kind, s.name, k)}
		}
		return nil
	}
	for _, it := range s.items {
		v, ok := data[it.Key]
		if !ok {
			if s.optional {
				continue
			}
			return &Problem{fmt.Sprintf("settingsFrom: %s %q has no key %q, which volume %q of Deployment %q projects (not optional: the platform's pods would not start)", s.kind, s.name, it.Key, s.volume, fs.r.env.Deployment)}
		}
		s.files[path.Clean(it.Path)] = fsEntry{kind: fsFile, data: v, object: fmt.Sprintf("%s %s key %s", s.kind, s.name, it.Key)}
	}
	return nil
}

// lookup is what the volume has at rel ("" is its root).
func (fs *podFS) lookup(volume, rel string) (fsEntry, error) {
	vs := fs.volSources(volume)
	if vs.opaque != "" {
		return fsEntry{kind: fsUnknown, why: vs.opaque}, nil
	}
	if rel == "" || rel == "." {
		return fsEntry{kind: fsDir}, nil
	}
	dir := false
	for i := len(vs.list) - 1; i >= 0; i-- {
		s := vs.list[i]
		if s.opaque != "" {
			for _, p := range s.opaquePaths {
				if p == rel {
					return fsEntry{kind: fsUnknown, why: fmt.Sprintf("is %s of volume %q, which paasdiag does not read", s.opaque, volume)}, nil
				}
				dir = dir || strings.HasPrefix(p, rel+"/")
			}
			continue
		}
		if !s.mayHave(rel) {
			continue
		}
		if err := fs.load(s); err != nil {
			return fsEntry{}, err
		}
		if f, ok := s.files[rel]; ok {
			return f, nil
		}
		for p := range s.files {
			dir = dir || strings.HasPrefix(p, rel+"/")
		}
	}
	if dir {
		return fsEntry{kind: fsDir}, nil
	}
	return fsEntry{kind: fsAbsent}, nil
}

// children are the names the volume has directly under the directory rel.
func (fs *podFS) children(volume, rel string) (map[string]bool, error) {
	out := map[string]bool{}
	vs := fs.volSources(volume)
	add := func(p string) {
		if rel != "" {
			var ok bool
			if p, ok = strings.CutPrefix(p, rel+"/"); !ok {
				return
			}
		}
		first, _, _ := strings.Cut(p, "/")
		out[first] = true
	}
	for _, s := range vs.list {
		if s.opaque != "" {
			for _, p := range s.opaquePaths {
				add(p)
			}
			continue
		}
		if !s.mayHave(rel) {
			continue
		}
		if err := fs.load(s); err != nil {
			return nil, err
		}
		for p := range s.files {
			add(p)
		}
	}
	return out, nil
}

// stat is what the container has at p.
func (fs *podFS) stat(p string) (fsEntry, error) {
	p = path.Clean(p)
	m, rel := fs.covering(p)
	if m == nil {
		return fsEntry{kind: fsUnknown, why: notMounted}, nil
	}
	if m.opaque != "" {
		return fsEntry{kind: fsUnknown, why: m.opaque}, nil
	}
	if m.subPath != "" {
		e, err := fs.lookup(m.volume, m.subPath)
		if err != nil {
			return e, err
		}
		switch e.kind {
		case fsUnknown:
			return e, nil
		case fsFile:
			if rel == "" {
				return e, nil
			}
			return fsEntry{kind: fsAbsent}, nil
		case fsAbsent:
			// The kubelet creates a missing subPath as an empty directory.
			if rel == "" {
				return fsEntry{kind: fsDir}, nil
			}
			return fsEntry{kind: fsAbsent}, nil
		}
		rel = path.Join(m.subPath, rel)
	}
	return fs.lookup(m.volume, rel)
}

// list returns the names in the directory dir, whether they are all of them (the
// directory is a ConfigMap, Secret or projected volume's), and if not why.
func (fs *podFS) list(dir string) (map[string]bool, bool, string, error) {
	dir = path.Clean(dir)
	names := map[string]bool{}
	for _, m := range fs.mounts {
		if m.path != dir && path.Dir(m.path) == dir {
			names[path.Base(m.path)] = true
		}
	}
	m, rel := fs.covering(dir)
	switch {
	case m == nil:
		return names, false, notMounted, nil
	case m.opaque != "":
		return names, false, m.opaque, nil
	}
	if vs := fs.volSources(m.volume); vs.opaque != "" {
		return names, false, vs.opaque, nil
	}
	e, err := fs.stat(dir)
	if err != nil {
		return nil, false, "", err
	}
	switch e.kind {
	case fsUnknown:
		return names, false, e.why, nil
	case fsDir:
		if m.subPath != "" {
			rel = path.Join(m.subPath, rel)
		}
		children, err := fs.children(m.volume, strings.TrimPrefix(path.Clean("/"+rel), "/"))
		if err != nil {
			return nil, false, "", err
		}
		for n := range children {
			names[n] = true
		}
	}
	return names, true, "", nil
}

// match is glob's fnmatch of one name ([!...] negates, as [^...] does in Go).
func match(pattern, name string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, "[!", "[^"), name)
	return err == nil && ok
}

// planner follows Dynaconf's loading of the platform's settings files.
type planner struct {
	fs  *podFS
	cwd string
	out *SettingsFiles
}

type foundFile struct {
	path  string
	entry fsEntry
}

// planFiles returns the settings files the platform's Dynaconf loads, in its order, as
// the container's volumes give them, and those it cannot read. cwd is the process's
// working directory (the container's workingDir, else the image's WORKDIR /app).
func (fs *podFS) planFiles(env *Env, cwd string) (*SettingsFiles, error) {
	p := &planner{fs: fs, cwd: cwd, out: &SettingsFiles{}}
	if err := p.settingsModule(env.Vars); err != nil {
		return nil, err
	}
	if err := p.includes(); err != nil {
		return nil, err
	}
	p.unseen(".env", false, fmt.Sprintf("Dynaconf (load_dotenv) loads the first .env file it finds in the directory of the process's script, %s, or one of their parents (each also in config/), into the process's environment without overriding the container's variables: paasdiag does not read it", cwd))
	return p.out, nil
}

func (p *planner) unseen(file string, named bool, reason string) {
	p.out.Unseen = append(p.out.Unseen, UnseenFile{Path: file, Named: named, Reason: reason})
}

func (p *planner) warn(format string, args ...any) {
	p.out.Warnings = append(p.out.Warnings, fmt.Sprintf(format, args...))
}

// settingsVar is the variable Dynaconf reads the settings files from: PAAS_SETTINGS
// when the container sets it, else SETTINGS_FILE_FOR_DYNACONF or one of its old
// names (dynaconf/base.py settings_module, default_settings.py, utils RENAMED_VARS).
func settingsVar(vars map[string]Var) (string, Var, bool) {
	for _, name := range []string{SettingsVar, "SETTINGS_FILE_FOR_DYNACONF", "DYNACONF_SETTINGS_MODULE", "DYNACONF_SETTINGS",
		"SETTINGS_MODULE", "SETTINGS_MODULE_FOR_DYNACONF", "SETTINGS_FILES_FOR_DYNACONF"} {
		if v, ok := vars[name]; ok {
			return name, v, true
		}
	}
	return "", Var{}, false
}

// ensureAList is Dynaconf's ensure_a_list: a list as it is; a string split on ";" if it
// has one, else on "," (trimmed_split), else kept whole.
func ensureAList(v any) []string {
	if !Truthy(v) {
		return nil
	}
	switch x := v.(type) {
	case []any:
		out := make([]string, len(x))
		for i := range x {
			out[i] = PyStr(x[i])
		}
		return out
	case string:
		for _, sep := range []string{";", ","} {
			if strings.Contains(x, sep) {
				parts := strings.Split(strings.TrimSpace(x), sep)
				for i := range parts {
					parts[i] = strings.TrimSpace(parts[i])
				}
				return parts
			}
		}
		return []string{x}
	}
	return []string{PyStr(v)}
}

// settingsModule follows settings_loader for the files the variable names: each is
// found (an absolute path as it is, a relative one in Dynaconf's search tree, a pattern
// globbed), then each found file's .local. sibling comes after all of them.
func (p *planner) settingsModule(vars map[string]Var) error {
	name, v, ok := settingsVar(vars)
	if !ok {
		return nil
	}
	if !v.Known {
		p.unseen(name, true, fmt.Sprintf("%s (%s) comes from the running pod: the settings files it names cannot be read", name, v.Source))
		return nil
	}
	value, lazy, _, err := parseConfData(v.Value)
	if err != nil {
		return &Problem{fmt.Sprintf("settingsFrom: %s (%s): %v; the platform's settings would not load", name, v.Source, err)}
	}
	if lazy != "" {
		p.unseen(name, true, fmt.Sprintf("%s (%s) is computed by the platform's process (%s): the settings files it names cannot be read", name, v.Source, lazy))
		return nil
	}
	var found []foundFile
	rootUncertain := false
	for _, item := range ensureAList(value) {
		if item == "" {
			continue
		}
		switch {
		case hasMagic(item):
			matches, err := p.pattern(name, item)
			if err != nil {
				return err
			}
			found = append(found, matches...)
		case fileKind(item) != "":
			pRoot := ""
			if len(found) > 0 {
				pRoot = path.Dir(found[0].path)
			}
			f, unknown, err := p.find(name, item, pRoot, rootUncertain)
			if err != nil {
				return err
			}
			switch {
			case f != nil:
				found = append(found, *f)
			case unknown && len(found) == 0:
				// An unseen file may be the first found, whose directory Dynaconf
				// searches first for the next relative names.
				rootUncertain = true
			}
		default:
			p.unseen(item, true, fmt.Sprintf("%s names %s, a Python module (no settings file extension): paasdiag does not run Python settings", name, item))
		}
	}
	var siblings []string
	for _, f := range found {
		// A directory found counts too: Dynaconf fails to read it, but not its sibling.
		if !strings.Contains(f.path, ".local.") && isYAML(f.path) {
			siblings = append(siblings, localName(f.path))
		}
	}
	for _, f := range found {
		p.load(name+" names", f, StageSettingsFiles)
	}
	for _, s := range siblings {
		if err := p.sibling(s, StageSettingsFiles); err != nil {
			return err
		}
	}
	return nil
}

// load records a found file as loaded, when paasdiag reads it.
func (p *planner) load(what string, f foundFile, stage Stage) {
	switch {
	case f.entry.kind == fsDir:
		p.warn("%s %s, a directory: Dynaconf warns and loads nothing from it", what, f.path)
	case f.entry.kind != fsFile:
	case !isYAML(f.path):
		p.unseen(f.path, stage == StageSettingsFiles, fmt.Sprintf("%s %s (%s), a %s file: paasdiag reads YAML settings files only", what, f.path, f.entry.object, fileKind(f.path)))
	default:
		p.out.Loaded = append(p.out.Loaded, SettingsFile{Path: f.path, Data: f.entry.data, Object: f.entry.object, Stage: stage})
	}
}

// sibling is the .local. file Dynaconf loads after a file it found, when it exists.
func (p *planner) sibling(s string, stage Stage) error {
	e, err := p.fs.stat(s)
	if err != nil {
		return err
	}
	switch e.kind {
	case fsFile:
		p.out.Loaded = append(p.out.Loaded, SettingsFile{Path: s, Data: e.data, Object: e.object, Stage: stage})
	case fsUnknown:
		p.unseen(s, false, fmt.Sprintf("Dynaconf also loads %s, when it exists, after %s; it %s: one the image has there cannot be read", s, strings.Replace(s, ".local.", ".", 1), e.why))
	}
	return nil
}

// find is Dynaconf's find_file for a name with a settings extension: an absolute path
// if it exists; a relative one in the first of the directories Dynaconf searches that
// has it: the directory of the first file found and its parents up to the working
// directory, the directory of the process's script and its parents (unknown to
// paasdiag), the working directory and its parents, each also with config/.
func (p *planner) find(variable, item, pRoot string, rootUncertain bool) (*foundFile, bool, error) {
	if path.IsAbs(item) {
		e, err := p.fs.stat(item)
		if err != nil {
			return nil, false, err
		}
		switch e.kind {
		case fsFile, fsDir:
			return &foundFile{item, e}, false, nil
		case fsAbsent:
			p.warn("%s names %s, which the volume mounted there does not have: Dynaconf skips it", variable, item)
			return nil, false, nil
		}
		p.unseen(item, true, fmt.Sprintf("%s names %s, which %s: settings baked into the image cannot be read", variable, item, e.why))
		return nil, true, nil
	}
	const script = ""
	var dirs []string
	if pRoot != "" {
		dirs = append(dirs, walkUp(pRoot, p.cwd)...)
	}
	dirs = append(dirs, script)
	dirs = append(dirs, walkUp(p.cwd, "")...)
	seen := map[string]bool{}
	uncertain := rootUncertain
	var places []string
	for _, d := range dirs {
		if d == script {
			uncertain = true
			continue
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		candidate := path.Join(d, item)
		places = append(places, candidate)
		e, err := p.fs.stat(candidate)
		if err != nil {
			return nil, false, err
		}
		switch e.kind {
		case fsFile, fsDir:
			if uncertain {
				first := []string{"the directory of the process's script or its parents"}
				if rootUncertain {
					first = append(first, "the directory of an earlier file it names that paasdiag cannot read")
				}
				p.warn("%s names the relative path %s: paasdiag reads %s (%s), the first place Dynaconf looks for it that a ConfigMap or Secret provides; a file of that name baked into the image where Dynaconf looks first (%s) would be loaded instead",
					variable, item, candidate, e.object, strings.Join(append(first, places[:len(places)-1]...), ", "))
			}
			return &foundFile{candidate, e}, false, nil
		case fsUnknown:
			uncertain = true
		}
	}
	p.unseen(item, true, fmt.Sprintf("%s names the relative path %s, which no ConfigMap or Secret mount provides where Dynaconf looks for it (the directory of the process's script or its parents, %s): settings baked into the image cannot be read",
		variable, item, strings.Join(places, ", ")))
	return nil, true, nil
}

// walkUp is Dynaconf's _walk_to_root: dir and its parents up to stop (or the root),
// each followed by its config/ subdirectory.
func walkUp(dir, stop string) []string {
	var out []string
	for d := path.Clean(dir); ; d = path.Dir(d) {
		out = append(out, d, path.Join(d, "config"))
		if d == "/" || d == stop {
			return out
		}
	}
}

// pattern globs an absolute pattern of PAAS_SETTINGS.
func (p *planner) pattern(variable, item string) ([]foundFile, error) {
	dir, pat := path.Split(item)
	if !path.IsAbs(item) || hasMagic(dir) {
		p.unseen(item, true, fmt.Sprintf("%s names the pattern %s: paasdiag globs only absolute patterns over one directory's names", variable, item))
		return nil, nil
	}
	names, complete, why, err := p.fs.list(dir)
	if err != nil {
		return nil, err
	}
	var matches []string
	for n := range names {
		if match(pat, n) {
			matches = append(matches, n)
		}
	}
	sort.Strings(matches)
	if len(matches) > 1 {
		p.warn("%s names the pattern %s: Dynaconf loads what it matches in the order the directory lists them, which paasdiag does not know; it reads them in name order", variable, item)
	}
	if !complete {
		p.unseen(item, true, fmt.Sprintf("%s names the pattern %s, and %s %s: files the image has there cannot be read", variable, item, path.Clean(dir), why))
	}
	var out []foundFile
	for _, n := range matches {
		full := path.Join(dir, n)
		e, err := p.fs.stat(full)
		if err != nil {
			return nil, err
		}
		switch e.kind {
		case fsFile, fsDir:
			out = append(out, foundFile{full, e})
		case fsUnknown:
			p.unseen(full, true, fmt.Sprintf("%s names the pattern %s, which matches %s, which %s: it cannot be read", variable, item, full, e.why))
		}
	}
	return out, nil
}

// includes follows load_includes over the platform's includes: the files matching
// settings_files/*.yaml in name order (.local. ones last), then settings_local.yaml,
// each followed by its .local. sibling (dynaconf/base.py load_file).
func (p *planner) includes() error {
	names, complete, why, err := p.fs.list(settingsFilesDir)
	if err != nil {
		return err
	}
	var plain, local []string
	for n := range names {
		if !match(settingsFilesPattern, n) {
			continue
		}
		full := settingsFilesDir + "/" + n
		if strings.Contains(full, ".local.") {
			local = append(local, full)
		} else {
			plain = append(plain, full)
		}
	}
	sort.Strings(plain)
	sort.Strings(local)
	if !complete {
		reason := fmt.Sprintf("%s %s: YAML files the image has there cannot be read", settingsFilesDir, why)
		if n := len(plain) + len(local); n > 0 {
			reason = fmt.Sprintf("%s %s: YAML files the image has there besides the %d mounted cannot be read", settingsFilesDir, why, n)
		}
		p.unseen(settingsFilesDir+"/"+settingsFilesPattern, false, reason)
	}
	for _, f := range append(plain, local...) {
		if err := p.include(f, true); err != nil {
			return err
		}
	}
	return p.include(localSettings, false)
}

// include loads one include (found by glob) and its .local. sibling.
func (p *planner) include(file string, globbed bool) error {
	e, err := p.fs.stat(file)
	if err != nil {
		return err
	}
	switch e.kind {
	case fsAbsent:
		return nil
	case fsUnknown:
		if globbed {
			p.unseen(file, false, fmt.Sprintf("%s %s: it cannot be read", file, e.why))
		} else {
			p.unseen(file, false, fmt.Sprintf("%s %s: one the image has there (and the %s Dynaconf loads after it) cannot be read", file, e.why, path.Base(localName(file))))
		}
		return nil
	}
	p.load("the platform's include", foundFile{file, e}, StageIncludes)
	if e.kind == fsFile && !strings.Contains(file, ".local.") {
		return p.sibling(localName(file), StageIncludes)
	}
	return nil
}
