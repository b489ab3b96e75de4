package checks

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/blobprobe"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/httpprobe"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
)

// objectStoreException is 4312011 对象存储服务异常: the S-mart and source package views
// raise it when an upload (or, for S-mart, a download) fails.
const objectStoreException = errorcodes.ObjectStoreException

// BlobStore checks the blob store the platform keeps source packages in, with the
// platform's own settings and credentials: the bucket first, then the objects of the
// newest source package of package-deployed modules, a bounded number per evaluation.
// Read-only: it never uploads, so write permission is not proven.
type BlobStore struct {
	endpointCheck
	cfg     v1alpha1.BlobStoreCheck
	owner   types.NamespacedName
	perEval int
}

var _ check.Checker = (*BlobStore)(nil)

func newBlobStore(spec *v1alpha1.PaaSDiagnosisSpec, owner types.NamespacedName, deps Dependencies, in *inputs) *BlobStore {
	c := &BlobStore{endpointCheck: newEndpointCheck(spec, deps, in), cfg: *spec.BlobStore, owner: owner, perEval: 50}
	if n := c.cfg.PackageObjectsPerEvaluation; n != nil {
		c.perEval = int(*n)
	}
	return c
}

// Name implements check.Checker.
func (*BlobStore) Name() string { return "blob-store" }

// Condition implements check.Checker.
func (*BlobStore) Condition() string { return v1alpha1.ConditionBlobStoreAvailable }

// inputs are the blob store settings and, to check packages, the default database.
func (c *BlobStore) inputs() []check.Input {
	out := settingsInput(c.cfg.SettingsSecretRef, platformsettings.BlobStoreSetting, "the platform's blob store settings (BLOBSTORE_*)")
	// An explicit database is declared (its Secret is read); one from settingsFrom is
	// used when the settings give it, and its absence does not block the bucket probe.
	if c.perEval > 0 && c.in.defaultDB.ref != nil {
		return append(out, c.in.defaultDSNInput()...)
	}
	// The release line decides how ENDPOINT is joined (1.6 drops its path).
	return append(out, c.in.releaseInputs()...)
}

// Check implements check.Checker.
func (c *BlobStore) Check(ctx context.Context) check.Result {
	const subject = "blobstore"
	settings, unknown := c.in.dependencySettings(c.cfg.SettingsSecretRef, subject)
	if unknown != nil {
		return check.Only(*unknown)
	}
	cfg, err := settings.BlobStore()
	if err != nil {
		return check.Only(settingsUnknown(subject, err))
	}
	store := blobprobe.Store{Type: cfg.Type, Endpoint: cfg.Endpoint, Project: cfg.Project, Username: cfg.Username, Password: cfg.Password,
		Region: cfg.Region, SignatureVersion: cfg.SignatureVersion, Bucket: cfg.Bucket,
		// blue-krill 2.0.7 (platform 1.6) joins "/generic/..." to ENDPOINT, dropping its path.
		DropEndpointPath: c.in.release.Line == release.Line16}
	var res check.Result
	where := fmt.Sprintf("%s bucket %s at %s", cfg.Type, cfg.Bucket, redactURL(cfg.Endpoint))
	if cfg.Type == platformsettings.StoreBKRepo && endpointHasPath(cfg.Endpoint) && c.in.release.Line == release.Unknown {
		res.Findings = append(res.Findings, check.WarningFinding(subject, v1alpha1.ReasonSettingsIncomplete, "", fmt.Sprintf(
			"BLOBSTORE_BKREPO_CONFIG.ENDPOINT %s has a path, which platform 1.6 drops and 1.7 keeps; the release line is unknown (%s), so paasdiag probes as 1.7 does",
			redactURL(cfg.Endpoint), c.in.release.Evidence)))
	}
	client := c.client(c.cfg.SettingsSecretRef)
	defer client.CloseIdleConnections()
	prober := blobprobe.Prober{Client: client, Now: c.deps.Now}
	bucket := prober.Bucket(ctx, store)
	switch bucket.Reason {
	case "":
	case v1alpha1.ReasonUnsupportedSignature:
		res.Findings = append(res.Findings, check.UnknownFinding(subject, bucket.Reason, bucket.Message))
	case v1alpha1.ReasonTLSUnknownAuthority:
		res.Findings = append(res.Findings, untrustedCA(subject, bucket.Message, "uploads fail with 4312011"))
	case v1alpha1.ReasonForbidden, v1alpha1.ReasonTimeout:
		if bucket.Reason == v1alpha1.ReasonTimeout || bucket.Denied {
			// The bucket call is paasdiag's stand-in (the platform's first call is the
			// upload itself): a permission it lacks, or a store slower than
			// spec.timeout (blue-krill waits 30 s and retries twice), says nothing
			// certain of uploads.
			res.Findings = append(res.Findings, check.UnknownFinding(subject, bucket.Reason, bucket.Message+
				": the platform never makes this call, and paasdiag does not write to find out whether uploads work"))
			break
		}
		fallthrough
	default:
		res.Findings = append(res.Findings, check.ErrorFinding(subject, bucket.Reason, objectStoreException, errorcodes.Must(objectStoreException).Message(fmt.Sprintf(
			"%s: S-mart imports and source package uploads to %s fail (the platform raises 4312011 in the upload view's exception handler, which answers HTTP 500; the code is in the apiserver's log); deploys of package-deployed modules fail in their build step, without a code",
			bucket.Message, where))))
	}
	res.Findings = append(res.Findings, c.expiring(subject, redactURL(cfg.Endpoint), bucket.ServingCertificateNotAfter, objectStoreException,
		"uploads fail with 4312011 from then on, unless it is renewed")...)
	packages := "no source package checked (no default database)"
	if bucket.Reason == "" && c.perEval > 0 && c.in.defaultDB.read {
		var findings []check.Finding
		findings, packages = c.checkPackages(ctx, prober, store)
		res.Findings = append(res.Findings, findings...)
	} else if c.perEval == 0 {
		packages = "no source package checked (packageObjectsPerEvaluation is 0)"
	}
	res.Conclude(check.Verdict{
		Fail: firstError(res.Findings, fmt.Sprintf("%s: the platform's blob store fails", where)),
		Pass: fmt.Sprintf("%s answers the platform's credentials (read-only probe: write permission is not tested); %s", where, packages),
	})
	return res
}

