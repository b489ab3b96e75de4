package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
)

// inputs are one evaluation's inputs, shared by its checks. The plan makes them from
// the spec (which Secret, or which of the platform's settings, holds what); bind fills
// in the values, typed, once the reconciler has read what the checks declared; the
// cluster inventory is built from them the first time a check asks. A check holds a
// pointer to them and never sees the diagnosis or its Secrets.
type inputs struct {
	// owner is the diagnosis, which owns the connection pools.
	owner     types.NamespacedName
	timeout   time.Duration
	databases *platformdb.Pools

	defaultDB, workloadsDB dsnInput
	keyRef                 *v1alpha1.SecretKeyReference
	// keyFromSettings: the key (and its cipher) come from spec.settingsFrom.
	keyFromSettings bool
	cipher          v1alpha1.Cipher
	specClusters    []v1alpha1.ClusterTarget
	discover        bool

	// Set by bind.
	// secrets are the Secrets read; platform is settingsFrom's settings (nil without).
	secrets     check.Secrets
	platform    *platformsettings.Platform
	key         string
	credentials map[string]clusterprobe.Credentials // by spec cluster name
	secretData  [][]byte                            // every value read, for redaction
	release     release.Detection
	// apiServerPods selects the platform's apiserver pods when the spec does not:
	// the settingsFrom Deployment's selector.
	apiServerPods *metav1.LabelSelector

	inventoryOnce sync.Once
	inv           *inventory
}

// dsnInput is a database DSN: where it is kept and, once bound, its value.
type dsnInput struct {
	// name is the pool's name: "default" or "workloads".
	name string
	ref  *v1alpha1.SecretKeyReference
	// setting is the platformsettings name the DSN is read from when ref is nil and
	// the spec has settingsFrom; empty otherwise.
	setting string
	// value is the DSN; read says whether it was read; source says where from.
	value  string
	read   bool
	source string
}

// settingsValue is the DSN if it came from settingsFrom, else "".
func (d dsnInput) settingsValue() string {
	if d.ref == nil && d.read {
		return d.value
	}
	return ""
}

// configured says whether the spec gives this database, by reference or settingsFrom.
func (d dsnInput) configured() bool { return d.ref != nil || d.setting != "" }

func (d dsnInput) where() string {
	switch {
	case d.ref != nil:
		return fmt.Sprintf("Secret %q key %q", d.ref.Name, d.ref.Key)
	case d.source != "":
		return d.source
	case d.setting != "":
		return "settingsFrom"
	}
	return "no Secret"
}

func newInputs(d *v1alpha1.PaaSDiagnosis, databases *platformdb.Pools) *inputs {
	spec := &d.Spec
	in := &inputs{
		owner:        types.NamespacedName{Namespace: d.Namespace, Name: d.Name},
		timeout:      spec.Timeout.Duration,
		databases:    databases,
		defaultDB:    dsnInput{name: "default"},
		workloadsDB:  dsnInput{name: "workloads"},
		specClusters: spec.Clusters,
		discover:     spec.DiscoverClusters,
		release:      release.UnknownBecause("the release line has not been read"),
	}
	if db := spec.PlatformDatabase; db != nil {
		in.defaultDB.ref = db.DefaultDSNSecretRef
		in.workloadsDB.ref = db.WorkloadsDSNSecretRef
		in.keyRef = db.EncryptionKeySecretRef
		in.cipher = db.Cipher
	}
	// Explicit references win; settingsFrom gives the rest. The key and its cipher
	// are one unit: an explicit key keeps the spec's cipher.
	if spec.SettingsFrom != nil {
		if in.defaultDB.ref == nil {
			in.defaultDB.setting = platformsettings.DefaultDatabaseSetting
		}
		if in.workloadsDB.ref == nil {
			in.workloadsDB.setting = platformsettings.WorkloadsDatabaseSetting
		}
		in.keyFromSettings = in.keyRef == nil
	}
	return in
}

