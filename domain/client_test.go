package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

func TestClientGrantScopes(t *testing.T) {
	c := domain.Client{
		ID:            "service-client-jwt",
		AllowedScopes: domain.NewScopes("country.read", "customer.read", "customer.write"),
		DefaultScopes: domain.NewScopes("country.read"),
	}
	tests := []struct {
		name      string
		requested domain.Scopes
		want      domain.Scopes
	}{
		{"none requested gives the defaults", nil, domain.NewScopes("country.read")},
		{"empty request gives the defaults", domain.Scopes{}, domain.NewScopes("country.read")},
		{"one allowed scope", domain.NewScopes("customer.write"), domain.NewScopes("customer.write")},
		{"allowed subset", domain.NewScopes("customer.read", "customer.write"), domain.NewScopes("customer.read", "customer.write")},
		{"every allowed scope", domain.NewScopes("customer.write", "customer.read", "country.read"), domain.NewScopes("country.read", "customer.read", "customer.write")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GrantScopes(tt.requested)
			if err != nil {
				t.Fatalf("GrantScopes(%q): %v", tt.requested, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("GrantScopes(%q) = %q, want %q", tt.requested, got, tt.want)
			}
		})
	}
}

func TestClientGrantScopesRejectsDisallowed(t *testing.T) {
	c := domain.Client{
		ID:            "user-client-opaque",
		AllowedScopes: domain.NewScopes("country.read"),
		DefaultScopes: domain.NewScopes("country.read"),
	}
	tests := []struct {
		name       string
		requested  domain.Scopes
		disallowed string
	}{
		{"only a disallowed scope", domain.NewScopes("customer.write"), "customer.write"},
		{"an allowed and a disallowed scope", domain.NewScopes("country.read", "customer.read"), "customer.read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GrantScopes(tt.requested)
			if !errors.Is(err, domain.ErrInvalidScope) {
				t.Fatalf("GrantScopes(%q) = %q, %v; want invalid_scope", tt.requested, got, err)
			}
			if got != nil {
				t.Errorf("GrantScopes(%q) granted %q along with its error", tt.requested, got)
			}
			var oerr *domain.Error
			if !errors.As(err, &oerr) || !strings.Contains(oerr.Description, tt.disallowed) {
				t.Errorf("error %v does not name the disallowed scope %q in its description", err, tt.disallowed)
			}
		})
	}
}

