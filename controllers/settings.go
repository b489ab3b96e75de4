package controllers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
)

// The platform's settings are read from its Deployment and the ConfigMaps and Secrets
// its container names, by name and uncached, like the Secrets a spec names.
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get

// SettingsAllowList says which Deployments diagnoses may read settings from without
// the Deployment's own label: "namespace/name" entries, "namespace/*" for every
// Deployment of a namespace (the manager's --settings-from-allowed).
type SettingsAllowList []string

// allows reports whether the list names the Deployment.
func (l SettingsAllowList) allows(namespace, name string) bool {
	for _, e := range l {
		if ok, _ := path.Match(strings.TrimSpace(e), namespace+"/"+name); ok {
			return true
		}
	}
	return false
}

// resolveSettings reads spec.settingsFrom for one evaluation: nil without it. A
// Deployment or container that does not exist, that paasdiag may not read, or that
// is not allowed as a settings source is a stallError naming it; a platform whose
// settings do not resolve is returned with its Err set (the checks that need them
// are Unknown). Other failures are transient errors.
func resolveSettings(ctx context.Context, reader client.Reader, namespace string, spec *v1alpha1.PaaSDiagnosisSpec, allowed SettingsAllowList) (*platformsettings.Platform, *stallError, error) {
	from := spec.SettingsFrom
	if from == nil {
		return nil, nil, nil
	}
	var d appsv1.Deployment
	err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: from.Deployment}, &d)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &stallError{reason: v1alpha1.ReasonSettingsSourceNotFound,
			message: fmt.Sprintf("settingsFrom: Deployment %q not found in namespace %q", from.Deployment, namespace)}, nil
	case apierrors.IsForbidden(err):
		return nil, &stallError{reason: v1alpha1.ReasonSettingsSourceUnreadable,
			message: fmt.Sprintf("settingsFrom: Deployment %q cannot be read: paasdiag's service account may not get it", from.Deployment)}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("reading Deployment %q: %w", from.Deployment, err)
	}
	if d.Labels[v1alpha1.SettingsFromLabel] != "true" && !allowed.allows(namespace, from.Deployment) {
		// Not consented to: whoever wrote the diagnosis may not be allowed to read
		// the credentials the platform's pods are given (no confused deputy).
		return nil, &stallError{reason: v1alpha1.ReasonSettingsSourceNotAllowed, message: fmt.Sprintf(
			"settingsFrom: Deployment %q is not allowed as a settings source: label it %s=true (kubectl label deployment -n %s %s %s=true) or list %s/%s in the manager's --settings-from-allowed",
			from.Deployment, v1alpha1.SettingsFromLabel, namespace, from.Deployment, v1alpha1.SettingsFromLabel, namespace, from.Deployment)}, nil
	}
	if from.Container != "" {
		var names []string
		found := false
		for _, c := range d.Spec.Template.Spec.Containers {
			names = append(names, c.Name)
			found = found || c.Name == from.Container
		}
		if !found {
			return nil, &stallError{reason: v1alpha1.ReasonSettingsSourceNotFound, message: fmt.Sprintf(
				"settingsFrom: Deployment %q has no container %q; it has %s", from.Deployment, from.Container, strings.Join(names, ", "))}, nil
		}
	}
	env, err := platformsettings.EnvOf(ctx, reader, &d, from.Container)
	var problem *platformsettings.Problem
	var unreadable *platformsettings.Unreadable
	switch {
	case errors.As(err, &unreadable):
		return nil, &stallError{reason: v1alpha1.ReasonSettingsSourceUnreadable, message: unreadable.Message}, nil
	case errors.As(err, &problem):
		return platformsettings.NewPlatform(nil, problem), nil, nil
	case err != nil:
		return nil, nil, err
	}
	return platformsettings.NewPlatform(env, nil), nil, nil
}

