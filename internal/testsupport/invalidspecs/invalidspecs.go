// Package invalidspecs holds, for every rule the generated CRD declares on a
// PaaSDiagnosis spec (each OpenAPI bound and each CEL rule), a spec that breaks that
// rule and nothing else. The unit test of internal/specvalidation proves each one
// refused by the controller's validator and that no rule of the CRD is left without
// one; the integration suite proves each refused by a real API server too; the
// compatibility run shows what an API server without CEL lets through.
package invalidspecs

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Sample breaks one rule of the CRD.
type Sample struct {
	// Rule names the rule: "<schema path> <keyword>" ("(root)" for the object's own),
	// with the CEL rule's message or the required property after the keyword.
	Rule string
	// Mutate changes a Valid() object (spec and all) so that it breaks Rule.
	Mutate func(obj map[string]any)
	// Field is the path of the error, with indices.
	Field string
	// Type is the error's type.
	Type field.ErrorType
	// Detail is a part of the error's detail.
	Detail string
}

// Valid returns a PaaSDiagnosis, as unstructured content, that every rule accepts and
// that configures every block, so that each sample changes one thing.
func Valid() map[string]any {
	selector := func() map[string]any {
		return map[string]any{
			"matchLabels":      map[string]any{"app": "bkpaas3-apiserver"},
			"matchExpressions": []any{map[string]any{"key": "role", "operator": "In", "values": []any{"worker"}}},
		}
	}
	ref := func(name, key string) map[string]any { return map[string]any{"name": name, "key": key} }
	return map[string]any{
		"apiVersion": "diagnosis.paasdiag.io/v1alpha1",
		"kind":       "PaaSDiagnosis",
		"metadata":   map[string]any{"name": "valid", "namespace": "default"},
		"spec": map[string]any{
			"interval":                 "1m",
			"timeout":                  "10s",
			"certificateExpiryWarning": "720h",
			"clusters": []any{map[string]any{
				"name":                 "default-main",
				"apiServers":           []any{"https://10.0.0.10:6443", "https://10.0.0.11:6443"},
				"credentialsSecretRef": map[string]any{"name": "cluster-creds"},
				"tlsServerName":        "kubernetes",
			}},
			"discoverClusters":     true,
			"apiServerPodSelector": selector(),
			"platformDatabase": map[string]any{
				"defaultDSNSecretRef":    ref("bk-paas-ng", "dsn"),
				"workloadsDSNSecretRef":  ref("bk-engine-ng", "dsn"),
				"encryptionKeySecretRef": ref("bkkrill", "key"),
				"cipher":                 "Fernet",
			},
			"initialClusterState": map[string]any{"jobName": "bkpaas3-apiserver-generate-initial-cluster-state", "verifyNodeLabels": true},
			"workerLogs": map[string]any{
				"podSelector": selector(),
				"container":   "worker",
				"patterns":    []any{"Reason: Forbidden"},
				"window":      "10m",
				"limitBytes":  int64(1048576),
			},
			"instancePools": map[string]any{
				"minAvailable": int64(1),
				"plans":        []any{map[string]any{"service": "redis", "plan": "0shared", "tenant": "default"}},
			},
			"blobStore":          map[string]any{"settingsSecretRef": map[string]any{"name": "blobstore-settings"}, "packageObjectsPerEvaluation": int64(50)},
			"smartRegistry":      map[string]any{"settingsSecretRef": map[string]any{"name": "smart-settings"}},
			"remoteServices":     map[string]any{"settingsSecretRef": map[string]any{"name": "rsvc-settings"}},
			"appImageRegistries": map[string]any{"settingsSecretRef": map[string]any{"name": "registry-settings"}},
		},
	}
}

// at returns the map at a dotted path of Valid()'s shape; a segment "x[0]" is the first
// item of list x.
func at(obj map[string]any, path string) map[string]any {
	m := obj
	for _, seg := range strings.Split(path, ".") {
		if name, ok := strings.CutSuffix(seg, "[0]"); ok {
			m = m[name].([]any)[0].(map[string]any)
			continue
		}
		m = m[seg].(map[string]any)
	}
	return m
}

