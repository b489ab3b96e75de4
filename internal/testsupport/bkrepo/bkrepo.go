// Package bkrepo is a bkrepo (TencentBlueKing/bk-repo) for tests, started on loopback:
// the read side of the generic artifact API and the repository-info call, as bkrepo's
// published API describes them and its source answers them. References are to bk-repo
// 2d586d7f7f; .kt names are listed at the end.
//
//   - docs/apidoc/common/common.md:9-46: Basic auth; every JSON answer is
//     {"code", "message", "data", "traceId"}, code 0 for success (Response.kt:40-49).
//   - docs/apidoc/repo/repository.md:169-228: GET /repository/api/repo/info/{projectId}/{repoName}[/{type}]
//     (UserRepositoryController.kt:103-118, @Permission(REPO, READ)). With a type the
//     repository does not have, data is null and code 0 (RepositoryServiceImpl.kt:128-131;
//     RepositoryServiceHelper.kt:519-531 filters on the upper-cased type).
//   - docs/apidoc/generic/simple.md:89-177: GET and HEAD /generic/{project}/{repo}/{path}
//     (GenericController.kt:168-173, @Permission(NODE, DOWNLOAD); Spring answers HEAD
//     with the GET handler, without the body). The ETag is the node's sha256, bare
//     (DefaultArtifactResourceWriter.kt:106-120, :246-248), beside X-Checksum-Md5,
//     X-Checksum-Sha256, Last-Modified, Accept-Ranges: bytes and Cache-Control: no-cache.
//
// How bkrepo refuses, in the order it checks. A code is MessageCode.getCode(),
// 25*10000 + module*100 + ordinal+1 (MessageCode.kt:62-67; CommonMessageCode.kt:34-76
// is module 1, ArtifactMessageCode.kt:39-81 module 10; docs/apidoc/common/error-code.md
// lists them); the HTTP status is the ErrorCodeException's (AbstractExceptionHandler.kt:53-60).
//
//  1. Credentials that do not check out: 401, 250114 (REQUEST_UNAUTHENTICATED),
//     "Failed to authenticate: Authorization value check failed", with
//     WWW-Authenticate: Basic realm="Authentication Required" (BasicAuthHandler.kt:61-64,
//     AuthenticationManager.kt:73-76, AuthenticationException.kt:42-45,
//     SecurityExceptionHandler.kt:51-55). No credentials is the anonymous user, refused
//     the same way when the permission is checked (PermissionManager.kt:656-660).
//  2. A project or repository that does not exist: 404, 251006 (REPOSITORY_NOT_FOUND),
//     "Repository [name] not found". The permission check looks the repository up
//     first (PermissionManager.kt:146-169, :180-210, :311-313; RepoNotFoundException.kt:40-42);
//     a missing project is not told apart, as queryProjectEnabledStatus (:300-306)
//     swallows ProjectServiceImpl.kt:143-148's PROJECT_NOT_FOUND.
//  3. A user without the permission: 403, 250113 (REQUEST_DENIED), "Access denied:
//     user[u] does not have [READ] permission in project[p] repo[r]"
//     (PermissionManager.kt:389-402, PermissionException.kt:41-43, common-api's
//     messages_en.properties:53).
//  4. A generic path with no node: 404, 251010 (NODE_NOT_FOUND), "Node [/path] not
//     found" (DownloadService.kt:79-89, NodeNotFoundException.kt:40-42).
//
// Messages are bkrepo's English ones (messages_en.properties); bkrepo localizes them.
// Writes (upload, delete, ...) are not served: any method but GET and HEAD is recorded
// and answered 405, 250112 (METHOD_NOT_ALLOWED), so a test sees a probe that writes.
// Objects are put with PutObject. Requests are recorded without credentials; nothing
// is logged.
//
// Sources, under src/backend/: common/common-api/src/main/kotlin/com/tencent/bkrepo/common/api/
// {pojo/Response.kt, message/MessageCode.kt, message/CommonMessageCode.kt}, and
// resources/i18n/messages_en.properties beside it;
// common/common-artifact/artifact-api/.../common/artifact/{message/ArtifactMessageCode.kt,
// exception/RepoNotFoundException.kt, exception/NodeNotFoundException.kt};
// common/common-artifact/artifact-service/.../resolve/response/DefaultArtifactResourceWriter.kt;
// common/common-security/.../security/{http/basic/BasicAuthHandler.kt,
// manager/AuthenticationManager.kt, exception/AuthenticationException.kt,
// exception/PermissionException.kt, exception/SecurityExceptionHandler.kt};
// common/common-service/service-servlet/.../service/exception/AbstractExceptionHandler.kt;
// common/common-metadata/metadata-service/.../metadata/{permission/PermissionManager.kt,
// service/repo/impl/RepositoryServiceImpl.kt, service/project/impl/ProjectServiceImpl.kt,
// util/RepositoryServiceHelper.kt};
// repository/biz-repository/.../repository/controller/user/UserRepositoryController.kt;
// core/generic/biz-generic/.../generic/{controller/GenericController.kt,
// service/DownloadService.kt}.
//
// It is used by tests only.
package bkrepo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bkrepo's codes for the refusals it makes here (see the package comment).
const (
	CodeMethodNotAllowed       = 250112
	CodeRequestDenied          = 250113
	CodeRequestUnauthenticated = 250114
	CodeRepositoryNotFound     = 251006
	CodeNodeNotFound           = 251010
)

