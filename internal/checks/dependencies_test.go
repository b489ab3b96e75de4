//go:build integration

package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
	"github.com/paasdiag/paasdiag/internal/testsupport/bkrepo"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
	"github.com/paasdiag/paasdiag/internal/testsupport/ociregistry"
	"github.com/paasdiag/paasdiag/internal/testsupport/rsvcprovider"
	"github.com/paasdiag/paasdiag/internal/testsupport/s3server"
)

// The checks of the other infrastructure, each against a real implementation of what
// it talks to on loopback (a bkrepo generic API, distribution's registry behind a
// token server, a remote service provider checking the JWT as the paas-service SDK
// does) and the platform's tables in MariaDB.

// dependencyRun runs the one check spec enables, with the settings Secret "settings"
// and, when db is set, the default database "db" and the workloads database "wl"; the
// release line is then the one the migrations say, else line.
type dependencyRun struct {
	spec     v1alpha1.PaaSDiagnosisSpec
	settings map[string]string
	secrets  check.Secrets
	line     release.Line
	deps     Dependencies
	// platform is settingsFrom's settings, nil without.
	platform *platformsettings.Platform
}

func (r dependencyRun) check(t *testing.T) check.Result {
	t.Helper()
	spec := r.spec
	spec.Timeout = metav1.Duration{Duration: 5 * time.Second}
	spec.CertificateExpiryWarning = metav1.Duration{Duration: 720 * time.Hour}
	d := &v1alpha1.PaaSDiagnosis{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))}, Spec: spec}
	if r.deps.Databases == nil {
		r.deps.Databases = platformdb.NewPools()
		defer r.deps.Databases.Forget(client.ObjectKeyFromObject(d))
	}
	p, in := buildPlan(d, r.deps)
	secrets := check.Secrets{"settings": {}}
	for k, v := range r.settings {
		secrets["settings"][k] = []byte(v)
	}
	for name, data := range r.secrets {
		secrets[name] = data
	}
	p.Resolve(context.Background(), check.Resolved{Secrets: secrets, Settings: r.platform})
	if r.line != "" {
		in.release = release.Detection{Line: r.line}
	}
	if len(p.Checks) != 1 {
		t.Fatalf("%d checks planned", len(p.Checks))
	}
	return p.Checks[0].Check(context.Background())
}

var settingsRef = &v1alpha1.SecretReference{Name: "settings"}

func bkrepoSettings(s *bkrepo.Server, password string) map[string]string {
	return map[string]string{
		"BLOBSTORE_BKREPO_CONFIG":      fmt.Sprintf(`{ENDPOINT=%q, PROJECT="bkpaas", USERNAME="bkpaas3", PASSWORD=%q}`, s.Endpoint, password),
		"BLOBSTORE_BUCKET_AP_PACKAGES": "bkpaas3-source-packages",
	}
}

func startBKRepo(t *testing.T) *bkrepo.Server {
	t.Helper()
	s, err := bkrepo.Start(bkrepo.Options{
		Users:    map[string]string{"bkpaas3": "blob-canary-pw"},
		Projects: map[string][]string{"bkpaas": {"bkpaas3-source-packages"}},
		Access:   map[string]map[string]bkrepo.Access{"bkpaas3": {"bkpaas": bkrepo.ReadWrite}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// packagePlatform is a default database with n package-deployed modules, each with one
// package whose object is put in the bkrepo unless missing(i); it returns the DSN of
// the read-only grant.
func packagePlatform(t *testing.T, line mariadb.Line, n int, repo *bkrepo.Server, missing func(i int) bool) (string, *mariadb.Platform) {
	t.Helper()
	name := "blob_" + strings.NewReplacer("-", "_", ".", "_").Replace(string(line)) + "_" + fmt.Sprint(time.Now().UnixNano()%1e9)
	p, err := mariadb.NewPlatform(testDB.Get(t), name, line)
	must0(t, err)
	for i := range n {
		id, err := p.PackageModule(fmt.Sprintf("app%02d", i), "default", mariadb.OriginSMart)
		must0(t, err)
		key, err := p.SourcePackage(id, "1.0.0", 4)
		must0(t, err)
		if !missing(i) {
			must0(t, repo.PutObject("bkpaas", "bkpaas3-source-packages", key, []byte("pkg!")))
		}
	}
	// A module deployed from a repository has packages of no concern.
	_, err = p.PackageModule("vcs", "default", mariadb.OriginAuthorizedVCS)
	must0(t, err)
	dsn, err := p.ReadOnlyUser("ro_"+name[len(name)-9:], "pw")
	must0(t, err)
	return dsn, p
}

func blobSpec(perEval int32, withDB bool) v1alpha1.PaaSDiagnosisSpec {
	spec := v1alpha1.PaaSDiagnosisSpec{BlobStore: &v1alpha1.BlobStoreCheck{
		PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: settingsRef}, PackageObjectsPerEvaluation: &perEval}}
	if withDB {
		spec.PlatformDatabase = &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}}
	}
	return spec
}

func expectNoSecretIn(t *testing.T, r check.Result, secrets ...string) {
	t.Helper()
	text := fmt.Sprintf("%+v", r.Findings) + r.Message
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("the result quotes the secret %q: %s", s, text)
		}
	}
}

