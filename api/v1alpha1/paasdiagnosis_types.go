package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PaaSDiagnosisSpec declares which parts of a BlueKing PaaS 3.0 (bkpaas3) installation
// to watch. Every check is optional; at least one must be configured. Secrets, Jobs and
// Pods are always looked up in the diagnosis' own namespace.
//
// +kubebuilder:validation:XValidation:rule="has(self.clusters) || (has(self.discoverClusters) && self.discoverClusters) || has(self.initialClusterState) || has(self.workerLogs) || has(self.instancePools) || has(self.blobStore) || has(self.smartRegistry) || has(self.remoteServices) || has(self.appImageRegistries)",message="configure at least one check: clusters, discoverClusters, initialClusterState, workerLogs, instancePools, blobStore, smartRegistry, remoteServices or appImageRegistries"
// +kubebuilder:validation:XValidation:rule="!has(self.blobStore) || has(self.settingsFrom) || has(self.blobStore.settingsSecretRef)",message="blobStore needs settingsFrom or blobStore.settingsSecretRef (a Secret of the platform's BLOBSTORE_* settings)"
// +kubebuilder:validation:XValidation:rule="!has(self.smartRegistry) || has(self.settingsFrom) || has(self.smartRegistry.settingsSecretRef)",message="smartRegistry needs settingsFrom or smartRegistry.settingsSecretRef (a Secret of the platform's SMART_DOCKER_* settings)"
// +kubebuilder:validation:XValidation:rule="!has(self.remoteServices) || has(self.settingsFrom) || has(self.remoteServices.settingsSecretRef)",message="remoteServices needs settingsFrom or remoteServices.settingsSecretRef (a Secret of the platform's SERVICE_REMOTE_ENDPOINTS or ONE_SIMPLE_JWT_AUTH_KEY and RSVC_BUNDLE_* settings)"
// +kubebuilder:validation:XValidation:rule="!has(self.appImageRegistries) || has(self.settingsFrom) || has(self.appImageRegistries.settingsSecretRef) || (has(self.platformDatabase) && has(self.platformDatabase.workloadsDSNSecretRef) && has(self.platformDatabase.encryptionKeySecretRef))",message="appImageRegistries needs settingsFrom, appImageRegistries.settingsSecretRef (the APP_DOCKER_* settings), or platformDatabase.workloadsDSNSecretRef and encryptionKeySecretRef (each cluster's registry and its encrypted password, in the bk_engine_ng database)"
// +kubebuilder:validation:XValidation:rule="duration(self.timeout) < duration(self.interval)",message="timeout must be shorter than interval"
// +kubebuilder:validation:XValidation:rule="!has(self.instancePools) || has(self.settingsFrom) || (has(self.platformDatabase) && has(self.platformDatabase.defaultDSNSecretRef))",message="instancePools needs settingsFrom or platformDatabase.defaultDSNSecretRef (the bk_paas_ng database)"
// +kubebuilder:validation:XValidation:rule="!(has(self.discoverClusters) && self.discoverClusters) || has(self.settingsFrom) || (has(self.platformDatabase) && has(self.platformDatabase.workloadsDSNSecretRef))",message="discoverClusters needs settingsFrom or platformDatabase.workloadsDSNSecretRef (the bk_engine_ng database)"
// +kubebuilder:validation:XValidation:rule="!has(self.initialClusterState) || !has(self.initialClusterState.verifyNodeLabels) || !self.initialClusterState.verifyNodeLabels || has(self.clusters) || (has(self.discoverClusters) && self.discoverClusters)",message="initialClusterState.verifyNodeLabels needs clusters or discoverClusters: the labels are read from the app clusters' nodes"
type PaaSDiagnosisSpec struct {
	// Interval is how often the diagnosis is evaluated. At least 10s.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s')",message="interval must be at least 10s"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Timeout is the deadline of each check in one evaluation. The probes inside a check
	// (every API server, every query) run in parallel under it. A check that does not
	// finish in time is reported Unknown with reason Timeout. Must be shorter than interval.
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms')",message="timeout must be at least 100ms"
	// +optional
	Timeout metav1.Duration `json:"timeout,omitempty"`

	// SettingsFrom reads the platform's own settings from its apiserver Deployment
	// (bkpaas3-apiserver-web), as the platform's process sees them: the container's
	// environment (env, envFrom, $(VAR)), its Dynaconf PAAS_ settings and the settings
	// files mounted from ConfigMaps or Secrets. The databases, the encryption key and
	// its cipher come from there, and the apiserver pods for RestartRequired are the
	// Deployment's. What platformDatabase and apiServerPodSelector set explicitly wins.
	// The Deployment must be labelled diagnosis.paasdiag.io/settings-from=true, or
	// allowed by the manager's --settings-from-allowed (docs/security.md).
	// +optional
	SettingsFrom *SettingsSource `json:"settingsFrom,omitempty"`

	// Suspend stops evaluation while true. Status keeps the last verdict.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Clusters are app clusters to probe with the platform's own credentials (error code
	// 4313021). Every API server of every cluster is probed.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Clusters []ClusterTarget `json:"clusters,omitempty"`

	// DiscoverClusters probes, in addition to clusters, every app cluster configured in
	// the platform's workloads database (tables cluster_cluster and cluster_apiserver),
	// with the credentials stored there. Needs settingsFrom, or
	// platformDatabase.workloadsDSNSecretRef and, for encrypted credentials,
	// platformDatabase.encryptionKeySecretRef.
	// +optional
	DiscoverClusters bool `json:"discoverClusters,omitempty"`

	// CertificateExpiryWarning is how long before a client, CA or serving certificate
	// expires that a Warning finding says the cluster will fail on that date.
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	CertificateExpiryWarning metav1.Duration `json:"certificateExpiryWarning,omitempty"`

	// APIServerPodSelector selects the pods of the platform's apiserver processes
	// (web and workers). With discoverClusters, a cluster row changed after these pods
	// started is reported as RestartRequired: platform 1.6 and earlier cache cluster
	// configuration per process. Unset: the pods of the settingsFrom Deployment, or
	// (without settingsFrom) the check is skipped.
	// +optional
	APIServerPodSelector *metav1.LabelSelector `json:"apiServerPodSelector,omitempty"`

	// PlatformDatabase gives read-only access to the platform's own MySQL databases.
	// +optional
	PlatformDatabase *PlatformDatabase `json:"platformDatabase,omitempty"`

	// InitialClusterState checks the Helm hook Job that records the app clusters' initial
	// state (step 2 of the 4313021 troubleshooting procedure).
	// +optional
	InitialClusterState *InitialClusterStateCheck `json:"initialClusterState,omitempty"`

	// WorkerLogs scans the recent logs of the platform's worker pods for the errors that
	// accompany 4313021 (step 3 of its troubleshooting procedure).
	// +optional
	WorkerLogs *WorkerLogsCheck `json:"workerLogs,omitempty"`

	// InstancePools checks the pools of pre-created add-on service instances (4313022).
	// Needs settingsFrom or platformDatabase.defaultDSNSecretRef.
	// +optional
	InstancePools *InstancePoolsCheck `json:"instancePools,omitempty"`

	// BlobStore checks the blob store that holds source packages and S-mart uploads
	// (4312011, 4311003).
	// +optional
	BlobStore *BlobStoreCheck `json:"blobStore,omitempty"`

	// SmartRegistry checks the image registry S-mart imports push to (4314004).
	// +optional
	SmartRegistry *SmartRegistryCheck `json:"smartRegistry,omitempty"`

	// RemoteServices checks the remote add-on service providers (a deploy's
	// 配置资源实例异常, no code; 4313040 on unbind).
	// +optional
	RemoteServices *RemoteServicesCheck `json:"remoteServices,omitempty"`

	// AppImageRegistries checks each app cluster's image registry, where builds push
	// (a build failure, no code).
	// +optional
	AppImageRegistries *AppImageRegistriesCheck `json:"appImageRegistries,omitempty"`
}

