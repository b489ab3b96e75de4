//go:build integration

package blobprobe

import (
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/testsupport/s3server"
)

// The platform's S3 credentials (BLOBSTORE_S3_ACCESS_KEY, BLOBSTORE_S3_SECRET_KEY).
const (
	accessKey = "bkpaas3-blobstore"
	secretKey = "blobstore-secret-0123456789"
	// smartKey is an S-mart stash key (prepared_packages/{user}:{namespace}:{file}):
	// its colons and space are escaped in the path, which the signature covers.
	smartKey = "prepared_packages/admin:default:app foo.tar.gz"
)

func TestMain(m *testing.M) {
	// The first build of versitygw takes minutes; before m.Run go test's -timeout does
	// not count it.
	if _, err := s3server.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func startS3(t *testing.T, opts s3server.Options) *s3server.Server {
	t.Helper()
	opts.AccessKey, opts.SecretKey = accessKey, secretKey
	s, err := s3server.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.Writes() != 0 {
			t.Errorf("the probe wrote: %+v", s.Requests())
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, smartKey} {
		if err := s.PutObject(bucket, k, packageBody); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func s3Store(s *s3server.Server) Store {
	return Store{Type: TypeS3, Endpoint: s.Endpoint, Username: accessKey, Password: secretKey,
		Region: s.Region, SignatureVersion: SigV4, Bucket: bucket}
}

func noS3Secret(t *testing.T, res Result) {
	t.Helper()
	if strings.Contains(res.Message, secretKey) || strings.Contains(res.Message, "Signature=") {
		t.Errorf("a message quotes a credential: %s", res.Message)
	}
}

// HeadBucket and HeadObject against a server that verifies SigV4: the platform's
// credentials read; each way they can fail is named.
func TestS3(t *testing.T) {
	s := startS3(t, s3server.Options{})
	ok := s3Store(s)
	with := func(f func(*Store)) Store { st := ok; f(&st); return st }
	for _, c := range []struct {
		name   string
		store  Store
		reason string
		says   string
	}{
		{"OK", ok, "", ""},
		{"wrong secret", with(func(s *Store) { s.Password = "not-" + secretKey }), v1alpha1.ReasonForbidden, `403 Forbidden: the store refuses access key "bkpaas3-blobstore"`},
		{"unknown access key", with(func(s *Store) { s.Username = "AKIDUNKNOWN" }), v1alpha1.ReasonForbidden, `access key "AKIDUNKNOWN"`},
		{"missing bucket", with(func(s *Store) { s.Bucket = "no-such-bucket" }), ReasonNotFound, "404 Not Found: no bucket no-such-bucket"},
		{"another region", with(func(s *Store) { s.Region = "ap-shanghai" }), v1alpha1.ReasonServerError, `400 Bad Request: signed for region "ap-shanghai"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := Prober{}.Bucket(ctx(t), c.store)
			noS3Secret(t, res)
			if res.Reason != c.reason || !strings.Contains(res.Message, c.says) {
				t.Errorf("%+v, want %s saying %q", res, c.reason, c.says)
			}
			if c.reason != "" && !strings.HasPrefix(res.Message, "HEAD "+s.Endpoint+"/"+c.store.Bucket+": ") {
				t.Errorf("the message does not name the call: %s", res.Message)
			}
			o := Prober{}.Object(ctx(t), c.store, key)
			noS3Secret(t, o.Result)
			if o.Reason != c.reason || o.Found != (c.reason == "") {
				t.Errorf("object: %+v, want %s", o, c.reason)
			}
		})
	}

	sum := md5.Sum(packageBody)
	for _, k := range []string{key, smartKey} {
		o := Prober{}.Object(ctx(t), ok, k)
		if !o.Found || o.Size != int64(len(packageBody)) || o.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %+v", k, o)
		}
	}
	o := Prober{}.Object(ctx(t), ok, "default/app-foo/default/gone.tar.gz")
	if o.Found || o.Reason != ReasonNotFound || !strings.Contains(o.Message, "no object default/app-foo/default/gone.tar.gz in bucket "+bucket) {
		t.Errorf("missing: %+v", o)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodHead || last.AccessKey != accessKey || last.Path != "/"+bucket+"/default/app-foo/default/gone.tar.gz" {
		t.Errorf("last request %+v", last)
	}
}

// Over https the Prober's client decides the roots: without the server's CA the call
// is refused by TLS; with it, it succeeds and reports the chain's expiry.
func TestS3TLS(t *testing.T) {
	s := startS3(t, s3server.Options{TLS: true})
	if res := (Prober{}).Bucket(ctx(t), s3Store(s)); res.Reason != v1alpha1.ReasonTLSUnknownAuthority {
		t.Errorf("unknown CA: %+v", res)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA)
	p := Prober{Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	if res := p.Bucket(ctx(t), s3Store(s)); !res.OK() || res.ServingCertificateNotAfter == nil {
		t.Errorf("trusted: %+v", res)
	}
	if o := p.Object(ctx(t), s3Store(s), smartKey); !o.Found || o.ServingCertificateNotAfter == nil {
		t.Errorf("trusted object: %+v", o)
	}
}
