// Package blobprobe probes the platform's blob store read-only, with the platform's
// credentials and the calls its SDKs make (blue-krill's BKGenericRepo and S3Store,
// bkstorages' BKGenericRepoClient): for bkrepo, the repository-info call
// (GET repository/api/repo/info/{project}/{bucket}/GENERIC) and a generic HEAD of an
// object, with Basic auth; for S3, HeadBucket and HeadObject signed with SigV4 as
// boto3 1.33.13 signs them. Failures are named with httpprobe's reasons. Nothing is
// written, and no message quotes a password, a secret key or an Authorization header.
package blobprobe

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/httpprobe"
)

// Store types, as the platform's StoreType names them (utils/blobstore.py:42-47).
const (
	TypeBKRepo = "bkrepo"
	TypeS3     = "s3"
)

const (
	// SigV4 is BLOBSTORE_S3_SIG_VERSION's default, the only signature the probe makes.
	SigV4 = "s3v4"
	// DefaultRegion is BLOBSTORE_S3_REGION_NAME's default.
	DefaultRegion = "us-east-1"
	// ReasonNotFound: no such bucket, repository or object.
	ReasonNotFound = httpprobe.ReasonNotFound
	// emptySHA256 is the payload hash boto3 signs a HEAD with: S3SigV4Auth signs the
	// payload whenever no Content-MD5 is sent (botocore 1.33.13 auth.py:486-524), and a
	// HEAD has no body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Store is the platform's blob store for one bucket, as its settings configure it.
type Store struct {
	// Type is TypeBKRepo or TypeS3.
	Type string
	// Endpoint is BLOBSTORE_BKREPO_CONFIG.ENDPOINT or BLOBSTORE_S3_ENDPOINT.
	Endpoint string
	// Project is BLOBSTORE_BKREPO_CONFIG.PROJECT.
	Project string
	// Username and Password are BLOBSTORE_BKREPO_CONFIG's USERNAME and PASSWORD, or
	// BLOBSTORE_S3_ACCESS_KEY and BLOBSTORE_S3_SECRET_KEY.
	Username, Password string
	// Region is BLOBSTORE_S3_REGION_NAME; empty: DefaultRegion.
	Region string
	// SignatureVersion is BLOBSTORE_S3_SIG_VERSION with its default applied: anything
	// but SigV4 is reported UnsupportedSignature rather than guessed at.
	SignatureVersion string
	// Bucket is the bucket (bkrepo: the GENERIC repository).
	Bucket string
	// DropEndpointPath: the platform joins bkrepo paths with urljoin(ENDPOINT,
	// "/generic/...") and so drops ENDPOINT's path (release 1.6: blue-krill 2.0.7
	// bkrepo.py:311, bkstorages 2.0.0 bkrepo.py:250-254); later lines keep it
	// (blue-krill 2.1.5 safe_urljoin, bkrepo.py:379-392).
	DropEndpointPath bool
}

// Prober makes the calls with one HTTP client, whose transport decides the TLS roots;
// the probe never skips verification.
type Prober struct {
	Client *http.Client
	// Now is the signing time of S3 requests; nil: time.Now.
	Now func() time.Time
}

// Result is what one call found.
type Result struct {
	// Reason is "" when the call succeeded; Message says what was called and why not.
	Reason, Message string
	// ServingCertificateNotAfter is the earliest expiry of an https store's chain.
	ServingCertificateNotAfter *time.Time
	// Denied (with ReasonForbidden): the store accepted the platform's credentials but
	// refuses this call for want of a permission (bkrepo's REQUEST_DENIED, S3's
	// AccessDenied), which says nothing of the calls the platform makes.
	Denied bool
}

// OK says whether the call succeeded.
func (r Result) OK() bool { return r.Reason == "" }

// ObjectResult is what a HEAD of an object found.
type ObjectResult struct {
	Result
	// Found: the object exists (Reason ""); a missing one is Found false with
	// ReasonNotFound.
	Found bool
	// Size is the object's Content-Length, -1 if the store sent none.
	Size int64
	// ETag is the store's ETag without quotes: S3's is the MD5 of a single-part
	// upload, bkrepo's the sha256.
	ETag string
}

// Bucket checks the bucket: bkrepo's repository-info call, or S3 HeadBucket.
func (p Prober) Bucket(ctx context.Context, s Store) Result {
	target, res := s.url(false, "")
	if !res.OK() {
		return res
	}
	method := http.MethodGet
	if s.Type == TypeS3 {
		method = http.MethodHead
	}
	ans, res := p.call(ctx, s, method, target)
	call := method + " " + target.String()
	switch {
	case !res.OK(): // no answer
	case ans.status/100 != 2 || (ans.env != nil && *ans.env.Code != 0):
		res.Reason, res.Message = s.refusal(ans, call, "")
		switch {
		case s.Type == TypeBKRepo && ans.env != nil && *ans.env.Code == 250113:
			res.Denied = true
		case s.Type == TypeS3 && ans.status == http.StatusForbidden:
			res.Denied, res.Message = p.whyForbidden(ctx, s, target, res.Message)
		}
	case s.Type == TypeS3:
	case ans.env == nil:
		res.Reason, res.Message = v1alpha1.ReasonInvalidResponse, fmt.Sprintf("%s: %d: the answer is not bkrepo's JSON (a proxy in front of bkrepo?)", call, ans.status)
	case len(ans.env.Data) == 0 || string(ans.env.Data) == "null":
		// bkrepo answers data null when the repository exists with another type
		// (RepositoryServiceImpl.kt:128-131 filters on it).
		res.Reason, res.Message = ReasonNotFound, fmt.Sprintf("%s: project %s has no GENERIC repository %s (bkrepo: data null; the name is taken by another type)", call, s.Project, s.Bucket)
	}
	return res
}

// Object HEADs the object at key: a generic HEAD with Basic auth on bkrepo (what
// BKGenericRepo.get_file_metadata calls), HeadObject on S3 (what boto3's download and
// overwrite check call first).
func (p Prober) Object(ctx context.Context, s Store, key string) ObjectResult {
	out := ObjectResult{Size: -1}
	target, res := s.url(true, key)
	if out.Result = res; !res.OK() {
		return out
	}
	ans, res := p.call(ctx, s, http.MethodHead, target)
	switch out.Result = res; {
	case !res.OK(): // no answer
	case ans.status/100 != 2:
		out.Reason, out.Message = s.refusal(ans, "HEAD "+target.String(), key)
	default:
		out.Found, out.Size = true, ans.length
		out.ETag = strings.Trim(strings.TrimPrefix(ans.header.Get("ETag"), "W/"), `"`)
	}
	return out
}

// ObjectURL is the URL the platform reads key from, without credentials.
func (s Store) ObjectURL(key string) string {
	u, res := s.url(true, key)
	if !res.OK() {
		return fmt.Sprintf("%s/%s (%s)", s.Bucket, key, res.Message)
	}
	return u.String()
}

// url is the URL of key's object, or of the bucket's call, unless the probe cannot
// call the store as the platform does.
func (s Store) url(object bool, key string) (*url.URL, Result) {
	switch {
	case s.Type != TypeBKRepo && s.Type != TypeS3:
		return nil, Result{Reason: v1alpha1.ReasonInvalidSettings, Message: fmt.Sprintf("blob store type %q is neither bkrepo nor s3", s.Type)}
	case s.Type == TypeS3 && s.SignatureVersion != SigV4:
		return nil, Result{Reason: v1alpha1.ReasonUnsupportedSignature, Message: fmt.Sprintf(
			"BLOBSTORE_S3_SIG_VERSION is %q: paasdiag signs only %s, so it cannot call the store as the platform does", s.SignatureVersion, SigV4)}
	case object && key == "":
		return nil, Result{Reason: v1alpha1.ReasonInvalidSettings, Message: "the object key is empty"}
	}
	var u *url.URL
	var err error
	switch {
	case s.Type == TypeS3:
		u, err = s.s3URL(key)
	case object:
		u, err = s.bkrepoURL("generic/" + s.Project + "/" + s.Bucket + "/" + key)
	default:
		u, err = s.bkrepoURL("repository/api/repo/info/" + s.Project + "/" + s.Bucket + "/GENERIC")
	}
	if err != nil {
		setting := "BLOBSTORE_BKREPO_CONFIG.ENDPOINT"
		if s.Type == TypeS3 {
			setting = "BLOBSTORE_S3_ENDPOINT"
		}
		return nil, Result{Reason: v1alpha1.ReasonInvalidSettings, Message: fmt.Sprintf("%s: %v", setting, err)}
	}
	return u, Result{}
}

func (s Store) region() string {
	if s.Region == "" {
		return DefaultRegion
	}
	return s.Region
}

// endpoint parses an endpoint without its user information, which no message may show.
func endpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("not an http(s) URL")
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u, nil
}

