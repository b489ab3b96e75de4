package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// overfull is a status with every list past its cap and every string past its length:
// what a large installation with long names would produce.
func overfull(clusters, servers, pools, findings int) *v1alpha1.PaaSDiagnosisStatus {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n) }
	s := &v1alpha1.PaaSDiagnosisStatus{
		Codes:       []string{"4313021", "4313022"},
		CodeSummary: "4313021,4313022",
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "PoolEmpty",
			Message: long("m", 40000)}},
		Summary: &v1alpha1.StatusSummary{PlansChecked: int32(pools), ClustersChecked: int32(clusters)},
	}
	for i := 0; i < findings; i++ {
		sev := v1alpha1.SeverityWarning
		if i%7 == 0 {
			sev = v1alpha1.SeverityError
		}
		s.Findings = append(s.Findings, v1alpha1.Finding{Check: long(fmt.Sprintf("pool/%d/", i), 600), Condition: "InstancePoolAvailable",
			Severity: sev, Code: "4313022", Reason: long("R", 100), Message: long("msg", 3000), Remediation: long("do", 900)})
	}
	sortFindings(s.Findings)
	for c := 0; c < clusters; c++ {
		cs := v1alpha1.ClusterStatus{Name: long(fmt.Sprintf("c%03d-", c), 300), Source: "Discovered"}
		for a := 0; a < servers; a++ {
			// One cluster in ten fails on every other API server.
			ok := c%10 != 3 || a%2 == 0
			reason := ""
			if !ok {
				reason = "ConnectionRefused"
			}
			cs.APIServers = append(cs.APIServers, v1alpha1.APIServerStatus{URL: long(fmt.Sprintf("https://10.0.%d.%d:6443/", c, a), 3000),
				Reachable: ok, Reason: reason, ServerVersion: long("v1.", 100)})
		}
		s.Clusters = append(s.Clusters, cs)
	}
	for p := 0; p < pools; p++ {
		available := int32(p % 5)
		s.Pools = append(s.Pools, v1alpha1.PoolStatus{Service: long("redis", 300), Plan: long(fmt.Sprintf("plan%04d-", p), 300),
			Tenant: long("tenant", 300), Available: available, Total: 10})
	}
	return s
}

// Status fits its caps and its byte budget whatever the input, the worst entries kept
// and the rest counted; codes, conditions and summary are never cut.
func TestBoundStatus(t *testing.T) {
	for _, c := range []struct {
		name                               string
		clusters, servers, pools, findings int
	}{
		{"a large multi-tenant installation", 80, 2, 300, 150},
		{"500 clusters of 2 API servers, 5,000 plans", 500, 2, 5000, 5000},
		{"clusters with many API servers", 70, 40, 10, 10},
		{"small: nothing cut", 3, 2, 4, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := overfull(c.clusters, c.servers, c.pools, c.findings)
			boundStatus(s)
			raw, _ := json.Marshal(s)
			if len(raw) > v1alpha1.MaxStatusBytes {
				t.Errorf("%d bytes, over the budget of %d", len(raw), v1alpha1.MaxStatusBytes)
			}
			if got := len(s.Findings) + int(s.FindingsOmitted); got != c.findings {
				t.Errorf("findings %d listed + %d omitted, want %d", len(s.Findings), s.FindingsOmitted, c.findings)
			}
			if got := len(s.Clusters) + int(s.ClustersOmitted); got != c.clusters {
				t.Errorf("clusters %d listed + %d omitted, want %d", len(s.Clusters), s.ClustersOmitted, c.clusters)
			}
			if got := len(s.Pools) + int(s.PoolsOmitted); got != c.pools {
				t.Errorf("pools %d listed + %d omitted, want %d", len(s.Pools), s.PoolsOmitted, c.pools)
			}
			if len(s.Findings) > v1alpha1.MaxStatusFindings || len(s.Clusters) > v1alpha1.MaxStatusClusters || len(s.Pools) > v1alpha1.MaxStatusPools {
				t.Errorf("over a cap: %d findings, %d clusters, %d pools", len(s.Findings), len(s.Clusters), len(s.Pools))
			}
			if c.name == "small: nothing cut" && (s.FindingsOmitted+s.ClustersOmitted+s.PoolsOmitted != 0) {
				t.Errorf("cut a small status: %d %d %d", s.FindingsOmitted, s.ClustersOmitted, s.PoolsOmitted)
			}
			// Worst first: errors before warnings; empty pools first; failing clusters first.
			if len(s.Findings) > 0 && s.Findings[0].Severity != v1alpha1.SeverityError {
				t.Errorf("first finding %s", s.Findings[0].Severity)
			}
			if len(s.Pools) > 0 && s.Pools[0].Available != 0 {
				t.Errorf("first pool has %d available", s.Pools[0].Available)
			}
			if len(s.Clusters) > 0 && c.clusters > 3 && failingServers(s.Clusters[0]) == 0 {
				t.Errorf("first cluster %s has no failing API server", s.Clusters[0].Name[:8])
			}
			for _, cs := range s.Clusters {
				if len(cs.APIServers) > v1alpha1.MaxStatusAPIServers || len(cs.APIServers)+int(cs.APIServersOmitted) != c.servers {
					t.Errorf("cluster %s: %d servers + %d omitted", cs.Name[:8], len(cs.APIServers), cs.APIServersOmitted)
				}
				for _, a := range cs.APIServers {
					if len(a.URL) > v1alpha1.MaxURLLength || len(a.ServerVersion) > v1alpha1.MaxVersionLength {
						t.Errorf("url %d, version %d bytes", len(a.URL), len(a.ServerVersion))
					}
				}
			}
			for _, f := range s.Findings {
				if len(f.Check) > v1alpha1.MaxCheckLength || len(f.Message) > v1alpha1.MaxMessageLength || len(f.Reason) > v1alpha1.MaxReasonLength ||
					len(f.Remediation) > v1alpha1.MaxRemediationLength {
					t.Errorf("finding strings %d %d %d %d", len(f.Check), len(f.Message), len(f.Reason), len(f.Remediation))
				}
			}
			if len(s.Codes) != 2 || s.Summary.PlansChecked != int32(c.pools) || s.Summary.ClustersChecked != int32(c.clusters) ||
				len(s.Conditions[0].Message) > v1alpha1.MaxConditionMessageLength {
				t.Errorf("codes %v, summary %+v, condition message %d bytes", s.Codes, s.Summary, len(s.Conditions[0].Message))
			}
		})
	}
}