// checkPackages HEADs the objects of the newest package of package-deployed modules,
// resuming where the last evaluation stopped, at most perEval per evaluation; an
// object seen within packageRecheck with the size the platform recorded is not asked
// for again. A missing object fails the module's next deploy, in its build step,
// without a code: the deploy view's 4311003 branch for DownloadFailedError is not
// reached, because the description comes from the package's meta_info
// (docs/conformance.md BLB03).
func (c *BlobStore) checkPackages(ctx context.Context, prober blobprobe.Prober, store blobprobe.Store) ([]check.Finding, string) {
	db, err := c.in.open(c.in.defaultDB)
	if err != nil {
		return []check.Finding{unknownFinding("blobstore/packages", err)}, "packages not checked"
	}
	ledger := c.deps.Packages.of(c.owner, store.Type+"|"+store.Endpoint+"|"+store.Bucket)
	defer ledger.mu.Unlock()
	now := c.deps.now()
	heads, pages := 0, 0
	// A walk that starts at the first module ends this evaluation at the last one;
	// one that resumes may start over once.
	wrapped := ledger.cursor == ""
	for heads < c.perEval && pages < maxPackagePages && ctx.Err() == nil {
		pages++
		var rows []platformdb.SourcePackage
		err := db.ReadOnly(ctx, func(tx *sql.Tx) error {
			var err error
			rows, err = platformdb.ReadLatestSourcePackages(ctx, tx, ledger.cursor, packagePage)
			return err
		})
		if err != nil {
			return append(ledger.findings(), unknownFinding("blobstore/packages", err)), "packages not checked"
		}
		if len(rows) == 0 {
			// A walk from the first module to the last is complete (the cursor is reset
			// whenever one ends, so every walk starts at the first): what it did not
			// visit (a module deleted, or no longer deployed from a package) is
			// forgotten, findings and all. Then it starts again, once per evaluation.
			ledger.endWalk()
			ledger.cursor = ""
			if wrapped {
				break
			}
			wrapped = true
			continue
		}
		full := false
		for _, p := range rows {
			seen, ok := ledger.seen[p.ModuleID]
			if ok && seen.path == p.StoragePath && seen.size == p.Size && seen.found && now.Sub(seen.at) < packageRecheck {
				seen.walk = ledger.walk
				ledger.seen[p.ModuleID] = seen
				ledger.cursor = p.ModuleID
				continue
			}
			if heads >= c.perEval || ctx.Err() != nil {
				// The next evaluation starts at this module.
				full = true
				break
			}
			heads++
			obj := prober.Object(ctx, store, p.StoragePath)
			if ctx.Err() != nil {
				// The evaluation's deadline, not the store's answer.
				full = true
				break
			}
			ledger.record(p, obj, now)
			ledger.cursor = p.ModuleID
		}
		if full {
			break
		}
	}
	return ledger.findings(), fmt.Sprintf("%d source package objects asked for in this evaluation (at most %d), %d known", heads, c.perEval, len(ledger.seen))
}

