package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/registryprobe"
	"github.com/paasdiag/paasdiag/internal/release"
)

// AppImageRegistries checks the registries builds push app images to, as a build
// meets them: /v2/ and a token asking pull and push on a repository under the
// registry's namespace, where builds push <namespace>/<app code>/<module>. A failure
// fails the build ("构建失败") without an error code. Read-only: push permission is
// read from the scopes granted.
type AppImageRegistries struct {
	endpointCheck
	cfg v1alpha1.AppImageRegistriesCheck
	// settings: the default registry can be read (settingsFrom or settingsSecretRef).
	settings bool
}

var _ check.Checker = (*AppImageRegistries)(nil)

func newAppImageRegistries(spec *v1alpha1.PaaSDiagnosisSpec, deps Dependencies, in *inputs) *AppImageRegistries {
	cfg := *spec.AppImageRegistries
	return &AppImageRegistries{endpointCheck: newEndpointCheck(spec, deps, in), cfg: cfg,
		settings: cfg.SettingsSecretRef != nil || spec.SettingsFrom != nil}
}

// Name implements check.Checker.
func (*AppImageRegistries) Name() string { return "app-image-registries" }

// Condition implements check.Checker.
func (*AppImageRegistries) Condition() string { return v1alpha1.ConditionAppImageRegistryAvailable }

// clusterRows: the clusters' own registries can be read (workloads database and key).
func (c *AppImageRegistries) clusterRows() bool {
	return c.in.workloadsDB.configured() && (c.in.keyRef != nil || c.in.keyFromSettings)
}

func (c *AppImageRegistries) inputs() []check.Input {
	var out []check.Input
	if c.settings {
		out = settingsInput(c.cfg.SettingsSecretRef, platformsettings.AppImageRegistrySetting, "the platform's default app image registry settings (APP_DOCKER_*)")
	}
	// An explicit workloads database is declared, with the key (a key from
	// settingsFrom is then refused unless that database is the platform's own). Both
	// from settingsFrom are not: a platform without WL_DATABASE_* settings still has its
	// default registry checked, and the message says the clusters' own were not.
	if c.clusterRows() && c.in.workloadsDB.ref != nil {
		out = append(out, c.in.workloadsDSNInput()...)
		out = append(out, c.in.keyInput()...)
	} else if c.clusterRows() && c.in.keyRef != nil {
		// An explicit key with the platform's own workloads database (settingsFrom):
		// the key's Secret must be read; its annotation must allow that database.
		out = append(out, c.in.keyInput()...)
	}
	return out
}

// registryTarget is one registry to probe and whose builds use it.
type registryTarget struct {
	subject, who string
	registry     registryprobe.Registry
	namespace    string
}

// Check implements check.Checker.
func (c *AppImageRegistries) Check(ctx context.Context) check.Result {
	const subject = "app-image-registry"
	var res check.Result
	var targets []registryTarget
	rows := "clusters' own registries not read (no workloads database)"
	defaultUsed := true
	if c.clusterRows() && (!c.in.workloadsDB.read || c.in.key == "") {
		rows = "clusters' own registries not read (settingsFrom gives no workloads database or key)"
	} else if c.clusterRows() {
		var own []registryTarget
		var findings []check.Finding
		own, findings, rows, defaultUsed = c.clusterRegistries(ctx)
		targets = append(targets, own...)
		res.Findings = append(res.Findings, findings...)
	}
	switch {
	case !c.settings:
	case !defaultUsed:
		rows += "; the default registry (APP_DOCKER_*) serves no cluster and is not checked"
	default:
		settings, unknown := c.in.dependencySettings(c.cfg.SettingsSecretRef, subject+"/default")
		if unknown != nil {
			res.Findings = append(res.Findings, *unknown)
		} else if reg, err := settings.AppImageRegistry(); err != nil {
			res.Findings = append(res.Findings, settingsUnknown(subject+"/default", err))
		} else {
			targets = append([]registryTarget{{subject: subject + "/default", who: "a build of an app on a cluster without its own registry",
				registry:  registryprobe.Registry{Host: reg.Host, Username: reg.Username, Password: reg.Password, SkipTLSVerify: reg.SkipTLSVerify, HTTPFallback: true},
				namespace: reg.Namespace}}, targets...)
		}
	}
	client := c.client(c.cfg.SettingsSecretRef)
	defer client.CloseIdleConnections()
	prober := registryprobe.Prober{Client: client, Now: c.deps.Now}
	for _, t := range targets {
		got := prober.Probe(ctx, t.registry, registryprobe.Request{Scopes: []registryprobe.Scope{
			{Repository: t.namespace + "/" + smartTargetRepository, Actions: []string{"pull", "push"}}}})
		res.Findings = append(res.Findings, registryFindings(t.subject, got, t.who, false)...)
		res.Findings = append(res.Findings, c.expiring(t.subject, t.registry.Host, got.ServingCertificateNotAfter, "",
			"builds pushing there fail (构建失败, no code) from then on, unless it is renewed or skip_tls_verify is set")...)
	}
	hosts := make([]string, 0, len(targets))
	for _, t := range targets {
		hosts = append(hosts, t.registry.Host)
	}
	res.Conclude(check.Verdict{
		Fail: firstError(res.Findings, "builds cannot push app images: they fail with 构建失败 (no error code)"),
		Pass: fmt.Sprintf("%d app image registries (%s) grant the platform's accounts push under their namespaces (read from the token's granted scopes; nothing was pushed); %s",
			len(targets), strings.Join(hosts, ", "), rows),
	})
	return res
}

