// Package fakekubelet serves the one kubelet endpoint the API server's pods/log
// subresource uses (/containerLogs/{namespace}/{pod}/{container}), so that tests read
// pod logs through a real kube-apiserver: the API server looks the pod's Node up and
// fetches the logs from the address and port that Node advertises. Used by tests only.
package fakekubelet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kubelet is a TLS server on 127.0.0.1 holding the logs of containers.
type Kubelet struct {
	srv  *httptest.Server
	mu   sync.Mutex
	logs map[string]string
	// Requests counts the log requests served, by path, for tests.
	requests []string
}

// Start starts the kubelet.
func Start() *Kubelet {
	k := &Kubelet{logs: map[string]string{}}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(k.serve))
	return k
}

// Close stops it.
func (k *Kubelet) Close() { k.srv.Close() }

// SetLogs sets what a container has logged.
func (k *Kubelet) SetLogs(namespace, pod, container, text string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.logs[namespace+"/"+pod+"/"+container] = text
}

// Requests returns the request URIs served so far.
func (k *Kubelet) Requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.requests...)
}

func (k *Kubelet) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.requests = append(k.requests, r.URL.RequestURI())
	text, ok := k.logs[strings.TrimPrefix(r.URL.Path, "/containerLogs/")]
	k.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, "/containerLogs/") || !ok {
		http.NotFound(w, r)
		return
	}
	if limit, err := strconv.Atoi(r.URL.Query().Get("limitBytes")); err == nil && limit < len(text) {
		text = text[:limit]
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = fmt.Fprint(w, text)
}

// RegisterNode creates a Node whose kubelet is this server.
func (k *Kubelet) RegisterNode(ctx context.Context, c client.Client, name string) error {
	host, portText, err := net.SplitHostPort(strings.TrimPrefix(k.srv.URL, "https://"))
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(portText)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, node); err != nil {
		return err
	}
	node.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
	}
	return c.Status().Update(ctx, node)
}

// Pod creates a running pod with one container on the node, and the namespace's
// default ServiceAccount the admission chain insists on.
func Pod(ctx context.Context, c client.Client, namespace, name, node, container string, labels map[string]string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "default"}}
	if err := c.Create(ctx, sa); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	no := false
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: &no,
			Containers:                   []corev1.Container{{Name: container, Image: "bkpaas3-apiserver:test"}},
		},
	}
	if err := c.Create(ctx, pod); err != nil {
		return err
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
		ContainerStatuses: []corev1.ContainerStatus{{Name: container, Ready: true, Image: "bkpaas3-apiserver:test",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
	return c.Status().Update(ctx, pod)
}
