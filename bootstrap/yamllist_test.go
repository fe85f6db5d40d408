package bootstrap_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

func loadFile(t *testing.T, yaml string) (bootstrap.Config, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sigil.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return bootstrap.Load([]string{"--config", file}, env(nil))
}

// TestYAMLListsForListSettings: a setting that takes a comma-separated
// list may be written as a YAML list in the file, flat or nested.
func TestYAMLListsForListSettings(t *testing.T) {
	c, err := loadFile(t, `
trusted_proxies: [10.0.0.0/8, 192.168.1.7]
resource:
  algorithms:
    - ES256
    - EdDSA
redis_addr: [127.0.0.1:7000, 127.0.0.1:7001]
`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}; !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v; want %v", c.TrustedProxies, want)
	}
	if want := []domain.Algorithm{domain.ES256, domain.EdDSA}; !slices.Equal(c.ResourceAlgorithms, want) {
		t.Errorf("algorithms %v; want %v", c.ResourceAlgorithms, want)
	}
	if c.RedisAddr != "127.0.0.1:7000,127.0.0.1:7001" {
		t.Errorf("redis addr %q", c.RedisAddr)
	}
}

func TestYAMLListMistakesAreExplained(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"a list for a one-value setting", "auth_addr: [\":9000\", \":9001\"]\n", "auth_addr is a list, but the setting takes one value"},
		{"an item holding a comma", "trusted_proxies: [\"10.0.0.0/8,10.1.0.0/16\"]\n", "trusted_proxies: a list item may not hold a comma"},
		{"a bad item", "trusted_proxies: [10.0.0.0/8, proxy.example]\n", `"proxy.example" is neither a CIDR nor an address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
