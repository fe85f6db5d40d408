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

func TestClientTokenAudience(t *testing.T) {
	tests := []struct {
		name     string
		audience []string
		want     []string
	}{
		{"none configured is the client id", nil, []string{"service-client-jwt"}},
		{"configured", []string{"https://api.example.com", "urn:sigil:countries"}, []string{"https://api.example.com", "urn:sigil:countries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.Client{ID: "service-client-jwt", Audience: tt.audience}
			if got := c.TokenAudience(); !slices.Equal(got, tt.want) {
				t.Errorf("TokenAudience() = %q, want %q", got, tt.want)
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
