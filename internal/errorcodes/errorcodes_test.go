package errorcodes

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// seedTable parses the overview table of the platform's error-code page.
func seedTable(t *testing.T, page []byte) [][2]string {
	t.Helper()
	row := regexp.MustCompile(`^\|\s*(\d{7})\s*\|\s*(.+?)\s*\|$`)
	var rows [][2]string
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		if m := row.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			rows = append(rows, [2]string{m[1], m[2]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// seedSections returns the codes that have a troubleshooting section ("### 4313021 ...").
func seedSections(page []byte) map[string]string {
	head := regexp.MustCompile(`(?m)^###\s+(\d{7})\s+(.+?)\s*$`)
	out := map[string]string{}
	for _, m := range head.FindAllSubmatch(page, -1) {
		out[string(m[1])] = string(m[2])
	}
	return out
}

func TestCatalogMatchesSeedTable(t *testing.T) {
	page, err := os.ReadFile("testdata/error-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := seedTable(t, page)
	if len(rows) != 32 {
		t.Fatalf("seed table has %d rows, want 32", len(rows))
	}
	all := All()
	if len(all) != len(rows) {
		t.Fatalf("catalog has %d codes, seed table %d", len(all), len(rows))
	}
	for i, r := range rows {
		if all[i].Number != r[0] || all[i].Chinese != r[1] {
			t.Errorf("row %d: catalog has %s %q, seed %s %q", i+1, all[i].Number, all[i].Chinese, r[0], r[1])
		}
		if all[i].English == "" {
			t.Errorf("%s has no English rendering", all[i].Number)
		}
	}
	for number, title := range seedSections(page) {
		c, ok := Lookup(number)
		if !ok {
			t.Errorf("seed has a troubleshooting section for %s, the catalog has no such code", number)
			continue
		}
		if c.Chinese != title {
			t.Errorf("%s: section title %q, catalog %q", number, title, c.Chinese)
		}
		if len(c.Steps) == 0 || c.Remediation == "" {
			t.Errorf("%s: the seed gives troubleshooting steps, the catalog has none", number)
		}
	}
}

// The project is checked out beside the shared seed in development and CI; the testdata
// copy must stay the same page.
func TestTestdataIsTheSeed(t *testing.T) {
	shared, err := os.ReadFile("../../../shared/seed/error-codes.md")
	if os.IsNotExist(err) {
		t.Log("no shared seed beside the checkout; the testdata copy stands alone")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile("testdata/error-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, copied) {
		t.Fatal("testdata/error-codes.md differs from shared/seed/error-codes.md: copy the seed again")
	}
}

func TestCodesAreUniqueAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range catalog {
		if seen[c.Number] {
			t.Errorf("code %s appears twice", c.Number)
		}
		seen[c.Number] = true
		if !regexp.MustCompile(`^\d{7}$`).MatchString(c.Number) {
			t.Errorf("code %q is not seven digits", c.Number)
		}
	}
}

func TestMessage(t *testing.T) {
	c := Must(CannotGetClusterInfo)
	if got, want := c.Message("GET /api/v1/nodes: 403 Forbidden"), "[4313021] 获取集群信息失败: GET /api/v1/nodes: 403 Forbidden"; got != want {
		t.Errorf("Message() = %q, want %q", got, want)
	}
	if got, want := Must(ResourcePoolIsEmpty).Message(""), "[4313022] 资源池为空"; got != want {
		t.Errorf("Message(\"\") = %q, want %q", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Must of an unknown code did not panic")
		}
	}()
	Must("0000000")
}
