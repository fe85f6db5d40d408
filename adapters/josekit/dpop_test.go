package josekit_test

import (
	"crypto"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/dpopclient"
)

const proofURL = "https://as.example/ms-auth-server/oauth2/token"

func newProofs(t *testing.T) *josekit.DPoPProofs {
	t.Helper()
	v, err := josekit.NewDPoPProofs(nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDPoPProofAccepted(t *testing.T) {
	v := newProofs(t)
	for _, key := range []*dpopclient.Key{dpopclient.NewES256(), dpopclient.NewEdDSA(), dpopclient.NewRS256()} {
		t.Run(key.Alg, func(t *testing.T) {
			iat := time.Now().Truncate(time.Second)
			raw := key.Make(dpopclient.Proof{Method: "POST", URL: proofURL, IssuedAt: iat, ID: "id-1", AccessToken: "tok", Nonce: "n1"})
			p, err := v.VerifyDPoPProof(raw)
			if err != nil {
				t.Fatalf("VerifyDPoPProof: %v", err)
			}
			// The thumbprint is the one dpopclient computed on its own
			// from RFC 7638's recipe.
			if p.JKT != key.JKT || p.Method != "POST" || p.URL != proofURL || p.ID != "id-1" ||
				!p.IssuedAt.Equal(iat) || p.Nonce != "n1" || p.AccessTokenHash == "" || string(p.Algorithm) != key.Alg {
				t.Errorf("proof = %+v, want jkt %s", p, key.JKT)
			}
			// Again, from the key cache.
			if p2, err := v.VerifyDPoPProof(raw); err != nil || p2.JKT != key.JKT {
				t.Errorf("second read: %v %+v", err, p2)
			}
		})
	}
}

// TestDPoPProofRFC7638Example checks the thumbprint against the example
// of RFC 7638 §3.1.
func TestDPoPProofRFC7638Example(t *testing.T) {
	if got := josekit.ProofKeyThumbprint(t, `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("thumbprint = %s, want RFC 7638's NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", got)
	}
}

func TestDPoPProofRefused(t *testing.T) {
	v := newProofs(t)
	key := dpopclient.NewES256()
	other := dpopclient.NewES256()
	base := dpopclient.Proof{Method: "POST", URL: proofURL}
	with := func(f func(p *dpopclient.Proof)) string {
		p := base
		f(&p)
		return key.Make(p)
	}
	tests := []struct {
		name, raw, reason string
	}{
		{"alg none", with(func(p *dpopclient.Proof) { p.Alg = "none" }), "alg"},
		{"alg HS256", with(func(p *dpopclient.Proof) { p.Alg = "HS256" }), "alg"},
		{"alg of another key type", with(func(p *dpopclient.Proof) { p.Alg = "RS256" }), "jwk"},
		{"missing typ", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"typ": nil} }), "typ"},
		{"typ of an access token", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"typ": "at+jwt"} }), "typ"},
		{"private key in header", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"jwk": key.Private()} }), "private key"},
		{"no jwk", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"jwk": nil} }), "jwk"},
		{"symmetric jwk", with(func(p *dpopclient.Proof) {
			p.Header = map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}
		}), "private key"},
		{"another key's jwk", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"jwk": other.JWK} }), "signature"},
		{"bad signature", with(func(p *dpopclient.Proof) { p.BadSignature = true }), "signature"},
		{"no jti", with(func(p *dpopclient.Proof) { p.Claims = map[string]any{"jti": nil} }), "lacks"},
		{"no htm", with(func(p *dpopclient.Proof) { p.Claims = map[string]any{"htm": nil} }), "lacks"},
		{"no htu", with(func(p *dpopclient.Proof) { p.Claims = map[string]any{"htu": nil} }), "lacks"},
		{"no iat", with(func(p *dpopclient.Proof) { p.Claims = map[string]any{"iat": nil} }), "lacks"},
		{"critical header", with(func(p *dpopclient.Proof) { p.Header = map[string]any{"crit": []string{"x"}} }), "critical"},
		{"not a JWT", "not.a.jwt!", "well-formed"},
		{"two parts", "eyJ0.eyJ0", "well-formed"},
		{"huge", strings.Repeat("a", 9000) + ".a.a", "well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifyDPoPProof(tt.raw)
			var e *domain.Error
			if !errors.As(err, &e) || e.Code != domain.CodeInvalidDPoPProof {
				t.Fatalf("err = %v, want invalid_dpop_proof", err)
			}
			if !strings.Contains(e.Description, tt.reason) {
				t.Errorf("description %q does not say %q", e.Description, tt.reason)
			}
		})
	}
}

func TestNewDPoPProofsRefusesSymmetricAlgorithms(t *testing.T) {
	for _, alg := range []domain.Algorithm{"none", "HS256"} {
		if _, err := josekit.NewDPoPProofs([]domain.Algorithm{alg}); err == nil {
			t.Errorf("NewDPoPProofs(%s) accepted it", alg)
		}
	}
}

// FuzzVerifyDPoPProof checks the hand-written proof reader against
// go-jose on any input: it never panics, and a proof it accepts is one
// go-jose also verifies with the header's jwk, with the same payload and
// the same RFC 7638 thumbprint.
func FuzzVerifyDPoPProof(f *testing.F) {
	for _, k := range []*dpopclient.Key{dpopclient.NewES256(), dpopclient.NewEdDSA()} {
		f.Add(k.Make(dpopclient.Proof{Method: "POST", URL: proofURL}))
		f.Add(k.Make(dpopclient.Proof{Method: "GET", URL: proofURL, AccessToken: "t", Alg: "none"}))
		f.Add(k.Make(dpopclient.Proof{Method: "GET", URL: proofURL, Header: map[string]any{"jwk": k.Private()}}))
	}
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.")
	v, err := josekit.NewDPoPProofs(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.VerifyDPoPProof(raw)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidDPoPProof) {
				t.Fatalf("error %v is not invalid_dpop_proof", err)
			}
			return
		}
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA, jose.PS256, jose.RS256})
		if err != nil || len(jws.Signatures) != 1 {
			t.Fatalf("accepted proof go-jose cannot parse: %v", err)
		}
		jwk := jws.Signatures[0].Protected.JSONWebKey
		if jwk == nil || !jwk.IsPublic() {
			t.Fatalf("accepted proof without a public jwk for go-jose")
		}
		if _, err := jws.Verify(jwk.Key); err != nil {
			t.Fatalf("accepted proof go-jose does not verify: %v", err)
		}
		sum, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(sum) != p.JKT {
			t.Fatalf("thumbprint %s, go-jose's %x (%v)", p.JKT, sum, err)
		}
	})
}
