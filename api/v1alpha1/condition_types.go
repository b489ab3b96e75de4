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

	// ConditionInitialClusterStateReady is True when, on platform 1.6, the initial
	// cluster state Job succeeded (and, when asked, really labelled the nodes) (4313021);
	// on 1.7+, when the recorded node state could be compared (a difference is a
	// warning); Unknown while the release line is.
	ConditionInitialClusterStateReady = "InitialClusterStateReady"

	// ConditionWorkerLogsClean is True when no worker log line in the window matches a
	// 4313021 pattern.
	ConditionWorkerLogsClean = "WorkerLogsClean"

	// ConditionInstancePoolAvailable is True when every checked plan has an available
	// pre-created instance (4313022).
	ConditionInstancePoolAvailable = "InstancePoolAvailable"

	// ConditionBlobStoreAvailable is True when the blob store answers the platform's
	// credentials for the source-package bucket and the checked packages' objects
	// exist (4312011; a missing package fails its module's next deploy, no code).
	ConditionBlobStoreAvailable = "BlobStoreAvailable"

	// ConditionSmartRegistryAvailable is True when the S-mart registry answers, grants
	// the platform's account the scopes an import asks for and holds the base images
	// (4314004 where the platform raises it).
	ConditionSmartRegistryAvailable = "SmartRegistryAvailable"

	// ConditionRemoteServicesAvailable is True when every ready remote service provider
	// answers services/ to the platform's token and serves every plan bound to an app.
	ConditionRemoteServicesAvailable = "RemoteServicesAvailable"

	// ConditionAppImageRegistryAvailable is True when every app cluster's image
	// registry answers and grants push on its namespace.
	ConditionAppImageRegistryAvailable = "AppImageRegistryAvailable"
)

// Reasons shared by every condition.
const (
	// ReasonEvaluating: set on first sight and on a new generation, until the checks
	// have run.
	ReasonEvaluating = "Evaluating"
	// ReasonSucceeded: every check behind the condition passed.
	ReasonSucceeded = "Succeeded"
	// ReasonTimeout: a check did not finish within spec.timeout (Unknown); also an API
	// server that did not answer in time (a 4313021 Error of ClusterReachable) and a
	// database that did not (Unknown).
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
	// ReasonSecretDestinationNotAllowed: a referenced Secret does not allow where the
	// diagnosis would send its credential (SecretAPIServersAnnotation,
	// SecretWorkloadsDSNAnnotation); it is not used (docs/security.md).
	ReasonSecretDestinationNotAllowed = "SecretDestinationNotAllowed"
	// ReasonSecretNotMarked: a referenced Secret lacks the label SecretLabel=true that
	// marks it for paasdiag; it is not used (docs/security.md).
	ReasonSecretNotMarked = "SecretNotMarked"
	// ReasonSettingsSourceNotFound: the settingsFrom Deployment, or its container, does
	// not exist.
	ReasonSettingsSourceNotFound = "SettingsSourceNotFound"
	// ReasonSettingsSourceNotAllowed: the settingsFrom Deployment is neither labelled
	// SettingsFromLabel=true nor allowed by the manager's --settings-from-allowed; it
	// is not read (docs/security.md).
	ReasonSettingsSourceNotAllowed = "SettingsSourceNotAllowed"
	// ReasonSettingsSourceUnreadable: paasdiag may not read the settingsFrom
	// Deployment, or a ConfigMap or Secret it gives its container (RBAC).
	ReasonSettingsSourceUnreadable = "SettingsSourceUnreadable"
	// ReasonInvalidSpec: the spec breaks a rule of the CRD (which API servers before
	// 1.25 do not enforce: paasdiag does), or a part of it cannot be evaluated (a
	// worker-log pattern that does not compile). Nothing of it is evaluated.
	ReasonInvalidSpec = "InvalidSpec"
)

