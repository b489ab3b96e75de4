// Package s3server runs a real S3 server for tests, on loopback: versitygw
// (github.com/versity/versitygw, Apache-2.0), an S3 gateway, with its posix backend
// over a temporary directory. versitygw verifies the AWS Signature Version 4 of every
// request: it derives the signing key from the secret of the access key the request
// names, rebuilds the canonical request from what it received and compares the
// signatures (s3api/middlewares/authentication.go, internal/sigv4auth/verify.go), so
// a wrong secret is refused with 403 SignatureDoesNotMatch, an unknown access key with
// 403 InvalidAccessKeyId, and a request changed after signing like a wrong secret.
//
// The gateway is a separate process, built from Go modules by Build: its posix backend
// changes the process' working directory (posix.New calls os.Chdir), and its embedding
// package allows one gateway per process, so it cannot run inside a test binary. In
// front of it, on 127.0.0.1, a reverse proxy of this package serves the endpoint
// (over TLS with a certificate of its own when asked) and records each request, so
// that a test can assert that a probe wrote nothing. The proxy passes requests and
// answers through as they are (less hop-by-hop headers, which are never signed, and
// with the client's Host header, which is); it verifies nothing itself.
//
// It is used by tests only.
package s3server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DefaultRegion is the region a server is in when Options name none.
const DefaultRegion = "us-east-1"

// Options configure a server.
type Options struct {
	// AccessKey and SecretKey are the credentials the server accepts (versitygw's
	// root account, which may do everything). Both are required.
	AccessKey, SecretKey string
	// Region is the region the server is in: a signature scoped to another region is
	// refused. Empty: DefaultRegion.
	Region string
	// TLS serves the endpoint over https with a self-signed certificate for 127.0.0.1
	// and localhost (Server.CA).
	TLS bool
}

// Request is one request the endpoint received.
type Request struct {
	// Method and Path are the request's; Query is its raw query.
	Method, Path, Query string
	// AccessKey is the access key the request was signed with ("" if unsigned).
	AccessKey string
	// Status is the status the server answered with.
	Status int
}

// Server is a running S3 server.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:port or https://127.0.0.1:port;
	// buckets are addressed by path (path-style), as 127.0.0.1 has no subdomains.
	Endpoint string
	// Region is the region the server is in.
	Region string
	// CA is the PEM certificate the endpoint serves, to trust (TLS only).
	CA []byte
	// Dir holds the gateway's buckets (root/), their metadata (meta/), its accounts
	// (iam/), its socket and its log (versitygw.log); Close removes it.
	Dir string

	opts      Options
	cmd       *exec.Cmd
	exited    chan struct{}
	front     *http.Server
	direct    *s3.Client
	mu        sync.Mutex
	requests  []Request
	writes    atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

