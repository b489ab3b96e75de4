package v1alpha1

// The checks of the other infrastructure a deploy or an S-mart import meets (blob
// store, S-mart registry, remote add-on service providers, app image registries). Each
// reads the platform's own settings, by the platform's own names (BLOBSTORE_TYPE,
// SMART_DOCKER_PASSWORD, ...): from spec.settingsFrom, or from the block's
// settingsSecretRef, which wins.

// PlatformSettingsSecret names a Secret in the diagnosis' namespace whose keys are the
// platform's setting names and whose values are written as the platform's PAAS_
// environment variables are (Dynaconf: a TOML value, or a string; a dict such as
// BLOBSTORE_BKREPO_CONFIG as an inline table or @json). Like every Secret a diagnosis
// uses, it must be labelled diagnosis.paasdiag.io/secret=true (docs/security.md).
type PlatformSettingsSecret struct {
	// SettingsSecretRef names the Secret; it wins over settingsFrom for this check.
	// +optional
	SettingsSecretRef *SecretReference `json:"settingsSecretRef,omitempty"`
}

// BlobStoreCheck checks the platform's blob store (BLOBSTORE_TYPE, BLOBSTORE_BKREPO_CONFIG
// or BLOBSTORE_S3_*, bucket BLOBSTORE_BUCKET_AP_PACKAGES) with the platform's
// credentials: the bucket (bkrepo's repository-info call, or S3 HeadBucket), then a HEAD
// on the newest source package of each package-deployed module, a bounded number per
// evaluation (needs the default database, from settingsFrom or platformDatabase).
type BlobStoreCheck struct {
	PlatformSettingsSecret `json:",inline"`

	// PackageObjectsPerEvaluation bounds the HEADs on source packages per evaluation;
	// the modules are visited in turn over the following evaluations, and a package
	// whose object was already seen with the size the platform recorded is not asked
	// for again. 0 checks no package.
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	PackageObjectsPerEvaluation *int32 `json:"packageObjectsPerEvaluation,omitempty"`
}

// SmartRegistryCheck checks the registry S-mart imports push to (SMART_DOCKER_*): /v2/,
// a token with the pull and push scopes an import asks for (a refused token is
// 4314004), and the base images' manifests.
type SmartRegistryCheck struct {
	PlatformSettingsSecret `json:",inline"`
}

// RemoteServicesCheck checks the remote add-on service providers
// (SERVICE_REMOTE_ENDPOINTS, or ONE_SIMPLE_JWT_AUTH_KEY with RSVC_BUNDLE_*): meta_info/
// and services/ with the JWT the platform signs, and, with the default database, that
// every plan bound to an app still exists at its provider.
type RemoteServicesCheck struct {
	PlatformSettingsSecret `json:",inline"`
}

// AppImageRegistriesCheck checks the registries builds push app images to: the
// default one (APP_DOCKER_*, from settingsFrom or settingsSecretRef), used by every
// cluster on 1.6 and by clusters without their own from 1.7; and each app cluster's
// own (cluster_clusterappimageregistry in the workloads database, 1.7 and later, the
// password decrypted with the platform's key, from settingsFrom or
// platformDatabase.workloadsDSNSecretRef and encryptionKeySecretRef). Each gets /v2/
// and a token asking push on a repository under its namespace.
type AppImageRegistriesCheck struct {
	PlatformSettingsSecret `json:",inline"`
}

// SettingsSecretRefs are the settingsSecretRef of each check of the other
// infrastructure that has one, by its block's name (blobStore, smartRegistry,
// remoteServices, appImageRegistries).
func (s *PaaSDiagnosisSpec) SettingsSecretRefs() map[string]*SecretReference {
	out := map[string]*SecretReference{}
	add := func(block string, p *PlatformSettingsSecret) {
		if p != nil && p.SettingsSecretRef != nil {
			out[block] = p.SettingsSecretRef
		}
	}
	if s.BlobStore != nil {
		add("blobStore", &s.BlobStore.PlatformSettingsSecret)
	}
	if s.SmartRegistry != nil {
		add("smartRegistry", &s.SmartRegistry.PlatformSettingsSecret)
	}
	if s.RemoteServices != nil {
		add("remoteServices", &s.RemoteServices.PlatformSettingsSecret)
	}
	if s.AppImageRegistries != nil {
		add("appImageRegistries", &s.AppImageRegistries.PlatformSettingsSecret)
	}
	return out
}
