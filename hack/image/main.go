// Command image builds the manager's OCI image from Go modules, without a container
// runtime (go-containerregistry's mutate, as ko does): the manager built static for
// each platform, one layer holding /manager, on a base image, run as 65532:65532 with
// /manager as its entrypoint, stamped with the version; written as an OCI image layout.
//
// The release's base is gcr.io/distroless/static:nonroot (-base, pulled from the
// registry). Where nothing can be pulled (this project's CI), -base minimal builds on a
// base made here: an empty image that runs as root with no entrypoint, so that what
// paasdiag's build sets is what the tests see.
//
//	go run ./hack/image -repo . -version 0.1.0 -base minimal -out bin/image
//
// It is its own module so that go-containerregistry stays out of paasdiag's go.mod.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ReleaseBase is the base of the released image.
const ReleaseBase = "gcr.io/distroless/static:nonroot"

// Options say what to build.
type Options struct {
	// Repo is paasdiag's checkout; Version is stamped into the binary and the image.
	Repo, Version string
	// Base is "minimal" or an image reference to pull.
	Base string
	// Platforms are os/arch pairs, e.g. linux/amd64.
	Platforms []string
	// Out is the OCI image layout's directory (replaced).
	Out string
	// Ref names the image in the layout's index (org.opencontainers.image.ref.name).
	Ref string
	// SBOM, if set, is a directory where each platform's binary gets its CycloneDX
	// SBOM, sbom-<os>-<arch>.cdx.json, made by cyclonedx-gomod from the binary's own
	// build information (the modules linked into it, as `go version -m` lists them).
	SBOM string
}

// CycloneDXGomod makes the SBOMs, built from Go modules.
const CycloneDXGomod = "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0"

func main() {
	var o Options
	var platforms string
	flag.StringVar(&o.Repo, "repo", ".", "paasdiag's checkout")
	flag.StringVar(&o.Version, "version", "", "the version (the Makefile's VERSION)")
	flag.StringVar(&o.Base, "base", "minimal", `"minimal" (built here) or an image to pull, e.g. `+ReleaseBase)
	flag.StringVar(&platforms, "platforms", "linux/amd64", "comma-separated os/arch")
	flag.StringVar(&o.Out, "out", "bin/image", "the OCI image layout to write")
	flag.StringVar(&o.Ref, "ref", "ghcr.io/paasdiag/paasdiag", "the image's repository; the tag is v<version>")
	flag.StringVar(&o.SBOM, "sbom", "", "a directory for each platform's CycloneDX SBOM of the manager (none if empty)")
	flag.Parse()
	o.Platforms = strings.Split(platforms, ",")
	if err := Build(o); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s:v%s (%s) to %s\n", o.Ref, o.Version, platforms, o.Out)
}

// Build writes the image (an index of one image per platform) to o.Out.
func Build(o Options) error {
	if o.Version == "" {
		return fmt.Errorf("no -version")
	}
	var adds []mutate.IndexAddendum
	for _, p := range o.Platforms {
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return err
		}
		img, err := build(o, *platform)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	index := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	path, err := layout.Write(o.Out, empty.Index)
	if err != nil {
		return err
	}
	return path.AppendIndex(index, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": fmt.Sprintf("%s:v%s", o.Ref, o.Version)}))
}

func build(o Options, platform v1.Platform) (v1.Image, error) {
	binary, err := compile(o, platform)
	if err != nil {
		return nil, err
	}
	if o.SBOM != "" {
		if err := sbom(binary, filepath.Join(o.SBOM, fmt.Sprintf("sbom-%s-%s.cdx.json", platform.OS, platform.Architecture))); err != nil {
			return nil, fmt.Errorf("SBOM: %w", err)
		}
	}
	layer, err := binaryLayer(binary)
	if err != nil {
		return nil, err
	}
	base, err := baseImage(o.Base, platform)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "paasdiag hack/image: /manager", Comment: "paasdiag " + o.Version}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = platform.OS, platform.Architecture, platform.Variant
	cfg.Config.User = "65532:65532"
	cfg.Config.Entrypoint = []string{"/manager"}
	cfg.Config.Cmd = nil
	cfg.Config.WorkingDir = "/"
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels["org.opencontainers.image.version"] = o.Version
	cfg.Config.Labels["org.opencontainers.image.source"] = "https://github.com/paasdiag/paasdiag"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.MediaType(img, types.OCIManifestSchema1), nil
}

// compile builds the manager static (CGO off), reproducibly (-trimpath, no build ID),
// with the version stamped, for one platform.
func compile(o Options, platform v1.Platform) ([]byte, error) {
	dir, err := os.MkdirTemp("", "paasdiag-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid= -X main.version="+o.Version, "-o", out, ".")
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+platform.OS, "GOARCH="+platform.Architecture, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	return os.ReadFile(out)
}

// sbom writes the CycloneDX SBOM of a binary, from its build information.
func sbom(binary []byte, out string) error {
	dir, err := os.MkdirTemp("", "paasdiag-sbom-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "manager")
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "run", CycloneDXGomod, "bin", "-json", "-output", out, bin)
	cmd.Dir = dir // outside any module: go run pkg@version
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, stderr.String())
	}
	return nil
}

// binaryLayer is a layer holding the binary at /manager, root-owned, 0755, with a fixed
// time so that the same binary gives the same layer.
func binaryLayer(binary []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "manager", Mode: 0o755, Size: int64(len(binary)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// baseImage is the minimal base (empty, root, no entrypoint) or the one pulled.
func baseImage(base string, platform v1.Platform) (v1.Image, error) {
	if base == "minimal" {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return nil, err
	}
	return remote.Image(ref, remote.WithPlatform(platform))
}
