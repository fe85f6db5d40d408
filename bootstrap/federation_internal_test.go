package bootstrap

import (
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
)

// testRules are the rules of a server whose default audience is aud.
func testRules(aud string) application.FederationRules {
	r := federationRules(Config{})
	r.DefaultAudiences = []string{aud}
	return r
}

func TestFederationFileIsReadWithItsDefaults(t *testing.T) {
	cfg, err := parseFederationFile([]byte(`
issuers:
  - issuer: https://kubernetes.default.svc
    clients:
      - client: orders
        sub: system:serviceaccount:shop:orders
  - issuer: https://token.actions.githubusercontent.com
    jwks_uri: https://token.actions.githubusercontent.com/.well-known/jwks
    audiences: [https://sigil.example]
    algorithms: [RS256]
    max_lifetime: 10m
    clients:
      - client: deployer
        claims: {repository: acme/app, ref: refs/heads/main}
`), t.TempDir(), testRules("https://sigil.example/ms-auth-server"))
	if err != nil {
		t.Fatal(err)
	}
	k8s, ci := cfg[0], cfg[1]
	if k8s.Keys.DiscoveryURL != "https://kubernetes.default.svc/.well-known/openid-configuration" {
		t.Errorf("discovery url %q", k8s.Keys.DiscoveryURL)
	}
	if k8s.Audiences[0] != "https://sigil.example/ms-auth-server" || k8s.MaxLifetime != time.Hour || len(k8s.Algorithms) != 4 {
		t.Errorf("defaults not applied: %+v", k8s)
	}
	if ci.MaxLifetime != 10*time.Minute || ci.Mappings[0].Claims["ref"] != "refs/heads/main" || ci.Keys.JWKSURI == "" {
		t.Errorf("ci issuer: %+v", ci)
	}
}

func TestFederationFileMistakesAreOneLineErrors(t *testing.T) {
	entry := "issuers:\n  - issuer: https://k8s.example\n"
	mapping := "    clients:\n      - client: orders\n        sub: system:serviceaccount:a:b\n"
	cases := map[string]struct{ yaml, want string }{
		"unknown key":     {entry + "    audience: x\n" + mapping, "field audience not found"},
		"no issuers":      {"issuers: []\n", "names no issuers"},
		"no issuer":       {"issuers:\n  - jwks_uri: https://x.example/jwks\n" + mapping, "issuer is required"},
		"two key sources": {entry + "    jwks_uri: https://k8s.example/jwks\n    jwks_file: k.json\n" + mapping, "at most one of"},
		"missing file":    {entry + "    jwks_file: nothing.json\n" + mapping, "jwks_file"},
		"hmac algorithm":  {entry + "    algorithms: [HS256]\n" + mapping, `algorithm "HS256" not allowed`},
		"bad lifetime":    {entry + "    max_lifetime: 48h\n" + mapping, "max_lifetime"},
		"no clients":      {entry, "maps no clients"},
		"catch-all":       {entry + "    clients:\n      - client: orders\n", "name sub or claims"},
		"twice":           {entry + mapping + "  - issuer: https://k8s.example\n" + mapping, "listed twice"},
		"not a url":       {"issuers:\n  - issuer: spiffe-domain\n" + mapping, "not an http(s) URL"},
		"bad jwks_uri":    {entry + "    jwks_uri: ftp://x\n" + mapping, "not an http(s) URL"},
		"second document": {entry + mapping + "---\nissuers: []\n", "more than one YAML document"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseFederationFile([]byte(tc.yaml), t.TempDir(), testRules("https://sigil.example"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line with %q", err, tc.want)
			}
		})
	}
}