// bkrepoURL joins path to the endpoint as the platform's line does: urljoin with a
// leading slash (DropEndpointPath), or safe_urljoin, which keeps the endpoint's path.
func (s Store) bkrepoURL(path string) (*url.URL, error) {
	base, err := endpoint(s.Endpoint)
	if err != nil {
		return nil, err
	}
	if s.DropEndpointPath {
		path = "/" + path
	} else if !strings.HasSuffix(base.Path, "/") {
		base.Path, base.RawPath = base.Path+"/", ""
	}
	ref, err := url.Parse(path)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

// s3URL is where boto3 1.33.13 sends HeadBucket (key "") or HeadObject (paths below
// are botocore/ at tag 1.33.13).
//
// With endpoint_url set and no s3 addressing_style (blue-krill's S3Store configures
// only region and signature version), botocore forces path-style: args.py:698-705
// sets AWS::S3::ForcePathStyle to addressing_style != 'virtual' for any endpoint_url
// that is not an S3 Accelerate one. The ruleset then gives
// {scheme}://{authority}{normalizedPath}{uri_encoded_bucket}
// (data/s3/2006-03-01/endpoint-rule-set-1.json:6422-6610), keeping the endpoint's
// path, and the key follows as /{Key+}, percent-encoded but for '/' and '~'. So IP
// endpoints and buckets that are not DNS labels (handlers.py:1124-1129) are
// path-style, and so is every other custom endpoint; only an Accelerate endpoint with
// a DNS-compatible bucket is virtual-hosted.
func (s Store) s3URL(key string) (*url.URL, error) {
	base, err := endpoint(s.Endpoint)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(base.Path, "/")
	if accelerate(base) && dnsBucket(s.Bucket) {
		base.Host = s.Bucket + "." + base.Host
		base.Path = prefix + "/" + key
		base.RawPath = escapeAWS(prefix, true) + "/" + escapeAWS(key, true)
		return base, nil
	}
	base.Path = prefix + "/" + s.Bucket
	base.RawPath = escapeAWS(prefix, true) + "/" + escapeAWS(s.Bucket, false)
	if key != "" {
		base.Path += "/" + key
		base.RawPath += "/" + escapeAWS(key, true)
	}
	return base, nil
}

// accelerate is botocore's is_s3_accelerate_url (utils.py:3461-3491): an amazonaws.com
// host whose first label is s3-accelerate, then at most one "dualstack".
func accelerate(u *url.URL) bool {
	labels := strings.Split(u.Hostname(), ".")
	if len(labels) < 3 || labels[0] != "s3-accelerate" || !strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		return false
	}
	features := labels[1 : len(labels)-2]
	return len(features) == 0 || (len(features) == 1 && features[0] == "dualstack")
}