// BLB02: the blob store check asks the store and the database and writes nothing to
// either (the database through the read-only grant and a read-only session).
func TestBLB02_ProbesAreReadOnly(t *testing.T) {
	repo := startBKRepo(t)
	dsn, _ := packagePlatform(t, mariadb.Main, 3, repo, func(int) bool { return false })
	r := dependencyRun{spec: blobSpec(10, true), settings: bkrepoSettings(repo, "blob-canary-pw"),
		secrets: check.Secrets{"db": {"dsn": []byte(dsn)}}}.check(t)
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	if !strings.Contains(r.Message, "3 source package objects asked for") || !strings.Contains(r.Message, "write permission is not tested") {
		t.Errorf("message %q", r.Message)
	}
	if w := repo.Writes(); len(w) > 0 {
		t.Errorf("the check wrote to bkrepo: %+v", w)
	}
	heads := 0
	for _, req := range repo.Requests() {
		if req.Method == http.MethodHead {
			heads++
		}
	}
	if heads != 3 {
		t.Errorf("%d HEADs, want 3 (one per package module)", heads)
	}
}

// BLB03: a package module whose newest package's object is gone fails its next deploy,
// in its build step, without a code; the finding names the app and module.
func TestBLB03_MissingPackageIsNotCoded(t *testing.T) {
	repo := startBKRepo(t)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			dsn, _ := packagePlatform(t, line, 3, repo, func(i int) bool { return i == 1 })
			r := dependencyRun{spec: blobSpec(10, true), settings: bkrepoSettings(repo, "blob-canary-pw"),
				secrets: check.Secrets{"db": {"dsn": []byte(dsn)}}}.check(t)
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonPackageObjectMissing, "")
			if len(r.Findings) != 1 || r.Findings[0].Check != "package/app01/default" || !strings.Contains(r.Findings[0].Message, "app app01 module default") ||
				!strings.Contains(r.Findings[0].Message, "without an error code") {
				t.Errorf("findings %+v", r.Findings)
			}
		})
	}
}