// settingsBlock says why a check that declared a setting cannot run, or nil: the
// platform's configuration does not give it, or (the key) the spec would use it with
// a database that is not the platform's own.
func settingsBlock(in check.Input, platform *platformsettings.Platform, spec *v1alpha1.PaaSDiagnosisSpec, secrets check.Secrets) *stallError {
	_, err := platform.Lookup(in.Setting)
	if err != nil {
		var missing *platformsettings.Missing
		if errors.As(err, &missing) {
			return &stallError{reason: v1alpha1.ReasonSettingMissing, message: fmt.Sprintf("%s: %s", in.What, err)}
		}
		return &stallError{reason: v1alpha1.ReasonSettingsUnresolvable, message: fmt.Sprintf("%s: %s", in.What, err)}
	}
	if in.Setting != platformsettings.EncryptionKeySetting || spec.PlatformDatabase == nil || spec.PlatformDatabase.WorkloadsDSNSecretRef == nil {
		return nil
	}
	// The platform's key decrypts rows and sends what it decrypts to the API servers
	// they name: only the platform's own rows, never those of a database the spec
	// chose (a decryption oracle otherwise).
	ref := spec.PlatformDatabase.WorkloadsDSNSecretRef
	own, err := platform.Lookup(platformsettings.WorkloadsDatabaseSetting)
	if err == nil && sameDatabase(string(secrets[ref.Name][ref.Key]), own.Value) {
		return nil
	}
	return &stallError{reason: v1alpha1.ReasonSettingMissing, message: fmt.Sprintf(
		"%s: the key settingsFrom gives is used only with the platform's own workloads database, and platformDatabase.workloadsDSNSecretRef (Secret %q key %q) names another server or database (or settingsFrom names none); give platformDatabase.encryptionKeySecretRef",
		in.What, ref.Name, ref.Key)}
}

// sameDatabase reports whether two DSNs name the same server and database (users may
// differ: a dedicated read-only user is encouraged).
func sameDatabase(a, b string) bool {
	ca, err := platformdb.ParseDSN(a)
	if err != nil {
		return false
	}
	cb, err := platformdb.ParseDSN(b)
	if err != nil {
		return false
	}
	return ca.Net == cb.Net && strings.EqualFold(ca.Addr, cb.Addr) && ca.DBName == cb.DBName
}

// settingsFindings are what the settings themselves call for: a Warning per
// ConfigMap or Secret changed after the newest platform pod started (its processes
// may still use the old value), and the settings' own warnings. The pods are those
// the Deployment selects, listed uncached.
func settingsFindings(ctx context.Context, reader client.Reader, namespace string, platform *platformsettings.Platform) []check.Finding {
	if platform == nil || platform.Env == nil {
		return nil
	}
	var out []check.Finding
	if sel, err := metav1.LabelSelectorAsSelector(platform.Selector()); err == nil && platform.Selector() != nil {
		var pods corev1.PodList
		if err := reader.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err == nil {
			changed, started := platform.ChangedAfterStart(pods.Items)
			for _, s := range changed {
				out = append(out, check.WarningFinding("settings/"+strings.ToLower(s.Kind)+"/"+s.Name, v1alpha1.ReasonSettingsChangedSinceStart, "", fmt.Sprintf(
					"%s %s, which %s takes settings from, changed at %s, after its newest pod started (%s): the running platform may still use the old value, while paasdiag judges the new one; restart the Deployment to apply it",
					s.Kind, s.Name, platform.Where(), s.Changed.UTC().Format(time.RFC3339), started.UTC().Format(time.RFC3339))))
			}
		}
	}
	if platform.Settings != nil {
		for _, w := range platform.Settings.Warnings {
			out = append(out, check.WarningFinding("settings", v1alpha1.ReasonSettingsIncomplete, "", w))
		}
		// The files Dynaconf always looks for (the image's settings_files, .env) are
		// not mounted on most installs: only a file PAAS_SETTINGS names is worth a
		// warning; docs/settings.md says the image's own cannot be read.
		for _, u := range platform.Settings.Unseen {
			if u.Named {
				out = append(out, check.WarningFinding("settings/file"+u.Path, v1alpha1.ReasonSettingsIncomplete, "", u.Reason))
			}
		}
	}
	return out
}