// SettingsFromLabel marks the platform's Deployment whose settings diagnoses in its
// namespace may use through settingsFrom: whoever may label the Deployment consents to
// paasdiag reading the credentials its pods are given.
const SettingsFromLabel = "diagnosis.paasdiag.io/settings-from"

// SettingsSource names the container of the platform's Deployment whose settings a
// diagnosis uses.
type SettingsSource struct {
	// Deployment is the platform's apiserver Deployment in the diagnosis' namespace,
	// e.g. bkpaas3-apiserver-web.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
	// +required
	Deployment string `json:"deployment"`

	// Container is the container whose settings are read; empty: the first.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	// +optional
	Container string `json:"container,omitempty"`
}

// ClusterTarget is one app cluster as the platform sees it: its API servers and the
// credentials the platform uses for it.
type ClusterTarget struct {
	// Name identifies the cluster in status and findings; use the platform's cluster name
	// (for example default-main).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	// +required
	Name string `json:"name"`

	// APIServers are the cluster's API server URLs; every one is probed, as the platform
	// may pick any of them.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +required
	APIServers []APIServerURL `json:"apiServers"`

	// CredentialsSecretRef names a Secret in the diagnosis' namespace holding the
	// platform's credentials for this cluster, in any combination the platform allows:
	// ca.crt (PEM; without it TLS is not verified, as the platform does), tls.crt and
	// tls.key (client certificate), token (bearer token).
	// +required
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`

	// TLSServerName overrides the host name used to verify the API servers' serving
	// certificates (the platform's assert_hostname / overridden_hostname).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	TLSServerName string `json:"tlsServerName,omitempty"`
}

// APIServerURL is the https URL of a Kubernetes API server.
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && size(url(self).getHostname()) > 0",message="API server URLs must be https URLs with a host, e.g. https://10.0.0.10:6443"
type APIServerURL string

// SecretReference names a Secret in the diagnosis' namespace.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
	// +required
	Name string `json:"name"`
}

// SecretKeyReference names one key of a Secret in the diagnosis' namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
	// +required
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern="^[-._a-zA-Z0-9]+$"
	// +required
	Key string `json:"key"`
}

// DefaultWorkerLogPatterns are the CRD's default workerLogs.patterns (a test keeps the
// two equal). A bare "403" is not among them: it matches access logs, sizes and ids.
var DefaultWorkerLogPatterns = []string{
	"Reason: Forbidden",
	`(?:ApiException: \(403\)|ForbiddenError: 403|GetClusterEgressInfoError: 403)`,
	"Can not get app cluster egress info",
}

// Cipher is the algorithm the platform encrypts credential columns with.
// +kubebuilder:validation:Enum=Fernet;SM4CTR
type Cipher string

const (
	// CipherFernet is blue-krill's default: values prefixed bkcrypt$.
	CipherFernet Cipher = "Fernet"
	// CipherSM4CTR is used when the platform runs with BK_CRYPTO_TYPE=SHANGMI: values
	// prefixed sm4ctr$.
	CipherSM4CTR Cipher = "SM4CTR"
)

// PlatformDatabase points at the platform's MySQL databases. Every access is read-only.
type PlatformDatabase struct {
	// DefaultDSNSecretRef selects a Secret key holding the DSN of the platform's default
	// database (bk_paas_ng), in go-sql-driver form:
	// user:password@tcp(host:3306)/bk_paas_ng. Used by instancePools.
	// +optional
	DefaultDSNSecretRef *SecretKeyReference `json:"defaultDSNSecretRef,omitempty"`

	// WorkloadsDSNSecretRef selects a Secret key holding the DSN of the platform's
	// workloads database (bk_engine_ng). Used by discoverClusters.
	// +optional
	WorkloadsDSNSecretRef *SecretKeyReference `json:"workloadsDSNSecretRef,omitempty"`

	// EncryptionKeySecretRef selects a Secret key holding the platform's
	// BKKRILL_ENCRYPT_SECRET_KEY, used to decrypt the cluster credentials stored in the
	// workloads database.
	// +optional
	EncryptionKeySecretRef *SecretKeyReference `json:"encryptionKeySecretRef,omitempty"`

	// Cipher is the cipher the platform writes new values with (BK_CRYPTO_TYPE: SHANGMI
	// means SM4CTR). The key must serve it, or discovery says DecryptionFailed before
	// reading any row. Stored values are read by their prefix, matched exactly
	// (bkcrypt$ or sm4ctr$, lower case), whatever this says, as the platform does.
	// +kubebuilder:default=Fernet
	// +optional
	Cipher Cipher `json:"cipher,omitempty"`
}

// DefaultInitialClusterStateJobName is the Job the seed's troubleshooting steps name.
const DefaultInitialClusterStateJobName = "bkpaas3-apiserver-generate-initial-cluster-state"

// InitialClusterStateCheck selects the Helm hook Job that generates the initial cluster
// state. Give jobName or jobSelector, not both; with neither, the Job is
// bkpaas3-apiserver-generate-initial-cluster-state.
//
// What is judged follows the platform's release line (status.platform), read from
// the workloads database (platformDatabase.workloadsDSNSecretRef): up to 1.6 the Job
// (it runs region_gen_state); from 1.7, where that command is gone, the Job is not
// judged and the node state the admin console recorded is compared with the clusters'
// live nodes (a warning without a code when they differ). With the line unknown, the
// check is Unknown and claims no code.
// +kubebuilder:validation:XValidation:rule="!(has(self.jobName) && has(self.jobSelector))",message="set jobName or jobSelector, not both"
type InitialClusterStateCheck struct {
	// JobName is the Job's name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	// +optional
	JobName string `json:"jobName,omitempty"`

	// JobSelector selects the Job by labels; the newest match is judged.
	// +optional
	JobSelector *metav1.LabelSelector `json:"jobSelector,omitempty"`

	// VerifyNodeLabels (platform 1.6) also requires the app clusters' nodes to carry the
	// eng-cstate-* labels the Job writes: the Job logs and swallows its errors, so it
	// can succeed while writing nothing. Nodes labelled
	// node-role.kubernetes.io/master=true are left out, as the Job leaves them out.
	// +optional
	VerifyNodeLabels bool `json:"verifyNodeLabels,omitempty"`
}

// WorkerLogsCheck selects worker pods and the log lines that reveal 4313021.
// +kubebuilder:validation:XValidation:rule="has(self.podSelector) != has(self.deployment)",message="set workerLogs.podSelector or workerLogs.deployment (the worker Deployment, whose selector is used), exactly one"
// +kubebuilder:validation:XValidation:rule="!has(self.podSelector) || has(self.podSelector.matchLabels) || has(self.podSelector.matchExpressions)",message="workerLogs.podSelector must select by labels: an empty selector would read the logs of every pod in the namespace"
type WorkerLogsCheck struct {
	// PodSelector selects the worker pods (bkpaas3-apiserver-worker) whose logs are
	// scanned; it must name labels (an empty one would select every pod). Give
	// podSelector or deployment.
	// +optional
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`

	// Deployment names the platform's worker Deployment (bkpaas3-apiserver-worker) in
	// the diagnosis' namespace: the pods its selector selects are scanned, read when
	// each evaluation starts. Give podSelector or deployment.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
	// +optional
	Deployment string `json:"deployment,omitempty"`

	// Container is the container whose logs are read; empty reads the pod's only or
	// default container.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Container string `json:"container,omitempty"`

	// Patterns are RE2 regular expressions; a log line matching any of them is a finding.
	// The defaults (DefaultWorkerLogPatterns) match the lines the platform logs on a
	// 4313021: the Kubernetes client's 403 (the exception line and its reason line), and
	// the platform's own message.
	// +kubebuilder:default={"Reason: Forbidden","(?:ApiException: \\(403\\)|ForbiddenError: 403|GetClusterEgressInfoError: 403)","Can not get app cluster egress info"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Patterns []string `json:"patterns,omitempty"`

	// Window is how far back the logs are read; 0 means the default, 10m.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Window metav1.Duration `json:"window,omitempty"`

	// LimitBytes bounds how many bytes of log are read per pod.
	// +kubebuilder:default=1048576
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=16777216
	// +optional
	LimitBytes int64 `json:"limitBytes,omitempty"`
}