func TestClientTokenAudienceWithoutResources(t *testing.T) {
	tests := []struct {
		name      string
		audience  []string
		resources []string
		want      []string
	}{
		{"none configured is the client id", nil, nil, []string{"service-client-jwt"}},
		{"empty resource list is no resource", nil, []string{}, []string{"service-client-jwt"}},
		{"configured", []string{"https://api.example.com", "urn:sigil:countries"}, nil, []string{"https://api.example.com", "urn:sigil:countries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.Client{ID: "service-client-jwt", Audience: tt.audience, Resources: []string{"https://api.example.com/a"}}
			got, err := c.TokenAudience(tt.resources)
			if err != nil {
				t.Fatalf("TokenAudience(%q): %v", tt.resources, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("TokenAudience(%q) = %q, want %q", tt.resources, got, tt.want)
			}
		})
	}
}

// RFC 8707 §2: the resources a request names become the token's aud.
func TestClientTokenAudienceWithResources(t *testing.T) {
	const (
		a = "https://a.example.com/api"
		b = "https://b.example.com"
		q = "http://localhost:8091/ms-system?tenant=7"
	)
	c := domain.Client{ID: "service-client-jwt", Audience: []string{"urn:default"}, Resources: []string{b, a, q}}
	tests := []struct {
		name      string
		resources []string
		want      []string
	}{
		{"one", []string{a}, []string{a}},
		{"several, sorted", []string{b, a}, []string{a, b}},
		{"duplicates dropped", []string{b, a, b, a}, []string{a, b}},
		{"with a query", []string{q}, []string{q}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requested := slices.Clone(tt.resources)
			got, err := c.TokenAudience(requested)
			if err != nil {
				t.Fatalf("TokenAudience(%q): %v", tt.resources, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("TokenAudience(%q) = %q, want %q", tt.resources, got, tt.want)
			}
			if !slices.Equal(requested, tt.resources) {
				t.Errorf("TokenAudience reordered the caller's resources to %q", requested)
			}
		})
	}
}

func TestClientTokenAudienceRejects(t *testing.T) {
	const allowed = "https://a.example.com/api"
	c := domain.Client{
		ID: "service-client-jwt",
		// A relative or fragment resource in the list must not make it
		// acceptable.
		Resources: []string{allowed, "/relative", "https://a.example.com/api#frag", ""},
	}
	tests := []struct {
		name      string
		resources []string
		named     string // in the description, if set
	}{
		{"not in the client's list", []string{"https://other.example.com"}, "https://other.example.com"},
		{"one allowed, one not", []string{allowed, "https://other.example.com"}, "https://other.example.com"},
		{"differs by a trailing slash", []string{allowed + "/"}, ""},
		{"relative URI", []string{"/relative"}, ""},
		{"scheme-relative URI", []string{"//a.example.com/api"}, ""},
		{"URI with a fragment", []string{"https://a.example.com/api#frag"}, ""},
		{"URI with an empty fragment", []string{allowed + "#"}, ""},
		{"empty string", []string{""}, ""},
		{"empty string beside an allowed one", []string{allowed, ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.TokenAudience(tt.resources)
			if !errors.Is(err, domain.ErrInvalidTarget) {
				t.Fatalf("TokenAudience(%q) = %q, %v; want invalid_target", tt.resources, got, err)
			}
			if got != nil {
				t.Errorf("TokenAudience(%q) returned aud %q along with its error", tt.resources, got)
			}
			var oerr *domain.Error
			if tt.named != "" && (!errors.As(err, &oerr) || !strings.Contains(oerr.Description, tt.named)) {
				t.Errorf("error %v does not name the refused resource %q", err, tt.named)
			}
		})
	}
}

func TestValidResourceIndicator(t *testing.T) {
	tests := []struct {
		r    string
		want bool
	}{
		{"https://api.example.com", true},
		{"https://api.example.com/", true},
		{"http://localhost:8091/ms-system", true},
		{"https://api.example.com:8443/v1/countries", true},
		// RFC 8707 §2 tolerates a query component.
		{"https://api.example.com/v1?tenant=7", true},
		// RFC 8707 §2 asks for an absolute URI (RFC 3986 §4.3), which a
		// URN is.
		{"urn:sigil:countries", true},
		{"", false},
		{"/ms-system", false},
		{"ms-system", false},
		{"//api.example.com/v1", false},
		{"https://api.example.com/v1#section", false},
		{"https://api.example.com/v1#", false},
		{"urn:sigil:countries#x", false},
		{" https://api.example.com", false},
		{"https://api.example.com/%zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.r, func(t *testing.T) {
			if got := domain.ValidResourceIndicator(tt.r); got != tt.want {
				t.Errorf("ValidResourceIndicator(%q) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

func TestClientSecretValidAt(t *testing.T) {
	exp := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		secret domain.ClientSecret
		now    time.Time
		want   bool
	}{
		{"no expiry", domain.ClientSecret{ID: "s"}, exp.AddDate(100, 0, 0), true},
		{"long before expiry", domain.ClientSecret{ID: "s", ExpiresAt: exp}, exp.AddDate(0, -1, 0), true},
		{"just before expiry", domain.ClientSecret{ID: "s", ExpiresAt: exp}, exp.Add(-time.Nanosecond), true},
		{"exactly at expiry", domain.ClientSecret{ID: "s", ExpiresAt: exp}, exp, false},
		{"after expiry", domain.ClientSecret{ID: "s", ExpiresAt: exp}, exp.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.secret.ValidAt(tt.now); got != tt.want {
				t.Errorf("secret expiring %v: ValidAt(%v) = %v, want %v", tt.secret.ExpiresAt, tt.now, got, tt.want)
			}
		})
	}
}

func TestClientValidSecrets(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	c := domain.Client{ID: "rotating", Secrets: []domain.ClientSecret{
		{ID: "2026-09", Hash: "h1", ExpiresAt: t0.Add(time.Hour)},
		{ID: "forever", Hash: "h2"},
		{ID: "2026-10", Hash: "h3", ExpiresAt: t0.Add(48 * time.Hour)},
	}}
	ids := func(s []domain.ClientSecret) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.ID)
		}
		return out
	}
	tests := []struct {
		name string
		now  time.Time
		want []string
	}{
		{"all valid, in order", t0, []string{"2026-09", "forever", "2026-10"}},
		{"first expired exactly now", t0.Add(time.Hour), []string{"forever", "2026-10"}},
		{"only the one without expiry", t0.Add(48 * time.Hour), []string{"forever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.ValidSecrets(tt.now)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("ValidSecrets(%v) = %q, want %q", tt.now, ids(got), tt.want)
			}
			for _, s := range got {
				if s.Hash == "" {
					t.Errorf("ValidSecrets dropped the hash of %q", s.ID)
				}
			}
		})
	}

	expired := domain.Client{ID: "expired", Secrets: []domain.ClientSecret{{ID: "old", Hash: "h", ExpiresAt: t0}}}
	if got := expired.ValidSecrets(t0); len(got) != 0 {
		t.Errorf("every secret expired: ValidSecrets = %q, want none", ids(got))
	}
	if got := (domain.Client{ID: "none"}).ValidSecrets(t0); len(got) != 0 {
		t.Errorf("no secrets: ValidSecrets = %q, want none", ids(got))
	}
}