// Reasons of ClusterReachable (4313021). Each probe failure is set on the condition
// (False) and on an Error finding that carries 4313021, on every release line.
const (
	// ReasonNoAPIServers: a cluster has no API server configured.
	ReasonNoAPIServers = "NoAPIServers"
	// ReasonInvalidCredentials: the stored CA, certificate or key cannot be parsed.
	ReasonInvalidCredentials = "InvalidCredentials"
	// ReasonDNSError: an API server's host name does not resolve.
	ReasonDNSError = "DNSError"
	// ReasonConnectionRefused: nothing listens on an API server's port.
	ReasonConnectionRefused = "ConnectionRefused"
	// ReasonConnectionFailed: the connection to an API server failed otherwise.
	ReasonConnectionFailed = "ConnectionFailed"
	// ReasonTLSUnknownAuthority: an API server's certificate is not signed by the CA.
	ReasonTLSUnknownAuthority = "TLSUnknownAuthority"
	// ReasonTLSHostnameMismatch: an API server's certificate is not valid for its host.
	ReasonTLSHostnameMismatch = "TLSHostnameMismatch"
	// ReasonCertificateExpired: the client or serving certificate has expired.
	ReasonCertificateExpired = "CertificateExpired"
	// ReasonUnauthorized: an API server answers 401 to the platform's credentials.
	ReasonUnauthorized = "Unauthorized"
	// ReasonForbidden: an API server answers 403 to the platform's requests.
	ReasonForbidden = "Forbidden"
	// ReasonNotClusterAdmin: the platform's identity may read but is not cluster-admin.
	ReasonNotClusterAdmin = "NotClusterAdmin"
	// ReasonServerError: an API server answers with another error status.
	ReasonServerError = "ServerError"
	// ReasonTLSNotVerified: a Warning finding (ClusterReachable stays True): a cluster
	// has no CA, so the platform (and paasdiag) do not verify its API servers.
	ReasonTLSNotVerified = "TLSNotVerified"
	// ReasonClusterNotFound: False, 4313021: apps are bound (their latest config) to a
	// cluster that does not exist, or (1.6) name none in a region without a default.
	ReasonClusterNotFound = "ClusterNotFound"
	// ReasonClusterPoolBroken: False, 4313021: a cluster row keeps the platform from
	// building its client pool (which it builds from every row at once), so no cluster
	// can be reached.
	ReasonClusterPoolBroken = "ClusterPoolBroken"
	// ReasonClientCertIgnored: a Warning finding, no code: a cluster has a client
	// certificate without its key (or a key without its certificate); the platform
	// ignores both, and so does paasdiag, authenticating with the token alone.
	ReasonClientCertIgnored = "ClientCertIgnored"
	// ReasonCertificateExpiring: a Warning finding predicting 4313021: a certificate
	// expires within spec.certificateExpiryWarning.
	ReasonCertificateExpiring = "CertificateExpiring"
	// ReasonRestartRequired: a Warning finding (4313021 on platform 1.6 only): a
	// discovered cluster changed after the platform's apiserver processes started.
	ReasonRestartRequired = "RestartRequired"
	// ReasonPodsUnreadable: an Unknown finding: the platform's apiserver pods could not
	// be listed.
	ReasonPodsUnreadable = "PodsUnreadable"
	// ReasonDecryptionFailed: Unknown, no code: a discovered cluster's stored credentials
	// do not decrypt with the configured key.
	ReasonDecryptionFailed = "DecryptionFailed"
	// ReasonKeyCipherMismatch: a Warning finding, no code: the encryption key does not
	// serve spec.platformDatabase.cipher, the cipher the platform writes new values with.
	ReasonKeyCipherMismatch = "KeyCipherMismatch"
)

// Reasons of InitialClusterStateReady. What is judged follows the release line
// (status.platform).
const (
	// ReasonJobMissing: False, 4313021 (1.6): the initial cluster state Job is not found.
	ReasonJobMissing = "JobMissing"
	// ReasonJobFailed: False, 4313021 (1.6): the Job failed.
	ReasonJobFailed = "JobFailed"
	// ReasonJobRunning: Unknown (1.6): the Job has not finished.
	ReasonJobRunning = "JobRunning"
	// ReasonJobUnreadable: Unknown (1.6): the Job could not be read.
	ReasonJobUnreadable = "JobUnreadable"
	// ReasonStateMissing: False, 4313021 (1.6, verifyNodeLabels): the Job succeeded but
	// no node carries its label; it swallows its errors.
	ReasonStateMissing = "StateMissing"
	// ReasonStatePartial: a Warning finding (1.6): some nodes lack the label.
	ReasonStatePartial = "StatePartial"
	// ReasonNodesUnreadable: Unknown: a cluster's nodes could not be read.
	ReasonNodesUnreadable = "NodesUnreadable"
	// ReasonNodeStateNotSynced: True with a Warning finding, no code (1.7+): the newest
	// recorded node state of a cluster does not list its live nodes.
	ReasonNodeStateNotSynced = "NodeStateNotSynced"
	// ReasonNodeStateUnreadable: Unknown (1.7+): the recorded node state could not be
	// read.
	ReasonNodeStateUnreadable = "NodeStateUnreadable"
	// ReasonReleaseLineUnknown: Unknown, no code: the release line is unknown, and what
	// the check judges depends on it.
	ReasonReleaseLineUnknown = "ReleaseLineUnknown"
)

