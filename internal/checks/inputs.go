package checks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/clusterprobe"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/release"
)

// inputs are one evaluation's inputs, shared by its checks. The plan makes them from
// the spec (which Secrets hold what); bind fills in the values, typed, once the
// reconciler has read the Secrets the checks declared; the cluster inventory is built
// from them the first time a check asks. A check holds a pointer to them and never
// sees the diagnosis or its Secrets.
type inputs struct {
	// owner is the diagnosis, which owns the connection pools.
	owner     types.NamespacedName
	timeout   time.Duration
	databases *platformdb.Pools

	defaultDB, workloadsDB dsnInput
	keyRef                 *v1alpha1.SecretKeyReference
	cipher                 v1alpha1.Cipher
	specClusters           []v1alpha1.ClusterTarget
	discover               bool

	// Set by bind.
	key         string
	credentials map[string]clusterprobe.Credentials // by spec cluster name
	secretData  [][]byte                            // every value read, for redaction
	release     release.Detection

	inventoryOnce sync.Once
	inv           *inventory
}

// dsnInput is a database DSN: where it is kept and, once bound, its value.
type dsnInput struct {
	// name is the pool's name: "default" or "workloads".
	name string
	ref  *v1alpha1.SecretKeyReference
	// value is the DSN; read says whether the Secret key was read.
	value string
	read  bool
}

func (d dsnInput) where() string {
	if d.ref == nil {
		return "no Secret"
	}
	return fmt.Sprintf("Secret %q key %q", d.ref.Name, d.ref.Key)
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
	return in
}

// bind takes the values of the Secrets read: the DSNs, the key and each spec
// cluster's credentials. A Secret that was not read leaves its value unset; the check
// that declared it is blocked and never runs.
func (in *inputs) bind(secrets check.Secrets) {
	value := func(ref *v1alpha1.SecretKeyReference) (string, bool) {
		if ref == nil {
			return "", false
		}
		v, ok := secrets[ref.Name][ref.Key]
		return string(v), ok
	}
	in.defaultDB.value, in.defaultDB.read = value(in.defaultDB.ref)
	in.workloadsDB.value, in.workloadsDB.read = value(in.workloadsDB.ref)
	key, _ := value(in.keyRef)
	in.key = strings.TrimSpace(key)
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
}

// resolve is the plan's Resolve: bind the Secrets, then read the release line.
func (in *inputs) resolve(ctx context.Context, secrets check.Secrets) release.Detection {
	in.bind(secrets)
	in.release = in.detectRelease(ctx)
	return in.release
}

// open returns the connection pool of a database, bounded by the diagnosis' timeout.
func (in *inputs) open(db dsnInput) (*platformdb.DB, error) {
	return in.databases.Open(in.owner, db.name, db.value, in.timeout)
}

// The Secrets each check reads, declared when the check is built: the reconciler
// derives from them which Secrets to read and which checks a missing one blocks.

// keyInput declares one key of a Secret, if the reference is set.
func keyInput(ref *v1alpha1.SecretKeyReference, what string) []check.Input {
	if ref == nil {
		return nil
	}
	return []check.Input{{Secret: ref.Name, Key: ref.Key, What: what}}
}

func (in *inputs) workloadsDSNInput() []check.Input {
	return keyInput(in.workloadsDB.ref, "DSN of the workloads database")
}

func (in *inputs) defaultDSNInput() []check.Input {
	return keyInput(in.defaultDB.ref, "DSN of the default database")
}

func (in *inputs) keyInput() []check.Input {
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