// set returns a Mutate that sets key of the map at path.
func set(path, key string, value any) func(map[string]any) {
	return func(obj map[string]any) { at(obj, path)[key] = value }
}

// drop returns a Mutate that removes keys of the map at path.
func drop(path string, keys ...string) func(map[string]any) {
	return func(obj map[string]any) {
		for _, k := range keys {
			delete(at(obj, path), k)
		}
	}
}

// list returns n distinct items made by item.
func list(n int, item func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = item(i)
	}
	return out
}

func chars(n int) string { return strings.Repeat("a", n) }

func cluster(i int) any {
	return map[string]any{
		"name":                 "c" + strings.Repeat("x", i%40) + string(rune('a'+i%26)),
		"apiServers":           []any{"https://10.0.0.10:6443"},
		"credentialsSecretRef": map[string]any{"name": "cluster-creds"},
	}
}

// secretRefSamples are the samples of one SecretKeyReference at path (spec.x.y).
func secretRefSamples(path string) []Sample {
	p := "spec.platformDatabase." + path
	return []Sample{
		{Rule: p + " required key", Mutate: drop("spec.platformDatabase."+path, "key"), Field: p + ".key", Type: field.ErrorTypeRequired},
		{Rule: p + " required name", Mutate: drop("spec.platformDatabase."+path, "name"), Field: p + ".name", Type: field.ErrorTypeRequired},
		{Rule: p + ".key minLength", Mutate: set("spec.platformDatabase."+path, "key", ""), Field: p + ".key", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: p + ".key maxLength", Mutate: set("spec.platformDatabase."+path, "key", chars(254)), Field: p + ".key", Type: field.ErrorTypeTooLong},
		{Rule: p + ".key pattern", Mutate: set("spec.platformDatabase."+path, "key", "a/b"), Field: p + ".key", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: p + ".name minLength", Mutate: set("spec.platformDatabase."+path, "name", ""), Field: p + ".name", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: p + ".name maxLength", Mutate: set("spec.platformDatabase."+path, "name", chars(254)), Field: p + ".name", Type: field.ErrorTypeTooLong},
		{Rule: p + ".name pattern", Mutate: set("spec.platformDatabase."+path, "name", "Bad_Name"), Field: p + ".name", Type: field.ErrorTypeInvalid, Detail: "should match"},
	}
}

// selectorSamples are the samples of the LabelSelector key of the map at parent;
// prepare readies the rest of the object for it.
func selectorSamples(parent, key string, prepare func(map[string]any)) []Sample {
	p := parent + "." + key
	without := func(missing string) func(map[string]any) {
		return func(obj map[string]any) {
			if prepare != nil {
				prepare(obj)
			}
			expr := map[string]any{"key": "role", "operator": "Exists"}
			delete(expr, missing)
			at(obj, parent)[key] = map[string]any{"matchExpressions": []any{expr}}
		}
	}
	return []Sample{
		{Rule: p + ".matchExpressions[*] required key", Mutate: without("key"), Field: p + ".matchExpressions[0].key", Type: field.ErrorTypeRequired},
		{Rule: p + ".matchExpressions[*] required operator", Mutate: without("operator"), Field: p + ".matchExpressions[0].operator", Type: field.ErrorTypeRequired},
	}
}

// durationSamples are the samples of a duration field's maxLength and pattern.
func durationSamples(parent, key string) []Sample {
	p := parent + "." + key
	return []Sample{
		{Rule: p + " maxLength", Mutate: set(parent, key, strings.Repeat("1", 31)+"s"+"1s"), Field: p, Type: field.ErrorTypeTooLong},
		{Rule: p + " pattern", Mutate: set(parent, key, "10 seconds"), Field: p, Type: field.ErrorTypeInvalid, Detail: "should match"},
	}
}

