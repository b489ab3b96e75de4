package controllers

import (
	"encoding/json"
	"sort"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// boundStatus makes status fit its bounds whatever the platform's size: every list is
// sorted worst first and cut to its cap (api/v1alpha1/limits.go), with a count of what
// it left out; every string is cut to its length; then, while the whole status is over
// MaxStatusBytes as JSON, the lists are halved, worst entries kept. The summary counts,
// the codes and the conditions are computed before and never cut: they stay right.
func boundStatus(s *v1alpha1.PaaSDiagnosisStatus) {
	if len(s.Codes) > v1alpha1.MaxStatusCodes {
		s.Codes = s.Codes[:v1alpha1.MaxStatusCodes]
	}
	for i := range s.Codes {
		s.Codes[i] = truncate(s.Codes[i], v1alpha1.MaxCodeLength)
	}
	s.CodeSummary = truncate(s.CodeSummary, v1alpha1.MaxCodeSummaryLength)
	for i := range s.Conditions {
		c := &s.Conditions[i]
		c.Message = truncate(c.Message, v1alpha1.MaxConditionMessageLength)
	}

	// Findings arrive sorted, most severe first (sortFindings).
	for i := range s.Findings {
		f := &s.Findings[i]
		f.Check = truncate(f.Check, v1alpha1.MaxCheckLength)
		f.Code = truncate(f.Code, v1alpha1.MaxCodeLength)
		f.Condition = truncate(f.Condition, v1alpha1.MaxReasonLength)
		f.Reason = truncate(f.Reason, v1alpha1.MaxReasonLength)
		f.Message = truncate(f.Message, v1alpha1.MaxMessageLength)
		f.Remediation = truncate(f.Remediation, v1alpha1.MaxRemediationLength)
	}
	s.Findings = codesFirst(s.Findings)
	s.Findings, s.FindingsOmitted = capFindings(s.Findings, v1alpha1.MaxStatusFindings, s.FindingsOmitted)

	for i := range s.Clusters {
		boundCluster(&s.Clusters[i])
	}
	sort.SliceStable(s.Clusters, func(i, j int) bool {
		a, b := clusterRank(s.Clusters[i]), clusterRank(s.Clusters[j])
		if a != b {
			return a > b
		}
		return s.Clusters[i].Name < s.Clusters[j].Name
	})
	s.Clusters, s.ClustersOmitted = capClusters(s.Clusters, v1alpha1.MaxStatusClusters, s.ClustersOmitted)

	for i := range s.Pools {
		p := &s.Pools[i]
		p.Service = truncate(p.Service, v1alpha1.MaxNameLength)
		p.Plan = truncate(p.Plan, v1alpha1.MaxNameLength)
		p.Tenant = truncate(p.Tenant, v1alpha1.MaxNameLength)
	}
	sort.SliceStable(s.Pools, func(i, j int) bool { return worsePool(s.Pools[i], s.Pools[j]) })
	s.Pools, s.PoolsOmitted = capPools(s.Pools, v1alpha1.MaxStatusPools, s.PoolsOmitted)

	// One entry per kind of setting: a handful, never shed.
	if len(s.Settings) > v1alpha1.MaxStatusSettings {
		s.Settings = s.Settings[:v1alpha1.MaxStatusSettings]
	}
	for i := range s.Settings {
		s.Settings[i].Name = truncate(s.Settings[i].Name, v1alpha1.MaxReasonLength)
		s.Settings[i].Source = truncate(s.Settings[i].Source, v1alpha1.MaxMessageLength)
	}

	// The budget: shed the largest list's better half until the whole fits.
	for statusBytes(s) > v1alpha1.MaxStatusBytes {
		switch largest(s) {
		case "pools":
			s.Pools, s.PoolsOmitted = capPools(s.Pools, len(s.Pools)/2, s.PoolsOmitted)
		case "clusters":
			if n := maxServers(s.Clusters); n > 1 {
				for i := range s.Clusters {
					c := &s.Clusters[i]
					c.APIServers, c.APIServersOmitted = capServers(c.APIServers, n/2, c.APIServersOmitted)
				}
				continue
			}
			s.Clusters, s.ClustersOmitted = capClusters(s.Clusters, len(s.Clusters)/2, s.ClustersOmitted)
		case "findings":
			s.Findings, s.FindingsOmitted = capFindings(s.Findings, max(len(s.Findings)/2, min(len(s.Codes), len(s.Findings)-1)), s.FindingsOmitted)
		default:
			return // only what is never cut is left
		}
	}
}

// reduceStatus keeps what the verdict needs when the API server refused the full
// status: conditions, codes and summary; the lists are counted as omitted.
func reduceStatus(s *v1alpha1.PaaSDiagnosisStatus, why string) {
	s.FindingsOmitted += int32(len(s.Findings))
	s.ClustersOmitted += int32(len(s.Clusters))
	s.PoolsOmitted += int32(len(s.Pools))
	s.Findings, s.Clusters, s.Pools = nil, nil, nil
	s.Reduced = truncate(why, v1alpha1.MaxMessageLength)
}

// codesFirst moves the first Error finding of each code to the front, in order, so
// that however far the list is cut, every active code keeps a finding (the findings
// metric, and the alerts on it, go by them). They are errors: errors stay first.
func codesFirst(fs []v1alpha1.Finding) []v1alpha1.Finding {
	seen := map[string]bool{}
	var first, rest []v1alpha1.Finding
	for _, f := range fs {
		if f.Severity == v1alpha1.SeverityError && f.Code != "" && !seen[f.Code] {
			seen[f.Code] = true
			first = append(first, f)
			continue
		}
		rest = append(rest, f)
	}
	return append(first, rest...)
}

func boundCluster(c *v1alpha1.ClusterStatus) {
	c.Name = truncate(c.Name, v1alpha1.MaxNameLength)
	for i := range c.APIServers {
		a := &c.APIServers[i]
		a.URL = truncate(a.URL, v1alpha1.MaxURLLength)
		a.Reason = truncate(a.Reason, v1alpha1.MaxReasonLength)
		a.ServerVersion = truncate(a.ServerVersion, v1alpha1.MaxVersionLength)
	}
	sort.SliceStable(c.APIServers, func(i, j int) bool {
		return failing(c.APIServers[i]) && !failing(c.APIServers[j])
	})
	c.APIServers, c.APIServersOmitted = capServers(c.APIServers, v1alpha1.MaxStatusAPIServers, c.APIServersOmitted)
}

func failing(a v1alpha1.APIServerStatus) bool { return !a.Reachable || a.Reason != "" }

func failingServers(c v1alpha1.ClusterStatus) int {
	n := 0
	for _, a := range c.APIServers {
		if failing(a) {
			n++
		}
	}
	return n
}

// clusterRank orders clusters worst first: no API server at all (the platform cannot
// use it), then by unreachable API servers (errors), then by API servers that answer
// but fall short (warnings).
func clusterRank(c v1alpha1.ClusterStatus) int {
	if len(c.APIServers) == 0 {
		return 1 << 20
	}
	unreachable, short := 0, 0
	for _, a := range c.APIServers {
		switch {
		case !a.Reachable:
			unreachable++
		case a.Reason != "":
			short++
		}
	}
	return unreachable<<10 + short
}

// worsePool orders plans as an operator reads them: no instance for any app first,
// then those whose waiting environments would get none, then the fewest available.
func worsePool(a, b v1alpha1.PoolStatus) bool {
	if (a.Available == 0) != (b.Available == 0) {
		return a.Available == 0
	}
	if a.WouldFail != b.WouldFail {
		return a.WouldFail > b.WouldFail
	}
	if a.Available != b.Available {
		return a.Available < b.Available
	}
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	if a.Plan != b.Plan {
		return a.Plan < b.Plan
	}
	return a.Tenant < b.Tenant
}

func capFindings(l []v1alpha1.Finding, n int, omitted int32) ([]v1alpha1.Finding, int32) {
	if len(l) <= n {
		return l, omitted
	}
	return l[:n], omitted + int32(len(l)-n)
}

func capClusters(l []v1alpha1.ClusterStatus, n int, omitted int32) ([]v1alpha1.ClusterStatus, int32) {
	if len(l) <= n {
		return l, omitted
	}
	return l[:n], omitted + int32(len(l)-n)
}

func capServers(l []v1alpha1.APIServerStatus, n int, omitted int32) ([]v1alpha1.APIServerStatus, int32) {
	if len(l) <= n {
		return l, omitted
	}
	return l[:n], omitted + int32(len(l)-n)
}

func capPools(l []v1alpha1.PoolStatus, n int, omitted int32) ([]v1alpha1.PoolStatus, int32) {
	if len(l) <= n {
		return l, omitted
	}
	return l[:n], omitted + int32(len(l)-n)
}

func maxServers(cs []v1alpha1.ClusterStatus) int {
	n := 0
	for _, c := range cs {
		n = max(n, len(c.APIServers))
	}
	return n
}

func statusBytes(s *v1alpha1.PaaSDiagnosisStatus) int {
	b, _ := json.Marshal(s)
	return len(b)
}

// largest names the list that takes the most bytes, or "" when all are empty.
func largest(s *v1alpha1.PaaSDiagnosisStatus) string {
	name, most := "", 0
	for _, l := range []struct {
		name string
		n    int
		v    any
	}{{"pools", len(s.Pools), s.Pools}, {"clusters", len(s.Clusters), s.Clusters}, {"findings", len(s.Findings), s.Findings}} {
		if l.n == 0 {
			continue
		}
		if b, _ := json.Marshal(l.v); len(b) > most {
			name, most = l.name, len(b)
		}
	}
	return name
}