// Reasons of WorkerLogsClean.
const (
	// ReasonForbiddenInWorkerLogs: False, 4313021: a worker logged a matching line in a log
	// record of the platform's egress path; as a Warning finding (tagged 4313021, True)
	// for a matching line in any other record.
	ReasonForbiddenInWorkerLogs = "ForbiddenInWorkerLogs"
	// ReasonCustomPatternsIgnored: a Warning finding (WorkerLogsClean keeps its
	// verdict): the spec's own patterns are not honoured, because the shipped admission
	// policy is not installed unmodified or was not in force when the diagnosis was last
	// written; the default patterns still run.
	ReasonCustomPatternsIgnored = "CustomPatternsIgnored"
	// ReasonNoWorkerPods: Unknown: no pod matches workerLogs.podSelector, or the worker
	// Deployment workerLogs.deployment names does not exist or has no usable selector.
	ReasonNoWorkerPods = "NoWorkerPods"
	// ReasonLogsUnreadable: Unknown: the pods or their logs could not be read.
	ReasonLogsUnreadable = "LogsUnreadable"
)

// Reasons of InstancePoolAvailable (4313022).
const (
	// ReasonPoolEmpty: False, 4313022: a plan has no available pre-created instance.
	ReasonPoolEmpty = "PoolEmpty"
	// ReasonPoolLow: a Warning finding predicting 4313022: fewer available instances
	// than minAvailable.
	ReasonPoolLow = "PoolLow"
	// ReasonOrphanedInstances: a Warning finding, no code: instances of a deleted plan.
	ReasonOrphanedInstances = "OrphanedInstances"
	// ReasonPlanNotFound: Unknown: a plan the spec lists is not in the database.
	ReasonPlanNotFound = "PlanNotFound"
	// ReasonPolicyNeverMatches: a Warning finding, no code: policy instances whose
	// binding policy matches no app (a dimension is an empty list); the platform only
	// logs it.
	ReasonPolicyNeverMatches = "PolicyNeverMatches"
	// ReasonPolicyBroken: a Warning finding, no code: a binding policy the platform
	// raises an error on when it evaluates it, which fails provisioning from the plan
	// (not with 4313022).
	ReasonPolicyBroken = "PolicyBroken"
	// ReasonBindingsUnreadable: a Warning finding, no code: the user cannot read the
	// tables binding environments to plans, so paasdiag cannot name the environments
	// whose next provisioning would fail, nor check deactivated plans still bound.
	ReasonBindingsUnreadable = "BindingsUnreadable"
)

// Reasons for the platform's settings (spec.settingsFrom), on the condition of each
// check that uses them.
const (
	// ReasonSettingMissing: Unknown, no code: the platform's configuration does not
	// give a setting the check needs (or gives it in a form paasdiag cannot reproduce);
	// the message names it.
	ReasonSettingMissing = "SettingMissing"
	// ReasonSettingsUnresolvable: Unknown, no code: the settings cannot be resolved as
	// the platform's pod would get them (a non-optional ConfigMap or Secret missing, a
	// value that does not parse): the platform's pods would not start or load either.
	ReasonSettingsUnresolvable = "SettingsUnresolvable"
	// ReasonSettingsChangedSinceStart: a Warning finding, no code: a ConfigMap or
	// Secret the settings come from changed after the newest platform pod started;
	// the running platform may still use the old value, paasdiag judges the new one.
	ReasonSettingsChangedSinceStart = "SettingsChangedSinceStart"
	// ReasonSettingsIncomplete: a Warning finding, no code: part of the platform's
	// settings cannot be read or reproduced (a settings file PAAS_SETTINGS names that
	// no ConfigMap or Secret mounts, a variable changing how Dynaconf loads); the
	// message says which, and paasdiag judges what it could read.
	ReasonSettingsIncomplete = "SettingsIncomplete"
)