// BLB04: a store that refuses the platform's credentials, or lacks the bucket, fails
// every upload: 4312011, with the call that failed; the password is never quoted.
func TestBLB04_BucketFailureCarries4312011(t *testing.T) {
	repo := startBKRepo(t)
	r := dependencyRun{spec: blobSpec(0, false), settings: bkrepoSettings(repo, "rotated-pw")}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonUnauthorized, "4312011")
	expectNoSecretIn(t, r, "rotated-pw", "blob-canary-pw")
	if !strings.Contains(r.Findings[0].Message, "HTTP 500") || !strings.Contains(r.Findings[0].Message, "repository/api/repo/info/bkpaas/bkpaas3-source-packages") {
		t.Errorf("finding %q", r.Findings[0].Message)
	}
	settings := bkrepoSettings(repo, "blob-canary-pw")
	settings["BLOBSTORE_BUCKET_AP_PACKAGES"] = "no-such-bucket"
	r = dependencyRun{spec: blobSpec(0, false), settings: settings}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonNotFound, "4312011")
	// A CA paasdiag was not given: the platform's pods may trust it, so no code is
	// claimed; with the CA (--probe-ca-file) the bucket answers.
	tlsRepo, err := bkrepo.Start(bkrepo.Options{TLS: true, Users: map[string]string{"bkpaas3": "blob-canary-pw"},
		Projects: map[string][]string{"bkpaas": {"bkpaas3-source-packages"}},
		Access:   map[string]map[string]bkrepo.Access{"bkpaas3": {"bkpaas": bkrepo.Read}}})
	must0(t, err)
	defer tlsRepo.Close()
	r = dependencyRun{spec: blobSpec(0, false), settings: bkrepoSettings(tlsRepo, "blob-canary-pw")}.check(t)
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonTLSUnknownAuthority, "")
	if !strings.Contains(r.Message, "--probe-ca-file") {
		t.Errorf("message %q does not say how to trust the CA", r.Message)
	}
	r = dependencyRun{spec: blobSpec(0, false), settings: bkrepoSettings(tlsRepo, "blob-canary-pw"), deps: Dependencies{HTTPClient: trusting(t, tlsRepo.CAPEM)}}.check(t)
	if r.Status != check.Pass {
		t.Errorf("with the CA: %s/%s (%s)", r.Status, r.Reason, r.Message)
	}
	// The test server's certificate lives a day: within certificateExpiryWarning (720h).
	if len(r.Findings) != 1 || r.Findings[0].Reason != v1alpha1.ReasonCertificateExpiring || r.Findings[0].Code != "4312011" ||
		!strings.Contains(r.Findings[0].Message, "(predicted)") {
		t.Errorf("want one Warning predicting 4312011 for the serving certificate: %+v", r.Findings)
	}
	// S3 (a gateway that verifies SigV4): the platform's key with another secret.
	t.Run("s3", func(t *testing.T) {
		s3, err := s3server.Start(s3server.Options{AccessKey: "bkpaas3", SecretKey: "s3-canary-secret"})
		must0(t, err)
		defer func() { _ = s3.Close() }()
		must0(t, s3.CreateBucket("bkpaas3-source-packages"))
		settings := map[string]string{"BLOBSTORE_TYPE": "s3", "BLOBSTORE_S3_ENDPOINT": s3.Endpoint, "BLOBSTORE_S3_ACCESS_KEY": "bkpaas3",
			"BLOBSTORE_S3_SECRET_KEY": "s3-canary-secret", "BLOBSTORE_S3_REGION_NAME": s3.Region}
		r := dependencyRun{spec: blobSpec(0, false), settings: settings}.check(t)
		expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
		settings["BLOBSTORE_S3_SECRET_KEY"] = "rotated-secret"
		r = dependencyRun{spec: blobSpec(0, false), settings: settings}.check(t)
		expectVerdict(t, r, check.Fail, v1alpha1.ReasonForbidden, "4312011")
		expectNoSecretIn(t, r, "rotated-secret", "s3-canary-secret")
		if s3.Writes() != 0 {
			t.Errorf("%d writes to S3", s3.Writes())
		}
	})
	// Nothing listens: the upload fails as well.
	repo.Close()
	r = dependencyRun{spec: blobSpec(0, false), settings: bkrepoSettings(repo, "blob-canary-pw")}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonConnectionRefused, "4312011")
}

// BLB05: at most packageObjectsPerEvaluation HEADs per evaluation, resuming where the
// last one stopped; objects seen with their recorded size are not asked again.
func TestBLB05_PackageHeadsAreBounded(t *testing.T) {
	repo := startBKRepo(t)
	dsn, platform := packagePlatform(t, mariadb.Main, 7, repo, func(i int) bool { return i == 5 })
	ledger := NewPackageLedger()
	pools := platformdb.NewPools()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	run := func() check.Result {
		return dependencyRun{spec: blobSpec(3, true), settings: bkrepoSettings(repo, "blob-canary-pw"),
			secrets: check.Secrets{"db": {"dsn": []byte(dsn)}},
			deps:    Dependencies{Databases: pools, Packages: ledger, Now: func() time.Time { return now }}}.check(t)
	}
	heads := func() int {
		n := 0
		for _, req := range repo.Requests() {
			if req.Method == http.MethodHead {
				n++
			}
		}
		return n
	}
	var verdicts []check.Status
	var counts []int
	for range 4 {
		before := heads()
		verdicts = append(verdicts, run().Status)
		counts = append(counts, heads()-before)
	}
	// 7 modules, 3 per evaluation: 3, 3, then the last one and, after wrapping, the
	// missing one again (seen objects are skipped); then the missing one only.
	if fmt.Sprint(counts) != "[3 3 2 1]" {
		t.Errorf("HEADs per evaluation %v, want [3 3 2 1]", counts)
	}
	// Module ids are random: the missing object is found in one of the first three
	// evaluations (whichever reaches it), and kept from then on.
	if verdicts[2] != check.Fail || verdicts[3] != check.Fail {
		t.Errorf("verdicts %v: the missing object is found by the third evaluation and kept", verdicts)
	}
	// The module is deleted (ModuleCleaner): the finding goes with it, once the walk
	// has passed.
	must0(t, platform.Server.Exec(platform.Database, "DELETE m FROM modules_module m JOIN applications_application a ON a.id = m.application_id WHERE a.code = 'app05'"))
	if r := run(); r.Status != check.Pass {
		t.Errorf("after the module's deletion: %s/%s (%s)", r.Status, r.Reason, r.Message)
	}
	// A day later every object is asked again, still 3 at a time.
	now = now.Add(25 * time.Hour)
	before := heads()
	run()
	if got := heads() - before; got != 3 {
		t.Errorf("%d HEADs a day later, want 3", got)
	}
}

