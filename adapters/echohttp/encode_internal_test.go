package echohttp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The hand-written encoders must say exactly what encoding/json says for
// the same response structs, which document the wire shapes.

type tokenResponseShape struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope,omitempty"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

type introspectionShape struct {
	Active    bool     `json:"active"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat,omitempty"`
	ID        string   `json:"jti,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type"`
}

func TestTokenResponseIsWhatEncodingJSONWrites(t *testing.T) {
	for _, out := range []application.IssuedToken{
		{AccessToken: "eyJ.a.b", TokenType: "Bearer", ExpiresIn: 14400, Scope: "country.read customer.read"},
		{AccessToken: "opaque-value", TokenType: "Bearer", ExpiresIn: 0},
		{AccessToken: "q\"uote\\<&>\u2028\x01", TokenType: "Bearer", ExpiresIn: -1, Scope: "é"},
	} {
		want, err := json.Marshal(tokenResponseShape{AccessToken: out.AccessToken, Scope: out.Scope, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTokenResponse(nil, out); string(got) != string(want) {
			t.Errorf("token response\n got %s\nwant %s", got, want)
		}
	}
}

func TestIntrospectionIsWhatEncodingJSONWrites(t *testing.T) {
	at := time.Unix(1795377919, 0)
	full := domain.Token{
		ID: "jti-1", Issuer: "http://localhost:8085/ms-auth-server", Subject: "svc", ClientID: "svc",
		Scopes: domain.NewScopes("country.read", "customer.read"), Audience: []string{"https://api.example", "b\"c"},
		IssuedAt: at, NotBefore: at, ExpiresAt: at.Add(4 * time.Hour),
	}
	for name, tok := range map[string]domain.Token{
		"every member": full,
		"bare":         {ExpiresAt: at},
		"one audience": {Subject: "s\n", Audience: []string{"x"}, ExpiresAt: at, Scopes: domain.NewScopes("a")},
	} {
		want, err := json.Marshal(introspectionShape{
			Active: true, Subject: tok.Subject, Audience: tok.Audience, NotBefore: unixSeconds(tok.NotBefore),
			Scope: tok.Scopes.String(), Issuer: tok.Issuer, ExpiresAt: unixSeconds(tok.ExpiresAt),
			IssuedAt: unixSeconds(tok.IssuedAt), ID: tok.ID, ClientID: tok.ClientID, TokenType: domain.TokenTypeBearer,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendIntrospection(nil, tok); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestCountryIsWhatEncodingJSONWrites(t *testing.T) {
	for _, c := range []domain.Country{
		{Alpha2: "AU", Alpha3: "AUS", Name: "Australia"},
		{Alpha2: "CI", Alpha3: "CIV", Name: "Côte d'Ivoire"},
		{Alpha3: "X\\Y", Name: "<\"quoted\">"},
	} {
		want, err := json.Marshal(toCountryJSON(c))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendCountry(nil, c); string(got) != string(want) {
			t.Errorf("country\n got %s\nwant %s", got, want)
		}
	}
}