// Access is what a user may do in a project.
type Access int

// Accesses; ReadWrite = Read | Write.
const (
	Read Access = 1 << iota
	Write
	ReadWrite = Read | Write
)

// Options configure a server.
type Options struct {
	// Users are the accounts: name → password.
	Users map[string]string
	// Projects are the projects and the GENERIC repositories in each (AddRepo adds
	// repositories of other types).
	Projects map[string][]string
	// Access is what each user may do: user → project → access. A user may do
	// nothing where it is not given.
	Access map[string]map[string]Access
	// PathPrefix serves the API under a path (e.g. "/bkrepo"), as a gateway in front
	// of bkrepo may; requests outside it are answered 404 by the "gateway".
	PathPrefix string
	// TLS serves https with a certificate for 127.0.0.1, ::1 and localhost, signed by
	// a CA of its own (CAPEM).
	TLS bool
}

// Request is one request the server received.
type Request struct {
	// Method and Path are the request's (Path with the prefix); User is the Basic
	// auth user name ("" if none), never the password.
	Method, Path, User string
	// Status is the status answered.
	Status int
}

type object struct {
	body         []byte
	sha256, md5  string
	lastModified time.Time
}

// Server is a running bkrepo.
type Server struct {
	// URL is the listener's root, http(s)://127.0.0.1:port.
	URL string
	// Endpoint is URL plus PathPrefix: BLOBSTORE_BKREPO_CONFIG's ENDPOINT.
	Endpoint string
	// CAPEM is the PEM of the CA that signed the serving certificate (TLS only).
	CAPEM []byte

	srv      *httptest.Server
	opts     Options
	mu       sync.Mutex
	repos    map[string]string // project/repo → type
	objects  map[string]object // project/repo/fullPath → object
	requests []Request
}

// Start serves a bkrepo on loopback. Close stops it.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, repos: map[string]string{}, objects: map[string]object{}}
	s.opts.PathPrefix = strings.TrimSuffix(opts.PathPrefix, "/")
	for project, repos := range opts.Projects {
		for _, repo := range repos {
			s.repos[project+"/"+repo] = "GENERIC"
		}
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// A client that does not trust the CA is a case tests make on purpose.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS {
		caPEM, cert, err := servingCert()
		if err != nil {
			return nil, err
		}
		s.CAPEM = caPEM
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	s.Endpoint = s.URL + s.opts.PathPrefix
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddRepo adds a repository of a type (GENERIC, DOCKER, ...) to a project.
func (s *Server) AddRepo(project, repo, repoType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[project+"/"+repo] = strings.ToUpper(repoType)
}

// PutObject stores body at path in a repository, as an upload would (not through
// HTTP: Requests and Writes do not see it). The repository must exist.
func (s *Server) PutObject(project, repo, path string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[project+"/"+repo]; !ok {
		return fmt.Errorf("bkrepo: no repository %s in project %s", repo, project)
	}
	sum, md := sha256.Sum256(body), md5.Sum(body)
	s.objects[project+"/"+repo+fullPath(path)] = object{body: append([]byte(nil), body...),
		sha256: hex.EncodeToString(sum[:]), md5: hex.EncodeToString(md[:]), lastModified: time.Now()}
	return nil
}

// Requests are the requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Writes are the requests received that are not GET or HEAD.
func (s *Server) Writes() []Request {
	var writes []Request
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writes = append(writes, r)
		}
	}
	return writes
}

