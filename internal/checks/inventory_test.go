package checks

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
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
	var versions atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/version":
			versions.Add(1)
			_, _ = w.Write([]byte(`{"gitVersion":"v1.24.17"}`))
		case r.URL.Path == "/api/v1/nodes":
			_, _ = w.Write([]byte(`{"metadata":{},"items":[{"metadata":{"name":"n1","labels":{"eng-cstate-0a1b2c3d-1":"1"}}}]}`))
		case r.URL.Path == "/api/v1/namespaces":
			_, _ = w.Write([]byte(`{"items":[]}`))
		case strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
			_, _ = w.Write([]byte(`{"status":{"allowed":true}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	d := jobDiagnosis()
	d.Spec.InitialClusterState.VerifyNodeLabels = true
	d.Spec.Clusters = []v1alpha1.ClusterTarget{{Name: "default-main", APIServers: []v1alpha1.APIServerURL{v1alpha1.APIServerURL(srv.URL)},
		CredentialsSecretRef: v1alpha1.SecretReference{Name: "app-cluster"}}}
	secrets := check.Secrets{"app-cluster": {"ca.crt": ca, "token": []byte("t")}}
	reader := jobReader(t, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
	det := lineDetection(t, mariadb.Release16)

	for evaluation := 1; evaluation <= 2; evaluation++ {
		// Each evaluation builds its plan anew: nothing is shared between evaluations.
		p, in := buildPlan(d, Dependencies{Reader: reader})
		in.bind(secrets)
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
		if got := versions.Load(); got != int32(evaluation) {
			t.Fatalf("after %d evaluation(s), the API server was probed %d times", evaluation, got)
		}
	}
}