// InstancePoolsCheck configures the pre-created instance pool check (4313022).
type InstancePoolsCheck struct {
	// MinAvailable is the number of available instances a plan should keep. Zero
	// available is a failure (4313022); fewer than minAvailable but more than zero is a
	// warning that the pool is about to run dry.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MinAvailable int32 `json:"minAvailable,omitempty"`

	// Plans restricts the check to these plans; empty checks every active plan of every
	// service whose provider is pool.
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Plans []PlanReference `json:"plans,omitempty"`
}

// PlanReference names one add-on service plan.
type PlanReference struct {
	// Service is the service's name (services_service.name), e.g. redis.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	Service string `json:"service"`

	// Plan is the plan's name (services_plan.name), e.g. 0shared.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	Plan string `json:"plan"`

	// Tenant restricts the plan to one tenant on multi-tenant platforms; empty matches
	// every tenant.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Tenant string `json:"tenant,omitempty"`
}

// PaaSDiagnosisStatus is the verdict of the latest evaluation.
type PaaSDiagnosisStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// LastEvaluationTime is when the checks last ran.
	// +optional
	LastEvaluationTime *metav1.Time `json:"lastEvaluationTime,omitempty"`

	// Platform is the platform's release line, as read from the migrations recorded in
	// its databases, and the evidence. Rules that differ between release lines follow
	// it; while it is Unknown, none of them claims a code (docs/conformance.md).
	// +optional
	Platform *PlatformStatus `json:"platform,omitempty"`

	// Codes are the platform error codes that a deploy would meet now, sorted.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=16
	// +optional
	Codes []string `json:"codes,omitempty"`

	// CodeSummary is codes joined by commas, for the CODES printer column.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	CodeSummary string `json:"codeSummary,omitempty"`

	// Summary counts everything the checks looked at, complete even when the lists
	// below are cut to their bounds.
	// +optional
	Summary *StatusSummary `json:"summary,omitempty"`

	// Conditions: Ready (every configured check passed), Stalled (the spec cannot be
	// evaluated), and one per configured check: ClusterReachable,
	// InitialClusterStateReady, WorkerLogsClean, InstancePoolAvailable,
	// BlobStoreAvailable, SmartRegistryAvailable, RemoteServicesAvailable,
	// AppImageRegistryAvailable.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Findings are what the checks found wrong or could not find out: errors, then
	// warnings, then unknowns (every active code keeps an error first); at most 100
	// (MaxStatusFindings), findingsOmitted counts the rest.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Findings []Finding `json:"findings,omitempty"`

	// FindingsOmitted counts the findings left out of findings (the least severe).
	// +optional
	FindingsOmitted int32 `json:"findingsOmitted,omitempty"`

	// Clusters are the per-API-server results of the cluster probe, the clusters with
	// failing API servers first; at most 64 (MaxStatusClusters).
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Clusters []ClusterStatus `json:"clusters,omitempty"`

	// ClustersOmitted counts the clusters left out of clusters (healthy ones first).
	// +optional
	ClustersOmitted int32 `json:"clustersOmitted,omitempty"`

	// Pools are the per-plan counts of pre-created instances, empty and failing plans
	// first; at most 256 (MaxStatusPools).
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Pools []PoolStatus `json:"pools,omitempty"`

	// PoolsOmitted counts the plans left out of pools (those with most instances first).
	// +optional
	PoolsOmitted int32 `json:"poolsOmitted,omitempty"`

	// Settings say where each setting the checks use came from (an explicit Secret
	// reference, or the settingsFrom Deployment's env, envFrom or files), never a
	// value; at most 16 (MaxStatusSettings).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Settings []SettingProvenance `json:"settings,omitempty"`

	// Reduced says why the last write carries conditions, codes and summary only: the
	// API server refused the full status. Empty when status is complete.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Reduced string `json:"reduced,omitempty"`
}

