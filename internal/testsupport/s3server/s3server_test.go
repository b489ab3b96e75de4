//go:build integration

package s3server_test

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/paasdiag/paasdiag/internal/testsupport/s3server"
)

// The platform's blob store credentials and bucket, as a bkpaas3 installation has them
// (BLOBSTORE_S3_ACCESS_KEY, BLOBSTORE_S3_SECRET_KEY, BLOBSTORE_BUCKET_AP_PACKAGES).
const (
	accessKey = "bkpaas3-blobstore"
	secretKey = "blobstore-secret-0123456789"
	bucket    = "bkpaas3-apps-packages"
	object    = "app-foo/default/v1.0.0.tar.gz"
)

var body = []byte("a source package\n")

func TestMain(m *testing.M) {
	// The first build of versitygw takes minutes; before m.Run go test's -timeout does
	// not count it.
	if _, err := s3server.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// start starts a server holding bucket with object.
func start(t *testing.T, opts s3server.Options) *s3server.Server {
	t.Helper()
	s, err := s3server.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.PutObject(bucket, object, body); err != nil {
		t.Fatal(err)
	}
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// status is the HTTP status of a failed call, 0 if it got none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// code is the S3 error code of a failed call. HEAD answers have no body, so theirs is
// only the SDK's name for the status.
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The platform's credentials read the bucket and the object's size and ETag, over
// http and over https with the server's CA; a client that does not trust the CA is
// refused by TLS.
func TestTheRightCredentialsReadTheBucketAndTheObject(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("TLS=%v", useTLS), func(t *testing.T) {
			s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey, TLS: useTLS})
			c := s.Client(accessKey, secretKey)
			if _, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatalf("HeadBucket: %v", err)
			}
			out, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)})
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			sum := md5.Sum(body)
			if got, want := aws.ToString(out.ETag), `"`+hex.EncodeToString(sum[:])+`"`; got != want {
				t.Errorf("ETag %s, want %s", got, want)
			}
			if got := aws.ToInt64(out.ContentLength); got != int64(len(body)) {
				t.Errorf("ContentLength %d, want %d", got, len(body))
			}
			if !useTLS {
				if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.CA != nil {
					t.Errorf("endpoint %s, CA %q", s.Endpoint, s.CA)
				}
				return
			}
			if !strings.HasPrefix(s.Endpoint, "https://127.0.0.1:") {
				t.Errorf("endpoint %s", s.Endpoint)
			}
			resp, err := http.Head(s.Endpoint + "/" + bucket)
			if err == nil {
				_ = resp.Body.Close()
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("a client without the CA: %v, want an unknown authority", err)
			}
		})
	}
}

// A wrong secret with the right access key is refused, on the probes' HEADs (403, no
// body) and on a GET whose body names the cause, while the right secret reads the same.
// A server that does not verify signatures fails this test.
func TestAWrongSecretIsRefused(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	wrong := s.Client(accessKey, "not-"+secretKey)
	_, err := wrong.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if status(err) != http.StatusForbidden {
		t.Errorf("HeadBucket with a wrong secret: %v, want 403", err)
	}
	_, err = wrong.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)})
	if status(err) != http.StatusForbidden {
		t.Errorf("HeadObject with a wrong secret: %v, want 403", err)
	}
	_, err = wrong.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if status(err) != http.StatusForbidden || code(err) != "SignatureDoesNotMatch" {
		t.Errorf("ListObjectsV2 with a wrong secret: %v, want 403 SignatureDoesNotMatch", err)
	}

	out, err := s.Client(accessKey, secretKey).ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != object {
		t.Errorf("ListObjectsV2 with the right secret: %v", err)
	}
}

// An access key the server does not know is refused, even with the right secret.
func TestAnUnknownAccessKeyIsRefused(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	unknown := s.Client("AKIDUNKNOWN", secretKey)
	_, err := unknown.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if status(err) != http.StatusForbidden {
		t.Errorf("HeadBucket with an unknown access key: %v, want 403", err)
	}
	_, err = unknown.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if status(err) != http.StatusForbidden || code(err) != "InvalidAccessKeyId" {
		t.Errorf("ListObjectsV2 with an unknown access key: %v, want 403 InvalidAccessKeyId", err)
	}
}

// A request signed for one object and sent for another is refused: the server
// rebuilds the canonical request from what it received, it does not only look the
// access key up. Both objects exist, so a server that did not would answer 200.
func TestARequestChangedAfterSigningIsRefused(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	other := "app-foo/default/v0.9.0.tar.gz"
	if err := s.PutObject(bucket, other, body); err != nil {
		t.Fatal(err)
	}
	c := s.Client(accessKey, secretKey)
	if _, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(other)}); err != nil {
		t.Fatalf("HeadObject %s: %v", other, err)
	}
	// After the SDK's signing, which is in the finalize step.
	retarget := func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("retarget",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				req := in.Request.(*smithyhttp.Request)
				req.URL.Path = strings.Replace(req.URL.Path, object, other, 1)
				req.URL.RawPath = ""
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
	_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)},
		func(o *s3.Options) { o.APIOptions = append(o.APIOptions, retarget) })
	if status(err) != http.StatusForbidden {
		t.Errorf("HeadObject signed for %s, sent for %s: %v, want 403", object, other, err)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/"+bucket+"/"+other || last.Status != http.StatusForbidden {
		t.Errorf("the server received %+v, want a HEAD of %s refused", last, other)
	}
}

