//go:build integration

package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// No confused deputy, where the admission policy is not installed (this suite does not
// install it): a Secret the diagnosis names is used only when it is marked for
// paasdiag, so a credential goes only where someone who may write (label) it agreed.
var _ = Describe("A Secret not marked for paasdiag, or not for this destination", func() {
	It("is never used: its token does not reach the API server the diagnosis names", func() {
		ns := newNamespace()
		// The attacker's https server on loopback, recording the tokens it is sent.
		var mu sync.Mutex
		var got []string
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.Header.Get("Authorization"))
			mu.Unlock()
			http.Error(w, "no", http.StatusUnauthorized)
		}))
		defer srv.Close()
		const token = "victim-token-not-for-alice-0042"
		Expect(k8sClient.Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-elses"},
			StringData: map[string]string{"token": token},
		})).To(Succeed())
		key := create(clusterDiagnosis(ns, target("exfiltrate", "someone-elses", srv.URL)))

		d := waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSecretNotMarked)
		msg := condition(d, v1alpha1.ConditionStalled).Message
		Expect(msg).To(ContainSubstring(`Secret "someone-elses"`))
		Expect(msg).To(ContainSubstring("label it " + v1alpha1.SecretLabel + "=true"))
		Consistently(func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), got...)
		}, 3*time.Second, 250*time.Millisecond).Should(BeEmpty(), "nothing was sent to the diagnosis' API server")
		expectNoSecret(d, token)

		By("labelled, but allowing another destination only: still not used")
		var s corev1.Secret
		Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "someone-elses"}, &s)).To(Succeed())
		s.Labels = map[string]string{v1alpha1.SecretLabel: "true"}
		s.Annotations = map[string]string{v1alpha1.SecretAPIServersAnnotation: "https://10.0.0.10:6443"}
		Expect(k8sClient.Update(context.Background(), &s)).To(Succeed())
		d = waitForCondition(key, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSecretDestinationNotAllowed)
		Expect(condition(d, v1alpha1.ConditionStalled).Message).To(ContainSubstring("does not allow its credentials to be sent to " + srv.URL))
		Consistently(func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), got...)
		}, 3*time.Second, 250*time.Millisecond).Should(BeEmpty(), "nothing was sent to a destination the Secret does not allow")

		By("once its writer allows the destination, the Secret is used")
		Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "someone-elses"}, &s)).To(Succeed())
		s.Annotations = map[string]string{v1alpha1.SecretAPIServersAnnotation: "https://10.0.0.10:6443, " + srv.URL}
		Expect(k8sClient.Update(context.Background(), &s)).To(Succeed())
		Eventually(func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, h := range got {
				if strings.Contains(h, token) {
					return true
				}
			}
			return false
		}, 30*time.Second, 250*time.Millisecond).Should(BeTrue())
	})
})
