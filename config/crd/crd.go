// Package crd embeds the CustomResourceDefinition that controller-gen generates from
// api/v1alpha1's markers (bases/, which `kubectl apply -k config/crd` installs), so that
// the controller re-checks every diagnosis against the very rules the CRD declares:
// API servers before 1.25 do not enforce its CEL rules (docs/compatibility.md).
package crd

import _ "embed"

//go:embed bases/diagnosis.paasdiag.io_paasdiagnoses.yaml
var paasDiagnosesYAML []byte

// PaaSDiagnoses returns the generated CRD of PaaSDiagnosis, as YAML.
func PaaSDiagnoses() []byte { return paasDiagnosesYAML }
