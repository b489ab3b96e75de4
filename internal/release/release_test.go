package release

import (
	"strings"
	"testing"
)

// Names as the pinned revisions ship them (hack/sql/<line>/migrations.tsv).
var (
	services16 = []string{"0001_initial", "0002_precreatedinstance", "0006_alter_servicecategory_name_en"}
	cluster16  = []string{"0001_initial", "0010_alter_cluster_is_default"}
	region16   = []string{"0001_initial", "0003_egressrule_egressspec"}
	services17 = append(append([]string(nil), services16...), "0007_alter_plan_unique_together_plan_tenant_id_and_more", "0009_precreatedinstance_allocation_type_and_more")
	cluster17  = append(append([]string(nil), cluster16...), "0011_cluster_exposed_url_type", "0023_clusterelasticsearchconfig_ca_certs_and_more")
	region17   = append(append([]string(nil), region16...), "0004_alter_regionclusterstate_unique_together_and_more", "0005_egressrule_tenant_id_egressspec_tenant_id_and_more")
)

// REL01: platform 1.6 and earlier, from either database or both.
func TestREL01_Release16FromMigrations(t *testing.T) {
	for name, applied := range map[string]map[string][]string{
		"both databases":     {"services": services16, "cluster": cluster16, "region": region16},
		"default only":       {"services": services16},
		"workloads only":     {"cluster": cluster16, "region": region16},
		"1.5 (older)":        {"services": services16[:2]},
		"squashed name kept": {"services": append([]string{"squashed_custom"}, services16...)},
	} {
		d := Detect(applied)
		if d.Line != Line16 {
			t.Errorf("%s: line %s (%s), want 1.6", name, d.Line, d.Evidence)
		}
	}
	d := Detect(map[string][]string{"services": services16, "cluster": cluster16, "region": region16})
	if d.Evidence != "services 0006, cluster 0010, region 0003" {
		t.Errorf("evidence %q", d.Evidence)
	}
	if d.Has("services", 7) || !d.Has("services", 6) || d.Has("api", 1) {
		t.Errorf("Has: %v", d.Latest)
	}
}

// REL02: 1.7 and main, from the first migration each app got on release-1.7.
func TestREL02_Release17PlusFromMigrations(t *testing.T) {
	for name, applied := range map[string]map[string][]string{
		"both databases":  {"services": services17, "cluster": cluster17, "region": region17},
		"services 0007":   {"services": append(append([]string(nil), services16...), "0007_alter_plan_unique_together_plan_tenant_id_and_more")},
		"cluster 0011":    {"cluster": append(append([]string(nil), cluster16...), "0011_cluster_exposed_url_type")},
		"region 0004":     {"region": append(append([]string(nil), region16...), "0004_alter_regionclusterstate_unique_together_and_more")},
		"a later release": {"services": append(append([]string(nil), services17...), "0012_future")},
	} {
		d := Detect(applied)
		if d.Line != Line17Plus {
			t.Errorf("%s: line %s (%s), want 1.7+", name, d.Line, d.Evidence)
		}
	}
	d := Detect(map[string][]string{"services": services17, "cluster": cluster17, "region": region17})
	if d.Evidence != "services 0009, cluster 0023, region 0005" {
		t.Errorf("evidence %q", d.Evidence)
	}
}

// REL03: nothing recorded is Unknown, with the reason.
func TestREL03_UnknownWithoutMigrations(t *testing.T) {
	for name, applied := range map[string]map[string][]string{
		"nothing":          nil,
		"other apps only":  {"api": {"0024_x"}},
		"unnumbered only":  {"services": {"custom"}},
		"empty name lists": {"services": {}},
	} {
		d := Detect(applied)
		if d.Line != Unknown || !strings.Contains(d.Evidence, "django_migrations") {
			t.Errorf("%s: %s (%s), want Unknown naming django_migrations", name, d.Line, d.Evidence)
		}
	}
	if d := UnknownBecause("why"); d.Line != Unknown || d.Evidence != "why" {
		t.Errorf("%+v", d)
	}
}

// REL04: databases that disagree (an incomplete upgrade) are Unknown, naming both.
func TestREL04_UnknownWhenMigrationsDisagree(t *testing.T) {
	d := Detect(map[string][]string{"services": services17, "cluster": cluster16, "region": region16})
	if d.Line != Unknown {
		t.Fatalf("line %s, want Unknown", d.Line)
	}
	for _, want := range []string{"services 0009", "cluster 0010", "1.7+ for services", "1.6 for cluster, region", "upgrade"} {
		if !strings.Contains(d.Evidence, want) {
			t.Errorf("evidence %q lacks %q", d.Evidence, want)
		}
	}
}
