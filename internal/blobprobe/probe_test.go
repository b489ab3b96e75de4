package blobprobe

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/bkrepo"
)

// The platform's bkrepo account and bucket, as a bkpaas3 installation has them
// (BLOBSTORE_BKREPO_CONFIG, BLOBSTORE_BUCKET_AP_PACKAGES).
const (
	user     = "bkpaas3"
	password = "bkrepo-password-0123"
	project  = "bkpaas"
	bucket   = "bkpaas3-source-packages"
	key      = "default/app-foo/default/v1.0.0:abc:app-foo.tar.gz"
)

var packageBody = []byte("a source package\n")

func startBKRepo(t *testing.T, prefix string, useTLS bool) *bkrepo.Server {
	t.Helper()
	s, err := bkrepo.Start(bkrepo.Options{
		Users:    map[string]string{user: password, "guest": password},
		Projects: map[string][]string{project: {bucket}, "other": {"other-packages"}},
		Access: map[string]map[string]bkrepo.Access{user: {project: bkrepo.ReadWrite},
			"guest": {"other": bkrepo.Read}},
		PathPrefix: prefix,
		TLS:        useTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range s.Requests() {
			if strings.Contains(r.Path, password) {
				t.Errorf("a request's path holds the password: %+v", r)
			}
		}
		if w := s.Writes(); len(w) != 0 {
			t.Errorf("the probe wrote: %+v", w)
		}
		s.Close()
	})
	if err := s.PutObject(project, bucket, key, packageBody); err != nil {
		t.Fatal(err)
	}
	return s
}

func bkrepoStore(endpoint string) Store {
	return Store{Type: TypeBKRepo, Endpoint: endpoint, Project: project, Username: user, Password: password, Bucket: bucket}
}

