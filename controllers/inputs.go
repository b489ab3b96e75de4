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

// secretUses lists the Secrets the plan's checks declare, in a stable order: the
// checks' order, then each check's. A Secret only a disabled check would read is not
// read, and neither is one only a rejected check would.
func secretUses(planned []check.Planned) []secretUse {
	var uses []secretUse
	for _, c := range planned {
		if c.Invalid != nil {
			continue
		}
		for _, in := range c.Inputs {
			if in.Secret == "" {
				continue // a setting, read through settingsFrom
			}
			uses = append(uses, secretUse{name: in.Secret, key: in.Key, what: in.What, condition: c.Condition()})
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
func resolveSecrets(ctx context.Context, reader client.Reader, namespace string, planned []check.Planned, allowed destinations) (check.Secrets, []*stallError, error) {
	secrets := check.Secrets{}
	missing := map[string]*stallError{} // by Secret name, so each is read once
	var stalls []*stallError
	stalled := map[string]bool{}
	for _, use := range secretUses(planned) {
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
			case s.Labels[v1alpha1.SecretLabel] != "true":
				// Not marked for paasdiag: whoever wrote the diagnosis may not be allowed to
				// send this credential anywhere (no confused deputy). Its data is dropped.
				stall = &stallError{reason: v1alpha1.ReasonSecretNotMarked, message: fmt.Sprintf(
					"Secret %q (%s) is not marked for paasdiag: label it %s=true (kubectl label secret -n %s %s %s=true) if the diagnosis may use it",
					use.name, use.what, v1alpha1.SecretLabel, namespace, use.name, v1alpha1.SecretLabel)}
			case allowed != nil && allowed(use.name, s.Annotations) != "":
				stall = &stallError{reason: v1alpha1.ReasonSecretDestinationNotAllowed, message: allowed(use.name, s.Annotations)}
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

// destinations says whether a Secret allows where the diagnosis would send what it
// holds: "" if so, else why not (a message naming the annotation to set).
type destinations func(secret string, annotations map[string]string) string

// destinationsOf is the rule for a spec: a cluster credentials Secret must list every
// API server the spec sends it to; the key's Secret must name the workloads DSN Secret
// whose rows (and their API servers) it is used with ("deployment/<name>" for the
// database a settingsFrom Deployment names). "*" allows any.
func destinationsOf(spec *v1alpha1.PaaSDiagnosisSpec) destinations {
	servers := map[string][]string{}
	for _, c := range spec.Clusters {
		for _, u := range c.APIServers {
			servers[c.CredentialsSecretRef.Name] = append(servers[c.CredentialsSecretRef.Name], string(u))
		}
	}
	var key, workloads string
	// The key's decrypted values go to the hosts the rows name: the clusters' API
	// servers (discoverClusters) and the clusters' own app image registries.
	if db := spec.PlatformDatabase; db != nil && db.EncryptionKeySecretRef != nil && (spec.DiscoverClusters || spec.AppImageRegistries != nil) {
		switch {
		case db.WorkloadsDSNSecretRef != nil:
			key, workloads = db.EncryptionKeySecretRef.Name, db.WorkloadsDSNSecretRef.Name
		case spec.SettingsFrom != nil:
			// The rows are those of the database the platform's own settings name.
			key, workloads = db.EncryptionKeySecretRef.Name, "deployment/"+spec.SettingsFrom.Deployment
		}
	}
	return func(secret string, annotations map[string]string) string {
		if urls := servers[secret]; len(urls) > 0 {
			listed := strings.FieldsFunc(annotations[v1alpha1.SecretAPIServersAnnotation], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
			for _, u := range urls {
				if !contains(listed, "*") && !contains(listed, u) {
					return fmt.Sprintf("Secret %q does not allow its credentials to be sent to %s: whoever may write it lists the API servers in its annotation %s (or \"*\")",
						secret, u, v1alpha1.SecretAPIServersAnnotation)
				}
			}
		}
		if secret == key && key != "" {
			if v := strings.TrimSpace(annotations[v1alpha1.SecretWorkloadsDSNAnnotation]); v != "*" && v != workloads {
				return fmt.Sprintf("Secret %q (the platform's key) does not allow decrypting the rows of workloads DSN Secret %q: whoever may write it names that Secret in its annotation %s (or \"*\")",
					secret, workloads, v1alpha1.SecretWorkloadsDSNAnnotation)
			}
		}
		return ""
	}
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
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
