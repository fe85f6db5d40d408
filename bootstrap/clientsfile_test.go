package bootstrap

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// env is a process environment holding only vars, read as os.LookupEnv
// reads it.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestClientsFileWithASecondDocumentIsRefused(t *testing.T) {
	one := "clients:\n  - id: a\n    secrets: [{id: s1, secret: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]\n    scopes: [country.read]\n"
	if in, err := ParseClientsFile([]byte(one), env(nil)); err != nil || len(in) != 1 {
		t.Fatalf("one document: %d clients, %v", len(in), err)
	}
	_, err := ParseClientsFile([]byte(one+"---\nclients:\n  - id: b\n    secrets: [{id: s1, secret: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}]\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("a second document was not refused: %v", err)
	}
}

func TestClientsFileDefaults(t *testing.T) {
	in, err := ParseClientsFile([]byte(`
clients:
  - id: billing
    scopes: [country.read, country.write]
    secrets: [{id: s1, secret: billing-secret-0123456789abcdef}]
`), env(nil))
	if err != nil || len(in) != 1 {
		t.Fatalf("%d clients, %v", len(in), err)
	}
	c := in[0].Client
	if c.ID != "billing" || c.TokenFormat != domain.FormatJWT {
		t.Errorf("id %q format %q; want billing, jwt", c.ID, c.TokenFormat)
	}
	if !slices.Equal(c.GrantTypes, []domain.GrantType{domain.GrantClientCredentials}) {
		t.Errorf("grant types %v; want client_credentials alone", c.GrantTypes)
	}
	if !slices.Equal(c.AuthMethods, []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}) {
		t.Errorf("methods %v; want client_secret_basic and client_secret_post", c.AuthMethods)
	}
	if c.DefaultScopes.String() != c.AllowedScopes.String() || c.AllowedScopes.String() != "country.read country.write" {
		t.Errorf("allowed %q, default %q; want both country.read country.write", c.AllowedScopes, c.DefaultScopes)
	}
	if c.CanIntrospect || c.TokenLifetime != 0 || c.JWKS != "" || c.JWKSURI != "" {
		t.Errorf("unasked for: introspect %v, lifetime %s, jwks %q, jwks_uri %q", c.CanIntrospect, c.TokenLifetime, c.JWKS, c.JWKSURI)
	}
	if len(in[0].Secrets) != 1 || in[0].Secrets[0].Secret != "billing-secret-0123456789abcdef" || !in[0].Secrets[0].ExpiresAt.IsZero() {
		t.Errorf("secrets %+v", in[0].Secrets)
	}
}

func TestClientsFileEveryField(t *testing.T) {
	in, err := ParseClientsFile([]byte(`
clients:
  - id: reports
    token_format: opaque
    token_lifetime: 15m
    auth_methods: [private_key_jwt]
    scopes: [country.read, country.write]
    default_scopes: [country.read]
    resources: [https://api.example.com/countries]
    audience: [countries]
    introspect: true
    jwks_uri: https://reports.example.com/jwks.json
    secrets:
      - {id: old, secret_env: REPORTS_OLD, expires_at: "2027-01-31T00:00:00Z"}
      - {id: new, secret: reports-new-secret-0123456789abcd}
`), env(map[string]string{"REPORTS_OLD": "reports-old-secret-0123456789abcd"}))
	if err != nil || len(in) != 1 {
		t.Fatalf("%d clients, %v", len(in), err)
	}
	c := in[0].Client
	if c.TokenFormat != domain.FormatOpaque || c.TokenLifetime != 15*time.Minute {
		t.Errorf("format %q lifetime %s; want opaque, 15m", c.TokenFormat, c.TokenLifetime)
	}
	if !slices.Equal(c.AuthMethods, []domain.AuthMethod{domain.AuthPrivateKeyJWT}) {
		t.Errorf("methods %v; want private_key_jwt alone", c.AuthMethods)
	}
	if c.AllowedScopes.String() != "country.read country.write" || c.DefaultScopes.String() != "country.read" {
		t.Errorf("allowed %q default %q", c.AllowedScopes, c.DefaultScopes)
	}
	if !slices.Equal(c.Resources, []string{"https://api.example.com/countries"}) || !slices.Equal(c.Audience, []string{"countries"}) {
		t.Errorf("resources %v audience %v", c.Resources, c.Audience)
	}
	if !c.CanIntrospect || c.JWKSURI != "https://reports.example.com/jwks.json" {
		t.Errorf("introspect %v jwks_uri %q", c.CanIntrospect, c.JWKSURI)
	}
	s := in[0].Secrets
	if len(s) != 2 || s[0].ID != "old" || s[0].Secret != "reports-old-secret-0123456789abcd" ||
		!s[0].ExpiresAt.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || s[1].ID != "new" || !s[1].ExpiresAt.IsZero() {
		t.Errorf("secrets %+v", s)
	}
}

func TestClientsFileMistakesAreExplained(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"a misspelt key", "clients:\n  - id: a\n    scope: [country.read]\n", "field scope not found"},
		{"a lifetime that is not a duration", "clients:\n  - id: a\n    token_lifetime: an hour\n", `client 1 (a): token_lifetime "an hour" is not a duration`},
		{"an expiry that is not RFC 3339", "clients:\n  - id: a\n    secrets: [{id: s1, secret: x, expires_at: 31/01/2027}]\n", `secret s1: expires_at "31/01/2027" is not an RFC 3339 time`},
		{"a secret and secret_env both", "clients:\n  - id: a\n    secrets: [{id: s1, secret: x, secret_env: A_SECRET}]\n", "secret s1 has both secret and secret_env"},
		{"secret_env naming an unset variable", "clients:\n  - id: a\n  - id: b\n    secrets: [{id: s1, secret_env: B_SECRET}]\n", "client 2 (b): secret s1: environment variable B_SECRET is empty"},
		{"a file that is not YAML", "clients: [\n", "clients file:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseClientsFile([]byte(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
