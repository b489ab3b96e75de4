// Package markers holds the RBAC marker of the ClusterRole a scraper of paasdiag's
// metrics needs, and nothing else: `make manifests` runs controller-gen over it alone
// (rbac:roleName=metrics-reader) into config/rbac/metrics/role.yaml. The directory's
// leading underscore keeps it out of ./..., so that the manager's own role, generated
// from every other package, does not get the grant.
package markers

// Scraping /metrics: the manager asks the API server whether the scraper may get the
// non-resource URL /metrics (--metrics-secure, the default).
// +kubebuilder:rbac:urls=/metrics,verbs=get