// Start builds the gateway if needed (see Build), starts it over a new temporary
// directory and serves its endpoint on 127.0.0.1. Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.AccessKey == "" || opts.SecretKey == "" {
		return nil, errors.New("s3server: AccessKey and SecretKey are required")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	binary, err := Build()
	if err != nil {
		return nil, err
	}
	// A short directory: the socket's path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "s3server-")
	if err != nil {
		return nil, err
	}
	s := &Server{Region: opts.Region, Dir: dir, opts: opts, exited: make(chan struct{})}
	if err := s.start(binary); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(binary string) error {
	root, meta, iam := filepath.Join(s.Dir, "root"), filepath.Join(s.Dir, "meta"), filepath.Join(s.Dir, "iam")
	for _, d := range []string{root, meta, iam} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	logFile, err := os.Create(filepath.Join(s.Dir, "versitygw.log"))
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	socket := filepath.Join(s.Dir, "s3.sock")
	// The file-backed IAM (--iam-dir), holding no account but the root one: in
	// versitygw's single-account mode, the default, an unknown access key is answered
	// 404 XAdminUserNotFound (auth/iam_single.go), where S3 answers 403
	// InvalidAccessKeyId, as versitygw does with an IAM. Metadata (ETag, content type,
	// user metadata) in sidecar files rather than extended attributes, which not every
	// temporary directory's filesystem has.
	s.cmd = exec.Command(binary, "--port", socket, "--region", s.Region, "--quiet", "--iam-dir", iam,
		"posix", "--sidecar", meta, root)
	// The credentials through the environment, not the command line that ps shows; no
	// other VGW_ setting of the caller's.
	s.cmd.Env = []string{
		"ROOT_ACCESS_KEY_ID=" + s.opts.AccessKey,
		"ROOT_SECRET_ACCESS_KEY=" + s.opts.SecretKey,
		"HOME=" + s.Dir,
		"TMPDIR=" + s.Dir,
	}
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting versitygw: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()

	toGateway := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
		// Pass answers through as they are: no Accept-Encoding of the proxy's own.
		DisableCompression: true,
	}
	s.direct = s3.New(s3.Options{
		BaseEndpoint: aws.String("http://versitygw"),
		Region:       s.Region,
		UsePathStyle: true,
		Credentials:  credentials(s.opts.AccessKey, s.opts.SecretKey),
		HTTPClient:   &http.Client{Transport: toGateway},
	})
	if err := s.waitReady(toGateway); err != nil {
		return err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	scheme := "http"
	if s.opts.TLS {
		cert, certPEM, err := selfSigned()
		if err != nil {
			_ = l.Close()
			return err
		}
		s.CA = certPEM
		// HTTP/1.1 only, as S3 endpoints speak it.
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.Endpoint = scheme + "://" + l.Addr().String()
	proxy := &httputil.ReverseProxy{
		// The Host header stays the client's: it is signed.
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "versitygw"
		},
		Transport: toGateway,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	s.front = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(proxy, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = s.front.Serve(l) }()
	return nil
}

// waitReady waits until the gateway answers on its socket, or has exited.
func (s *Server) waitReady(t http.RoundTripper) error {
	client := &http.Client{Transport: t, Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://versitygw/")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer within 30s: %v: %s", err, s.logTail())
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "versitygw.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// serve records a request and passes it to the gateway.
func (s *Server) serve(proxy http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writes.Add(1)
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	proxy.ServeHTTP(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		AccessKey: accessKey(r), Status: rec.status})
	s.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets the proxy flush through the recorder.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessKey is the access key of a request's SigV4 credential: from the Authorization
// header (Credential=AK/date/region/s3/aws4_request) or a presigned URL's
// X-Amz-Credential.
func accessKey(r *http.Request) string {
	credential := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		for _, part := range strings.FieldsFunc(auth, func(c rune) bool { return c == ' ' || c == ',' }) {
			if v, ok := strings.CutPrefix(part, "Credential="); ok {
				credential = v
			}
		}
	}
	ak, _, _ := strings.Cut(credential, "/")
	return ak
}

// Writes counts the requests to the endpoint other than GET and HEAD (PUT, POST,
// DELETE, ...), answered or refused: a read-only probe makes none. CreateBucket and
// PutObject are not counted.
func (s *Server) Writes() int64 { return s.writes.Load() }

// Requests are the requests the endpoint received, in the order they were answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CreateBucket creates a bucket, as the server's account, directly on the gateway
// (not through Endpoint: neither Requests nor Writes see it).
func (s *Server) CreateBucket(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}

// PutObject stores an object, as the server's account, directly on the gateway (not
// through Endpoint: neither Requests nor Writes see it). Its ETag is the MD5 of body
// in hex, in quotes, as S3 makes it for a single-part upload.
func (s *Server) PutObject(bucket, key string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.direct.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
	return err
}

// Client is an AWS SDK S3 client of Endpoint that signs with the given credentials
// (which need not be the server's), trusts CA, and does not retry.
func (s *Server) Client(accessKey, secretKey string) *s3.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if s.CA != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.CA)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		UsePathStyle: true,
		Credentials:  credentials(accessKey, secretKey),
		HTTPClient:   &http.Client{Transport: transport},
		Retryer:      aws.NopRetryer{},
	})
}

// credentials are static credentials for the AWS SDK.
func credentials(accessKey, secretKey string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "s3server"}, nil
	})
}

// Close stops the endpoint and the gateway and removes Dir.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.front != nil {
			errs = append(errs, s.front.Close())
		}
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		errs = append(errs, os.RemoveAll(s.Dir))
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a day, that is
// its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "s3server"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