// dnsBucket is the ruleset's isVirtualHostableS3Bucket without subdomains: 3-63
// lower-case letters, digits and hyphens, starting and ending with a letter or digit.
func dnsBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// escapeAWS percent-encodes all but RFC 3986's unreserved characters (and '/' if
// keepSlash), as botocore's percent_encode does.
func escapeAWS(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 || keepSlash && c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// answer is what the store answered.
type answer struct {
	status int
	header http.Header
	body   []byte
	length int64
	// env is bkrepo's JSON answer ({"code", "message", "data", "traceId"}), nil if
	// the body is not one.
	env *envelope
}

type envelope struct {
	Code    *int            `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// whyForbidden tells, for a HeadBucket answered 403 (a HEAD has no body to say why), a
// refused signature or key from a missing permission: GetBucketLocation, a GET signed
// the same way, answers S3's error code. The signature is checked before any
// permission, so SignatureDoesNotMatch or InvalidAccessKeyId means the credentials are
// wrong; AccessDenied (or a success) means the key lacks s3:ListBucket, which uploads
// do not need.
func (p Prober) whyForbidden(ctx context.Context, s Store, bucket *url.URL, message string) (bool, string) {
	target := *bucket
	target.RawQuery = "location="
	ans, res := p.call(ctx, s, http.MethodGet, &target)
	if !res.OK() {
		return false, message
	}
	var body struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(ans.body, &body)
	switch {
	case ans.status/100 == 2 || body.Code == "AccessDenied":
		return true, message + ": the key is accepted but may not list the bucket (GetBucketLocation: " + firstNonEmpty(body.Code, "allowed") + ")"
	case body.Code != "":
		return false, message + " (GetBucketLocation: " + body.Code + ")"
	}
	return false, message
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// call sends one request, authenticated as the platform authenticates. A Result that
// is not OK is a failure to get any answer.
func (p Prober) call(ctx context.Context, s Store, method string, target *url.URL) (answer, Result) {
	name := method + " " + target.String()
	req, err := http.NewRequestWithContext(ctx, method, target.String(), nil)
	if err != nil {
		return answer{}, Result{Reason: v1alpha1.ReasonInvalidSettings, Message: fmt.Sprintf("%s: %v", name, err)}
	}
	req.URL = target
	if s.Type == TypeS3 {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		creds := aws.Credentials{AccessKeyID: s.Username, SecretAccessKey: s.Password}
		// S3 signs the path as sent, not escaped twice (botocore: S3SigV4Auth's
		// _normalize_url_path returns it as is).
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", s.region(), now().UTC()); err != nil {
			return answer{}, Result{Reason: v1alpha1.ReasonUnsupportedSignature, Message: fmt.Sprintf("%s: cannot sign: %v", name, err)}
		}
	} else {
		req.SetBasicAuth(s.Username, s.Password)
	}
	client := http.DefaultClient
	if p.Client != nil {
		client = p.Client
	}
	if method == http.MethodHead {
		// Neither requests' head() nor botocore follows a redirect of a HEAD.
		c := *client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &c
	}
	resp, err := client.Do(req)
	if err != nil {
		r, m := httpprobe.Transport(ctx, err, name, "the blob store's")
		return answer{}, Result{Reason: r, Message: m}
	}
	defer func() { _ = resp.Body.Close() }()
	ans := answer{status: resp.StatusCode, header: resp.Header, length: resp.ContentLength}
	ans.body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if s.Type == TypeBKRepo && (json.Unmarshal(ans.body, &ans.env) != nil || ans.env == nil || ans.env.Code == nil) {
		ans.env = nil
	}
	return ans, Result{ServingCertificateNotAfter: clusterprobe.ChainNotAfter(resp.TLS)}
}

// bkrepo's codes that say what is wrong whatever the HTTP status (bk-repo 2d586d7f7f:
// CommonMessageCode.kt:34-76 and ArtifactMessageCode.kt:39-81, numbered by
// MessageCode.kt:62-67; docs/apidoc/common/error-code.md). A missing repository is 404
// on the permission check (PermissionManager.kt:311-313) but 400 where services throw
// ErrorCodeException(REPOSITORY_NOT_FOUND) themselves (RepositoryServiceImpl.kt:367).
var bkrepoReasons = map[int]string{
	250108: ReasonNotFound,              // RESOURCE_NOT_FOUND
	251004: ReasonNotFound,              // PROJECT_NOT_FOUND
	251006: ReasonNotFound,              // REPOSITORY_NOT_FOUND
	251010: ReasonNotFound,              // NODE_NOT_FOUND
	251024: ReasonNotFound,              // ARTIFACT_DATA_NOT_FOUND
	250113: v1alpha1.ReasonForbidden,    // REQUEST_DENIED
	250114: v1alpha1.ReasonUnauthorized, // REQUEST_UNAUTHENTICATED
}

// refusal names an answer that is not a success; key is "" for the bucket call.
func (s Store) refusal(ans answer, call, key string) (string, string) {
	reason, msg := httpprobe.Status(ans.status, call)
	if reason == "" {
		msg = fmt.Sprintf("%s: %d %s", call, ans.status, http.StatusText(ans.status))
	}
	if ans.env != nil && *ans.env.Code != 0 {
		if r, ok := bkrepoReasons[*ans.env.Code]; ok {
			reason = r
		} else if reason == "" {
			reason = v1alpha1.ReasonServerError
		}
		msg += fmt.Sprintf(": bkrepo code %d: %s", *ans.env.Code, ans.env.Message)
	}
	where := fmt.Sprintf("repository %s of bkrepo project %s", s.Bucket, s.Project)
	if s.Type == TypeS3 {
		where = "bucket " + s.Bucket
	}
	switch {
	case reason == ReasonNotFound && key == "":
		msg += fmt.Sprintf(": no %s", where)
	case reason == ReasonNotFound && s.Type == TypeS3:
		msg += fmt.Sprintf(": no object %s in %s (or no such bucket: a HEAD answer has no body to tell)", key, where)
	case reason == ReasonNotFound:
		msg += fmt.Sprintf(": no object %s in %s (or no such repository: a HEAD answer has no body to tell)", key, where)
	case reason == v1alpha1.ReasonUnauthorized && s.Type == TypeBKRepo:
		msg += fmt.Sprintf(": bkrepo does not accept user %q with BLOBSTORE_BKREPO_CONFIG's PASSWORD", s.Username)
	case reason == v1alpha1.ReasonForbidden && s.Type == TypeBKRepo:
		msg += fmt.Sprintf(": user %q may not read %s", s.Username, where)
	case (reason == v1alpha1.ReasonUnauthorized || reason == v1alpha1.ReasonForbidden) && s.Type == TypeS3:
		msg += fmt.Sprintf(": the store refuses access key %q (a wrong BLOBSTORE_S3_SECRET_KEY, a key it does not know, or no permission on %s)", s.Username, where)
	case s.Type == TypeS3 && (ans.status == http.StatusBadRequest || ans.status == http.StatusMovedPermanently):
		msg += fmt.Sprintf(": signed for region %q (BLOBSTORE_S3_REGION_NAME); the store may be in another", s.region())
		if r := ans.header.Get("X-Amz-Bucket-Region"); r != "" {
			msg += fmt.Sprintf(": it says %s", r)
		}
	}
	return reason, msg
}
