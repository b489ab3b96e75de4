package platformsettings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func secretSettings(t *testing.T, data map[string]string) *Settings {
	t.Helper()
	raw := map[string][]byte{}
	for k, v := range data {
		raw[k] = []byte(v)
	}
	s, err := FromSecret("settings", raw)
	if err != nil {
		t.Fatalf("FromSecret: %v", err)
	}
	return s
}

// TestBLB01_BlobStoreSettings: detect_default_blob_store and make_blob_store's
// settings, with the platform's defaults (paasng/utils/blobstore.py,
// settings/__init__.py).
func TestBLB01_BlobStoreSettings(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		want    BlobStore
		missing string
	}{
		{name: "nothing set: S3 with the defaults", data: map[string]string{},
			want: BlobStore{Type: StoreS3, Endpoint: "http://127.0.0.1:9100", Username: "minio", Region: "us-east-1", SignatureVersion: "s3v4", Bucket: "bkpaas3-source-packages"}},
		{name: "a bkrepo config makes bkrepo", data: map[string]string{
			"BLOBSTORE_BKREPO_CONFIG":      `{ENDPOINT="http://bkrepo.example.com", PROJECT="bkpaas", USERNAME="bkpaas3", PASSWORD="pw"}`,
			"BLOBSTORE_BUCKET_AP_PACKAGES": "pkgs"},
			want: BlobStore{Type: StoreBKRepo, Endpoint: "http://bkrepo.example.com", Project: "bkpaas", Username: "bkpaas3", Password: "pw", Bucket: "pkgs"}},
		{name: "an explicit s3 type wins over a bkrepo config", data: map[string]string{
			"BLOBSTORE_TYPE": "s3", "BLOBSTORE_BKREPO_CONFIG": `@json {"ENDPOINT": "x", "PROJECT": "p", "USERNAME": "u", "PASSWORD": "p"}`,
			"BLOBSTORE_S3_ENDPOINT": "https://s3.example.com", "BLOBSTORE_S3_ACCESS_KEY": "ak", "BLOBSTORE_S3_SECRET_KEY": "sk", "BLOBSTORE_S3_REGION_NAME": "cn-1"},
			want: BlobStore{Type: StoreS3, Endpoint: "https://s3.example.com", Username: "ak", Password: "sk", Region: "cn-1", SignatureVersion: "s3v4", Bucket: "bkpaas3-source-packages"}},
		{name: "an unknown type is not a type: the config decides", data: map[string]string{
			"BLOBSTORE_TYPE": "http", "BLOBSTORE_BKREPO_CONFIG": `{ENDPOINT="e", PROJECT="p", USERNAME="u", PASSWORD="w"}`},
			want: BlobStore{Type: StoreBKRepo, Endpoint: "e", Project: "p", Username: "u", Password: "w", Bucket: "bkpaas3-source-packages"}},
		{name: "a bkrepo config without PASSWORD: KeyError", data: map[string]string{
			"BLOBSTORE_BKREPO_CONFIG": `{ENDPOINT="e", PROJECT="p", USERNAME="u"}`}, missing: "lacks PASSWORD"},
		{name: "bkrepo type without a config", data: map[string]string{"BLOBSTORE_TYPE": "bkrepo"}, missing: "BLOBSTORE_BKREPO_CONFIG is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretSettings(t, tt.data).BlobStore()
			if tt.missing != "" {
				var m *Missing
				if !errors.As(err, &m) || !strings.Contains(err.Error(), tt.missing) {
					t.Fatalf("err = %v, want a *Missing saying %q", err, tt.missing)
				}
				if strings.Contains(err.Error(), `"u"`) || strings.Contains(err.Error(), "=") {
					t.Errorf("the error quotes the setting's value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Sources = ""
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestSMR01_SmartBaseImages: the base images of an S-mart import per release line
// (settings/__init__.py SMART_IMAGE_*, SMART_CNB_IMAGE_CONF).
func TestSMR01_SmartBaseImages(t *testing.T) {
	tests := []struct {
		name string
		data map[string]string
		line string
		want []string
	}{
		{name: "1.6 defaults", line: "1.6", data: map[string]string{},
			want: []string{"bkpaas/docker/slug-pilot:latest-smart", "bkpaas/docker/run-heroku-bionic:latest-smart"}},
		{name: "1.6 tags from APP_IMAGE and HEROKU_RUNNER_IMAGE", line: "1.6", data: map[string]string{
			"SMART_DOCKER_NAMESPACE": "ns", "APP_IMAGE": "mirrors.example.com:5000/bkpaas/apiserver:v1.6.3", "HEROKU_RUNNER_IMAGE": "x/runner@sha256:abc"},
			want: []string{"ns/slug-pilot:v1.6.3-smart", "ns/run-heroku-bionic:latest-smart"}},
		{name: "1.7+ defaults", line: "1.7+", data: map[string]string{"APP_IMAGE": "bkpaas/apiserver:v1.7.0"},
			want: []string{"bkpaas/docker/slug-app:v1.7.0", "bkpaas/docker/run-heroku-bionic:v1.0.4"}},
		{name: "1.7+ SMART_CNB_IMAGE_CONF replaces the default", line: "1.7+", data: map[string]string{
			"SMART_CNB_IMAGE_CONF": `{default={name="bkpaas/docker/run-jammy", tag="v2"}, extra={name="bkpaas/docker/run-noble", tag="v3"}}`},
			want: []string{"bkpaas/docker/slug-app:latest", "bkpaas/docker/run-jammy:v2", "bkpaas/docker/run-noble:v3 (extra)"}},
		{name: "1.7 and main name an unprefixed CNB image differently", line: "1.7+", data: map[string]string{
			"SMART_CNB_IMAGE_CONF": `{jammy={name="run-jammy", tag="v2"}}`},
			want: []string{"bkpaas/docker/slug-app:latest", "bkpaas/docker/run-heroku-bionic:v1.0.4", "run-jammy:v2|bkpaas/docker/run-jammy:v2 (jammy)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := secretSettings(t, tt.data).SmartRegistry()
			if err != nil {
				t.Fatal(err)
			}
			images, err := reg.BaseImages(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range images {
				ref := b.Ref
				if b.Alternative != "" {
					ref += "|" + b.Alternative
				}
				if !b.Default {
					ref += " (" + b.ID + ")"
				}
				got = append(got, ref)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSMR03_SmartRegistrySettings(t *testing.T) {
	s := secretSettings(t, map[string]string{"SMART_DOCKER_PASSWORD": "s3cret", "APP_DOCKER_REGISTRY_ADDR": "registry.example.com:5000",
		"APP_DOCKER_REGISTRY_SKIP_TLS_VERIFY": "true"})
	reg, err := s.SmartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if reg.Host != "index.docker.io" || reg.Namespace != "bkpaas/docker" || reg.Username != "bkpaas" || reg.Password != "s3cret" {
		t.Errorf("smart registry %+v", reg)
	}
	if strings.Contains(reg.Sources, "s3cret") || !strings.Contains(reg.Sources, "SMART_DOCKER_PASSWORD from Secret settings key SMART_DOCKER_PASSWORD") {
		t.Errorf("sources %q", reg.Sources)
	}
	app, err := s.AppImageRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if app.Host != "registry.example.com:5000" || !app.SkipTLSVerify || app.Password != "blueking" {
		t.Errorf("app image registry %+v", app)
	}
}
