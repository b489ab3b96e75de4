//go:build tools

// Package tools pins kube-apiserver and kubectl at the oldest supported minor so that
// `go mod tidy` (in hack/envtest.sh's work directory) keeps their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
