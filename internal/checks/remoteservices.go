package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformdb"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/release"
	"github.com/paasdiag/paasdiag/internal/rsvcprobe"
)

// cannotDestroyService is 4313040 服务删除失败: the unbind view raises it when the
// provider does not delete the instance (docs/conformance.md RSV03).
const cannotDestroyService = errorcodes.CannotDestroyService

// RemoteServices checks the remote add-on service providers as the platform's
// collector calls them (meta_info/, services/ with its JWT) and, with the default
// database, that every plan apps are bound to is still served. Read-only: nothing is
// provisioned or deleted.
type RemoteServices struct {
	endpointCheck
	cfg v1alpha1.RemoteServicesCheck
}

var _ check.Checker = (*RemoteServices)(nil)

func newRemoteServices(spec *v1alpha1.PaaSDiagnosisSpec, deps Dependencies, in *inputs) *RemoteServices {
	return &RemoteServices{endpointCheck: newEndpointCheck(spec, deps, in), cfg: *spec.RemoteServices}
}

// Name implements check.Checker.
func (*RemoteServices) Name() string { return "remote-services" }

// Condition implements check.Checker.
func (*RemoteServices) Condition() string { return v1alpha1.ConditionRemoteServicesAvailable }

func (c *RemoteServices) inputs() []check.Input {
	out := settingsInput(c.cfg.SettingsSecretRef, platformsettings.RemoteServicesSetting, "the platform's remote service settings (SERVICE_REMOTE_ENDPOINTS, RSVC_BUNDLE_*)")
	// As for the blob store: an explicit database is declared, one from settingsFrom
	// is used when given.
	if c.in.defaultDB.ref != nil {
		out = append(out, c.in.defaultDSNInput()...)
	}
	return out
}

// Check implements check.Checker.
func (c *RemoteServices) Check(ctx context.Context) check.Result {
	const subject = "remote-services"
	settings, unknown := c.in.dependencySettings(c.cfg.SettingsSecretRef, subject)
	if unknown != nil {
		return check.Only(*unknown)
	}
	endpoints, err := settings.RemoteServiceEndpoints()
	if err != nil {
		return check.Only(settingsUnknown(subject, err))
	}
	var res check.Result
	client := c.client(c.cfg.SettingsSecretRef)
	defer client.CloseIdleConnections()
	prober := rsvcprobe.Prober{Client: client, Now: c.deps.Now}
	// served: service uuid -> plan uuids, as the providers that answered name them.
	served := map[string]map[string]bool{}
	probed, skipped, failed := 0, []string{}, 0
	for _, e := range endpoints {
		sub := "remote-service/" + e.Name
		switch {
		case e.Invalid != "":
			res.Findings = append(res.Findings, check.WarningFinding(sub, v1alpha1.ReasonInvalidSettings, "", fmt.Sprintf(
				"remote service entry %s (%s) is refused by the platform (RemoteSvcConfig.from_json): %s; its services are not offered", e.Name, e.Source, e.Invalid)))
			skipped = append(skipped, e.Name+" (refused by the platform)")
			continue
		case e.Extra && c.in.release.Line == release.Line16:
			skipped = append(skipped, e.Name+" (RSVC_BUNDLE_EXTRA_SERVICES, read from 1.7 on)")
			continue
		case !e.IsReady:
			skipped = append(skipped, e.Name+" (is_ready false: the platform skips it)")
			continue
		}
		probed++
		got := prober.Probe(ctx, e)
		if got.Reason == v1alpha1.ReasonTLSUnknownAuthority {
			res.Findings = append(res.Findings, untrustedCA(sub, got.Message, "the platform drops its services and deploys provisioning them fail (配置资源实例异常, no code)"))
			failed++ // its services are unknown: their bindings are not judged
			continue
		}
		if !got.OK() {
			failed++
			res.Findings = append(res.Findings, check.ErrorFinding(sub, got.Reason, "", fmt.Sprintf(
				"provider %s: %s: the platform drops its services; a deploy that provisions one fails in step 配置资源实例 (the deploy log shows 配置资源实例异常: unable to provision instance for services<NAME>, no error code)",
				e.Name, got.Message)))
			if got.Reason != rsvcprobe.ReasonInvalidResponse {
				// It does not answer, or refuses the platform's token: its DELETE of an
				// instance fails the same way. (A services/ answer the platform cannot
				// read says nothing of its DELETE.)
				res.Findings = append(res.Findings, check.WarningFinding(sub, v1alpha1.ReasonUnbindWouldFail, cannotDestroyService, errorcodes.Must(cannotDestroyService).Predicted(fmt.Sprintf(
					"unbinding an instance of provider %s's services fails while it does not answer the platform", e.Name))))
			}
			continue
		}
		for _, s := range got.Services {
			plans := map[string]bool{}
			for _, p := range s.Plans {
				plans[p.UUID] = true
			}
			served[s.UUID] = plans
		}
		res.Findings = append(res.Findings, c.expiring(sub, redactURL(e.EndpointURL), got.ServingCertificateNotAfter, "",
			"the platform drops the provider's services then; deploys provisioning them fail (配置资源实例异常, no code)")...)
	}
	bindings := "bound plans not checked (no default database)"
	if c.in.defaultDB.read && probed > 0 {
		var findings []check.Finding
		// The services of a provider not probed (not ready, refused, failing) are
		// unknown: a binding no probed provider serves may be one of theirs, and a
		// not-ready provider's are skipped by the platform, not failed.
		findings, bindings = c.checkBindings(ctx, served, failed > 0 || len(skipped) > 0)
		res.Findings = append(res.Findings, findings...)
	}
	if len(endpoints) == 0 {
		res.Conclude(check.Verdict{Pass: "the platform's settings configure no remote service provider", PassReason: v1alpha1.ReasonNotConfigured})
		return res
	}
	pass := fmt.Sprintf("%d remote service providers answer services/ to the platform's token; %s", probed, bindings)
	if len(skipped) > 0 {
		pass += "; not probed: " + strings.Join(skipped, ", ")
	}
	res.Conclude(check.Verdict{Fail: firstError(res.Findings, "remote add-on services cannot be provisioned"), Pass: pass})
	return res
}