// fullPath is bkrepo's full path of a node: "/" and the path, without repeated or
// trailing slashes.
func fullPath(path string) string {
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return "/" + strings.Join(parts, "/")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, _, _ := r.BasicAuth()
	status := s.answer(w, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, User: user, Status: status})
	s.mu.Unlock()
}

// answer answers r and returns the status.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) int {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.PathPrefix+"/")
	if !ok {
		// What a gateway routing only the prefix to bkrepo answers.
		http.Error(w, "404 Not Found", http.StatusNotFound)
		return http.StatusNotFound
	}
	var project, repo, rest, action string
	if p, ok := strings.CutPrefix(path, "repository/api/repo/info/"); ok {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 {
			return fail(w, http.StatusNotFound, 250108, "Resource ["+r.URL.Path+"] not found")
		}
		project, repo, action = parts[0], parts[1], "READ"
		if len(parts) == 3 {
			rest = parts[2]
		}
	} else if p, ok := strings.CutPrefix(path, "generic/"); ok {
		parts := strings.SplitN(p, "/", 3)
		if len(parts) < 3 {
			return fail(w, http.StatusNotFound, 250108, "Resource ["+r.URL.Path+"] not found")
		}
		project, repo, rest, action = parts[0], parts[1], parts[2], "DOWNLOAD"
	} else {
		return fail(w, http.StatusNotFound, 250108, "Resource ["+r.URL.Path+"] not found")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fail(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed: this test bkrepo serves reads only")
	}

	user, password, hasAuth := r.BasicAuth()
	if hasAuth {
		if want, known := s.opts.Users[user]; !known || want != password {
			return unauthenticated(w, "Authorization value check failed")
		}
	} else if r.Header.Get("Authorization") != "" {
		return unauthenticated(w, "Invalid authorization value.")
	}
	s.mu.Lock()
	repoType, repoExists := s.repos[project+"/"+repo]
	obj, objExists := s.objects[project+"/"+repo+fullPath(rest)]
	s.mu.Unlock()
	if !repoExists {
		return fail(w, http.StatusNotFound, CodeRepositoryNotFound, "Repository ["+repo+"] not found")
	}
	if !hasAuth {
		return unauthenticated(w, "Unauthorized")
	}
	if s.opts.Access[user][project]&Read == 0 {
		return fail(w, http.StatusForbidden, CodeRequestDenied,
			fmt.Sprintf("Access denied: user[%s] does not have [%s] permission in project[%s] repo[%s]", user, action, project, repo))
	}

	if action == "READ" {
		if rest != "" && !strings.EqualFold(rest, repoType) {
			return respond(w, http.StatusOK, 0, "", nil)
		}
		return respond(w, http.StatusOK, 0, "", map[string]any{"projectId": project, "name": repo, "type": repoType,
			"category": "LOCAL", "public": false, "description": "", "configuration": map[string]any{},
			"createdBy": "admin", "createdDate": "2020-03-16T12:13:03.371", "lastModifiedBy": "admin",
			"lastModifiedDate": "2020-03-16T12:13:03.371", "quota": nil, "used": 0})
	}
	if !objExists {
		return fail(w, http.StatusNotFound, CodeNodeNotFound, "Node ["+fullPath(rest)+"] not found")
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(obj.body)))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", obj.sha256)
	h.Set("X-Checksum-Md5", obj.md5)
	h.Set("X-Checksum-Sha256", obj.sha256)
	h.Set("Last-Modified", obj.lastModified.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(obj.body)
	}
	return http.StatusOK
}

func unauthenticated(w http.ResponseWriter, reason string) int {
	w.Header().Set("WWW-Authenticate", `Basic realm="Authentication Required"`)
	return fail(w, http.StatusUnauthorized, CodeRequestUnauthenticated, "Failed to authenticate: "+reason)
}

func fail(w http.ResponseWriter, status, code int, message string) int {
	return respond(w, status, code, message, nil)
}

// respond writes bkrepo's Response (Response.kt:40-49); HEAD answers lose the body.
func respond(w http.ResponseWriter, status, code int, message string, data any) int {
	body := struct {
		Code    int     `json:"code"`
		Message *string `json:"message"`
		Data    any     `json:"data"`
		TraceID *string `json:"traceId"`
	}{Code: code, Data: data}
	if message != "" {
		body.Message = &message
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	return status
}

// servingCert makes a CA and a serving certificate it signs for the loopback names.
func servingCert() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bkrepo test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
