package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
	"github.com/paasdiag/paasdiag/internal/platformsettings"
	"github.com/paasdiag/paasdiag/internal/registryprobe"
	"github.com/paasdiag/paasdiag/internal/release"
)

// failedToPushImage is 4314004 访问容器镜像仓库异常: the S-mart create and commit views
// raise it for the registry client's RequestError (a refused token, an unexpected
// status); its PermissionDeny and ResourceNotFound are not RequestErrors and end in an
// HTTP 500 without a code (docs/conformance.md SMR02).
const failedToPushImage = errorcodes.FailedToPushImage

// smartTargetRepository is the repository the probe asks push on: an import pushes
// to {namespace}/{app code}/{module}, which does not exist before the app does, so a
// name no app can have (app codes are [a-z0-9-]) stands for it. Token servers grant
// by pattern ({namespace}/*), so the answer is the one an import gets.
const smartTargetRepository = "paasdiag_probe/default"

// SmartRegistry checks the registry S-mart imports push to, as an import meets it:
// /v2/, the token for the base images (pull) and the app's repository (pull, push),
// then each base image's manifest. Read-only: push permission is read from the
// scopes the token server grants, not tried.
type SmartRegistry struct {
	endpointCheck
	cfg v1alpha1.SmartRegistryCheck
}

var _ check.Checker = (*SmartRegistry)(nil)

func newSmartRegistry(spec *v1alpha1.PaaSDiagnosisSpec, deps Dependencies, in *inputs) *SmartRegistry {
	return &SmartRegistry{endpointCheck: newEndpointCheck(spec, deps, in), cfg: *spec.SmartRegistry}
}

// Name implements check.Checker.
func (*SmartRegistry) Name() string { return "smart-registry" }

// Condition implements check.Checker.
func (*SmartRegistry) Condition() string { return v1alpha1.ConditionSmartRegistryAvailable }

// inputs are the registry settings and, for the base images of the release line, an
// explicit database.
func (c *SmartRegistry) inputs() []check.Input {
	return append(settingsInput(c.cfg.SettingsSecretRef, platformsettings.SmartRegistrySetting, "the platform's S-mart registry settings (SMART_DOCKER_*)"),
		c.in.releaseInputs()...)
}

// Check implements check.Checker.
func (c *SmartRegistry) Check(ctx context.Context) check.Result {
	const subject = "smart-registry"
	settings, unknown := c.in.dependencySettings(c.cfg.SettingsSecretRef, subject)
	if unknown != nil {
		return check.Only(*unknown)
	}
	reg, err := settings.SmartRegistry()
	if err != nil {
		return check.Only(settingsUnknown(subject, err))
	}
	var res check.Result
	var images []platformsettings.BaseImage
	switch c.in.release.Line {
	case release.Line16:
		images, err = reg.BaseImages("1.6")
	case release.Line17Plus:
		images, err = reg.BaseImages("1.7+")
	default:
		res.Findings = append(res.Findings, check.UnknownFinding(subject, v1alpha1.ReasonSettingMissing, fmt.Sprintf(
			"the base images differ by release line (1.6 slug-pilot, 1.7+ slug-app), which is unknown (%s): their manifests are not checked", c.in.release.Evidence)))
	}
	if err != nil {
		res.Findings = append(res.Findings, settingsUnknown(subject, err))
	}
	scopes := []registryprobe.Scope{{Repository: reg.Namespace + "/" + smartTargetRepository, Actions: []string{"pull", "push"}}}
	var manifests []string
	for _, image := range images {
		for _, ref := range []string{image.Ref, image.Alternative} {
			if ref != "" {
				name, _, _ := strings.Cut(ref, ":")
				scopes = append(scopes, registryprobe.Scope{Repository: name, Actions: []string{"pull"}})
				manifests = append(manifests, ref)
			}
		}
	}
	client := c.client(c.cfg.SettingsSecretRef)
	defer client.CloseIdleConnections()
	prober := registryprobe.Prober{Client: client, Now: c.deps.Now}
	// moby-distribution picks https or http as the platform does (a TLS handshake).
	got := prober.Probe(ctx, registryprobe.Registry{Host: reg.Host, Username: reg.Username, Password: reg.Password, DetectScheme: true},
		registryprobe.Request{Scopes: scopes, Manifests: manifests})
	missing := got.MissingManifests
	got.MissingManifests = nil
	res.Findings = append(res.Findings, registryFindings(subject, got, "an S-mart import", true)...)
	res.Findings = append(res.Findings, missingBaseImages(subject, images, missing)...)
	res.Findings = append(res.Findings, c.expiring(subject, reg.Host, got.ServingCertificateNotAfter, "",
		"the platform's client then falls back to https without verification (moby-distribution), so imports go on; renew it")...)
	res.Conclude(check.Verdict{
		Fail: firstError(res.Findings, fmt.Sprintf("registry %s: S-mart imports fail", reg.Host)),
		Pass: fmt.Sprintf("registry %s (%s) grants %s what an import asks for and holds %d base images (push permission read from the token's granted scopes; nothing was pushed)",
			reg.Host, got.Scheme, reg.Username, len(images)),
	})
	return res
}