// checkBindings finds the bindings whose plan the providers that answered do not serve:
// provisioning them fails (get_plan raises "Plan not found"). The platform compares
// str(UUID) (hyphenated, lower case: as the reader gives them) with the provider's
// uuid as given; the all-zero legacy plan is never looked up. A service no answering
// provider serves is left to the failing providers when there are some.
func (c *RemoteServices) checkBindings(ctx context.Context, served map[string]map[string]bool, someFailed bool) ([]check.Finding, string) {
	db, err := c.in.open(c.in.defaultDB)
	if err != nil {
		return []check.Finding{unknownFinding("remote-services/bindings", err)}, "bound plans not checked"
	}
	var rows []platformdb.RemoteBinding
	err = db.ReadOnly(ctx, func(tx *sql.Tx) error {
		var err error
		rows, err = platformdb.ReadRemoteBindings(ctx, tx)
		return err
	})
	if err != nil {
		return []check.Finding{unknownFinding("remote-services/bindings", err)}, "bound plans not checked"
	}
	var out []check.Finding
	total := 0
	for _, b := range rows {
		total += b.Bindings
		service, plan := b.ServiceID, b.PlanID
		plans, ok := served[service]
		if !ok && someFailed {
			continue
		}
		if ok && (plans[plan] || b.LegacyPlan) {
			continue
		}
		what := "plan " + plan
		if !ok {
			what = "service " + service
		}
		subject := "remote-binding/" + service + "/" + plan
		examples := strings.Join(b.Examples, ", ")
		if b.Unprovisioned > 0 {
			out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonBoundPlanMissing, "", fmt.Sprintf(
				"%d bindings (e.g. %s) use %s, which no remote provider serves; %d have no instance yet: their next deploy fails in step 配置资源实例 (配置资源实例异常, no error code)",
				b.Bindings, examples, what, b.Unprovisioned)))
			continue
		}
		out = append(out, check.WarningFinding(subject, v1alpha1.ReasonBoundPlanMissing, "", fmt.Sprintf(
			"%d bindings (e.g. %s) use %s, which no remote provider serves; all have their instance, so no deploy provisions from it now, but the platform cannot look the plan up",
			b.Bindings, examples, what)))
	}
	return out, fmt.Sprintf("%d bindings to %d plans checked", total, len(rows))
}