// registrySettings are the S-mart settings for a registry.
func registrySettings(reg *ociregistry.Registry, password string) map[string]string {
	return map[string]string{"SMART_DOCKER_REGISTRY_ADDR": reg.Host, "SMART_DOCKER_NAMESPACE": "bkpaas/docker",
		"SMART_DOCKER_USERNAME": "bkpaas", "SMART_DOCKER_PASSWORD": password, "APP_IMAGE": "bkpaas/apiserver:v1.7.0"}
}

func startRegistry(t *testing.T, users map[string]ociregistry.User) *ociregistry.Registry {
	t.Helper()
	return startRegistryTLS(t, false, users)
}

// startRegistryTLS starts a registry, over https with its own CA when tls is set
// (trusted by trusting()).
func startRegistryTLS(t *testing.T, tls bool, users map[string]ociregistry.User) *ociregistry.Registry {
	t.Helper()
	reg, err := ociregistry.Start(ociregistry.Options{TLS: tls, Users: users})
	must0(t, err)
	t.Cleanup(reg.Close)
	return reg
}

// trusting is a probe client that trusts the CA of caPEM, as --probe-ca-file does.
func trusting(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: transport}
}

// SMR02: only a token the token server refuses (the platform's AuthFailed) and an
// unexpected status carry 4314004; a token without push and a missing base image fail
// the import with an HTTP 500 and no code.
func TestSMR02_OnlyRefusedTokensAndUnexpectedStatusesCarry4314004(t *testing.T) {
	reg := startRegistry(t, map[string]ociregistry.User{
		"bkpaas":   {Password: "smart-canary-pw", Push: []string{"bkpaas/docker/*", "bkpaas/docker/*/*"}},
		"readonly": {Password: "ro-pw", Pull: []string{"bkpaas/docker/*", "bkpaas/docker/*/*"}},
	})
	for _, image := range []string{"bkpaas/docker/slug-app:v1.7.0", "bkpaas/docker/run-heroku-bionic:v1.0.4"} {
		name, tag, _ := strings.Cut(image, ":")
		_, err := reg.PushImage(name, tag)
		must0(t, err)
	}
	spec := v1alpha1.PaaSDiagnosisSpec{SmartRegistry: &v1alpha1.SmartRegistryCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: settingsRef}}}
	run := func(settings map[string]string) check.Result {
		return dependencyRun{spec: spec, settings: settings, line: release.Line17Plus}.check(t)
	}
	r := run(registrySettings(reg, "smart-canary-pw"))
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")

	r = run(registrySettings(reg, "rotated-pw"))
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonTokenRefused, "4314004")
	expectNoSecretIn(t, r, "rotated-pw", "smart-canary-pw")

	readonly := registrySettings(reg, "ro-pw")
	readonly["SMART_DOCKER_USERNAME"] = "readonly"
	r = run(readonly)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonScopeNotGranted, "")

	missing := registrySettings(reg, "smart-canary-pw")
	missing["APP_IMAGE"] = "bkpaas/apiserver:v1.7.9"
	r = run(missing)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonManifestNotFound, "")
	if !strings.Contains(r.Findings[0].Message, "bkpaas/docker/slug-app:v1.7.9") {
		t.Errorf("finding %q does not name the image", r.Findings[0].Message)
	}
	if reg.Writes() != 0 {
		t.Errorf("%d writes to the registry", reg.Writes())
	}
	// On 1.6 the base images are others: slug-pilot with a -smart tag.
	r = dependencyRun{spec: spec, settings: registrySettings(reg, "smart-canary-pw"), line: release.Line16}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonManifestNotFound, "")
	if !strings.Contains(r.Findings[0].Message, "bkpaas/docker/slug-pilot:v1.7.0-smart") {
		t.Errorf("1.6: %q", r.Findings[0].Message)
	}
}

