package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestVersion(t *testing.T) {
	// A test binary has no linker-set version and, built by go test, no
	// module version: sigil says so rather than printing nothing.
	code, out, errOut := cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "sigil ") || !strings.Contains(out, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the version line and the Go version", code, out, errOut)
	}
	if first := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]); first == "sigil" {
		t.Errorf("the first line %q names no version", first)
	}

	// A release build's -ldflags -X main.version wins over the build info.
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	code, out, _ = cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "sigil v1.2.3\n") {
		t.Fatalf("with the linker-set version: exit %d, stdout %q", code, out)
	}
	code, out, _ = cli(t, nil, "version", "-o", "json")
	var got buildVersion
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("-o json: exit %d, %v:\n%s", code, err, out)
	}
	if got.Version != "v1.2.3" || got.Go != runtime.Version() || got.Module == "" {
		t.Errorf("-o json gave %+v", got)
	}

	code, out, _ = cli(t, nil, "version", "-o", "yaml")
	got = buildVersion{}
	if err := yaml.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Version != "v1.2.3" || got.Go != runtime.Version() {
		t.Fatalf("-o yaml: exit %d, %v, %+v:\n%s", code, err, got, out)
	}
	for _, args := range [][]string{{"version", "-o", "text"}, {"--version"}} {
		if code, out, _ := cli(t, nil, args...); code != 0 || !strings.HasPrefix(out, "sigil v1.2.3\n") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}
