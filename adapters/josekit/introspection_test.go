package josekit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	claimset "github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// verifyIntrospection checks raw with the public key via go-jose, as a
// resource server would, and returns its header and claims.
func verifyIntrospection(t *testing.T, key domain.SigningKey, raw string) (jose.Header, map[string]any) {
	t.Helper()
	h, payload := verifiedPayload(t, key, raw)
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return h, claims
}

// verifiedPayload checks raw with the public key via go-jose and returns
// its header and payload.
func verifiedPayload(t *testing.T, key domain.SigningKey, raw string) (jose.Header, []byte) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(key.Algorithm)})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	payload, err := jws.Verify(key.Public())
	if err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}
	return jws.Signatures[0].Protected, payload
}

func introspectionOf(active bool) application.SignedIntrospection {
	r := application.SignedIntrospection{Issuer: issuer, Audience: "resource-server", IssuedAt: epoch.Add(time.Minute)}
	if active {
		tok := token()
		tok.Audience = []string{"https://api.example.test"}
		r.Result = application.Introspection{Active: true, Token: tok}
	}
	return r
}

func TestIntrospectionSignerActive(t *testing.T) {
	for _, alg := range domain.SigningAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			raw, err := josekit.NewIntrospectionSigner().SignIntrospection(context.Background(), key, introspectionOf(true))
			if err != nil {
				t.Fatal(err)
			}
			h, claims := verifyIntrospection(t, key, raw)
			if h.Algorithm != string(alg) || h.KeyID != key.ID || h.ExtraHeaders[jose.HeaderType] != "token-introspection+jwt" {
				t.Errorf("header = %+v", h)
			}
			tok := token()
			want := map[string]any{
				"iss": issuer,
				"aud": "resource-server",
				"iat": float64(epoch.Add(time.Minute).Unix()),
				"token_introspection": map[string]any{
					"active":     true,
					"scope":      "country.read customer.read customer.write",
					"client_id":  "service-client-jwt",
					"sub":        "service-client-jwt",
					"aud":        []any{"https://api.example.test"},
					"iss":        issuer,
					"exp":        float64(tok.ExpiresAt.Unix()),
					"iat":        float64(tok.IssuedAt.Unix()),
					"nbf":        float64(tok.NotBefore.Unix()),
					"jti":        tok.ID,
					"token_type": "Bearer",
				},
			}
			if !reflect.DeepEqual(claims, want) {
				t.Errorf("claims =\n %v\nwant\n %v", claims, want)
			}
		})
	}
}

func TestIntrospectionSignerInactive(t *testing.T) {
	key := keyFor(t, domain.ES256)
	r := introspectionOf(false)
	// Whatever the token held, an inactive answer says nothing more.
	r.Result.Token = token()
	raw, err := josekit.NewIntrospectionSigner().SignIntrospection(context.Background(), key, r)
	if err != nil {
		t.Fatal(err)
	}
	_, claims := verifyIntrospection(t, key, raw)
	if got := claims["token_introspection"]; !reflect.DeepEqual(got, map[string]any{"active": false}) {
		t.Errorf("token_introspection = %v, want exactly {active: false}", got)
	}
	if len(claims) != 4 || claims["aud"] != "resource-server" || claims["iss"] != issuer || claims["iat"] == nil {
		t.Errorf("claims = %v, want iss, aud, iat and token_introspection", claims)
	}
}

// TestIntrospectionResponseIsNotAnAccessToken guards against cross-JWT
// confusion (RFC 8725 §2.8): the same key signs both, the typ tells them
// apart.
func TestIntrospectionResponseIsNotAnAccessToken(t *testing.T) {
	key := keyFor(t, domain.RS256)
	raw, err := josekit.NewIntrospectionSigner().SignIntrospection(context.Background(), key, introspectionOf(true))
	if err != nil {
		t.Fatal(err)
	}
	v := josekit.NewVerifier(ring(key), josekit.VerifierOptions{Issuer: issuer, Clock: fakes.NewClock(epoch)})
	_, err = v.VerifyAccessToken(context.Background(), raw)
	assertInvalid(t, err, "token is not a JWT access token")
}

func TestIntrospectionSignerRefuses(t *testing.T) {
	key := keyFor(t, domain.ES256)
	s := josekit.NewIntrospectionSigner()
	for name, r := range map[string]application.SignedIntrospection{
		"no issuer":   {Audience: "rs", IssuedAt: epoch},
		"no audience": {Issuer: issuer, IssuedAt: epoch},
		"no iat":      {Issuer: issuer, Audience: "rs"},
	} {
		if _, err := s.SignIntrospection(context.Background(), key, r); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	bad := key
	bad.Algorithm = "HS256"
	if _, err := s.SignIntrospection(context.Background(), bad, introspectionOf(false)); err == nil {
		t.Error("signed with HS256")
	}
}

// FuzzSignIntrospection checks, for any answer the use case can give, that
// the signed form carries the plain one: the token_introspection claim of
// the verified JWT is byte for byte what the introspection endpoint sends
// as JSON (claims.AppendIntrospection, itself checked against the one
// definition of the answer), beside exactly iss, aud and iat. aud is split
// on newlines (none when empty), scope on spaces, as in claims'
// FuzzIntrospection.
func FuzzSignIntrospection(f *testing.F) {
	tok := token()
	f.Add(true, tok.Subject, "https://api.example.test\nb", tok.Scopes.String(), tok.Issuer, tok.ID, tok.ClientID,
		tok.NotBefore.Unix(), tok.ExpiresAt.Unix(), tok.IssuedAt.Unix())
	f.Add(false, "svc", "x", "a", "iss", "jti", "svc", int64(1), int64(2), int64(3))
	f.Add(true, "<&>\u2028", "\n", " ", "\x00", "\xff", "é", int64(-1), int64(253402300800), int64(0))
	key := keyFor(f, domain.EdDSA) // the fastest to sign: the payload is what is fuzzed
	signer := josekit.NewIntrospectionSigner()
	f.Fuzz(func(t *testing.T, active bool, sub, aud, scope, iss, jti, clientID string, nbf, exp, iat int64) {
		unix := func(s int64) time.Time {
			if s == 0 {
				return time.Time{}
			}
			return time.Unix(s, 0)
		}
		tok := domain.Token{
			Subject: sub, Issuer: iss, ID: jti, ClientID: clientID,
			Scopes:    domain.Scopes(strings.Split(scope, " ")),
			NotBefore: unix(nbf), ExpiresAt: unix(exp), IssuedAt: unix(iat),
		}
		if aud != "" {
			tok.Audience = strings.Split(aud, "\n")
		}
		r := application.SignedIntrospection{
			Issuer: issuer, Audience: "resource-server", IssuedAt: epoch,
			Result: application.Introspection{Active: active, Token: tok},
		}
		raw, err := signer.SignIntrospection(context.Background(), key, r)
		if err != nil {
			t.Fatal(err)
		}
		_, payload := verifiedPayload(t, key, raw)
		var c map[string]json.RawMessage
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		if plain := claimset.AppendIntrospection(nil, r.Result); !bytes.Equal(c["token_introspection"], plain) {
			t.Fatalf("token_introspection\n %s\nplain answer\n %s", c["token_introspection"], plain)
		}
		if len(c) != 4 || string(c["iss"]) != `"`+issuer+`"` || string(c["aud"]) != `"resource-server"` ||
			string(c["iat"]) != strconv.FormatInt(epoch.Unix(), 10) {
			t.Fatalf("claims %s, want iss, aud and iat beside token_introspection", payload)
		}
	})
}
