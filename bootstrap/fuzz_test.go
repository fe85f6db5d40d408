package bootstrap

// Fuzz targets for the two files an operator hands Sigil: the clients
// file that `sigil clients apply` reads, which decides who gets tokens for
// what, and the configuration file. Either may be generated or templated.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// clientYAML and secretYAML write a registration back in the clients
// file's own format, every field explicit, to check that what
// ParseClientsFile read survives the trip.
type clientYAML struct {
	ID            string       `yaml:"id"`
	TokenFormat   string       `yaml:"token_format"`
	TokenLifetime string       `yaml:"token_lifetime,omitempty"`
	AuthMethods   []string     `yaml:"auth_methods"`
	Scopes        []string     `yaml:"scopes"`
	DefaultScopes []string     `yaml:"default_scopes"`
	Resources     []string     `yaml:"resources,omitempty"`
	Audience      []string     `yaml:"audience,omitempty"`
	Introspect    bool         `yaml:"introspect"`
	JWKS          string       `yaml:"jwks,omitempty"`
	JWKSURI       string       `yaml:"jwks_uri,omitempty"`
	Secrets       []secretYAML `yaml:"secrets,omitempty"`
}

type secretYAML struct {
	ID        string `yaml:"id"`
	Secret    string `yaml:"secret"`
	ExpiresAt string `yaml:"expires_at,omitempty"`
}

