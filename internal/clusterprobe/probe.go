package clusterprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// StateLabelPrefix starts the labels the initial cluster state Job puts on every node
// (eng-cstate-<8 hex>-<n>: "1").
const StateLabelPrefix = "eng-cstate-"

// IgnoredNodeLabels are the labels whose Nodes the platform leaves out of a cluster's
// node state, value for value: region_gen_state (1.6) and the admin console's node sync
// (1.7+) both ignore node-role.kubernetes.io/master=true. A master labelled with an
// empty value (as kubeadm does) or only node-role.kubernetes.io/control-plane is not
// ignored by the platform, so not here either (docs/conformance.md, ICS08).
var IgnoredNodeLabels = map[string]string{"node-role.kubernetes.io/master": "true"}

// Ignored reports whether the platform leaves a Node with these labels out of the
// cluster's node state.
func Ignored(labels map[string]string) bool {
	for k, v := range IgnoredNodeLabels {
		if got, ok := labels[k]; ok && got == v {
			return true
		}
	}
	return false
}

// maxNodePages bounds how many pages of 500 Nodes a probe reads.
const maxNodePages = 20

// Result is what probing one API server found.
type Result struct {
	URL string
	// OK is true when every request the platform makes succeeded and the identity is
	// cluster-admin.
	OK bool
	// Reachable is true when the platform's requests (list Nodes, list Namespaces)
	// succeeded, whatever the cluster-admin check said.
	Reachable bool
	// Reason and Message describe the failure when not OK.
	Reason, Message string
	// ServerVersion is the API server's gitVersion.
	ServerVersion string
	// Latency is the time the probe's requests took, connection setup included.
	Latency time.Duration
	// ServingNotAfter is the earliest expiry in the serving certificate chain.
	ServingNotAfter *time.Time
	// Verified is false when TLS was not verified (no CA).
	Verified bool
	// Nodes are the names of the cluster's Nodes that the platform's node state
	// counts (all but the IgnoredNodeLabels ones), sorted.
	Nodes []string
	// NodesIgnored counts the Nodes left out by IgnoredNodeLabels.
	NodesIgnored int
	// NodesWithState counts the Nodes of Nodes carrying an eng-cstate-* label.
	NodesWithState int
	// NodesListed is true when listing Nodes succeeded: what the platform's 4313021
	// path does. A probe that fails after it (Namespaces, cluster-admin) fails for
	// other parts of a deploy.
	NodesListed bool
	// NodesTruncated is true when the cluster has more Nodes than a probe reads
	// (maxNodePages pages): Nodes is then not the whole list.
	NodesTruncated bool
}

// Probe probes one API server with the credentials, within ctx. It never returns an
// error: every failure is a Result with a reason.
func Probe(ctx context.Context, server string, creds Credentials, now time.Time) (res Result) {
	res = Result{URL: server, Verified: len(creds.CA) > 0}
	start := time.Now()
	// res is the named result: the latency lands in whatever is returned.
	defer func() { res.Latency = time.Since(start) }()

	if exp := creds.ClientCertNotAfter(); exp != nil && now.After(*exp) {
		return res.fail(v1alpha1.ReasonCertificateExpired, fmt.Sprintf("the client certificate expired on %s", exp.UTC().Format(time.RFC3339)))
	}
	tlsCfg, err := creds.tlsConfig()
	if err != nil {
		return res.fail(v1alpha1.ReasonInvalidCredentials, err.Error())
	}
	transport := &http.Transport{
		Proxy:               nil, // the platform talks to its clusters directly
		DialContext:         (&net.Dialer{}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 0, // bounded by ctx
		ForceAttemptHTTP2:   true,
	}
	defer transport.CloseIdleConnections()
	c := &client{http: &http.Client{Transport: transport}, base: strings.TrimRight(server, "/"), token: creds.Token}

	// /version first: it needs no permission, so it tells connection and TLS problems
	// apart from authentication ones, and gives the serving chain.
	var version struct {
		GitVersion string `json:"gitVersion"`
	}
	resp, err := c.do(ctx, http.MethodGet, "/version", nil, &version)
	if err != nil {
		return res.fail(classifyTransport(ctx, err))
	}
	res.ServerVersion = version.GitVersion
	res.ServingNotAfter = ChainNotAfter(resp.TLS)
	if resp.StatusCode == http.StatusUnauthorized {
		return res.fail(v1alpha1.ReasonUnauthorized, "GET /version: 401 Unauthorized: the API server does not accept the token or client certificate")
	}

	// What the platform does: list every Node (4313021 when it fails) ...
	cont := ""
	for page := 0; page < maxNodePages; page++ {
		var nodes nodeList
		path := "/api/v1/nodes?limit=500"
		if cont != "" {
			path += "&continue=" + url.QueryEscape(cont)
		}
		resp, err := c.do(ctx, http.MethodGet, path, nil, &nodes)
		if err != nil {
			return res.fail(classifyTransport(ctx, err))
		}
		if reason, msg := classifyStatus(resp, "GET /api/v1/nodes"); reason != "" {
			return res.fail(reason, msg)
		}
		for _, n := range nodes.Items {
			if Ignored(n.Metadata.Labels) {
				res.NodesIgnored++
				continue
			}
			res.Nodes = append(res.Nodes, n.Metadata.Name)
			for k := range n.Metadata.Labels {
				if strings.HasPrefix(k, StateLabelPrefix) {
					res.NodesWithState++
					break
				}
			}
		}
		if cont = nodes.Metadata.Continue; cont == "" {
			break
		}
	}
	res.NodesTruncated = cont != ""
	res.NodesListed = true
	sort.Strings(res.Nodes)
	// ... and list Namespaces, as its admin console does on every API server.
	resp, err = c.do(ctx, http.MethodGet, "/api/v1/namespaces?limit=1", nil, nil)
	if err != nil {
		return res.fail(classifyTransport(ctx, err))
	}
	if reason, msg := classifyStatus(resp, "GET /api/v1/namespaces"); reason != "" {
		return res.fail(reason, msg)
	}
	res.Reachable = true

	// The platform creates namespaces, workloads and ingresses, patches nodes and reads
	// Helm release Secrets everywhere: it needs cluster-admin.
	review := map[string]any{
		"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"verb": "*", "group": "*", "resource": "*"}},
	}
	var reviewed struct {
		Status struct {
			Allowed bool   `json:"allowed"`
			Reason  string `json:"reason"`
		} `json:"status"`
	}
	resp, err = c.do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, &reviewed)
	if err != nil {
		return res.fail(classifyTransport(ctx, err))
	}
	if reason, msg := classifyStatus(resp, "POST selfsubjectaccessreviews"); reason != "" {
		return res.fail(reason, msg)
	}
	if !reviewed.Status.Allowed {
		return res.fail(v1alpha1.ReasonNotClusterAdmin, fmt.Sprintf("%s may list Nodes and Namespaces but is not cluster-admin (may not do everything everywhere); the platform creates and deletes namespaces and applications there", c.whoAmI(ctx)))
	}
	res.OK = true
	return res
}

