//go:build tools

// Package tools pins kube-apiserver (the envtest control plane) and kubectl (for the
// tests of what `kubectl get` and `kubectl describe` print, and `make demo`) so that
// `go mod tidy` keeps their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
