// Package release_test builds what Sigil ships, as an operator would: the
// release binaries with their checksums, and the container image.
package release_test

import (
	"bufio"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// root is the repository, two folders up from this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// release runs `go tool task release` for the platforms given into a
// temporary folder and returns that folder.
func release(t *testing.T, version string, platforms ...string) string {
	t.Helper()
	dist := t.TempDir()
	cmd := exec.Command("go", "tool", "task", "release", "VERSION="+version, "DIST="+dist, "PLATFORMS="+strings.Join(platforms, " "))
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("task release: %v\n%s", err, out)
	}
	return dist
}

// TestReleaseBuild builds the host's release binary (the four platforms
// cross-compile the same way, CGO-free, but take minutes on a cold cache)
// and checks what a user downloading it would: it says its version, it
// is static and trimmed, and SHA256SUMS matches the files.
func TestReleaseBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sigil with the release task")
	}
	const version = "v0.0.0-releasetest"
	host := runtime.GOOS + "/" + runtime.GOARCH
	dist := release(t, version, host)
	bin := filepath.Join(dist, "sigil-"+runtime.GOOS+"-"+runtime.GOARCH)

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sigil "+version+"\n") {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// The version output above shows the -X stamp: -trimpath keeps
	// -ldflags out of the build info.
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("the binary was built with %v; want CGO_ENABLED=0 and -trimpath", settings)
	}

	sums, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	listed := map[string]bool{}
	scanner := bufio.NewScanner(sums)
	for scanner.Scan() {
		sum, name, ok := strings.Cut(scanner.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not in sha256sum's format", scanner.Text())
		}
		body, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatalf("SHA256SUMS lists %s: %v", name, err)
		}
		if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s has SHA-256 %x; SHA256SUMS says %s", name, got, sum)
		}
		listed[name] = true
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if !listed[filepath.Base(bin)] || len(listed) != 1 {
		t.Errorf("SHA256SUMS lists %v; want %s alone", listed, filepath.Base(bin))
	}
	if path, err := exec.LookPath("sha256sum"); err == nil {
		check := exec.Command(path, "-c", "SHA256SUMS")
		check.Dir = dist
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}
