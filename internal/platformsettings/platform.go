package platformsettings

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// The settings a check can ask a Platform for, by the names status.settings uses.
const (
	// DefaultDatabaseSetting is the DSN of the default database (bk_paas_ng).
	DefaultDatabaseSetting = "defaultDatabase"
	// WorkloadsDatabaseSetting is the DSN of the workloads database (bk_engine_ng).
	WorkloadsDatabaseSetting = "workloadsDatabase"
	// EncryptionKeySetting is BKKRILL_ENCRYPT_SECRET_KEY, with its cipher.
	EncryptionKeySetting = "encryptionKey"
	// BlobStoreSetting is the blob store (BLOBSTORE_*): Lookup says where it came from;
	// Settings.BlobStore gives it.
	BlobStoreSetting = "blobStore"
	// SmartRegistrySetting is the S-mart registry (SMART_DOCKER_*).
	SmartRegistrySetting = "smartRegistry"
	// RemoteServicesSetting are the remote service providers (SERVICE_REMOTE_ENDPOINTS
	// or ONE_SIMPLE_JWT_AUTH_KEY and RSVC_BUNDLE_*).
	RemoteServicesSetting = "remoteServices"
	// AppImageRegistrySetting is the default app image registry (APP_DOCKER_*).
	AppImageRegistrySetting = "appImageRegistry"
)

// Platform is one evaluation's view of the platform's settings: its Deployment's
// container environment, the Dynaconf settings made of it, and the values derived
// from them, each computed once, on first use.
type Platform struct {
	// Env is the container's environment; nil when Err is set before it was read.
	Env *Env
	// Settings are the Dynaconf settings; nil when Err is set.
	Settings *Settings
	// Err says why the settings cannot be resolved as the platform's pod would get
	// them (a Problem: a missing non-optional source, a value that does not parse).
	// Every lookup then fails with it.
	Err error

	found map[string]lookup
}

type lookup struct {
	found *Found
	err   error
}

// NewPlatform makes the settings of env: Dynaconf's, then the derived values on
// demand. A nil env with an error is a Platform whose every lookup fails with it.
func NewPlatform(env *Env, err error) *Platform {
	p := &Platform{Env: env, Err: err, found: map[string]lookup{}}
	if err == nil {
		p.Settings, p.Err = FromEnv(env)
	}
	return p
}

// Lookup returns a setting by name (DefaultDatabaseSetting, WorkloadsDatabaseSetting,
// EncryptionKeySetting): its value and where it came from, or an error saying why the
// platform's configuration does not give it (a *Missing names the setting).
func (p *Platform) Lookup(name string) (*Found, error) {
	if p.Err != nil {
		return nil, p.Err
	}
	if l, ok := p.found[name]; ok {
		return l.found, l.err
	}
	var l lookup
	switch name {
	case DefaultDatabaseSetting:
		l.found, l.err = p.Settings.DatabaseDSN(p.Env, DefaultDatabase)
	case WorkloadsDatabaseSetting:
		l.found, l.err = p.Settings.DatabaseDSN(p.Env, WorkloadsDatabase)
	case EncryptionKeySetting:
		l.found, l.err = p.Settings.EncryptionKey(p.Env)
	case BlobStoreSetting, SmartRegistrySetting, RemoteServicesSetting, AppImageRegistrySetting:
		var source string
		source, l.err = p.Settings.Describe(name)
		if l.err == nil {
			l.found = &Found{Source: p.Where() + ": " + source}
		}
	default:
		l.err = fmt.Errorf("no setting %q", name)
	}
	p.found[name] = l
	return l.found, l.err
}

// Cipher is the cipher the platform writes with, and where that came from.
func (p *Platform) Cipher() (v1alpha1.Cipher, string) {
	if p.Settings == nil {
		return v1alpha1.CipherFernet, ""
	}
	c, source := p.Settings.Cipher()
	return c, fmt.Sprintf("Deployment %s, container %s: %s", p.Env.Deployment, p.Env.Container, source)
}

// Selector is the Deployment's pod selector (the platform's apiserver pods), or nil.
func (p *Platform) Selector() *metav1.LabelSelector {
	if p.Env == nil {
		return nil
	}
	return p.Env.Selector
}

// Where names the Deployment and container, for messages.
func (p *Platform) Where() string {
	if p.Env == nil {
		return ""
	}
	return fmt.Sprintf("Deployment %s, container %s", p.Env.Deployment, p.Env.Container)
}

// ChangedAfterStart returns the ConfigMaps and Secrets the settings were read from
// that changed after the newest start of the container in pods (those the Deployment
// selects): the kubelet resolves a container's environment when it starts, so every
// running process may still have the old value. It also returns that start, zero when
// no pod has the container running (nothing to compare with).
func (p *Platform) ChangedAfterStart(pods []corev1.Pod) ([]Source, time.Time) {
	if p.Env == nil {
		return nil, time.Time{}
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Env.Selector)
	if err != nil || p.Env.Selector == nil {
		sel = labels.Nothing()
	}
	var newest time.Time
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == p.Env.Container && cs.State.Running != nil && cs.State.Running.StartedAt.After(newest) {
				newest = cs.State.Running.StartedAt.Time
			}
		}
	}
	if newest.IsZero() {
		return nil, newest
	}
	var changed []Source
	for _, s := range p.Env.Sources {
		// Both times have one second's resolution: a write within the pod's start
		// second is not after it.
		if s.Changed.Truncate(time.Second).After(newest.Truncate(time.Second)) {
			changed = append(changed, s)
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Changed.Before(changed[j].Changed) })
	return changed, newest
}