// A refused status is reduced to conditions, codes and summary, the lists counted.
func TestReduceStatus(t *testing.T) {
	s := overfull(5, 2, 7, 9)
	reduceStatus(s, "the API server refused the full status (Invalid): "+strings.Repeat("y", 5000))
	if s.Findings != nil || s.Clusters != nil || s.Pools != nil || s.FindingsOmitted != 9 || s.ClustersOmitted != 5 || s.PoolsOmitted != 7 ||
		len(s.Codes) != 2 || s.Summary == nil || len(s.Reduced) > v1alpha1.MaxMessageLength || !strings.HasPrefix(s.Reduced, "the API server refused") {
		t.Errorf("%+v", s)
	}
}

// However far findings are cut, every active code keeps an Error finding: the
// findings metric and the alerts on it go by them.
func TestBoundStatusKeepsAFindingPerCode(t *testing.T) {
	var fs []v1alpha1.Finding
	for i := 0; i < 300; i++ {
		fs = append(fs, v1alpha1.Finding{Check: fmt.Sprintf("a/%03d", i), Condition: "A", Severity: v1alpha1.SeverityError, Code: "4313021", Message: strings.Repeat("m", 5000)})
	}
	fs = append(fs, v1alpha1.Finding{Check: "b", Condition: "B", Severity: v1alpha1.SeverityError, Code: "4313022"})
	s := &v1alpha1.PaaSDiagnosisStatus{Findings: fs, Codes: activeCodes(fs)}
	sortFindings(s.Findings)
	boundStatus(s)
	codes := map[string]bool{}
	for _, f := range s.Findings {
		codes[f.Code] = true
	}
	if !codes["4313021"] || !codes["4313022"] || s.Findings[0].Severity != v1alpha1.SeverityError || int(s.FindingsOmitted)+len(s.Findings) != 301 {
		t.Errorf("codes listed %v, %d listed, %d omitted", codes, len(s.Findings), s.FindingsOmitted)
	}
}

// A cluster with no API server is the worst: the platform cannot use it at all.
func TestClustersWithoutAPIServersComeFirst(t *testing.T) {
	s := &v1alpha1.PaaSDiagnosisStatus{Clusters: []v1alpha1.ClusterStatus{
		{Name: "a-healthy", APIServers: []v1alpha1.APIServerStatus{{URL: "https://a", Reachable: true}}},
		{Name: "b-short", APIServers: []v1alpha1.APIServerStatus{{URL: "https://b", Reachable: true, Reason: "NotClusterAdmin"}}},
		{Name: "c-down", APIServers: []v1alpha1.APIServerStatus{{URL: "https://c", Reason: "ConnectionRefused"}}},
		{Name: "d-none"},
	}}
	boundStatus(s)
	var order []string
	for _, c := range s.Clusters {
		order = append(order, c.Name)
	}
	if got := strings.Join(order, ","); got != "d-none,c-down,b-short,a-healthy" {
		t.Errorf("order %s", got)
	}
}