// registryFindings turns a registry probe into findings, with 4314004 where the
// platform's S-mart views raise it (coded: true) and none for a build's push (an app
// image registry: a build failure, no code).
func registryFindings(subject string, got registryprobe.Result, who string, coded bool) []check.Finding {
	var out []check.Finding
	// What the user sees when the platform raises no code.
	uncoded := "fails with an HTTP 500, without an error code"
	if !coded {
		uncoded = "fails (the deploy log shows 构建失败), without an error code"
	}
	code4314004 := func(msg string) (string, string) {
		if !coded {
			return "", msg + ": " + who + " " + uncoded
		}
		return failedToPushImage, errorcodes.Must(failedToPushImage).Message(msg + ": the import answers 4314004")
	}
	switch {
	case got.TokenRefused:
		code, msg := code4314004(fmt.Sprintf("%s: the token server refuses the platform's account (%s fails at the registry's first request)", got.Message, who))
		out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonTokenRefused, code, msg))
	case got.UnexpectedStatus:
		code, msg := code4314004(got.Message)
		out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonUnexpectedStatus, code, msg))
	case got.Reason == v1alpha1.ReasonTLSUnknownAuthority:
		out = append(out, untrustedCA(subject, got.Message, who+" "+uncoded))
	case got.Reason == registryprobe.ReasonInvalidReference:
		// A host or image name that does not parse: nothing was called.
		out = append(out, check.UnknownFinding(subject, v1alpha1.ReasonInvalidSettings, got.Message))
	case got.Reason != "" && got.Reason != v1alpha1.ReasonScopeNotGranted && got.Reason != v1alpha1.ReasonManifestNotFound:
		out = append(out, check.ErrorFinding(subject, got.Reason, "", fmt.Sprintf("%s: %s %s", got.Message, who, uncoded)))
	}
	if len(got.Missing) > 0 {
		var missing []string
		for _, s := range got.Missing {
			missing = append(missing, s.Repository+":"+strings.Join(s.Actions, ","))
		}
		out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonScopeNotGranted, "", fmt.Sprintf(
			"the token server does not grant %s (granted scopes are all a read-only probe can see of write permission): %s %s when it pushes",
			strings.Join(missing, ", "), who, uncoded)))
	}
	return out
}

// missingBaseImages are the base images the registry does not hold, either name of
// each (1.7 and main differ for some): an import that starts from one fails with an
// HTTP 500 and no code. The default images fail every import of their kind (Error);
// another SMART_CNB_IMAGE_CONF id only the packages that choose it (Warning).
func missingBaseImages(subject string, images []platformsettings.BaseImage, missing []string) []check.Finding {
	gone := map[string]bool{}
	for _, m := range missing {
		gone[m] = true
	}
	var out []check.Finding
	for _, b := range images {
		if !gone[b.Ref] || (b.Alternative != "" && !gone[b.Alternative]) {
			continue
		}
		name := b.Ref
		if b.Alternative != "" {
			name += " (on main: " + b.Alternative + ")"
		}
		if b.Default {
			out = append(out, check.ErrorFinding(subject, v1alpha1.ReasonManifestNotFound, "", fmt.Sprintf(
				"base image %s is not in the registry (push it with the platform's push_smart_image command): an S-mart import from it fails with an HTTP 500, without an error code", name)))
			continue
		}
		out = append(out, check.WarningFinding(subject, v1alpha1.ReasonManifestNotFound, "", fmt.Sprintf(
			"base image %s (SMART_CNB_IMAGE_CONF id %s) is not in the registry: an S-mart import of a package that chooses it fails with an HTTP 500, without an error code", name, b.ID)))
	}
	return out
}