// settingsProvenance says where each setting the planned checks use comes from,
// never its value: an explicit Secret reference, or settingsFrom's source, or why
// settingsFrom does not give it.
func settingsProvenance(spec *v1alpha1.PaaSDiagnosisSpec, planned []check.Planned, platform *platformsettings.Platform, stall *stallError) []v1alpha1.SettingProvenance {
	var out []v1alpha1.SettingProvenance
	seen := map[string]bool{}
	add := func(name, source string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, v1alpha1.SettingProvenance{Name: name, Source: source})
		}
	}
	fromSettings := func(setting string) string {
		switch {
		case stall != nil:
			return "not read: " + stall.message
		case platform == nil:
			return "not read"
		}
		f, err := platform.Lookup(setting)
		if err != nil {
			return "not found: " + err.Error()
		}
		return f.Source
	}
	db := spec.PlatformDatabase
	if db == nil {
		db = &v1alpha1.PlatformDatabase{}
	}
	explicit := map[string]*v1alpha1.SecretKeyReference{
		platformsettings.DefaultDatabaseSetting:   db.DefaultDSNSecretRef,
		platformsettings.WorkloadsDatabaseSetting: db.WorkloadsDSNSecretRef,
		platformsettings.EncryptionKeySetting:     db.EncryptionKeySecretRef,
	}
	field := map[string]string{
		platformsettings.DefaultDatabaseSetting:   "platformDatabase.defaultDSNSecretRef",
		platformsettings.WorkloadsDatabaseSetting: "platformDatabase.workloadsDSNSecretRef",
		platformsettings.EncryptionKeySetting:     "platformDatabase.encryptionKeySecretRef",
	}
	// The settings of the checks of the other infrastructure, from a block's Secret.
	type settingsSecret struct{ setting, field string }
	settingsSecrets := map[string][]settingsSecret{}
	settingName := map[string]string{"blobStore": platformsettings.BlobStoreSetting, "smartRegistry": platformsettings.SmartRegistrySetting,
		"remoteServices": platformsettings.RemoteServicesSetting, "appImageRegistries": platformsettings.AppImageRegistrySetting}
	for block, ref := range spec.SettingsSecretRefs() {
		settingsSecrets[ref.Name] = append(settingsSecrets[ref.Name], settingsSecret{settingName[block], block + ".settingsSecretRef"})
	}
	clusters := false
	for _, c := range planned {
		if c.Invalid != nil {
			continue
		}
		clusters = clusters || c.Condition() == v1alpha1.ConditionClusterReachable
		for _, in := range c.Inputs {
			name := in.Setting
			if name == "" {
				for n, ref := range explicit {
					if ref != nil && ref.Name == in.Secret && ref.Key == in.Key {
						name = n
					}
				}
			}
			if name == "" && in.Key == "" {
				for _, ss := range settingsSecrets[in.Secret] {
					add(ss.setting, fmt.Sprintf("Secret %s (%s)", in.Secret, ss.field))
				}
			}
			if name == "" {
				continue
			}
			if ref := explicit[name]; ref != nil {
				add(name, fmt.Sprintf("Secret %s key %s (%s)", ref.Name, ref.Key, field[name]))
			} else {
				add(name, fromSettings(name))
			}
			if name == platformsettings.EncryptionKeySetting {
				if ref := explicit[name]; ref != nil || platform == nil || stall != nil {
					add("cipher", fmt.Sprintf("%s (platformDatabase.cipher)", cipherOrDefault(db.Cipher)))
				} else {
					cipher, source := platform.Cipher()
					add("cipher", fmt.Sprintf("%s: %s", cipher, source))
				}
			}
		}
	}
	if clusters && spec.DiscoverClusters {
		switch {
		case spec.APIServerPodSelector != nil:
			add("apiServerPods", "apiServerPodSelector "+metav1.FormatLabelSelector(spec.APIServerPodSelector))
		case platform != nil && platform.Selector() != nil:
			add("apiServerPods", fmt.Sprintf("the selector of Deployment %s: %s", spec.SettingsFrom.Deployment, metav1.FormatLabelSelector(platform.Selector())))
		}
	}
	order := map[string]int{platformsettings.DefaultDatabaseSetting: 0, platformsettings.WorkloadsDatabaseSetting: 1,
		platformsettings.EncryptionKeySetting: 2, "cipher": 3, "apiServerPods": 4, platformsettings.BlobStoreSetting: 5,
		platformsettings.SmartRegistrySetting: 6, platformsettings.RemoteServicesSetting: 7, platformsettings.AppImageRegistrySetting: 8}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].Name] < order[out[j].Name] })
	return out
}

func cipherOrDefault(c v1alpha1.Cipher) v1alpha1.Cipher {
	if c == "" {
		return v1alpha1.CipherFernet
	}
	return c
}