// The provider's catalogue: mysql with two plans.
var (
	mysqlService = "3a1b5c7e-0000-4000-8000-00000000a001"
	mysqlPlanA   = "3a1b5c7e-0000-4000-8000-00000000b001"
	mysqlPlanB   = "3a1b5c7e-0000-4000-8000-00000000b002"
)

func startProvider(t *testing.T, key string) *rsvcprovider.Provider {
	t.Helper()
	p := rsvcprovider.Start(rsvcprovider.Options{Iss: "paas-v3", Key: key, Services: []rsvcprovider.Service{{
		UUID: mysqlService, Name: "mysql", Category: 1, DisplayName: "MySQL", AvailableLanguages: "python", IsVisible: true, IsActive: true,
		Plans: []rsvcprovider.Plan{{UUID: mysqlPlanA, Name: "default", Description: "d", IsActive: true}, {UUID: mysqlPlanB, Name: "ha", Description: "d", IsActive: true}},
	}}})
	t.Cleanup(p.Close)
	return p
}

func remoteSpec(withDB bool) v1alpha1.PaaSDiagnosisSpec {
	spec := v1alpha1.PaaSDiagnosisSpec{RemoteServices: &v1alpha1.RemoteServicesCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: settingsRef}}}
	if withDB {
		spec.PlatformDatabase = &v1alpha1.PlatformDatabase{DefaultDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}}
	}
	return spec
}

// RSV03: a provider that refuses the platform's token fails provisioning without a
// code (配置资源实例异常) and predicts 4313040 for unbinding; the key is never quoted.
func TestRSV03_ProviderFailureIsUncodedAndPredicts4313040(t *testing.T) {
	provider := startProvider(t, "provider-key")
	settings := map[string]string{"ONE_SIMPLE_JWT_AUTH_KEY": "rsvc-canary-key", "RSVC_BUNDLE_MYSQL_ENDPOINT_URL": provider.Endpoint()}
	r := dependencyRun{spec: remoteSpec(false), settings: settings}.check(t)
	if r.Status != check.Fail || r.Reason != v1alpha1.ReasonForbidden {
		t.Fatalf("%s/%s (%s), want Fail/Forbidden", r.Status, r.Reason, r.Message)
	}
	var predicted bool
	for _, f := range r.Findings {
		predicted = predicted || (f.Severity == v1alpha1.SeverityWarning && f.Code == "4313040" && f.Reason == v1alpha1.ReasonUnbindWouldFail)
		if f.Severity == v1alpha1.SeverityError && (f.Code != "" || !strings.Contains(f.Message, "配置资源实例异常")) {
			t.Errorf("error finding %+v: want no code and the deploy log's words", f)
		}
	}
	if !predicted {
		t.Errorf("no Warning predicting 4313040: %+v", r.Findings)
	}
	expectNoSecretIn(t, r, "rsvc-canary-key", "provider-key")
	settings["ONE_SIMPLE_JWT_AUTH_KEY"] = "provider-key"
	r = dependencyRun{spec: remoteSpec(false), settings: settings}.check(t)
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	if provider.Writes() != 0 {
		t.Errorf("%d writes to the provider", provider.Writes())
	}
}

