package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
)

// What the four checks of remote endpoints (blob store, S-mart registry, remote
// service providers, app image registries) share: where their settings come from, the
// HTTP client they probe with, and the certificate warning.

// endpointCheck is what each of the four checks holds besides its spec block: the
// shared inputs, the manager's dependencies and the certificate warning window.
type endpointCheck struct {
	in     *inputs
	deps   Dependencies
	window time.Duration
}

func newEndpointCheck(spec *v1alpha1.PaaSDiagnosisSpec, deps Dependencies, in *inputs) endpointCheck {
	return endpointCheck{in: in, deps: deps, window: spec.CertificateExpiryWarning.Duration}
}

// expiring is the Warning that an endpoint's serving certificate expires within the
// window, or nil: what fails then, and with which code ("" for none), is the caller's.
func (c endpointCheck) expiring(subject, endpoint string, notAfter *time.Time, code, consequence string) []check.Finding {
	if notAfter == nil || !expiresWithin(*notAfter, c.deps.now(), c.window) {
		return nil
	}
	msg := fmt.Sprintf("the serving certificate of %s expires on %s: %s", endpoint, notAfter.UTC().Format(time.RFC3339), consequence)
	if code != "" {
		msg = errorcodes.Must(code).Predicted(msg)
	}
	return []check.Finding{check.WarningFinding(subject, v1alpha1.ReasonCertificateExpiring, code, msg)}
}

// settingsInput declares the settings a check reads: its block's Secret (the whole of
// it: its keys are the platform's setting names), else the named setting of
// settingsFrom.
func settingsInput(ref *v1alpha1.SecretReference, setting, what string) []check.Input {
	if ref != nil {
		return []check.Input{{Secret: ref.Name, What: what}}
	}
	return []check.Input{{Setting: setting, What: what}}
}

// releaseInputs declare an explicit database's Secret, from which the release line is
// read, for a check whose rules follow the line but that reads no database itself
// (settingsFrom's databases are read whenever the settings give them).
func (in *inputs) releaseInputs() []check.Input {
	switch {
	case in.workloadsDB.ref != nil:
		return in.workloadsDSNInput()
	case in.defaultDB.ref != nil:
		return in.defaultDSNInput()
	}
	return nil
}

// dependencySettings are the platform's settings a check reads, from its block's
// Secret or settingsFrom, or an Unknown finding saying why they cannot be read.
func (in *inputs) dependencySettings(ref *v1alpha1.SecretReference, subject string) (*platformsettings.Settings, *check.Finding) {
	var settings *platformsettings.Settings
	var err error
	switch {
	case ref != nil:
		settings, err = platformsettings.FromSecret(ref.Name, in.secrets[ref.Name])
	case in.platform != nil && in.platform.Err == nil:
		settings = in.platform.Settings
	case in.platform != nil:
		err = in.platform.Err
	default:
		err = errors.New("no settings: give settingsFrom or the check's settingsSecretRef")
	}
	if err != nil {
		f := settingsUnknown(subject, err)
		return nil, &f
	}
	return settings, nil
}

// settingsUnknown is the Unknown finding of settings the platform cannot use: a
// *Missing names the setting (SettingMissing), anything else does not resolve.
func settingsUnknown(subject string, err error) check.Finding {
	var missing *platformsettings.Missing
	if errors.As(err, &missing) {
		return check.UnknownFinding(subject, v1alpha1.ReasonSettingMissing, err.Error())
	}
	return check.UnknownFinding(subject, v1alpha1.ReasonSettingsUnresolvable, err.Error())
}

// client is the HTTP client of one check's probes: the manager's, dialing each host
// as the platform's pod resolves it (Env.Host: its hostAliases, a dotless name in its
// namespace under cluster DNS), not as paasdiag's pod would: a short Service name
// would otherwise reach a Service of that name in paasdiag's namespace, with the
// platform's credentials. Without settingsFrom (a settingsSecretRef), a dotless name
// is looked up in the diagnosis' namespace. Only the dial changes: TLS verifies the
// name the settings give, and the Host header is that name.
func (c endpointCheck) client(ref *v1alpha1.SecretReference) *http.Client {
	base := c.deps.httpClient()
	transport, ok := base.Transport.(*http.Transport)
	switch {
	case base.Transport == nil:
		transport = http.DefaultTransport.(*http.Transport)
	case !ok:
		return base // a test's own RoundTripper
	}
	resolve := func(host string) string {
		if ref == nil && c.in.platform != nil && c.in.platform.Env != nil {
			return c.in.platform.Env.Host(host)
		}
		if host == "" || host == "localhost" || net.ParseIP(host) != nil || strings.Contains(host, ".") {
			return host
		}
		return host + "." + c.in.owner.Namespace + ".svc"
	}
	transport = transport.Clone()
	dial := transport.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			addr = net.JoinHostPort(resolve(host), port)
		}
		return dial(ctx, network, addr)
	}
	return &http.Client{Transport: transport, CheckRedirect: base.CheckRedirect, Timeout: base.Timeout}
}

// httpClient is the client every endpoint probe uses: the manager's (its roots are
// the system's plus --probe-ca-file), never following a redirect to another host
// with credentials (net/http drops Authorization across hosts).
func (deps Dependencies) httpClient() *http.Client {
	if deps.HTTPClient != nil {
		return deps.HTTPClient
	}
	return http.DefaultClient
}

func (deps Dependencies) now() time.Time {
	if deps.Now != nil {
		return deps.Now()
	}
	return time.Now()
}

// firstError is a failing check's condition message: its first Error finding's (which
// carries the code's title when it has one), and how many more there are; fallback
// when there is none.
func firstError(findings []check.Finding, fallback string) string {
	var errs []check.Finding
	for _, f := range findings {
		if f.Severity == v1alpha1.SeverityError {
			errs = append(errs, f)
		}
	}
	switch len(errs) {
	case 0:
		return fallback
	case 1:
		return errs[0].Message
	}
	return fmt.Sprintf("%s (and %d more problems: see the findings)", errs[0].Message, len(errs)-1)
}

// untrustedCA is the Unknown finding of an endpoint whose certificate paasdiag cannot
// verify: the platform's pods may trust a CA paasdiag was not given (REQUESTS_CA_BUNDLE,
// a CA built into the image), so no code is claimed; what fails if they do not is
// consequence.
func untrustedCA(subject, message, consequence string) check.Finding {
	return check.UnknownFinding(subject, v1alpha1.ReasonTLSUnknownAuthority, fmt.Sprintf(
		"%s: if the platform's pods trust that CA, give it to the manager with --probe-ca-file; if they do not, %s", message, consequence))
}
