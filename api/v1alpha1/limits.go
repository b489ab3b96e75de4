package v1alpha1

import "time"

// The bounds of status. The code applies them before every write (the worst entries
// kept, a count of the rest); the CRD declares the same numbers as validation markers,
// which take literals: test/manifests compares the generated CRD with these constants.
const (
	// MaxStatusConditions bounds status.conditions (Ready, Stalled and one per check).
	MaxStatusConditions = 16
	// MaxStatusCodes bounds status.codes (the platform's codes are few).
	MaxStatusCodes = 32
	// MaxStatusFindings bounds status.findings.
	MaxStatusFindings = 100
	// MaxStatusClusters bounds status.clusters.
	MaxStatusClusters = 64
	// MaxStatusAPIServers bounds status.clusters[].apiServers.
	MaxStatusAPIServers = 16
	// MaxStatusPools bounds status.pools.
	MaxStatusPools = 256
	// MaxStatusSettings bounds status.settings (one entry per kind of setting).
	MaxStatusSettings = 16

	// MaxCodeLength bounds a code (status.codes, a finding's code).
	MaxCodeLength = 16
	// MaxCheckLength bounds a finding's check.
	MaxCheckLength = 512
	// MaxMessageLength bounds a finding's message and the release evidence.
	MaxMessageLength = 1024
	// MaxRemediationLength bounds a finding's remediation.
	MaxRemediationLength = 512
	// MaxReasonLength bounds reasons and condition types in status.
	MaxReasonLength = 64
	// MaxNameLength bounds the names in status: clusters, services, plans, tenants.
	MaxNameLength = 253
	// MaxURLLength bounds an API server's URL (as the spec bounds it).
	MaxURLLength = 2048
	// MaxVersionLength bounds an API server's reported version.
	MaxVersionLength = 64
	// MaxDurationLength bounds a duration written as text (an API server's latency).
	MaxDurationLength = 32
	// MaxConditionMessageLength bounds the message of a condition in status (the API
	// allows 32768; paasdiag's name the first few culprits and count the rest).
	MaxConditionMessageLength = 4096
	// MaxCodeSummaryLength bounds status.codeSummary.
	MaxCodeSummaryLength = 256

	// MaxStatusBytes is the budget of a whole status as JSON, well under etcd's object
	// limit (1.5 MiB by default): past it, details are shed, worst kept, until it fits.
	MaxStatusBytes = 256 << 10
)

// The schedule's floor. The CRD's CEL rules state the same numbers (a test compares
// them); the controller refuses a spec below them, as the CRD does, and never runs a
// diagnosis more often than MinInterval whatever the API server let through (API
// servers before 1.25 do not enforce CEL rules).
const (
	// MinInterval is the shortest spec.interval.
	MinInterval = 10 * time.Second
	// MinTimeout is the shortest spec.timeout.
	MinTimeout = 100 * time.Millisecond
)

// SecretLabel marks a Secret for paasdiag: a Secret a diagnosis names is used only
// when it carries SecretLabel=true. Whoever may label a Secret may choose where its
// credential goes; an author who may only write diagnoses may not (docs/security.md).
// Argo CD's argocd.argoproj.io/secret-type is the precedent.
const SecretLabel = "diagnosis.paasdiag.io/secret"

// SecretAPIServersAnnotation lists, on a Secret of cluster credentials, the API server
// URLs its credentials may be sent to (comma or space separated), or "*" for any: the
// Secret's writer chooses where its token goes, not the diagnosis's author.
const SecretAPIServersAnnotation = "diagnosis.paasdiag.io/api-servers"

// SecretWorkloadsDSNAnnotation names, on the Secret of the platform's encryption key,
// the workloads DSN Secret (same namespace) whose rows the key may decrypt, or "*":
// the decrypted credentials go to the API servers those rows name.
const SecretWorkloadsDSNAnnotation = "diagnosis.paasdiag.io/workloads-dsn-secret"