// bind takes the values read: the DSNs, the key and each spec cluster's credentials,
// from the Secrets or the platform's settings. What was not read leaves its value
// unset; the check that declared it is blocked and never runs.
func (in *inputs) bind(resolved check.Resolved) {
	secrets := resolved.Secrets
	value := func(ref *v1alpha1.SecretKeyReference) (string, bool) {
		if ref == nil {
			return "", false
		}
		v, ok := secrets[ref.Name][ref.Key]
		return string(v), ok
	}
	fromSettings := func(setting string) (*platformsettings.Found, bool) {
		if resolved.Settings == nil || setting == "" {
			return nil, false
		}
		f, err := resolved.Settings.Lookup(setting)
		return f, err == nil
	}
	for _, db := range []*dsnInput{&in.defaultDB, &in.workloadsDB} {
		if db.ref != nil {
			db.value, db.read = value(db.ref)
		} else if f, ok := fromSettings(db.setting); ok {
			db.value, db.read, db.source = f.Value, true, f.Source
		}
	}
	key, _ := value(in.keyRef)
	keyFromSettings := ""
	if in.keyFromSettings {
		if f, ok := fromSettings(platformsettings.EncryptionKeySetting); ok {
			key, keyFromSettings = f.Value, f.Value
			in.cipher, _ = resolved.Settings.Cipher()
		}
	}
	in.key = strings.TrimSpace(key)
	in.secrets, in.platform = secrets, resolved.Settings
	if resolved.Settings != nil {
		in.apiServerPods = resolved.Settings.Selector()
	}
	in.credentials = map[string]clusterprobe.Credentials{}
	for _, sc := range in.specClusters {
		creds := clusterprobe.CredentialsFromSecret(secrets[sc.CredentialsSecretRef.Name])
		creds.ServerName = sc.TLSServerName
		in.credentials[sc.Name] = creds
	}
	in.secretData = nil
	for _, data := range secrets {
		for _, v := range data {
			in.secretData = append(in.secretData, v)
		}
	}
	// What settingsFrom gave is redacted like what the Secrets gave.
	for _, v := range []string{in.defaultDB.settingsValue(), in.workloadsDB.settingsValue(), keyFromSettings} {
		if v != "" {
			in.secretData = append(in.secretData, []byte(v))
		}
	}
}

// resolve is the plan's Resolve: bind the inputs, then read the release line.
func (in *inputs) resolve(ctx context.Context, resolved check.Resolved) release.Detection {
	in.bind(resolved)
	in.release = in.detectRelease(ctx)
	return in.release
}

// open returns the connection pool of a database, bounded by the diagnosis' timeout.
func (in *inputs) open(db dsnInput) (*platformdb.DB, error) {
	return in.databases.Open(in.owner, db.name, db.value, in.timeout)
}

// The Secrets and settings each check reads, declared when the check is built: the
// reconciler derives from them what to read and which checks a missing one blocks.

// keyInput declares one key of a Secret, if the reference is set.
func keyInput(ref *v1alpha1.SecretKeyReference, what string) []check.Input {
	if ref == nil {
		return nil
	}
	return []check.Input{{Secret: ref.Name, Key: ref.Key, What: what}}
}

// dsnInputs declares a database's DSN: its Secret key, or its setting.
func (d dsnInput) inputs(what string) []check.Input {
	if d.setting != "" {
		return []check.Input{{Setting: d.setting, What: what}}
	}
	return keyInput(d.ref, what)
}

func (in *inputs) workloadsDSNInput() []check.Input {
	return in.workloadsDB.inputs("DSN of the workloads database")
}

func (in *inputs) defaultDSNInput() []check.Input {
	return in.defaultDB.inputs("DSN of the default database")
}

func (in *inputs) keyInput() []check.Input {
	if in.keyFromSettings {
		return []check.Input{{Setting: platformsettings.EncryptionKeySetting, What: "the platform's encryption key"}}
	}
	return keyInput(in.keyRef, "the platform's encryption key")
}

// clusterInputs are what the cluster inventory reads: each spec cluster's credentials
// and, with discoverClusters, the workloads database and the platform's key.
func (in *inputs) clusterInputs() []check.Input {
	var out []check.Input
	for _, c := range in.specClusters {
		out = append(out, check.Input{Secret: c.CredentialsSecretRef.Name, What: "credentials of cluster " + c.Name})
	}
	if in.discover {
		out = append(out, in.workloadsDSNInput()...)
		out = append(out, in.keyInput()...)
	}
	return out
}
