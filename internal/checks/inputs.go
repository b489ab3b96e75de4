package checks

import (
	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
)

// The Secrets each check reads, declared next to the checks: the reconciler derives
// from them which Secrets to read and which checks a missing one blocks.

// keyInput declares one key of a Secret, if the reference is set.
func keyInput(ref *v1alpha1.SecretKeyReference, what string) []check.Input {
	if ref == nil {
		return nil
	}
	return []check.Input{{Secret: ref.Name, Key: ref.Key, What: what}}
}

func workloadsDSN(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	if spec.PlatformDatabase == nil {
		return nil
	}
	return keyInput(spec.PlatformDatabase.WorkloadsDSNSecretRef, "DSN of the workloads database")
}

func defaultDSN(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	if spec.PlatformDatabase == nil {
		return nil
	}
	return keyInput(spec.PlatformDatabase.DefaultDSNSecretRef, "DSN of the default database")
}

// clusterInputs are what the cluster inventory reads: each spec cluster's credentials
// and, with discoverClusters, the workloads database and the platform's key.
func clusterInputs(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	var in []check.Input
	for _, c := range spec.Clusters {
		in = append(in, check.Input{Secret: c.CredentialsSecretRef.Name, What: "credentials of cluster " + c.Name})
	}
	if spec.DiscoverClusters && spec.PlatformDatabase != nil {
		in = append(in, workloadsDSN(spec)...)
		in = append(in, keyInput(spec.PlatformDatabase.EncryptionKeySecretRef, "the platform's encryption key")...)
	}
	return in
}

// Inputs implements check.InputDeclarer.
func (ClusterReachability) Inputs(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	return clusterInputs(spec)
}

// Inputs implements check.InputDeclarer: the workloads database (its migrations tell
// the release line, and on 1.7+ it holds the node state), the default database (the
// release line too), and with verifyNodeLabels the clusters whose nodes are read.
func (InitialClusterState) Inputs(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	in := append(workloadsDSN(spec), defaultDSN(spec)...)
	if spec.InitialClusterState != nil && spec.InitialClusterState.VerifyNodeLabels {
		in = append(in, clusterInputs(spec)...)
	} else if spec.DiscoverClusters && spec.PlatformDatabase != nil {
		in = append(in, keyInput(spec.PlatformDatabase.EncryptionKeySecretRef, "the platform's encryption key")...)
	}
	return in
}

// Inputs implements check.InputDeclarer.
func (InstancePools) Inputs(spec *v1alpha1.PaaSDiagnosisSpec) []check.Input {
	return defaultDSN(spec)
}
