// Package httpprobe names why an HTTP call to one of the platform's dependencies failed,
// with the reasons the cluster probe uses (DNSError, ConnectionRefused, Timeout,
// TLSUnknownAuthority, ..., Unauthorized, Forbidden, NotFound, ServerError), so that
// every check of a remote endpoint (blob store, registries, remote service providers)
// reports a failure the same way and a runbook covers them all.
package httpprobe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// Transport names a connection or TLS failure of a call: method and target say which
// call (e.g. "HEAD https://repo/generic/p/b/k"), whose names the server in messages
// ("the registry"). It never quotes credentials: err comes from net/http, which does
// not put them in its messages, and target must carry none.
func Transport(ctx context.Context, err error, call, whose string) (string, string) {
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &unknownAuthority):
		return v1alpha1.ReasonTLSUnknownAuthority, fmt.Sprintf("%s: %s certificate is not signed by a CA paasdiag trusts (the system's and --probe-ca-file's): %v", call, whose, unknownAuthority)
	case errors.As(err, &hostname):
		return v1alpha1.ReasonTLSHostnameMismatch, fmt.Sprintf("%s: %s certificate is not valid for its host name: %v", call, whose, hostname)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return v1alpha1.ReasonCertificateExpired, fmt.Sprintf("%s: %s certificate has expired or is not yet valid", call, whose)
	case errors.As(err, &dnsErr):
		return v1alpha1.ReasonDNSError, fmt.Sprintf("%s: cannot resolve %s: %s", call, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return v1alpha1.ReasonConnectionRefused, fmt.Sprintf("%s: connection refused: nothing listens there", call)
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return v1alpha1.ReasonTimeout, fmt.Sprintf("%s: no answer within the timeout", call)
	}
	// net/http wraps the cause in a *url.Error naming the method and URL; the call
	// already says them.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return v1alpha1.ReasonConnectionFailed, fmt.Sprintf("%s: %v", call, err)
}

// ReasonNotFound: the server answers 404 to a call the platform makes.
const ReasonNotFound = v1alpha1.ReasonNotFound

// Status names an HTTP status that is not a success: 401 Unauthorized, 403 Forbidden,
// 404 NotFound, anything else ServerError. It returns "" for a 2xx status.
func Status(status int, call string) (string, string) {
	head := fmt.Sprintf("%s: %d %s", call, status, http.StatusText(status))
	switch {
	case status/100 == 2:
		return "", ""
	case status == http.StatusUnauthorized:
		return v1alpha1.ReasonUnauthorized, head
	case status == http.StatusForbidden:
		return v1alpha1.ReasonForbidden, head
	case status == http.StatusNotFound:
		return ReasonNotFound, head
	}
	return v1alpha1.ReasonServerError, head
}

// Redact is a URL for messages: without user information and query, which may carry
// credentials.
func Redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment = nil, "", false, ""
	return c.String()
}
