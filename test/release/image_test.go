package release_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestContainerImage builds the Containerfile with `go tool task image`
// and checks the image as `podman run` would use it: a non-root user,
// both ports, a health check that needs nothing but sigil, serve by
// default, and a binary that runs on the empty base. It needs buildah
// (Debian's package builds FROM scratch offline and without a daemon).
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sigil and a container image")
	}
	buildah, err := exec.LookPath("buildah")
	if err != nil {
		t.Skip("buildah is not installed (apt-get install buildah): the container image is not built")
	}
	const version = "v0.0.0-imagetest"
	image := fmt.Sprintf("localhost/sigil-releasetest:%d", os.Getpid())
	cmd := exec.Command("go", "tool", "task", "image", "VERSION="+version, "IMAGE="+image, "CONTEXT="+t.TempDir())
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("task image: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(buildah, "rmi", "-f", image).Run() })

	out, err := exec.Command(buildah, "inspect", "--type", "image", image).Output()
	if err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	var inspect struct {
		Docker struct {
			Config struct {
				User         string
				ExposedPorts map[string]struct{}
				Entrypoint   []string
				Cmd          []string
				Healthcheck  struct{ Test []string }
			}
		}
	}
	if err := json.Unmarshal(out, &inspect); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	config := inspect.Docker.Config
	if config.User != "65532:65532" {
		t.Errorf("the image runs as %q; want 65532:65532", config.User)
	}
	for _, port := range []string{"8085/tcp", "8091/tcp"} {
		if _, ok := config.ExposedPorts[port]; !ok {
			t.Errorf("the image does not expose %s: %v", port, config.ExposedPorts)
		}
	}
	if !slices.Equal(config.Entrypoint, []string{"/sigil"}) || !slices.Equal(config.Cmd, []string{"serve"}) {
		t.Errorf("the image runs %v %v; want /sigil serve", config.Entrypoint, config.Cmd)
	}
	if !slices.Equal(config.Healthcheck.Test, []string{"CMD", "/sigil", "healthcheck", "--url", "http://127.0.0.1:8085/healthz"}) {
		t.Errorf("the health check is %v", config.Healthcheck.Test)
	}

	// The binary runs on the empty base, and is the release build.
	ctr, err := exec.Command(buildah, "from", image).Output()
	if err != nil {
		t.Fatalf("buildah from: %v", err)
	}
	name := strings.TrimSpace(string(ctr))
	t.Cleanup(func() { _ = exec.Command(buildah, "rm", name).Run() })
	out, err = exec.Command(buildah, "run", "--isolation", "chroot", name, "--", "/sigil", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sigil "+version+"\n") {
		t.Fatalf("sigil version in the image: %v\n%s", err, out)
	}
	// As the image's user, in its working folder, the default database
	// and its key-encryption key can be made.
	out, err = exec.Command(buildah, "run", "--isolation", "chroot", name, "--", "/sigil", "migrate", "--log-level", "warn").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "database ready: ") {
		t.Fatalf("sigil migrate in the image: %v\n%s", err, out)
	}
}
