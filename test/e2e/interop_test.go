package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// These tests use OAuth 2.0 and JOSE libraries nobody on this project
// wrote (golang.org/x/oauth2 and lestrrat-go/jwx), and find the endpoints
// through the RFC 8414 metadata rather than knowing them.

// metadata fetches the server metadata from the RFC 8414 §3.1 location
// for an issuer with a path: the well-known segment inserted before it.
func metadata(t *testing.T, n *node) map[string]any {
	t.Helper()
	iss, err := url.Parse(n.Config.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + n.Config.AuthAddr + "/.well-known/oauth-authorization-server" + iss.Path
	r := get(t, u, "")
	if r.Status != http.StatusOK {
		t.Fatalf("metadata at %s: %d %s", u, r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["issuer"] != n.Config.Issuer() {
		t.Fatalf("metadata issuer %v, want %s", m["issuer"], n.Config.Issuer())
	}
	return m
}

func fetchJWKS(t *testing.T, u string) jwk.Set {
	t.Helper()
	r := get(t, u, "")
	set, err := jwk.Parse(r.Body)
	if err != nil {
		t.Fatalf("jwx cannot parse the JWKS: %v\n%s", err, r.Body)
	}
	return set
}

func TestInteropClientCredentialsWithXOAuth2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	m := metadata(t, n)
	tokenURL := m["token_endpoint"].(string)
	for name, style := range map[string]oauth2.AuthStyle{
		"client_secret_basic": oauth2.AuthStyleInHeader,
		"client_secret_post":  oauth2.AuthStyleInParams,
	} {
		t.Run(name, func(t *testing.T) {
			cc := clientcredentials.Config{
				ClientID: jwtClient[0], ClientSecret: jwtClient[1], TokenURL: tokenURL,
				Scopes: []string{"country.read"}, AuthStyle: style,
			}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatalf("x/oauth2 token: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.Extra("scope") != "country.read" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			// The library's own HTTP client carries the token to the resource.
			resp, err := cc.Client(context.Background()).Get(n.ResourceURL + "/country/code/AUS")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "AUSTRALIA") {
				t.Fatalf("resource through x/oauth2 client: %d %s", resp.StatusCode, body)
			}
		})
	}
	t.Run("a wrong secret is an oauth2.RetrieveError with invalid_client", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: jwtClient[0], ClientSecret: "wrong", TokenURL: tokenURL}
		_, err := cc.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("got %v, want a RetrieveError with invalid_client", err)
		}
	})
}

// TestInteropAlgorithms issues a token with each signing algorithm and
// verifies it with jwx from the published JWKS, as RFC 9068 §4 says a
// resource server does, and through Sigil's own resource role.
func TestInteropAlgorithms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	for _, alg := range domain.SigningAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			n := startNode(t, func(c *bootstrap.Config) { c.KeyAlgorithm = alg })
			m := metadata(t, n)
			set := fetchJWKS(t, m["jwks_uri"].(string))
			raw := n.token(t, jwtClient[0], jwtClient[1], "country.read")

			msg, err := jws.Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if typ, _ := h.Type(); typ != "at+jwt" {
				t.Errorf("typ = %q, want at+jwt (RFC 9068 §2.1)", typ)
			}
			if a, _ := h.Algorithm(); a.String() != string(alg) {
				t.Errorf("alg = %v, want %s", a, alg)
			}
			tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set), jwt.WithIssuer(n.Config.Issuer()), jwt.WithValidate(true))
			if err != nil {
				t.Fatalf("jwx rejects the token: %v", err)
			}
			var clientID, scope string
			if err := tok.Get("client_id", &clientID); err != nil || clientID != jwtClient[0] {
				t.Errorf("client_id = %q (%v)", clientID, err)
			}
			if err := tok.Get("scope", &scope); err != nil || scope != "country.read" {
				t.Errorf("scope = %q (%v)", scope, err)
			}
			if sub, _ := tok.Subject(); sub != jwtClient[0] {
				t.Errorf("sub = %q", sub)
			}
			wantCountryAUS(t, get(t, n.ResourceURL+"/country/code/AUS", raw))
		})
	}
}

// TestInteropJWTIntrospection checks the RFC 9701 answer with jwx and the
// published keys.
func TestInteropJWTIntrospection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	m := metadata(t, n)
	set := fetchJWKS(t, m["jwks_uri"].(string))
	opaque := n.token(t, opaqueClient[0], opaqueClient[1], "")

	introspect := func(token, accept string) response {
		form := url.Values{"token": {token}}
		req, _ := http.NewRequest(http.MethodPost, m["introspection_endpoint"].(string), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		req.SetBasicAuth(jwtClient[0], jwtClient[1])
		return do(t, req)
	}
	for _, tc := range []struct {
		token  string
		active bool
	}{{opaque, true}, {"no-such-token", false}} {
		r := introspect(tc.token, "application/token-introspection+jwt")
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/token-introspection+jwt" {
			t.Fatalf("got %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		msg, err := jws.Parse(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if typ, _ := msg.Signatures()[0].ProtectedHeaders().Type(); typ != "token-introspection+jwt" {
			t.Errorf("typ = %q, want token-introspection+jwt (RFC 9701 §5)", typ)
		}
		payload, err := jws.Verify(r.Body, jws.WithKeySet(set))
		if err != nil {
			t.Fatalf("jwx cannot verify the introspection JWT: %v", err)
		}
		var claims struct {
			Iss   string          `json:"iss"`
			Aud   json.RawMessage `json:"aud"`
			Iat   int64           `json:"iat"`
			RawTI json.RawMessage `json:"token_introspection"`
			TI    map[string]any  `json:"-"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(claims.RawTI, &claims.TI); err != nil {
			t.Fatalf("token_introspection %s: %v", claims.RawTI, err)
		}
		// The signed answer carries the plain one, byte for byte.
		if plain := introspect(tc.token, ""); plain.Status != 200 || string(plain.Body) != string(claims.RawTI) {
			t.Errorf("token_introspection %s; the plain answer is %d %s", claims.RawTI, plain.Status, plain.Body)
		}
		if claims.Iss != n.Config.Issuer() || !strings.Contains(string(claims.Aud), jwtClient[0]) || claims.Iat == 0 {
			t.Errorf("outer claims %+v", claims)
		}
		if claims.TI["active"] != tc.active {
			t.Errorf("token_introspection %v, want active %v", claims.TI, tc.active)
		}
		if tc.active && claims.TI["client_id"] != opaqueClient[0] {
			t.Errorf("token_introspection %v", claims.TI)
		}
		if !tc.active && len(claims.TI) != 1 {
			t.Errorf("inactive token_introspection must be exactly {active:false}: %v", claims.TI)
		}
	}
}