// All returns one sample per rule of the CRD's spec.
func All() []Sample {
	samples := []Sample{
		{Rule: "(root) required spec", Mutate: func(obj map[string]any) { delete(obj, "spec") }, Field: "spec", Type: field.ErrorTypeRequired},

		// The spec's own CEL rules.
		{Rule: "spec x-kubernetes-validations configure at least one check: clusters, discoverClusters, initialClusterState, workerLogs, instancePools, blobStore, smartRegistry, remoteServices or appImageRegistries",
			Mutate: drop("spec", "clusters", "discoverClusters", "initialClusterState", "workerLogs", "instancePools", "blobStore", "smartRegistry", "remoteServices", "appImageRegistries"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "configure at least one check"},
		{Rule: "spec x-kubernetes-validations timeout must be shorter than interval",
			Mutate: func(obj map[string]any) { at(obj, "spec")["interval"], at(obj, "spec")["timeout"] = "10s", "10s" },
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "timeout must be shorter than interval"},
		{Rule: "spec x-kubernetes-validations instancePools needs settingsFrom or platformDatabase.defaultDSNSecretRef (the bk_paas_ng database)",
			Mutate: drop("spec.platformDatabase", "defaultDSNSecretRef"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "instancePools needs settingsFrom or platformDatabase.defaultDSNSecretRef"},
		{Rule: "spec x-kubernetes-validations discoverClusters needs settingsFrom or platformDatabase.workloadsDSNSecretRef (the bk_engine_ng database)",
			Mutate: drop("spec.platformDatabase", "workloadsDSNSecretRef"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "discoverClusters needs settingsFrom or platformDatabase.workloadsDSNSecretRef"},
		{Rule: "spec x-kubernetes-validations initialClusterState.verifyNodeLabels needs clusters or discoverClusters: the labels are read from the app clusters' nodes",
			Mutate: drop("spec", "clusters", "discoverClusters"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "initialClusterState.verifyNodeLabels needs clusters or discoverClusters"},

		{Rule: "spec x-kubernetes-validations blobStore needs settingsFrom or blobStore.settingsSecretRef (a Secret of the platform's BLOBSTORE_* settings)",
			Mutate: drop("spec.blobStore", "settingsSecretRef"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "blobStore needs settingsFrom or blobStore.settingsSecretRef"},
		{Rule: "spec x-kubernetes-validations smartRegistry needs settingsFrom or smartRegistry.settingsSecretRef (a Secret of the platform's SMART_DOCKER_* settings)",
			Mutate: drop("spec.smartRegistry", "settingsSecretRef"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "smartRegistry needs settingsFrom or smartRegistry.settingsSecretRef"},
		{Rule: "spec x-kubernetes-validations remoteServices needs settingsFrom or remoteServices.settingsSecretRef (a Secret of the platform's SERVICE_REMOTE_ENDPOINTS or ONE_SIMPLE_JWT_AUTH_KEY and RSVC_BUNDLE_* settings)",
			Mutate: drop("spec.remoteServices", "settingsSecretRef"),
			Field:  "spec", Type: field.ErrorTypeInvalid, Detail: "remoteServices needs settingsFrom or remoteServices.settingsSecretRef"},
		{Rule: "spec x-kubernetes-validations appImageRegistries needs settingsFrom, appImageRegistries.settingsSecretRef (the APP_DOCKER_* settings), or platformDatabase.workloadsDSNSecretRef and encryptionKeySecretRef (each cluster's registry and its encrypted password, in the bk_engine_ng database)",
			Mutate: func(obj map[string]any) {
				drop("spec.appImageRegistries", "settingsSecretRef")(obj)
				drop("spec.platformDatabase", "encryptionKeySecretRef")(obj)
			},
			Field: "spec", Type: field.ErrorTypeInvalid, Detail: "appImageRegistries needs settingsFrom, appImageRegistries.settingsSecretRef"},
		{Rule: "spec.blobStore.packageObjectsPerEvaluation minimum", Mutate: set("spec.blobStore", "packageObjectsPerEvaluation", int64(-1)),
			Field: "spec.blobStore.packageObjectsPerEvaluation", Type: field.ErrorTypeInvalid, Detail: "should be greater than or equal to 0"},
		{Rule: "spec.blobStore.packageObjectsPerEvaluation maximum", Mutate: set("spec.blobStore", "packageObjectsPerEvaluation", int64(1001)),
			Field: "spec.blobStore.packageObjectsPerEvaluation", Type: field.ErrorTypeInvalid, Detail: "should be less than or equal to 1000"},

		// The schedule.
		{Rule: "spec.interval x-kubernetes-validations interval must be at least 10s", Mutate: func(obj map[string]any) { at(obj, "spec")["interval"], at(obj, "spec")["timeout"] = "9.999s", "1s" },
			Field: "spec.interval", Type: field.ErrorTypeInvalid, Detail: "interval must be at least 10s"},
		{Rule: "spec.timeout x-kubernetes-validations timeout must be at least 100ms", Mutate: set("spec", "timeout", "99ms"),
			Field: "spec.timeout", Type: field.ErrorTypeInvalid, Detail: "timeout must be at least 100ms"},

		// Clusters.
		{Rule: "spec.clusters maxItems", Mutate: set("spec", "clusters", list(33, cluster)), Field: "spec.clusters", Type: field.ErrorTypeTooMany},
		{Rule: "spec.clusters x-kubernetes-list-type map", Mutate: set("spec", "clusters", []any{cluster(0), cluster(0)}),
			Field: "spec.clusters[1]", Type: field.ErrorTypeDuplicate},
		{Rule: "spec.clusters[*] required apiServers", Mutate: drop("spec.clusters[0]", "apiServers"), Field: "spec.clusters[0].apiServers", Type: field.ErrorTypeRequired},
		{Rule: "spec.clusters[*] required credentialsSecretRef", Mutate: drop("spec.clusters[0]", "credentialsSecretRef"), Field: "spec.clusters[0].credentialsSecretRef", Type: field.ErrorTypeRequired},
		{Rule: "spec.clusters[*] required name", Mutate: drop("spec.clusters[0]", "name"), Field: "spec.clusters[0].name", Type: field.ErrorTypeRequired},
		{Rule: "spec.clusters[*].apiServers minItems", Mutate: set("spec.clusters[0]", "apiServers", []any{}),
			Field: "spec.clusters[0].apiServers", Type: field.ErrorTypeInvalid, Detail: "should have at least 1 items"},
		{Rule: "spec.clusters[*].apiServers maxItems", Mutate: set("spec.clusters[0]", "apiServers", list(17, func(i int) any { return "https://10.0.0." + string(rune('a'+i)) + ":6443" })),
			Field: "spec.clusters[0].apiServers", Type: field.ErrorTypeTooMany},
		{Rule: "spec.clusters[*].apiServers x-kubernetes-list-type set", Mutate: set("spec.clusters[0]", "apiServers", []any{"https://10.0.0.10:6443", "https://10.0.0.10:6443"}),
			Field: "spec.clusters[0].apiServers[1]", Type: field.ErrorTypeDuplicate},
		{Rule: "spec.clusters[*].apiServers[*] maxLength", Mutate: set("spec.clusters[0]", "apiServers", []any{"https://" + chars(2041)}),
			Field: "spec.clusters[0].apiServers[0]", Type: field.ErrorTypeTooLong},
		{Rule: "spec.clusters[*].apiServers[*] x-kubernetes-validations API server URLs must be https URLs with a host, e.g. https://10.0.0.10:6443",
			Mutate: set("spec.clusters[0]", "apiServers", []any{"http://10.0.0.10:6443"}),
			Field:  "spec.clusters[0].apiServers[0]", Type: field.ErrorTypeInvalid, Detail: "API server URLs must be https URLs with a host"},
		{Rule: "spec.clusters[*].credentialsSecretRef required name", Mutate: drop("spec.clusters[0].credentialsSecretRef", "name"),
			Field: "spec.clusters[0].credentialsSecretRef.name", Type: field.ErrorTypeRequired},
		{Rule: "spec.clusters[*].credentialsSecretRef.name minLength", Mutate: set("spec.clusters[0].credentialsSecretRef", "name", ""),
			Field: "spec.clusters[0].credentialsSecretRef.name", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.clusters[*].credentialsSecretRef.name maxLength", Mutate: set("spec.clusters[0].credentialsSecretRef", "name", chars(254)),
			Field: "spec.clusters[0].credentialsSecretRef.name", Type: field.ErrorTypeTooLong},
		{Rule: "spec.clusters[*].credentialsSecretRef.name pattern", Mutate: set("spec.clusters[0].credentialsSecretRef", "name", "creds/../x"),
			Field: "spec.clusters[0].credentialsSecretRef.name", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: "spec.clusters[*].name minLength", Mutate: set("spec.clusters[0]", "name", ""), Field: "spec.clusters[0].name", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.clusters[*].name maxLength", Mutate: set("spec.clusters[0]", "name", chars(64)), Field: "spec.clusters[0].name", Type: field.ErrorTypeTooLong},
		{Rule: "spec.clusters[*].name pattern", Mutate: set("spec.clusters[0]", "name", "Default_Main"), Field: "spec.clusters[0].name", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: "spec.clusters[*].tlsServerName maxLength", Mutate: set("spec.clusters[0]", "tlsServerName", chars(254)), Field: "spec.clusters[0].tlsServerName", Type: field.ErrorTypeTooLong},

		// The platform's databases.
		{Rule: "spec.platformDatabase.cipher enum", Mutate: set("spec.platformDatabase", "cipher", "SHANGMI"), Field: "spec.platformDatabase.cipher", Type: field.ErrorTypeNotSupported},

		// The initial cluster state Job.
		{Rule: "spec.initialClusterState x-kubernetes-validations set jobName or jobSelector, not both",
			Mutate: set("spec.initialClusterState", "jobSelector", map[string]any{"matchLabels": map[string]any{"app": "x"}}),
			Field:  "spec.initialClusterState", Type: field.ErrorTypeInvalid, Detail: "set jobName or jobSelector, not both"},
		{Rule: "spec.initialClusterState.jobName maxLength", Mutate: set("spec.initialClusterState", "jobName", chars(64)), Field: "spec.initialClusterState.jobName", Type: field.ErrorTypeTooLong},
		{Rule: "spec.initialClusterState.jobName pattern", Mutate: set("spec.initialClusterState", "jobName", "Job"), Field: "spec.initialClusterState.jobName", Type: field.ErrorTypeInvalid, Detail: "should match"},

		// Instance pools.
		{Rule: "spec.instancePools.minAvailable minimum", Mutate: set("spec.instancePools", "minAvailable", int64(0)),
			Field: "spec.instancePools.minAvailable", Type: field.ErrorTypeInvalid, Detail: "should be greater than or equal to 1"},
		{Rule: "spec.instancePools.minAvailable maximum", Mutate: set("spec.instancePools", "minAvailable", int64(10001)),
			Field: "spec.instancePools.minAvailable", Type: field.ErrorTypeInvalid, Detail: "should be less than or equal to 10000"},
		{Rule: "spec.instancePools.plans maxItems", Mutate: set("spec.instancePools", "plans", list(129, func(int) any { return map[string]any{"service": "redis", "plan": "p"} })),
			Field: "spec.instancePools.plans", Type: field.ErrorTypeTooMany},
		{Rule: "spec.instancePools.plans[*] required plan", Mutate: drop("spec.instancePools.plans[0]", "plan"), Field: "spec.instancePools.plans[0].plan", Type: field.ErrorTypeRequired},
		{Rule: "spec.instancePools.plans[*] required service", Mutate: drop("spec.instancePools.plans[0]", "service"), Field: "spec.instancePools.plans[0].service", Type: field.ErrorTypeRequired},
		{Rule: "spec.instancePools.plans[*].plan minLength", Mutate: set("spec.instancePools.plans[0]", "plan", ""), Field: "spec.instancePools.plans[0].plan", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.instancePools.plans[*].plan maxLength", Mutate: set("spec.instancePools.plans[0]", "plan", chars(65)), Field: "spec.instancePools.plans[0].plan", Type: field.ErrorTypeTooLong},
		{Rule: "spec.instancePools.plans[*].service minLength", Mutate: set("spec.instancePools.plans[0]", "service", ""), Field: "spec.instancePools.plans[0].service", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.instancePools.plans[*].service maxLength", Mutate: set("spec.instancePools.plans[0]", "service", chars(65)), Field: "spec.instancePools.plans[0].service", Type: field.ErrorTypeTooLong},
		{Rule: "spec.instancePools.plans[*].tenant maxLength", Mutate: set("spec.instancePools.plans[0]", "tenant", chars(33)), Field: "spec.instancePools.plans[0].tenant", Type: field.ErrorTypeTooLong},

		// Worker logs.
		{Rule: "spec.workerLogs x-kubernetes-validations set workerLogs.podSelector or workerLogs.deployment (the worker Deployment, whose selector is used), exactly one",
			Mutate: set("spec.workerLogs", "deployment", "bkpaas3-apiserver-worker"),
			Field:  "spec.workerLogs", Type: field.ErrorTypeInvalid, Detail: "set workerLogs.podSelector or workerLogs.deployment"},
		{Rule: "spec.workerLogs x-kubernetes-validations workerLogs.podSelector must select by labels: an empty selector would read the logs of every pod in the namespace",
			Mutate: set("spec.workerLogs", "podSelector", map[string]any{}),
			Field:  "spec.workerLogs", Type: field.ErrorTypeInvalid, Detail: "workerLogs.podSelector must select by labels"},
		{Rule: "spec.workerLogs.deployment maxLength", Mutate: func(obj map[string]any) {
			drop("spec.workerLogs", "podSelector")(obj)
			set("spec.workerLogs", "deployment", chars(254))(obj)
		}, Field: "spec.workerLogs.deployment", Type: field.ErrorTypeTooLong},
		{Rule: "spec.workerLogs.deployment pattern", Mutate: func(obj map[string]any) {
			drop("spec.workerLogs", "podSelector")(obj)
			set("spec.workerLogs", "deployment", "Worker_Deployment")(obj)
		}, Field: "spec.workerLogs.deployment", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: "spec.settingsFrom required deployment", Mutate: set("spec", "settingsFrom", map[string]any{"container": "apiserver"}),
			Field: "spec.settingsFrom.deployment", Type: field.ErrorTypeRequired},
		{Rule: "spec.settingsFrom.deployment minLength", Mutate: set("spec", "settingsFrom", map[string]any{"deployment": ""}),
			Field: "spec.settingsFrom.deployment", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.settingsFrom.deployment maxLength", Mutate: set("spec", "settingsFrom", map[string]any{"deployment": chars(254)}),
			Field: "spec.settingsFrom.deployment", Type: field.ErrorTypeTooLong},
		{Rule: "spec.settingsFrom.deployment pattern", Mutate: set("spec", "settingsFrom", map[string]any{"deployment": "Apiserver_Web"}),
			Field: "spec.settingsFrom.deployment", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: "spec.settingsFrom.container maxLength", Mutate: set("spec", "settingsFrom", map[string]any{"deployment": "bkpaas3-apiserver-web", "container": chars(64)}),
			Field: "spec.settingsFrom.container", Type: field.ErrorTypeTooLong},
		{Rule: "spec.settingsFrom.container pattern", Mutate: set("spec", "settingsFrom", map[string]any{"deployment": "bkpaas3-apiserver-web", "container": "Api_Server"}),
			Field: "spec.settingsFrom.container", Type: field.ErrorTypeInvalid, Detail: "should match"},
		{Rule: "spec.workerLogs.container maxLength", Mutate: set("spec.workerLogs", "container", chars(64)), Field: "spec.workerLogs.container", Type: field.ErrorTypeTooLong},
		{Rule: "spec.workerLogs.limitBytes minimum", Mutate: set("spec.workerLogs", "limitBytes", int64(1023)),
			Field: "spec.workerLogs.limitBytes", Type: field.ErrorTypeInvalid, Detail: "should be greater than or equal to 1024"},
		{Rule: "spec.workerLogs.limitBytes maximum", Mutate: set("spec.workerLogs", "limitBytes", int64(16777217)),
			Field: "spec.workerLogs.limitBytes", Type: field.ErrorTypeInvalid, Detail: "should be less than or equal to 16777216"},
		{Rule: "spec.workerLogs.patterns minItems", Mutate: set("spec.workerLogs", "patterns", []any{}),
			Field: "spec.workerLogs.patterns", Type: field.ErrorTypeInvalid, Detail: "should have at least 1 items"},
		{Rule: "spec.workerLogs.patterns maxItems", Mutate: set("spec.workerLogs", "patterns", list(17, func(int) any { return "x" })),
			Field: "spec.workerLogs.patterns", Type: field.ErrorTypeTooMany},
		{Rule: "spec.workerLogs.patterns[*] minLength", Mutate: set("spec.workerLogs", "patterns", []any{""}),
			Field: "spec.workerLogs.patterns[0]", Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: "spec.workerLogs.patterns[*] maxLength", Mutate: set("spec.workerLogs", "patterns", []any{chars(257)}),
			Field: "spec.workerLogs.patterns[0]", Type: field.ErrorTypeTooLong},
	}
	samples = append(samples, durationSamples("spec", "interval")...)
	samples = append(samples, durationSamples("spec", "timeout")...)
	samples = append(samples, durationSamples("spec", "certificateExpiryWarning")...)
	samples = append(samples, durationSamples("spec.workerLogs", "window")...)
	for _, ref := range []string{"defaultDSNSecretRef", "workloadsDSNSecretRef", "encryptionKeySecretRef"} {
		samples = append(samples, secretRefSamples(ref)...)
	}
	for _, block := range []string{"blobStore", "smartRegistry", "remoteServices", "appImageRegistries"} {
		samples = append(samples, settingsSecretRefSamples("spec."+block)...)
	}
	samples = append(samples, selectorSamples("spec", "apiServerPodSelector", nil)...)
	samples = append(samples, selectorSamples("spec.initialClusterState", "jobSelector", drop("spec.initialClusterState", "jobName"))...)
	samples = append(samples, selectorSamples("spec.workerLogs", "podSelector", nil)...)
	return samples
}

// settingsSecretRefSamples are the samples of a block's settingsSecretRef.name.
func settingsSecretRefSamples(parent string) []Sample {
	ref := parent + ".settingsSecretRef"
	p := ref + ".name"
	return []Sample{
		{Rule: ref + " required name", Mutate: drop(ref, "name"), Field: p, Type: field.ErrorTypeRequired},
		{Rule: p + " minLength", Mutate: set(ref, "name", ""), Field: p, Type: field.ErrorTypeInvalid, Detail: "should be at least 1 chars long"},
		{Rule: p + " maxLength", Mutate: set(ref, "name", chars(254)), Field: p, Type: field.ErrorTypeTooLong},
		{Rule: p + " pattern", Mutate: set(ref, "name", "settings/../x"), Field: p, Type: field.ErrorTypeInvalid, Detail: "should match"},
	}
}