// A missing object and a missing bucket are 404, as the platform's download of a
// package whose object is gone would find.
func TestMissingObjectsAndBucketsAreNotFound(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	c := s.Client(accessKey, secretKey)
	_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("app-foo/default/gone.tar.gz")})
	var notFound *types.NotFound
	if status(err) != http.StatusNotFound || !errors.As(err, &notFound) {
		t.Errorf("HeadObject of a missing key: %v, want 404 NotFound", err)
	}
	_, err = c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")})
	if status(err) != http.StatusNotFound {
		t.Errorf("HeadBucket of a missing bucket: %v, want 404", err)
	}
	_, err = c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String(object)})
	if status(err) != http.StatusNotFound {
		t.Errorf("HeadObject in a missing bucket: %v, want 404", err)
	}
	_, err = c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("no-such-bucket")})
	if status(err) != http.StatusNotFound || code(err) != "NoSuchBucket" {
		t.Errorf("ListObjectsV2 of a missing bucket: %v, want 404 NoSuchBucket", err)
	}
}

// A signature scoped to another region than the server's is refused with 400.
func TestASignatureForAnotherRegionIsRefused(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey, Region: "ap-guangzhou"})
	c := s.Client(accessKey, secretKey)
	if _, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("HeadBucket in the server's region: %v", err)
	}
	elsewhere := func(o *s3.Options) { o.Region = "ap-shanghai" }
	_, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)}, elsewhere)
	if status(err) != http.StatusBadRequest {
		t.Errorf("HeadBucket signed for another region: %v, want 400", err)
	}
	_, err = c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}, elsewhere)
	if status(err) != http.StatusBadRequest || code(err) != "AuthorizationHeaderMalformed" {
		t.Errorf("ListObjectsV2 signed for another region: %v, want 400 AuthorizationHeaderMalformed", err)
	}
}

// Writes counts every request to the endpoint that is not a GET or HEAD, refused ones
// too, and Requests records each; the setup calls count for neither.
func TestWritesAndRequestsRecordWhatReachesTheEndpoint(t *testing.T) {
	s := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	if s.Writes() != 0 || len(s.Requests()) != 0 {
		t.Fatalf("after the setup: writes %d, requests %+v", s.Writes(), s.Requests())
	}
	c := s.Client(accessKey, secretKey)
	if _, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if s.Writes() != 0 {
		t.Errorf("writes after reads: %d", s.Writes())
	}
	want := []s3server.Request{
		{Method: "HEAD", Path: "/" + bucket, AccessKey: accessKey, Status: 200},
		{Method: "HEAD", Path: "/" + bucket + "/" + object, AccessKey: accessKey, Status: 200},
		{Method: "GET", Path: "/" + bucket, Query: "list-type=2", AccessKey: accessKey, Status: 200},
	}
	if got := s.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n%+v\nwant\n%+v", got, want)
	}

	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("written"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Client(accessKey, "wrong").DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)})
	if status(err) != http.StatusForbidden {
		t.Errorf("DeleteObject with a wrong secret: %v, want 403", err)
	}
	if s.Writes() != 2 {
		t.Errorf("writes after a PUT and a refused DELETE: %d, want 2", s.Writes())
	}
	if _, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(object)}); err != nil {
		t.Errorf("the object after the refused DELETE: %v", err)
	}
}

// Servers run side by side, each with its own account and data, and Close stops one
// without touching the other: nothing is global to the test process.
func TestServersAreIndependent(t *testing.T) {
	one := start(t, s3server.Options{AccessKey: accessKey, SecretKey: secretKey})
	two, err := s3server.Start(s3server.Options{AccessKey: "other", SecretKey: "other-secret", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = two.Close() }()
	if err := two.CreateBucket("other-bucket"); err != nil {
		t.Fatal(err)
	}
	_, err = one.Client("other", "other-secret").HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if status(err) != http.StatusForbidden {
		t.Errorf("the other server's credentials on the first: %v, want 403", err)
	}
	_, err = two.Client("other", "other-secret").HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if status(err) != http.StatusNotFound {
		t.Errorf("the first server's bucket on the other: %v, want 404", err)
	}

	if err := two.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(two.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v", two.Dir, err)
	}
	_, err = two.Client("other", "other-secret").HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("other-bucket")})
	if err == nil || status(err) != 0 {
		t.Errorf("the closed server answered: %v", err)
	}
	if _, err := one.Client(accessKey, secretKey).HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("the first server after the other's Close: %v", err)
	}
}

func TestStartRequiresCredentials(t *testing.T) {
	for _, opts := range []s3server.Options{{}, {AccessKey: accessKey}, {SecretKey: secretKey}} {
		if s, err := s3server.Start(opts); err == nil {
			_ = s.Close()
			t.Errorf("Start(%+v) started a server", opts)
		}
	}
}
