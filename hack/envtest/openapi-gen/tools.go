//go:build tools

// Package tools pins openapi-gen.
package tools

import _ "k8s.io/kube-openapi/cmd/openapi-gen"