func toYAML(in application.RegisterClientInput) clientYAML {
	c := in.Client
	out := clientYAML{
		ID:            c.ID,
		TokenFormat:   string(c.TokenFormat),
		Scopes:        c.AllowedScopes,
		DefaultScopes: c.DefaultScopes,
		Resources:     c.Resources,
		Audience:      c.Audience,
		Introspect:    c.CanIntrospect,
		JWKS:          c.JWKS,
		JWKSURI:       c.JWKSURI,
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if out.DefaultScopes == nil {
		out.DefaultScopes = []string{}
	}
	if c.TokenLifetime != 0 {
		out.TokenLifetime = c.TokenLifetime.String()
	}
	for _, m := range c.AuthMethods {
		out.AuthMethods = append(out.AuthMethods, string(m))
	}
	for _, s := range in.Secrets {
		y := secretYAML{ID: s.ID, Secret: s.Secret}
		if !s.ExpiresAt.IsZero() {
			y.ExpiresAt = s.ExpiresAt.Format(time.RFC3339Nano)
		}
		out.Secrets = append(out.Secrets, y)
	}
	return out
}

// sameInput compares two registrations, nil and empty lists alike and
// times by instant.
func sameInput(a, b application.RegisterClientInput) bool {
	x, y := a.Client, b.Client
	if x.ID != y.ID || x.TokenFormat != y.TokenFormat || x.TokenLifetime != y.TokenLifetime ||
		!slices.Equal(x.AuthMethods, y.AuthMethods) || !slices.Equal(x.GrantTypes, y.GrantTypes) ||
		!slices.Equal(x.AllowedScopes, y.AllowedScopes) || !slices.Equal(x.DefaultScopes, y.DefaultScopes) ||
		!slices.Equal(x.Resources, y.Resources) || !slices.Equal(x.Audience, y.Audience) ||
		x.CanIntrospect != y.CanIntrospect || x.JWKS != y.JWKS || x.JWKSURI != y.JWKSURI ||
		len(x.Secrets) != 0 || len(y.Secrets) != 0 || len(a.Secrets) != len(b.Secrets) {
		return false
	}
	for i := range a.Secrets {
		s, t := a.Secrets[i], b.Secrets[i]
		if s.ID != t.ID || s.Secret != t.Secret || !s.ExpiresAt.Equal(t.ExpiresAt) {
			return false
		}
	}
	return true
}

// FuzzParseClientsFile checks the clients file reader on any text, with
// every environment variable set to env: it gives registrations or an
// error naming the clients file, never both; each registration is for the
// one grant Sigil has, with scopes normalised and methods and format
// defaulted as documented; written back as a clients file it reads the
// same; and registering it either succeeds, storing a client that passes
// domain validation, or is refused as invalid_client_metadata, never with
// another error.
func FuzzParseClientsFile(f *testing.F) {
	f.Add([]byte(`clients:
  - id: svc-a
    scopes: [country.read, customer.read]
    default_scopes: [country.read]
    secrets:
      - id: "2026-11"
        secret_env: SVC_A_SECRET
        expires_at: 2027-01-01T00:00:00Z
`), "s3cret-from-env")
	f.Add([]byte(`clients:
  - id: api
    token_format: opaque
    token_lifetime: 5m
    auth_methods: [private_key_jwt]
    resources: ["https://api.example.test", "urn:example:api"]
    audience: [api]
    introspect: true
    jwks_uri: https://api.example.test/jwks
`), "")
	f.Add([]byte("clients:\n  - id: x\n    secrets: [{id: a, secret: s, secret_env: E}]\n"), "e")
	f.Add([]byte("clients:\n  - id: x\n    secrets: [{id: a, secret_env: E}]\n"), "")
	f.Add([]byte("clients:\n  - id: x\n    token_lifetime: soon\n"), "")
	f.Add([]byte("clients:\n  - id: x\n    secrets: [{id: a, secret: s, expires_at: tomorrow}]\n"), "")
	f.Add([]byte("clients:\n  - id: x\n    scope: [a]\n"), "")
	f.Add([]byte("clients:\n  - {id: x, scopes: [b, a, b, \"\"], default_scopes: []}\n"), "")
	f.Add([]byte("clients:\n  - {id: x, scopes: [a, b], default_scopes: [b, a, b]}\n"), "")
	f.Add([]byte("clients:\n  - id: x\n    token_lifetime: -1h\n    auth_methods: [client_secret_jwt]\n    secrets: [{id: a, secret: short}]\n"), "")
	f.Add([]byte(""), "")
	f.Add([]byte("clients: 7"), "")
	f.Add([]byte("clients:\n  - id: &a x\n  - id: *a\n"), "")
	f.Fuzz(func(t *testing.T, raw []byte, env string) {
		lookup := func(string) (string, bool) { return env, true }
		inputs, err := ParseClientsFile(raw, lookup)
		if err != nil {
			if inputs != nil {
				t.Fatalf("registrations %v returned with error %v", inputs, err)
			}
			if !strings.HasPrefix(err.Error(), "clients file: ") {
				t.Fatalf("error %q does not name the clients file", err)
			}
			return
		}
		for _, in := range inputs {
			c := in.Client
			if !slices.Equal(c.GrantTypes, []domain.GrantType{domain.GrantClientCredentials}) {
				t.Fatalf("client %q has grant types %v", c.ID, c.GrantTypes)
			}
			if c.TokenFormat == "" || len(c.AuthMethods) == 0 {
				t.Fatalf("client %q has no token format or methods: %+v", c.ID, c)
			}
			for _, s := range []domain.Scopes{c.AllowedScopes, c.DefaultScopes} {
				if !slices.Equal(s, domain.NewScopes(s...)) {
					t.Fatalf("client %q scopes %q are not normalised", c.ID, s)
				}
			}
			for _, s := range in.Secrets {
				if s.Secret == "" && env != "" {
					t.Fatalf("client %q secret %q is empty", c.ID, s.ID)
				}
			}
		}

		docs := make([]clientYAML, len(inputs))
		for i, in := range inputs {
			docs[i] = toYAML(in)
		}
		again, err := yaml.Marshal(map[string]any{"clients": docs})
		if err != nil {
			t.Fatalf("write back: %v", err)
		}
		back, err := ParseClientsFile(again, lookup)
		if err != nil {
			t.Fatalf("written back as\n%s\nthe file is refused: %v", again, err)
		}
		if len(back) != len(inputs) {
			t.Fatalf("written back, %d clients read as %d", len(inputs), len(back))
		}
		for i := range inputs {
			if !sameInput(inputs[i], back[i]) {
				t.Fatalf("client %d written back as\n%s\nreads as %+v\nwant %+v", i, again, back[i], inputs[i])
			}
		}

		for _, in := range inputs {
			clients := fakes.NewClients()
			err := application.NewRegisterClient(clients, fakes.Hasher{}, fakes.Box{}).Handle(context.Background(), in)
			if err != nil {
				if !errors.Is(err, domain.ErrInvalidClientMetadata) {
					t.Fatalf("registering %q: error %v is not invalid_client_metadata", in.Client.ID, err)
				}
				continue
			}
			stored, err := clients.FindClient(context.Background(), in.Client.ID)
			if err != nil {
				t.Fatalf("registered client %q not stored: %v", in.Client.ID, err)
			}
			if err := stored.Validate(); err != nil {
				t.Fatalf("stored client %q fails validation: %v", in.Client.ID, err)
			}
			if len(stored.Secrets) != len(in.Secrets) {
				t.Fatalf("client %q stored with %d secrets, registered with %d", in.Client.ID, len(stored.Secrets), len(in.Secrets))
			}
		}
	})
}

// FuzzConfigFile checks the configuration file reader on any text: the
// same file always gives the same configuration or the same error (a key
// given twice, flat and nested, must not be settled by map order); a
// failure names the config file; and a configuration it gives, written
// back as a flat file of every setting, loads as the same configuration.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("role: auth\nauth_addr: \":9000\"\nkey_algorithm: ES256\n"))
	f.Add([]byte("auth:\n  addr: \":9000\"\nresource:\n  addr: \":9001\"\n"))
	f.Add([]byte("auth_addr: \":1\"\nauth:\n  addr: \":2\"\n"))
	f.Add([]byte("auth-addr: x\n"))
	f.Add([]byte("nosuch: 1\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("role: [auth, resource]\n"))
	f.Add([]byte("role: ~\n"))
	f.Add([]byte(""))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := filepath.Join(dir, "sigil.yaml")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		load := func() (Config, error) {
			c := Defaults()
			return c, applyFile(&c, path)
		}
		first, err := load()
		for range 3 {
			again, err2 := load()
			if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(first, again) {
				t.Fatalf("the same file read twice gave %v and %v:\n%s", err, err2, raw)
			}
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config file") {
				t.Fatalf("error %q does not name the config file", err)
			}
			return
		}
		flat := map[string]string{}
		for _, s := range Settings {
			flat[s.YAMLKey()] = valueOf(s.bind(&first)).String()
		}
		out, err := yaml.Marshal(flat)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := load()
		if err != nil || !reflect.DeepEqual(back, first) {
			t.Fatalf("configuration written back as\n%s\nloads as %+v, %v; want %+v", out, back, err, first)
		}
	})
}

// TestConfigFileRefusesASettingGivenTwice is FuzzConfigFile's finding: a
// setting given flat and nested, or with a dash and an underscore, took
// whichever value map order put last.
func TestConfigFileRefusesASettingGivenTwice(t *testing.T) {
	for _, raw := range []string{
		"auth_addr: \":1\"\nauth:\n  addr: \":2\"\n",
		"auth-addr: \":1\"\nauth_addr: \":1\"\n",
	} {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		c := Defaults()
		err := applyFile(&c, path)
		if err == nil || !strings.Contains(err.Error(), `setting "auth_addr" is given more than once`) {
			t.Errorf("file\n%s\ngave %v, want a setting given twice", raw, err)
		}
	}
}

// applyFile sets in c the settings of the file at path.
func applyFile(c *Config, path string) error {
	src, err := readFile(path)
	if err != nil {
		return err
	}
	_, err = src.applyTo(c)
	return err
}
