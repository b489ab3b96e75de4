package v1alpha1

// Condition types. Every check condition has positive polarity: True means healthy.
const (
	// ConditionReady is True when every configured check passed, False when one failed,
	// Unknown while a check could not find out or the spec is not yet evaluated. It is
	// the summary of the check conditions and is computed in one place only.
	ConditionReady = "Ready"

	// ConditionStalled is True when the spec cannot be evaluated as it stands (a missing
	// Secret or key, an invalid pattern): an operator must change something. Abnormal
	// polarity, as kstatus expects.
	ConditionStalled = "Stalled"

	// ConditionClusterReachable is True when every API server of every app cluster
	// answers the platform's requests with the platform's credentials (4313021).
	ConditionClusterReachable = "ClusterReachable"

	// ConditionInitialClusterStateReady is True when the initial cluster state Job
	// succeeded (and, when asked, really labelled the nodes) (4313021).
	ConditionInitialClusterStateReady = "InitialClusterStateReady"

	// ConditionWorkerLogsClean is True when no worker log line in the window matches a
	// 4313021 pattern.
	ConditionWorkerLogsClean = "WorkerLogsClean"

	// ConditionInstancePoolAvailable is True when every checked plan has an available
	// pre-created instance (4313022).
	ConditionInstancePoolAvailable = "InstancePoolAvailable"
)

// Reasons shared by every condition.
const (
	// ReasonEvaluating: set on first sight and on a new generation, until the checks
	// have run.
	ReasonEvaluating = "Evaluating"
	// ReasonSucceeded: every check behind the condition passed.
	ReasonSucceeded = "Succeeded"
	// ReasonTimeout: a check did not finish within spec.timeout.
	ReasonTimeout = "Timeout"
	// ReasonCheckPanicked: a check crashed; a bug in paasdiag, reported instead of
	// crashing the manager.
	ReasonCheckPanicked = "CheckPanicked"
	// ReasonSuspended: evaluation is suspended by spec.suspend.
	ReasonSuspended = "Suspended"
)

// Reasons of the Stalled condition (and of Ready when stalled).
const (
	// ReasonSpecValid: Stalled is False, the spec can be evaluated.
	ReasonSpecValid = "SpecValid"
	// ReasonSecretNotFound: a referenced Secret does not exist in the namespace.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyMissing: a referenced Secret lacks the referenced key.
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonSecretUnreadable: the Secret could not be read (e.g. RBAC); transient.
	ReasonSecretUnreadable = "SecretUnreadable"
	// ReasonInvalidSpec: the spec passed the CRD's validation but cannot be evaluated.
	ReasonInvalidSpec = "InvalidSpec"
)