// SettingProvenance says where one setting came from.
type SettingProvenance struct {
	// Name is the setting: defaultDatabase, workloadsDatabase, encryptionKey, cipher
	// or apiServerPods.
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`

	// Source says where it came from, e.g. "Deployment bkpaas3-apiserver-web, container
	// apiserver: env PAAS_DATABASE_* from Secret bkpaas3-apiserver-db-envs", or why it
	// could not be found.
	// +kubebuilder:validation:MaxLength=1024
	Source string `json:"source"`
}

// StatusSummary counts what the checks looked at. The counts are complete whatever the
// lists of status hold.
type StatusSummary struct {
	// Errors counts every Error finding, listed or not.
	// +optional
	Errors int32 `json:"errors,omitempty"`
	// Warnings counts every Warning finding, listed or not.
	// +optional
	Warnings int32 `json:"warnings,omitempty"`
	// Unknowns counts every Unknown finding, listed or not.
	// +optional
	Unknowns int32 `json:"unknowns,omitempty"`

	// PlansChecked counts the plans the pool check judged.
	// +optional
	PlansChecked int32 `json:"plansChecked,omitempty"`
	// PlansEmpty counts the plans with no instance for any app (4313022).
	// +optional
	PlansEmpty int32 `json:"plansEmpty,omitempty"`
	// PlansLow counts the plans below minAvailable.
	// +optional
	PlansLow int32 `json:"plansLow,omitempty"`
	// EnvironmentsWouldFail counts the bound environments whose next deploy gets no
	// instance.
	// +optional
	EnvironmentsWouldFail int32 `json:"environmentsWouldFail,omitempty"`

	// ClustersChecked counts the app clusters probed or judged.
	// +optional
	ClustersChecked int32 `json:"clustersChecked,omitempty"`
	// ClustersFailing counts the clusters with at least one failing API server.
	// +optional
	ClustersFailing int32 `json:"clustersFailing,omitempty"`
	// APIServersChecked counts the API servers probed.
	// +optional
	APIServersChecked int32 `json:"apiServersChecked,omitempty"`
	// APIServersFailing counts the API servers that failed the platform's requests.
	// +optional
	APIServersFailing int32 `json:"apiServersFailing,omitempty"`
}

// PlatformStatus is the platform's release line and the evidence for it.
type PlatformStatus struct {
	// ReleaseLine is 1.6 (platform 1.6 and earlier), 1.7+ (release-1.7 and main) or
	// Unknown (no database configured or readable, or its migrations disagree).
	// +kubebuilder:validation:Enum="1.6";"1.7+";Unknown
	ReleaseLine string `json:"releaseLine"`

	// Evidence names the newest migration recorded per Django app, e.g. "services
	// 0009, cluster 0023, region 0005", or says why the release line is unknown.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Evidence string `json:"evidence,omitempty"`
}

// Severity says how bad a finding is.
// +kubebuilder:validation:Enum=Error;Warning;Unknown
type Severity string

const (
	// SeverityError is a problem a deploy meets now; its code is active.
	SeverityError Severity = "Error"
	// SeverityWarning is a problem a deploy will meet (a certificate about to expire, a
	// pool about to run dry); it does not make Ready false.
	SeverityWarning Severity = "Warning"
	// SeverityUnknown means the check could not find out (a database down, a timeout);
	// no code is claimed.
	SeverityUnknown Severity = "Unknown"
)

// Finding is one thing a check found wrong, will go wrong, or could not find out.
type Finding struct {
	// Check identifies what was checked, e.g. cluster/default-main/https://10.0.0.10:6443
	// or pool/redis/0shared/default.
	// +kubebuilder:validation:MaxLength=512
	Check string `json:"check"`

	// Condition is the condition type the finding belongs to.
	// +kubebuilder:validation:MaxLength=64
	Condition string `json:"condition"`

	// Severity is Error, Warning or Unknown.
	Severity Severity `json:"severity"`

	// Code is the platform error code, e.g. 4313021; empty when the finding claims none.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	Code string `json:"code,omitempty"`

	// Reason is a CamelCase reason, e.g. Forbidden or PoolEmpty.
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason"`

	// Message says what was found, starting with the code and its text when there is one.
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`

	// Remediation is the one-line next step for an operator.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Remediation string `json:"remediation,omitempty"`

	// Since is when the finding was first seen in its current form.
	Since metav1.Time `json:"since"`
}

// ClusterStatus is the result of probing one app cluster.
type ClusterStatus struct {
	// Name is the cluster's name.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Source is Spec for clusters listed in the spec and Discovered for clusters read
	// from the platform's workloads database.
	// +kubebuilder:validation:Enum=Spec;Discovered
	Source string `json:"source"`

	// APIServers are the per-API-server results, failing ones first; at most 16
	// (MaxStatusAPIServers).
	// +kubebuilder:validation:MaxItems=16
	// +optional
	APIServers []APIServerStatus `json:"apiServers,omitempty"`

	// APIServersOmitted counts the API servers left out of apiServers.
	// +optional
	APIServersOmitted int32 `json:"apiServersOmitted,omitempty"`
}

// APIServerStatus is the result of probing one API server of an app cluster.
type APIServerStatus struct {
	// URL of the API server.
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// Reachable is true when the platform's requests (list nodes, list namespaces)
	// succeeded.
	Reachable bool `json:"reachable"`

	// Reason is the failure's reason when not reachable or not sufficient.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Reason string `json:"reason,omitempty"`

	// ServerVersion is the API server's gitVersion.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`

	// Latency of the probe's requests.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Latency *metav1.Duration `json:"latency,omitempty"`

	// ServingCertificateNotAfter is the earliest expiry in the serving certificate chain.
	// +optional
	ServingCertificateNotAfter *metav1.Time `json:"servingCertificateNotAfter,omitempty"`

	// ClientCertificateNotAfter is the expiry of the platform's client certificate.
	// +optional
	ClientCertificateNotAfter *metav1.Time `json:"clientCertificateNotAfter,omitempty"`
}