// RSV04: a plan bound to apps that the provider no longer serves fails the next deploy
// of the unprovisioned bindings; the all-zero legacy plan is never looked up.
func TestRSV04_BoundPlansMustBeServed(t *testing.T) {
	provider := startProvider(t, "provider-key")
	// The OTel bundle is not ready unless RSVC_BUNDLE_OTEL_ENABLED: the platform skips
	// it, and so must the bindings to its services.
	settings := map[string]string{"ONE_SIMPLE_JWT_AUTH_KEY": "provider-key", "RSVC_BUNDLE_MYSQL_ENDPOINT_URL": provider.Endpoint(),
		"RSVC_BUNDLE_OTEL_ENDPOINT_URL": "http://otel.invalid/"}
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			name := "rsv_" + strings.NewReplacer("-", "_", ".", "_").Replace(string(line)) + "_" + fmt.Sprint(time.Now().UnixNano()%1e9)
			p, err := mariadb.NewPlatform(testDB.Get(t), name, line)
			must0(t, err)
			bind := func(app, plan string) {
				env, err := p.Environment(app, "default", "prod")
				must0(t, err)
				must0(t, p.RemoteAttach(env, mysqlService, plan))
			}
			bind("served", mysqlPlanA)
			bind("legacy", "00000000-0000-0000-0000-000000000000")
			otelEnv, err := p.Environment("traced", "default", "prod")
			must0(t, err)
			must0(t, p.RemoteAttach(otelEnv, "0fe1a000-0000-4000-8000-000000000001", "0fe1a000-0000-4000-8000-000000000002"))
			dsn, err := p.ReadOnlyUser("ro_"+name[len(name)-9:], "pw")
			must0(t, err)
			run := func() check.Result {
				return dependencyRun{spec: remoteSpec(true), settings: settings, secrets: check.Secrets{"db": {"dsn": []byte(dsn)}}}.check(t)
			}
			expectVerdict(t, run(), check.Pass, v1alpha1.ReasonSucceeded, "")
			gone := "3a1b5c7e-0000-4000-8000-00000000b0ff"
			bind("orphan", gone)
			r := run()
			expectVerdict(t, r, check.Fail, v1alpha1.ReasonBoundPlanMissing, "")
			if !strings.Contains(r.Findings[0].Message, "orphan/default") || !strings.Contains(r.Findings[0].Message, "plan "+gone) {
				t.Errorf("finding %q", r.Findings[0].Message)
			}
		})
	}
}

// AIR01: on 1.6 builds push to the APP_DOCKER_* registry only; from 1.7 a cluster may
// have its own, whose password the platform's key decrypts.
func TestAIR01_RegistriesPerLine(t *testing.T) {
	// Builds push over https (kaniko verifies unless skip_tls_verify).
	reg := startRegistryTLS(t, true, map[string]ociregistry.User{
		"bkpaas": {Password: "default-canary-pw", Push: []string{"bkpaas/docker/*/*"}},
		"tenant": {Password: "tenant-canary-pw", Push: []string{"tenant-a/*/*"}},
	})
	deps := Dependencies{HTTPClient: trusting(t, reg.CAPEM)}
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			name := "air_" + strings.NewReplacer("-", "_", ".", "_").Replace(string(line)) + "_" + fmt.Sprint(time.Now().UnixNano()%1e9)
			w, err := mariadb.NewWorkloads(testDB.Get(t), name, line)
			must0(t, err)
			if !line.Legacy() {
				id, err := w.Cluster("tenant-cluster", []string{"https://10.0.0.1:6443"}, mariadb.StoredCredentials{})
				must0(t, err)
				must0(t, w.AppImageRegistry(id, reg.Host, "tenant-a", "tenant", mariadb.FernetEncrypter(testKey)("tenant-canary-pw"), false))
				// A cluster without its own: its builds push to the settings' registry.
				_, err = w.Cluster("default-main", []string{"https://10.0.0.2:6443"}, mariadb.StoredCredentials{})
				must0(t, err)
			}
			dsn, err := w.ReadOnlyUser("ro_"+name[len(name)-9:], "pw")
			must0(t, err)
			spec := v1alpha1.PaaSDiagnosisSpec{
				AppImageRegistries: &v1alpha1.AppImageRegistriesCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: settingsRef}},
				PlatformDatabase: &v1alpha1.PlatformDatabase{WorkloadsDSNSecretRef: &v1alpha1.SecretKeyReference{Name: "wl", Key: "dsn"},
					EncryptionKeySecretRef: &v1alpha1.SecretKeyReference{Name: "key", Key: "key"}, Cipher: v1alpha1.CipherFernet}}
			r := dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": reg.Host, "APP_DOCKER_PASSWORD": "default-canary-pw"},
				secrets: check.Secrets{"wl": {"dsn": []byte(dsn)}, "key": {"key": []byte(testKey)}}, deps: deps}.check(t)
			expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
			want := "1 app image registries"
			if !line.Legacy() {
				want = "2 app image registries"
			}
			if !strings.Contains(r.Message, want) {
				t.Errorf("message %q, want %q", r.Message, want)
			}
			expectNoSecretIn(t, r, "default-canary-pw", "tenant-canary-pw")
		})
	}
	if reg.Writes() != 0 {
		t.Errorf("%d writes", reg.Writes())
	}
}