// validClient passes Validate; each case of TestClientValidate breaks one rule.
func validClient() domain.Client {
	return domain.Client{
		ID:            "service-client-jwt",
		Secrets:       []domain.ClientSecret{{ID: "2026-10", Hash: "plain$s"}},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: domain.NewScopes("country.read", "customer.read"),
		DefaultScopes: domain.NewScopes("country.read"),
		Resources:     []string{"http://localhost:8091/ms-system"},
		TokenFormat:   domain.FormatJWT,
		TokenLifetime: 4 * time.Hour,
	}
}

func TestClientValidate(t *testing.T) {
	const jwks = `{"keys":[{"kid":"k1","kty":"EC"}]}`
	tests := []struct {
		name   string
		change func(c *domain.Client)
		ok     bool
	}{
		{"valid", func(*domain.Client) {}, true},
		{"opaque format", func(c *domain.Client) { c.TokenFormat = domain.FormatOpaque }, true},
		{"no default scopes", func(c *domain.Client) { c.DefaultScopes = nil }, true},
		{"no scopes at all", func(c *domain.Client) { c.AllowedScopes, c.DefaultScopes = nil, nil }, true},
		{"no resources", func(c *domain.Client) { c.Resources = nil }, true},
		{"zero lifetime is the default", func(c *domain.Client) { c.TokenLifetime = 0 }, true},
		{"private_key_jwt with jwks, no secret", func(c *domain.Client) {
			c.AuthMethods, c.Secrets, c.JWKS = []domain.AuthMethod{domain.AuthPrivateKeyJWT}, nil, jwks
		}, true},
		{"private_key_jwt with jwks_uri", func(c *domain.Client) {
			c.AuthMethods, c.Secrets, c.JWKSURI = []domain.AuthMethod{domain.AuthPrivateKeyJWT}, nil, "https://client.example.com/jwks"
		}, true},
		{"private_key_jwt beside a secret method", func(c *domain.Client) {
			c.AuthMethods, c.JWKS = append(c.AuthMethods, domain.AuthPrivateKeyJWT), jwks
		}, true},
		{"client_secret_jwt with a secret", func(c *domain.Client) {
			c.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretJWT}
		}, true},

		{"no id", func(c *domain.Client) { c.ID = "" }, false},
		{"no token format", func(c *domain.Client) { c.TokenFormat = "" }, false},
		{"unknown token format", func(c *domain.Client) { c.TokenFormat = "JWT" }, false},
		{"no auth method", func(c *domain.Client) { c.AuthMethods = nil }, false},
		{"unknown auth method", func(c *domain.Client) { c.AuthMethods = append(c.AuthMethods, "tls_client_auth") }, false},
		{"auth method none", func(c *domain.Client) { c.AuthMethods = []domain.AuthMethod{"none"} }, false},
		{"unsupported grant type", func(c *domain.Client) { c.GrantTypes = append(c.GrantTypes, "authorization_code") }, false},
		{"default scope not allowed", func(c *domain.Client) { c.DefaultScopes = domain.NewScopes("country.read", "customer.write") }, false},
		{"relative resource", func(c *domain.Client) { c.Resources = append(c.Resources, "/ms-system") }, false},
		{"resource with a fragment", func(c *domain.Client) { c.Resources = []string{"https://api.example.com/#x"} }, false},
		{"empty resource", func(c *domain.Client) { c.Resources = []string{""} }, false},
		{"client_secret_basic without secret", func(c *domain.Client) {
			c.AuthMethods, c.Secrets = []domain.AuthMethod{domain.AuthClientSecretBasic}, nil
		}, false},
		{"client_secret_post without secret", func(c *domain.Client) {
			c.AuthMethods, c.Secrets = []domain.AuthMethod{domain.AuthClientSecretPost}, nil
		}, false},
		{"client_secret_jwt without secret", func(c *domain.Client) {
			c.AuthMethods, c.Secrets = []domain.AuthMethod{domain.AuthClientSecretJWT}, nil
		}, false},
		{"secret method without secret beside private_key_jwt", func(c *domain.Client) {
			c.AuthMethods, c.Secrets, c.JWKS = []domain.AuthMethod{domain.AuthPrivateKeyJWT, domain.AuthClientSecretPost}, nil, jwks
		}, false},
		{"private_key_jwt without keys", func(c *domain.Client) {
			c.AuthMethods, c.Secrets = []domain.AuthMethod{domain.AuthPrivateKeyJWT}, nil
		}, false},
		{"private_key_jwt with both jwks and jwks_uri", func(c *domain.Client) {
			c.AuthMethods, c.Secrets = []domain.AuthMethod{domain.AuthPrivateKeyJWT}, nil
			c.JWKS, c.JWKSURI = jwks, "https://client.example.com/jwks"
		}, false},
		{"negative lifetime", func(c *domain.Client) { c.TokenLifetime = -time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClient()
			tt.change(&c)
			err := c.Validate()
			if tt.ok {
				if err != nil {
					t.Errorf("Validate() = %v, want nil for %+v", err, c)
				}
				return
			}
			if !errors.Is(err, domain.ErrInvalidClientMetadata) {
				t.Fatalf("Validate() = %v, want invalid_client_metadata", err)
			}
			var oerr *domain.Error
			if !errors.As(err, &oerr) || oerr.Description == "" {
				t.Errorf("Validate() = %v: the operator is not told what is wrong", err)
			}
		})
	}
}