// clusterRegistries reads each cluster's own registry (1.7 and later) and decrypts its
// password with the platform's key; defaultUsed is false when every cluster has one,
// so that no build pushes to the settings' registry.
func (c *AppImageRegistries) clusterRegistries(ctx context.Context) (targets []registryTarget, findings []check.Finding, note string, defaultUsed bool) {
	const subject = "app-image-registry"
	if c.in.release.Line == release.Line16 {
		return nil, nil, "platform 1.6 has no per-cluster registries", true
	}
	decrypter, err := bkcrypt.New(c.in.key)
	if err != nil {
		return nil, []check.Finding{check.UnknownFinding(subject, v1alpha1.ReasonDecryptionFailed, "the encryption key cannot be used: "+err.Error())}, "clusters' own registries not read", true
	}
	db, err := c.in.open(c.in.workloadsDB)
	if err != nil {
		return nil, []check.Finding{unknownFinding(subject, err)}, "clusters' own registries not read", true
	}
	var rows []platformdb.AppImageRegistry
	var withoutOwn []string
	err = db.ReadOnly(ctx, func(tx *sql.Tx) error {
		var err error
		if rows, err = platformdb.ReadAppImageRegistries(ctx, tx); err != nil {
			return err
		}
		withoutOwn, err = platformdb.ClustersWithoutAppImageRegistry(ctx, tx)
		return err
	})
	if errors.Is(err, platformdb.ErrNoAppImageRegistryTable) {
		if c.in.release.Line == release.Line17Plus {
			// 1.7 has the table: the user may not read it.
			return nil, []check.Finding{check.UnknownFinding(subject, v1alpha1.ReasonAccessDenied,
				"the workloads database user may not read cluster_clusterappimageregistry (platform 1.7+ has it): grant it (config/samples/readonly-grant-workloads.sql)")}, "clusters' own registries not read", true
		}
		return nil, nil, "the workloads database has no per-cluster registries (platform 1.6)", true
	}
	if err != nil {
		return nil, []check.Finding{unknownFinding(subject, err)}, "clusters' own registries not read", true
	}
	for _, row := range rows {
		sub := subject + "/" + row.ClusterName
		password, err := decrypter.Decrypt(row.Password)
		if err != nil {
			findings = append(findings, check.UnknownFinding(sub, v1alpha1.ReasonDecryptionFailed, fmt.Sprintf(
				"the password of cluster %s's app image registry does not decrypt with the platform's key: %v", row.ClusterName, err)))
			continue
		}
		targets = append(targets, registryTarget{subject: sub, who: "a build of an app on cluster " + row.ClusterName,
			registry:  registryprobe.Registry{Host: row.Host, Username: row.Username, Password: password, SkipTLSVerify: row.SkipTLSVerify, HTTPFallback: true},
			namespace: row.Namespace})
	}
	return targets, findings, fmt.Sprintf("%d clusters have their own registry", len(rows)), len(withoutOwn) > 0
}