// AIR02: an account the registry grants no push fails builds (构建失败) without a code.
func TestAIR02_PushFailureIsUncoded(t *testing.T) {
	reg := startRegistryTLS(t, true, map[string]ociregistry.User{"bkpaas": {Password: "pw", Pull: []string{"bkpaas/docker/*/*"}}})
	deps := Dependencies{HTTPClient: trusting(t, reg.CAPEM)}
	spec := v1alpha1.PaaSDiagnosisSpec{AppImageRegistries: &v1alpha1.AppImageRegistriesCheck{PlatformSettingsSecret: v1alpha1.PlatformSettingsSecret{SettingsSecretRef: settingsRef}}}
	r := dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": reg.Host, "APP_DOCKER_PASSWORD": "pw"}, deps: deps}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonScopeNotGranted, "")
	if !strings.Contains(r.Message, "构建失败") {
		t.Errorf("message %q", r.Message)
	}
	r = dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": reg.Host, "APP_DOCKER_PASSWORD": "wrong"}, deps: deps}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonTokenRefused, "")
	// Without the registry's CA paasdiag cannot tell whether the builders trust it:
	// Unknown; with skip_tls_verify the builders do not verify, nor does the probe.
	r = dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": reg.Host, "APP_DOCKER_PASSWORD": "pw"}}.check(t)
	expectVerdict(t, r, check.Unknown, v1alpha1.ReasonTLSUnknownAuthority, "")
	r = dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": reg.Host, "APP_DOCKER_PASSWORD": "pw",
		"APP_DOCKER_REGISTRY_SKIP_TLS_VERIFY": "true"}}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonScopeNotGranted, "")
	// A plain-http registry on a loopback (or RFC 1918) address: the builders'
	// go-containerregistry falls back to http there, and so does the probe.
	plain := startRegistry(t, map[string]ociregistry.User{"bkpaas": {Password: "pw", Pull: []string{"bkpaas/docker/*/*"}}})
	r = dependencyRun{spec: spec, settings: map[string]string{"APP_DOCKER_REGISTRY_ADDR": plain.Host, "APP_DOCKER_PASSWORD": "pw"}}.check(t)
	expectVerdict(t, r, check.Fail, v1alpha1.ReasonScopeNotGranted, "")
}

// An endpoint's host is dialed as the platform's pod resolves it: its hostAliases, and
// a dotless name in the platform's namespace (not paasdiag's), while TLS and the Host
// header keep the name the settings give.
func TestEndpointsResolveAsThePlatformsPod(t *testing.T) {
	repo := startBKRepo(t)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(repo.URL, "http://"))
	must0(t, err)
	platform := func(host string, aliases ...corev1.HostAlias) *platformsettings.Platform {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "blueking", Name: "bkpaas3-apiserver-web"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{HostAliases: aliases, Containers: []corev1.Container{{
				Name: "apiserver", Env: []corev1.EnvVar{{Name: "PAAS_BLOBSTORE_BKREPO_CONFIG",
					Value: fmt.Sprintf(`{ENDPOINT="http://%s:%s", PROJECT="bkpaas", USERNAME="bkpaas3", PASSWORD="blob-canary-pw"}`, host, port)}}}}}}}}
		env, err := platformsettings.EnvOf(context.Background(), nil, d, "")
		must0(t, err)
		return platformsettings.NewPlatform(env, nil)
	}
	spec := v1alpha1.PaaSDiagnosisSpec{SettingsFrom: &v1alpha1.SettingsSource{Deployment: "bkpaas3-apiserver-web"}, BlobStore: &v1alpha1.BlobStoreCheck{}}
	zero := int32(0)
	spec.BlobStore.PackageObjectsPerEvaluation = &zero
	r := dependencyRun{spec: spec, platform: platform("bkrepo", corev1.HostAlias{IP: "127.0.0.1", Hostnames: []string{"bkrepo"}})}.check(t)
	expectVerdict(t, r, check.Pass, v1alpha1.ReasonSucceeded, "")
	r = dependencyRun{spec: spec, platform: platform("bkrepo-nowhere")}.check(t)
	if r.Reason != v1alpha1.ReasonDNSError || !strings.Contains(r.Message, "bkrepo-nowhere.blueking.svc") {
		t.Errorf("a dotless name is looked up in the platform's namespace: %s/%s (%s)", r.Status, r.Reason, r.Message)
	}
}
