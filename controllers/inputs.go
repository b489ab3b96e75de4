package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
)

// secretUse is one place the spec references a Secret.
type secretUse struct {
	name      string
	key       string // empty: the Secret as a whole
	what      string // what the Secret is for, for messages
	condition string // the condition of the check that needs it
}

// secretUses lists the Secrets the spec's enabled parts reference, in a stable order.
// Secrets a disabled part names are not read.
func secretUses(spec *v1alpha1.PaaSDiagnosisSpec) []secretUse {
	var uses []secretUse
	for _, c := range spec.Clusters {
		uses = append(uses, secretUse{name: c.CredentialsSecretRef.Name, what: "credentials of cluster " + c.Name,
			condition: v1alpha1.ConditionClusterReachable})
	}
	db := spec.PlatformDatabase
	keyed := func(ref *v1alpha1.SecretKeyReference, what, condition string) {
		if ref != nil {
			uses = append(uses, secretUse{name: ref.Name, key: ref.Key, what: what, condition: condition})
		}
	}
	if db != nil && spec.InstancePools != nil {
		keyed(db.DefaultDSNSecretRef, "DSN of the default database", v1alpha1.ConditionInstancePoolAvailable)
	}
	if db != nil && spec.DiscoverClusters {
		keyed(db.WorkloadsDSNSecretRef, "DSN of the workloads database", v1alpha1.ConditionClusterReachable)
		keyed(db.EncryptionKeySecretRef, "the platform's encryption key", v1alpha1.ConditionClusterReachable)
	}
	// The initial cluster state check needs the workloads database: its migrations tell
	// the release line, and on 1.7+ it holds the node state the check compares.
	if db != nil && spec.InitialClusterState != nil {
		keyed(db.WorkloadsDSNSecretRef, "DSN of the workloads database", v1alpha1.ConditionInitialClusterStateReady)
		keyed(db.DefaultDSNSecretRef, "DSN of the default database", v1alpha1.ConditionInitialClusterStateReady)
		if spec.DiscoverClusters {
			keyed(db.EncryptionKeySecretRef, "the platform's encryption key", v1alpha1.ConditionInitialClusterStateReady)
		}
	}
	return uses
}

// stallError says why a diagnosis cannot be evaluated as it stands, and which check's
// condition it keeps from being evaluated.
type stallError struct {
	condition string
	reason    string
	message   string
}

func (e *stallError) Error() string { return e.message }

// resolveSecrets reads, by name and uncached, every Secret the spec uses. A missing
// Secret or key, or one paasdiag may not read, is a stallError naming it (the first one
// per condition); the checks behind other conditions can still run. Any other failure
// is returned as an error (transient). Secret values never reach a message.
func resolveSecrets(ctx context.Context, reader client.Reader, namespace string, spec *v1alpha1.PaaSDiagnosisSpec) (check.Secrets, []*stallError, error) {
	secrets := check.Secrets{}
	missing := map[string]*stallError{} // by Secret name, so each is read once
	var stalls []*stallError
	stalled := map[string]bool{}
	for _, use := range secretUses(spec) {
		stall := missing[use.name]
		data, read := secrets[use.name]
		if !read && stall == nil {
			var s corev1.Secret
			err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: use.name}, &s)
			switch {
			case apierrors.IsNotFound(err):
				stall = &stallError{reason: v1alpha1.ReasonSecretNotFound,
					message: fmt.Sprintf("Secret %q (%s) not found in namespace %q", use.name, use.what, namespace)}
			case apierrors.IsForbidden(err):
				stall = &stallError{reason: v1alpha1.ReasonSecretUnreadable,
					message: fmt.Sprintf("Secret %q (%s) cannot be read: paasdiag's service account may not get it", use.name, use.what)}
			case err != nil:
				return nil, nil, fmt.Errorf("reading Secret %q: %w", use.name, err)
			default:
				data = s.Data
				if data == nil {
					data = map[string][]byte{}
				}
				secrets[use.name] = data
			}
			if stall != nil {
				missing[use.name] = stall
			}
		}
		if stall == nil && use.key != "" {
			if _, ok := data[use.key]; !ok {
				stall = &stallError{reason: v1alpha1.ReasonSecretKeyMissing,
					message: fmt.Sprintf("Secret %q (%s) has no key %q; it has %s", use.name, use.what, use.key, keyList(data))}
			}
		}
		if stall != nil && !stalled[use.condition] {
			stalled[use.condition] = true
			stalls = append(stalls, &stallError{condition: use.condition, reason: stall.reason, message: stall.message})
		}
	}
	return secrets, stalls, nil
}

// keyList names a Secret's keys (never its values) for messages.
func keyList(data map[string][]byte) string {
	if len(data) == 0 {
		return "no keys"
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return "keys " + strings.Join(keys, ", ")
}