func (r Result) fail(reason, message string) Result {
	r.Reason, r.Message = reason, message
	return r
}

type nodeList struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []struct {
		Metadata struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	} `json:"items"`
}

// client is a minimal Kubernetes API client: the probe needs four requests and must
// see the raw TLS state, status codes and errors.
type client struct {
	http  *http.Client
	base  string
	token string
}

// maxBody bounds what a probe reads of any response.
const maxBody = 8 << 20

// do sends a request and decodes a 2xx JSON answer into out (when not nil). For other
// codes the body is kept (bounded) for classifyStatus.
func (c *client) do(ctx context.Context, method, path string, in, out any) (*response, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "paasdiag")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	r := &response{StatusCode: resp.StatusCode, TLS: resp.TLS}
	limited := io.LimitReader(resp.Body, maxBody)
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.NewDecoder(limited).Decode(out); err != nil {
			return nil, fmt.Errorf("decoding %s %s: %w", method, path, err)
		}
		return r, nil
	}
	r.Body, err = io.ReadAll(io.LimitReader(limited, 64<<10))
	return r, err
}

// whoAmI names the identity the API server sees, for messages; empty when it cannot.
func (c *client) whoAmI(ctx context.Context) string {
	review := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
	var out struct {
		Status struct {
			UserInfo struct {
				Username string `json:"username"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	resp, err := c.do(ctx, http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, &out)
	if err != nil || resp.StatusCode/100 != 2 || out.Status.UserInfo.Username == "" {
		return "the platform's identity"
	}
	return fmt.Sprintf("user %q", out.Status.UserInfo.Username)
}

type response struct {
	StatusCode int
	TLS        *tls.ConnectionState
	Body       []byte
}

// classifyStatus turns a non-2xx answer into a reason and message; "" when 2xx.
func classifyStatus(r *response, what string) (string, string) {
	if r.StatusCode/100 == 2 {
		return "", ""
	}
	var status struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.Body, &status)
	detail := status.Message
	if detail == "" {
		detail = strings.TrimSpace(string(r.Body))
		if len(detail) > 200 {
			detail = detail[:200]
		}
	}
	head := fmt.Sprintf("%s: %d %s", what, r.StatusCode, http.StatusText(r.StatusCode))
	if detail != "" {
		head += ": " + detail
	}
	switch {
	case r.StatusCode == http.StatusUnauthorized:
		return v1alpha1.ReasonUnauthorized, head + " (the API server does not accept the token or client certificate)"
	case r.StatusCode == http.StatusForbidden:
		// The API server's message names the user it saw and the verb and resource.
		return v1alpha1.ReasonForbidden, head
	default:
		return v1alpha1.ReasonServerError, head
	}
}

// classifyTransport turns a connection or TLS error into a reason and message.
func classifyTransport(ctx context.Context, err error) (string, string) {
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &unknownAuthority):
		return v1alpha1.ReasonTLSUnknownAuthority, "the API server's certificate is not signed by the configured CA (ca.crt / ca_data): " + unknownAuthority.Error()
	case errors.As(err, &hostname):
		return v1alpha1.ReasonTLSHostnameMismatch, "the API server's certificate is not valid for the host name used: " + hostname.Error()
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return v1alpha1.ReasonCertificateExpired, "the API server's certificate has expired or is not yet valid: " + invalid.Error()
	case errors.As(err, &dnsErr):
		return v1alpha1.ReasonDNSError, fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return v1alpha1.ReasonConnectionRefused, "connection refused: nothing listens on the API server's address"
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return v1alpha1.ReasonTimeout, "the API server did not answer within the timeout"
	}
	return v1alpha1.ReasonConnectionFailed, "cannot talk to the API server: " + err.Error()
}

// ChainNotAfter is the earliest expiry in a serving chain (nil without TLS).
func ChainNotAfter(state *tls.ConnectionState) *time.Time {
	if state == nil {
		return nil
	}
	var earliest *time.Time
	for _, c := range state.PeerCertificates {
		if earliest == nil || c.NotAfter.Before(*earliest) {
			t := c.NotAfter
			earliest = &t
		}
	}
	return earliest
}