func TestClientLifetime(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		want     time.Duration
	}{
		{"unset is the default", 0, domain.DefaultTokenLifetime},
		{"negative is the default", -time.Minute, domain.DefaultTokenLifetime},
		{"configured", 4 * time.Hour, 4 * time.Hour},
		{"one second", time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.Client{TokenLifetime: tt.lifetime}
			if got := c.Lifetime(); got != tt.want {
				t.Errorf("Lifetime() with TokenLifetime %v = %v, want %v", tt.lifetime, got, tt.want)
			}
		})
	}
	if domain.DefaultTokenLifetime <= 0 {
		t.Errorf("DefaultTokenLifetime = %v, want positive", domain.DefaultTokenLifetime)
	}
}

func TestClientAllowsAuthMethod(t *testing.T) {
	tests := []struct {
		name    string
		methods []domain.AuthMethod
		m       domain.AuthMethod
		want    bool
	}{
		{"basic allowed", []domain.AuthMethod{domain.AuthClientSecretBasic}, domain.AuthClientSecretBasic, true},
		{"post not allowed", []domain.AuthMethod{domain.AuthClientSecretBasic}, domain.AuthClientSecretPost, false},
		{"both allowed", []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}, domain.AuthClientSecretPost, true},
		{"none configured", nil, domain.AuthClientSecretBasic, false},
		{"empty method", []domain.AuthMethod{domain.AuthClientSecretBasic}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.Client{AuthMethods: tt.methods}
			if got := c.AllowsAuthMethod(tt.m); got != tt.want {
				t.Errorf("AllowsAuthMethod(%q) with %q = %v, want %v", tt.m, tt.methods, got, tt.want)
			}
		})
	}
}

func TestClientAllowsGrant(t *testing.T) {
	tests := []struct {
		name   string
		grants []domain.GrantType
		g      domain.GrantType
		want   bool
	}{
		{"client_credentials allowed", []domain.GrantType{domain.GrantClientCredentials}, domain.GrantClientCredentials, true},
		{"other grant", []domain.GrantType{domain.GrantClientCredentials}, "authorization_code", false},
		{"none configured", nil, domain.GrantClientCredentials, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.Client{GrantTypes: tt.grants}
			if got := c.AllowsGrant(tt.g); got != tt.want {
				t.Errorf("AllowsGrant(%q) with %q = %v, want %v", tt.g, tt.grants, got, tt.want)
			}
		})
	}
}

func TestTokenFormatValid(t *testing.T) {
	for f, want := range map[domain.TokenFormat]bool{
		domain.FormatJWT: true, domain.FormatOpaque: true, "": false, "JWT": false, "reference": false,
	} {
		if got := f.Valid(); got != want {
			t.Errorf("TokenFormat(%q).Valid() = %v, want %v", f, got, want)
		}
	}
}