// PoolStatus counts the pre-created instances of one plan.
type PoolStatus struct {
	// Service is the service's name.
	// +kubebuilder:validation:MaxLength=253
	Service string `json:"service"`
	// Plan is the plan's name.
	// +kubebuilder:validation:MaxLength=253
	Plan string `json:"plan"`
	// Tenant is the plan's tenant; empty on platforms without tenants.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Tenant string `json:"tenant,omitempty"`
	// Available counts unallocated instances any app can get: allocation type fifo,
	// and policy instances whose binding policy is a wildcard (1.6: every unallocated
	// instance).
	Available int32 `json:"available"`
	// Policy counts unallocated instances a binding policy reserves for the apps it
	// matches.
	// +optional
	Policy int32 `json:"policy,omitempty"`
	// Unprovisioned counts the environments bound to the plan that have no instance
	// yet: their next deploy takes one from this pool.
	// +optional
	Unprovisioned int32 `json:"unprovisioned,omitempty"`
	// WouldFail counts the unprovisioned environments that no instance would be given
	// to: their next deploy fails with 4313022.
	// +optional
	WouldFail int32 `json:"wouldFail,omitempty"`
	// Inactive is true for a deactivated plan that is judged because environments
	// are still bound to it: the platform provisions from it all the same.
	// +optional
	Inactive bool `json:"inactive,omitempty"`
	// Total counts every instance of the plan, allocated or not.
	Total int32 `json:"total"`
}

// PaaSDiagnosis watches a bkpaas3 installation and reports, in the platform's own error
// codes, why a deploy would fail before it does.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pdiag,categories=paasdiag
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Codes",type=string,JSONPath=`.status.codeSummary`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Last Check",type=date,JSONPath=`.status.lastEvaluationTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Release",type=string,priority=1,JSONPath=`.status.platform.releaseLine`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
type PaaSDiagnosis struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares what to watch.
	// +required
	Spec PaaSDiagnosisSpec `json:"spec"`

	// Status is the latest verdict.
	// +optional
	Status PaaSDiagnosisStatus `json:"status,omitempty"`
}

// PaaSDiagnosisList is a list of PaaSDiagnosis.
//
// +kubebuilder:object:root=true
type PaaSDiagnosisList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PaaSDiagnosis `json:"items"`
}
