package main

import (
	"archive/tar"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The image is built as `make image` builds it, on the minimal base (root, no
// entrypoint), then opened as a client would open it.
func TestImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is linux/" + runtime.GOARCH + "; it runs only on linux")
	}
	base, err := baseImage("minimal", v1.Platform{OS: "linux", Architecture: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if baseCfg.Config.User != "" || len(baseCfg.Config.Entrypoint) != 0 {
		t.Fatalf("the test base must run as root with no entrypoint: %+v", baseCfg.Config)
	}

	out, sboms := filepath.Join(t.TempDir(), "image"), t.TempDir()
	const version = "0.0.0-test"
	if err := Build(Options{Repo: filepath.Join("..", ".."), Version: version, Base: "minimal", Platforms: []string{"linux/" + runtime.GOARCH}, Out: out,
		Ref: "ghcr.io/paasdiag/paasdiag", SBOM: sboms}); err != nil {
		t.Fatal(err)
	}
	root, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rootManifest.Manifests) != 1 || rootManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "ghcr.io/paasdiag/paasdiag:v"+version {
		t.Fatalf("layout index %+v", rootManifest.Manifests)
	}
	index, err := root.ImageIndex(rootManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("image index %+v", im.Manifests)
	}
	img, err := index.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", cfg.Config.User)
	}
	if !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/manager"}) || len(cfg.Config.Cmd) != 0 {
		t.Errorf("entrypoint %q, cmd %q; want [/manager] and none", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	if cfg.Config.Labels["org.opencontainers.image.version"] != version || cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("labels %v, platform %s/%s", cfg.Config.Labels, cfg.OS, cfg.Architecture)
	}

	// The binary, from the flattened filesystem as a runtime would unpack it.
	binary := filepath.Join(t.TempDir(), "manager")
	if err := extract(mutate.Extract(img), "manager", binary); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is not static: it has a %s program header", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	got, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "paasdiag "+version {
		t.Errorf("--version: %q, %v", got, err)
	}
	help, err := exec.Command(binary, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "-probe-ca-file") {
		t.Errorf("--help: %v\n%s", err, help)
	}

	// The SBOM lists exactly the modules of the binary in the image, as go version -m
	// reads them from it.
	raw, err := os.ReadFile(filepath.Join(sboms, "sbom-linux-"+runtime.GOARCH+".cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name string } `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name, Version string
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &bom); err != nil || bom.BOMFormat != "CycloneDX" {
		t.Fatalf("SBOM: %v, format %q", err, bom.BOMFormat)
	}
	var inSBOM []string
	for _, c := range bom.Components {
		inSBOM = append(inSBOM, c.Name+"@"+c.Version)
	}
	gov, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil {
		t.Fatal(err)
	}
	// dep lines, each replaced by its => line when a replace directive applies (the
	// SBOM names what was built); the mod line is the main module, the SBOM's subject.
	var inBinary []string
	mainModule := ""
	for _, line := range strings.Split(string(gov), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "mod":
			mainModule = f[1]
		case len(f) >= 3 && f[0] == "dep":
			inBinary = append(inBinary, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>" && len(inBinary) > 0:
			inBinary[len(inBinary)-1] = f[1] + "@" + f[2]
		}
	}
	if mainModule != "github.com/paasdiag/paasdiag" || bom.Metadata.Component.Name != mainModule {
		t.Errorf("the binary's main module %q, the SBOM's subject %q: want github.com/paasdiag/paasdiag", mainModule, bom.Metadata.Component.Name)
	}
	sort.Strings(inSBOM)
	sort.Strings(inBinary)
	if len(inBinary) < 20 || !reflect.DeepEqual(inSBOM, inBinary) {
		t.Errorf("the SBOM's %d modules are not the binary's %d:\nSBOM   %v\nbinary %v", len(inSBOM), len(inBinary), inSBOM, inBinary)
	}
}

// extract writes the file name of a flattened image filesystem to dst.
func extract(fs io.ReadCloser, name, dst string) error {
	defer func() { _ = fs.Close() }()
	tr := tar.NewReader(fs)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return errors.New(name + " is not in the image")
		}
		if err != nil {
			return err
		}
		if strings.TrimPrefix(h.Name, "/") != name {
			continue
		}
		if h.Mode&0o111 == 0 {
			return errors.New(name + " is not executable in the image")
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			return err
		}
		return out.Close()
	}
}