const (
	// packagePage is how many modules one query reads.
	packagePage = 500
	// maxPackagePages bounds the queries of one evaluation (a database of modules
	// whose objects were all seen recently).
	maxPackagePages = 40
	// packageRecheck is how long an object seen with its recorded size is trusted.
	packageRecheck = 24 * time.Hour
	// maxLedgerEntries bounds what one diagnosis remembers.
	maxLedgerEntries = 200000
)

// PackageLedger remembers, per diagnosis and blob store, where the package walk stopped
// and what each module's newest package object looked like.
type PackageLedger struct {
	mu      sync.Mutex
	ledgers map[types.NamespacedName]*packageLedger
}

// NewPackageLedger makes an empty ledger.
func NewPackageLedger() *PackageLedger {
	return &PackageLedger{ledgers: map[types.NamespacedName]*packageLedger{}}
}

// Forget drops what a diagnosis remembered (it was deleted).
func (l *PackageLedger) Forget(owner types.NamespacedName) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ledgers, owner)
}

type packageLedger struct {
	mu     sync.Mutex
	store  string
	cursor string
	// walk counts the complete walks over the modules; each entry says in which it was
	// last visited.
	walk int
	seen map[string]seenPackage
}

// endWalk forgets the modules the walk now ending did not visit.
func (pl *packageLedger) endWalk() {
	for id, s := range pl.seen {
		if s.walk != pl.walk {
			delete(pl.seen, id)
		}
	}
	pl.walk++
}

type seenPackage struct {
	app, module, version, path string
	size                       int64
	at                         time.Time
	walk                       int
	found                      bool
	// reason and message of a failed HEAD; sizeMismatch when found with another size.
	reason, message string
	objectSize      int64
}

// of returns the diagnosis' ledger for this store, locked; a nil PackageLedger gives a
// fresh one each time. The ledger of another store (the settings changed) is dropped.
func (l *PackageLedger) of(owner types.NamespacedName, store string) *packageLedger {
	pl := &packageLedger{store: store, seen: map[string]seenPackage{}}
	if l != nil {
		l.mu.Lock()
		if l.ledgers == nil {
			l.ledgers = map[types.NamespacedName]*packageLedger{}
		}
		if old := l.ledgers[owner]; old != nil && old.store == store {
			pl = old
		}
		l.ledgers[owner] = pl
		l.mu.Unlock()
	}
	pl.mu.Lock()
	return pl
}

func (pl *packageLedger) record(p platformdb.SourcePackage, obj blobprobe.ObjectResult, now time.Time) {
	if _, ok := pl.seen[p.ModuleID]; !ok && len(pl.seen) >= maxLedgerEntries {
		return
	}
	pl.seen[p.ModuleID] = seenPackage{app: p.App, module: p.Module, version: p.Version, path: p.StoragePath, size: p.Size, at: now,
		walk: pl.walk, found: obj.Found, reason: obj.Reason, message: obj.Message, objectSize: obj.Size}
}

// findings are what the ledger knows is wrong: every module whose newest package was
// missing or unreadable when last asked, until it is asked again.
func (pl *packageLedger) findings() []check.Finding {
	var out []check.Finding
	for _, s := range pl.seen {
		subject := fmt.Sprintf("package/%s/%s", s.app, s.module)
		switch {
		case s.reason == v1alpha1.ReasonNotFound:
			out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonPackageObjectMissing, "", fmt.Sprintf(
				"app %s module %s: the object of its newest source package (version %s, key %s) is not in the blob store: its next deploy fails in its build step, without an error code (the deploy log shows the download failure)",
				s.app, s.module, s.version, s.path)))
		case s.reason != "":
			out = append(out, check.UnknownFinding(subject, s.reason, fmt.Sprintf("app %s module %s: the object of source package %s could not be checked: %s", s.app, s.module, s.version, s.message)))
		case s.found && s.objectSize != s.size && s.size > 0:
			out = append(out, check.WarningFinding(subject, v1alpha1.ReasonPackageSizeMismatch, "", fmt.Sprintf(
				"app %s module %s: the object of source package %s has %d bytes, the platform recorded %d: it was replaced or truncated",
				s.app, s.module, s.version, s.objectSize, s.size)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Check < out[j].Check })
	return out
}

// endpointHasPath reports whether a URL has a path beyond "/".
func endpointHasPath(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && strings.Trim(u.Path, "/") != ""
}

// redactURL drops a URL's user information and query, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an address that does not parse)"
	}
	return httpprobe.Redact(u)
}
