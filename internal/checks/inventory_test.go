package checks

import (
	"context"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// Two checks of one evaluation that both need the app cluster read it once: one probe
// per API server, whichever check asks first.
func TestInventoryProbesEachAPIServerOncePerEvaluation(t *testing.T) {
	api := newAPIServer(t, `{"metadata":{},"items":[{"metadata":{"name":"n1","labels":{"eng-cstate-0a1b2c3d-1":"1"}}}]}`)

	d := jobDiagnosis()
	d.Spec.InitialClusterState.VerifyNodeLabels = true
	d.Spec.Clusters = []v1alpha1.ClusterTarget{{Name: "default-main", APIServers: []v1alpha1.APIServerURL{v1alpha1.APIServerURL(api.url)},
		CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}}}
	secrets := check.Secrets{"app-cluster": {"ca.crt": api.ca, "token": []byte("t")}}
	reader := jobReader(t, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
	det := lineDetection(t, mariadb.Release16)

	for evaluation := 1; evaluation <= 2; evaluation++ {
		// Each evaluation builds its plan anew: nothing is shared between evaluations.
		p, in := buildPlan(d, Dependencies{Reader: reader})
		in.bind(check.Resolved{Secrets: secrets})
		in.release = det
		checks := []check.Checker{p.Checks[0].Checker, p.Checks[1].Checker}
		var wg sync.WaitGroup
		results := make([]check.Result, len(checks))
		for i, c := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				results[i] = c.Check(ctx)
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.Status != check.Pass {
				t.Fatalf("%s: %s/%s %s", checks[i].Name(), r.Status, r.Reason, r.Message)
			}
		}
		if got := api.versions.Load(); got != int32(evaluation) {
			t.Fatalf("after %d evaluation(s), the API server was probed %d times", evaluation, got)
		}
	}
}
