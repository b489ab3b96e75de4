package s3server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// versitygwPackage is the command that Build builds, from the module in versitygw/.
const versitygwPackage = "github.com/versity/versitygw/cmd/versitygw"

// BinaryEnv names a versitygw binary to run instead of the pinned build; nothing is
// built then.
const BinaryEnv = "PAASDIAG_VERSITYGW"

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Build returns the path of the versitygw binary, building it first if needed: from
// the module in versitygw/ beside this file (which pins versitygw and everything it
// links), into bin/versitygw/<version>-<hash> of the checkout, where hash covers the
// pins and the build flags, and copied to a machine-wide cache ($PAASDIAG_CACHE,
// default ~/.cache/paasdiag) that a fresh clone on the same machine reuses. The first
// build takes several minutes on 2 cores; a package whose tests start servers should
// call Build in TestMain before m.Run, where go test's -timeout does not count it.
// Concurrent builds (go test runs packages in parallel) wait for one another.
func Build() (string, error) {
	buildOnce.Do(func() { buildPath, buildErr = build() })
	return buildPath, buildErr
}

// Version is the versitygw version that versitygw/go.mod pins.
func Version() (string, error) {
	f, err := os.Open(filepath.Join(moduleDir(), "go.mod"))
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "github.com/versity/versitygw" {
			return fields[1], nil
		}
		if len(fields) >= 3 && fields[0] == "require" && fields[1] == "github.com/versity/versitygw" {
			return fields[2], nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s/go.mod does not require github.com/versity/versitygw", moduleDir())
}

// moduleDir is the module that pins versitygw.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "versitygw")
}

func build() (string, error) {
	if given := os.Getenv(BinaryEnv); given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, given, err)
		}
		return given, nil
	}
	version, err := Version()
	if err != nil {
		return "", err
	}
	ldflags := "-X=main.Version=" + version
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(moduleDir(), name))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	h.Write([]byte(versitygwPackage + " " + ldflags))
	name := version + "-" + hex.EncodeToString(h.Sum(nil))[:12]
	root := filepath.Join(moduleDir(), "..", "..", "..", "..")
	binary := filepath.Join(root, "bin", "versitygw", name, "versitygw")
	if executable(binary) {
		return binary, nil
	}
	cacheRoot := os.Getenv("PAASDIAG_CACHE")
	if cacheRoot == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cacheRoot = filepath.Join(home, ".cache", "paasdiag")
	}
	cacheDir := filepath.Join(cacheRoot, "versitygw", name)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	cached := filepath.Join(cacheDir, "versitygw")
	if !executable(cached) {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "s3server: building versitygw %s from Go modules (several minutes on 2 cores the first time)\n", version)
		cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", cached+".tmp", versitygwPackage)
		cmd.Dir = moduleDir()
		// The module's own go.mod and go.sum, whatever the caller's go settings.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("building versitygw %s in %s: %w: %s", version, moduleDir(), err, out.String())
		}
		if err := os.Rename(cached+".tmp", cached); err != nil {
			return "", err
		}
		fmt.Fprintf(os.Stderr, "s3server: built versitygw %s in %s\n", version, time.Since(start).Round(time.Second))
	}
	if copyExecutable(cached, binary) != nil {
		// A checkout we cannot write to: the cache will do.
		return cached, nil
	}
	return binary, nil
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func copyExecutable(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(to+".tmp", b, 0o755); err != nil {
		return err
	}
	return os.Rename(to+".tmp", to)
}