// noSecret fails the test if a message quotes the password or an Authorization header.
func noSecret(t *testing.T, res Result) {
	t.Helper()
	if strings.Contains(res.Message, password) || strings.Contains(res.Message, "Basic ") {
		t.Errorf("a message quotes a credential: %s", res.Message)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// The repository-info call names each way the platform's account can fail on a bucket.
func TestBKRepoBucket(t *testing.T) {
	s := startBKRepo(t, "", false)
	s.AddRepo(project, "images", "DOCKER")
	ok := bkrepoStore(s.Endpoint)
	with := func(f func(*Store)) Store { st := ok; f(&st); return st }
	for _, c := range []struct {
		name   string
		store  Store
		reason string
		says   string
	}{
		{"OK", ok, "", ""},
		{"wrong password", with(func(s *Store) { s.Password = "not-it" }), v1alpha1.ReasonUnauthorized, `bkrepo code 250114: Failed to authenticate: Authorization value check failed: bkrepo does not accept user "bkpaas3"`},
		{"unknown user", with(func(s *Store) { s.Username = "nobody" }), v1alpha1.ReasonUnauthorized, "401 Unauthorized"},
		{"no permission", with(func(s *Store) { s.Username = "guest" }), v1alpha1.ReasonForbidden, `user[guest] does not have [READ] permission in project[bkpaas] repo[bkpaas3-source-packages]: user "guest" may not read repository bkpaas3-source-packages of bkrepo project bkpaas`},
		{"wrong project", with(func(s *Store) { s.Project = "nope" }), ReasonNotFound, "404 Not Found: bkrepo code 251006: Repository [bkpaas3-source-packages] not found: no repository bkpaas3-source-packages of bkrepo project nope"},
		{"wrong bucket", with(func(s *Store) { s.Bucket = "nope" }), ReasonNotFound, "bkrepo code 251006"},
		{"another type", with(func(s *Store) { s.Bucket = "images" }), ReasonNotFound, "project bkpaas has no GENERIC repository images"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := Prober{}.Bucket(ctx(t), c.store)
			noSecret(t, res)
			if res.Reason != c.reason || !strings.Contains(res.Message, c.says) {
				t.Errorf("%+v, want %s saying %q", res, c.reason, c.says)
			}
			if c.reason != "" && !strings.HasPrefix(res.Message, "GET "+s.Endpoint+"/repository/api/repo/info/"+c.store.Project+"/"+c.store.Bucket+"/GENERIC: ") {
				t.Errorf("the message does not name the call: %s", res.Message)
			}
		})
	}
}

// A generic HEAD finds the object's size and ETag (bkrepo's is the sha256), or names
// why not.
func TestBKRepoObject(t *testing.T) {
	s := startBKRepo(t, "", false)
	st := bkrepoStore(s.Endpoint)
	res := Prober{}.Object(ctx(t), st, key)
	sum := sha256.Sum256(packageBody)
	if !res.OK() || !res.Found || res.Size != int64(len(packageBody)) || res.ETag != hex.EncodeToString(sum[:]) {
		t.Errorf("%+v", res)
	}
	res = Prober{}.Object(ctx(t), st, "default/app-foo/default/gone.tar.gz")
	noSecret(t, res.Result)
	want := "HEAD " + s.Endpoint + "/generic/bkpaas/bkpaas3-source-packages/default/app-foo/default/gone.tar.gz: 404 Not Found: no object"
	if res.Found || res.Reason != ReasonNotFound || !strings.HasPrefix(res.Message, want) {
		t.Errorf("%+v", res)
	}
	st.Password = "wrong"
	if res := (Prober{}).Object(ctx(t), st, key); res.Found || res.Reason != v1alpha1.ReasonUnauthorized {
		t.Errorf("wrong password: %+v", res)
	}
	noSecret(t, res.Result)
	st.Username, st.Password = "guest", password
	if res := (Prober{}).Object(ctx(t), st, key); res.Reason != v1alpha1.ReasonForbidden {
		t.Errorf("no permission: %+v", res)
	}
	want = s.Endpoint + "/generic/bkpaas/bkpaas3-source-packages/default/app-foo/default/v1.0.0:abc:app-foo.tar.gz"
	if got := st.ObjectURL(key); got != want {
		t.Errorf("ObjectURL %s", got)
	}
}

// Release 1.6 drops ENDPOINT's path (urljoin with a leading slash); later lines keep it.
func TestBLB02_ObjectURLFollowsTheReleaseLine(t *testing.T) {
	s := startBKRepo(t, "/bkrepo", false)
	for _, endpoint := range []string{s.Endpoint, s.Endpoint + "/"} {
		st := bkrepoStore(endpoint)
		if res := (Prober{}).Bucket(ctx(t), st); !res.OK() {
			t.Errorf("1.7, %s: %+v", endpoint, res)
		}
		if res := (Prober{}).Object(ctx(t), st, key); !res.Found {
			t.Errorf("1.7, %s: %+v", endpoint, res)
		}
		st.DropEndpointPath = true
		res := Prober{}.Bucket(ctx(t), st)
		if res.Reason != ReasonNotFound || !strings.HasPrefix(res.Message, "GET "+s.URL+"/repository/api/repo/info/") {
			t.Errorf("1.6, %s: %+v", endpoint, res)
		}
		if o := (Prober{}).Object(ctx(t), st, key); o.Reason != ReasonNotFound || !strings.HasPrefix(o.Message, "HEAD "+s.URL+"/generic/") {
			t.Errorf("1.6, %s: %+v", endpoint, o)
		}
		if got, want := st.ObjectURL(key), s.URL+"/generic/"+project+"/"+bucket+"/"+key; got != want {
			t.Errorf("1.6 ObjectURL %s, want %s", got, want)
		}
	}
}

// Nothing listening, and a server whose certificate the client does not trust; with
// the CA the call succeeds and reports when the chain expires.
func TestBKRepoTransport(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	_ = l.Close()
	res := Prober{}.Bucket(ctx(t), bkrepoStore(refused))
	if res.Reason != v1alpha1.ReasonConnectionRefused || !strings.HasPrefix(res.Message, "GET "+refused+"/repository/") {
		t.Errorf("refused: %+v", res)
	}
	noSecret(t, res)

	s := startBKRepo(t, "", true)
	res = Prober{}.Bucket(ctx(t), bkrepoStore(s.Endpoint))
	if res.Reason != v1alpha1.ReasonTLSUnknownAuthority {
		t.Errorf("unknown CA: %+v", res)
	}
	noSecret(t, res)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	p := Prober{Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	res = p.Bucket(ctx(t), bkrepoStore(s.Endpoint))
	if !res.OK() || res.ServingCertificateNotAfter == nil || time.Until(*res.ServingCertificateNotAfter) > 25*time.Hour {
		t.Errorf("trusted: %+v", res)
	}
	if o := p.Object(ctx(t), bkrepoStore(s.Endpoint), key); !o.Found || o.ServingCertificateNotAfter == nil {
		t.Errorf("trusted object: %+v", o)
	}
}

// Credentials in an endpoint never reach a message; settings the probe cannot use are
// named, never guessed at.
func TestSettingsTheProbeCannotUse(t *testing.T) {
	st := bkrepoStore("http://admin:" + password + "@bkrepo.example:8080/bkrepo")
	if got := st.ObjectURL("k"); got != "http://bkrepo.example:8080/bkrepo/generic/bkpaas/bkpaas3-source-packages/k" {
		t.Errorf("ObjectURL %s", got)
	}
	s3 := Store{Type: TypeS3, Endpoint: "http://127.0.0.1:9100", Username: "minio", Password: password, Bucket: bucket, SignatureVersion: "s3"}
	for _, c := range []struct {
		store  Store
		reason string
	}{
		{s3, v1alpha1.ReasonUnsupportedSignature},
		{Store{Type: "http", Endpoint: "http://x"}, v1alpha1.ReasonInvalidSettings},
		{bkrepoStore("bkrepo.example:8080"), v1alpha1.ReasonInvalidSettings},
	} {
		if res := (Prober{}).Bucket(ctx(t), c.store); res.Reason != c.reason {
			t.Errorf("%+v: %+v, want %s", c.store.Type, res, c.reason)
		}
		if res := (Prober{}).Object(ctx(t), c.store, key); res.Reason != c.reason || res.Found {
			t.Errorf("%+v: %+v, want %s", c.store.Type, res, c.reason)
		}
	}
}

// The URL botocore 1.33.13 builds with endpoint_url set and no addressing_style:
// path-style, keeping the endpoint's path, for IP and host endpoints alike; only an S3
// Accelerate endpoint with a DNS-compatible bucket is virtual-hosted.
func TestS3URL(t *testing.T) {
	for _, c := range []struct{ endpoint, bucket, key, want string }{
		{"http://127.0.0.1:9100", "bkpaas3-source-packages", "", "http://127.0.0.1:9100/bkpaas3-source-packages"},
		{"http://127.0.0.1:9100/", "b", "a/b.tar.gz", "http://127.0.0.1:9100/b/a/b.tar.gz"},
		{"https://minio.example.com", "bkpaas3-source-packages", "k", "https://minio.example.com/bkpaas3-source-packages/k"},
		{"https://cos.example.com/s3/", "Bad_Bucket", "k", "https://cos.example.com/s3/Bad_Bucket/k"},
		{"http://[::1]:9000", "b.with.dots", "k", "http://[::1]:9000/b.with.dots/k"},
		{"http://u:p@h:1", "b", "prepared_packages/admin:default:pkg 1.tar.gz", "http://h:1/b/prepared_packages/admin%3Adefault%3Apkg%201.tar.gz"},
		{"https://s3-accelerate.amazonaws.com", "bkpaas3", "k", "https://bkpaas3.s3-accelerate.amazonaws.com/k"},
		{"https://s3-accelerate.dualstack.amazonaws.com", "bkpaas3", "", "https://bkpaas3.s3-accelerate.dualstack.amazonaws.com/"},
		{"https://s3-accelerate.amazonaws.com", "Not_DNS", "k", "https://s3-accelerate.amazonaws.com/Not_DNS/k"},
		{"https://s3.ap-east-1.amazonaws.com", "bkpaas3", "k", "https://s3.ap-east-1.amazonaws.com/bkpaas3/k"},
	} {
		st := Store{Type: TypeS3, Endpoint: c.endpoint, Bucket: c.bucket}
		u, err := st.s3URL(c.key)
		if err != nil || u.String() != c.want {
			t.Errorf("%s %s %q: %v %v, want %s", c.endpoint, c.bucket, c.key, u, err, c.want)
		}
	}
}
