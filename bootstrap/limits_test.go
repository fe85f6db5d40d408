package bootstrap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
)

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		in   string
		want application.Limit
		bad  bool
	}{
		{"", application.Limit{}, false},
		{"0", application.Limit{}, false},
		{"100/s", application.Limit{Rate: 100, Burst: 100, Period: time.Second}, false},
		{"6000/m", application.Limit{Rate: 6000, Burst: 6000, Period: time.Minute}, false},
		{" 50/h ", application.Limit{Rate: 50, Burst: 50, Period: time.Hour}, false},
		{"100", application.Limit{}, true},
		{"100/d", application.Limit{}, true},
		{"-1/s", application.Limit{}, true},
		{"x/s", application.Limit{}, true},
	}
	for _, tt := range tests {
		got, err := bootstrap.ParseRateLimit(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestLimitSettingsAreChecked(t *testing.T) {
	tests := map[string]func(c *bootstrap.Config){
		"auth-failure-window": func(c *bootstrap.Config) { c.AuthFailureWindow = time.Millisecond },
		"hash-concurrency":    func(c *bootstrap.Config) { c.HashConcurrency = -1 },
		// A limit set in code that no setting could say.
		"token-rate-limit": func(c *bootstrap.Config) {
			c.TokenRateLimit = application.Limit{Rate: 5, Burst: 5, Period: 2 * time.Second}
		},
	}
	for name, change := range tests {
		c := bootstrap.Defaults()
		change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("a bad %s gave %v, want a message naming it", name, err)
		}
	}
	for name, bad := range map[string][2]string{
		"trusted-proxies":  {"10.0.0.0/8, proxy.internal", `"proxy.internal" is neither a CIDR nor an address`},
		"token-rate-limit": {"fast", `"fast" is not a rate such as 100/s`},
	} {
		_, err := bootstrap.Load([]string{"--" + name, bad[0]}, env(nil))
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), bad[1]) {
			t.Errorf("--%s %q gave %v, want a message naming it and saying %s", name, bad[0], err, bad[1])
		}
	}
	c, err := bootstrap.Load([]string{"--trusted-proxies", "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "--token-rate-limit", "100/s"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.TrustedProxies; len(p) != 3 || p[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted proxies %v", p)
	}
	if want := (application.Limit{Rate: 100, Burst: 100, Period: time.Second}); c.TokenRateLimit != want {
		t.Errorf("token rate limit %+v, want %+v", c.TokenRateLimit, want)
	}
}