// Reasons for a platform database that could not be read: Unknown, no code, on the
// condition of the check that reads it.
const (
	// ReasonInvalidDSN: the DSN does not parse.
	ReasonInvalidDSN = "InvalidDSN"
	// ReasonDatabaseUnreachable: the database server cannot be reached.
	ReasonDatabaseUnreachable = "DatabaseUnreachable"
	// ReasonAccessDenied: the user may not read what paasdiag needs.
	ReasonAccessDenied = "AccessDenied"
	// ReasonDatabaseNotFound: the database does not exist.
	ReasonDatabaseNotFound = "DatabaseNotFound"
	// ReasonDatabaseError: another database error.
	ReasonDatabaseError = "DatabaseError"
	// ReasonSchemaUnrecognized: the tables lack columns paasdiag needs, or the grant
	// hides columns the migrations say exist.
	ReasonSchemaUnrecognized = "SchemaUnrecognized"
)

// Reasons of the checks of remote endpoints (BlobStoreAvailable,
// SmartRegistryAvailable, RemoteServicesAvailable, AppImageRegistryAvailable), beside
// the transport and status reasons they share with ClusterReachable (DNSError,
// ConnectionRefused, ConnectionFailed, Timeout, TLSUnknownAuthority,
// TLSHostnameMismatch, CertificateExpired, Unauthorized, Forbidden, ServerError,
// CertificateExpiring).
const (
	// ReasonNotFound: the endpoint answers 404 to a call the platform makes (a bucket,
	// repository, manifest or path that does not exist).
	ReasonNotFound = "NotFound"
	// ReasonNotConfigured: the platform's settings configure none of this (no remote
	// provider, no app image registry): True, nothing to check.
	ReasonNotConfigured = "NotConfigured"
	// ReasonPackageObjectMissing: False, no code: the newest source package of a
	// package-deployed module is not in the blob store; its next deploy fails.
	ReasonPackageObjectMissing = "PackageObjectMissing"
	// ReasonPackageSizeMismatch: a Warning finding, no code: a package's object differs
	// in size from what the platform recorded.
	ReasonPackageSizeMismatch = "PackageSizeMismatch"
	// ReasonUnsupportedSignature: Unknown: BLOBSTORE_S3_SIG_VERSION is not s3v4, which
	// is the only signature paasdiag makes.
	ReasonUnsupportedSignature = "UnsupportedSignature"
	// ReasonTokenRefused: False, 4314004: the registry's token server refuses the
	// platform's account.
	ReasonTokenRefused = "TokenRefused"
	// ReasonUnexpectedStatus: False, 4314004: the registry answers a status the
	// platform's client raises RequestError for (not 401, 403 or 404).
	ReasonUnexpectedStatus = "UnexpectedStatus"
	// ReasonScopeNotGranted: False, no code: the token server grants less than an
	// import or a build needs (push); the push fails with an HTTP 500.
	ReasonScopeNotGranted = "ScopeNotGranted"
	// ReasonManifestNotFound: False, no code: a base image is missing from the S-mart
	// registry; an import fails with an HTTP 500.
	ReasonManifestNotFound = "ManifestNotFound"
	// ReasonInvalidResponse: False, no code: a provider's services/ answer is refused by
	// the platform's serializers.
	ReasonInvalidResponse = "InvalidResponse"
	// ReasonBoundPlanMissing: False, no code: apps are bound to a plan their provider no
	// longer serves; provisioning it fails (配置资源实例异常).
	ReasonBoundPlanMissing = "BoundPlanMissing"
	// ReasonInvalidSettings, no code: the platform's settings for this part are present
	// but cannot be used: a Warning for a remote endpoint entry the platform refuses
	// (its services are not offered), Unknown for a registry address or image name that
	// does not parse (nothing was called); the message says why.
	ReasonInvalidSettings = "InvalidSettings"
	// ReasonUnbindWouldFail: a Warning finding predicting 4313040: a provider that
	// does not answer makes unbinding its services' instances fail.
	ReasonUnbindWouldFail = "UnbindWouldFail"
)
