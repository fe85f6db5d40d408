package josekit_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
)

// everyAlgorithm is every algorithm the signer knows: the four Sigil
// generates keys for, and the longer hashes and curves an imported key
// may use. ES512 matters most: its R and S are 66 bytes, the one size
// where left padding is not to a multiple of eight.
var everyAlgorithm = slices.Concat(domain.SigningAlgorithms,
	[]domain.Algorithm{"RS384", "RS512", "PS384", "PS512", "ES384", "ES512"})

// signatureSizes are the JWS signature lengths in bytes RFC 7518 §3.3 to
// §3.5 and RFC 8037 §3.1 fix for the keys keyFor makes.
var signatureSizes = map[domain.Algorithm]int{
	"RS256": 256, "RS384": 256, "RS512": 256,
	"PS256": 256, "PS384": 256, "PS512": 256,
	"ES256": 64, "ES384": 96, "ES512": 132,
	"EdDSA": 64,
}

// verifyWithGoJOSE checks raw as a resource server using go-jose would,
// allowing alg alone in the compact serialization, and returns its payload.
func verifyWithGoJOSE(t *testing.T, raw string, alg domain.Algorithm, pub crypto.PublicKey) []byte {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}
	return payload
}

// wantClaims are the claims of token() as a verifier decodes them.
func wantClaims() map[string]any {
	tok := token()
	return map[string]any{
		"iss":       issuer,
		"sub":       "service-client-jwt",
		"aud":       "service-client-jwt",
		"exp":       float64(tok.ExpiresAt.Unix()),
		"iat":       float64(tok.IssuedAt.Unix()),
		"nbf":       float64(tok.NotBefore.Unix()),
		"jti":       tok.ID,
		"client_id": "service-client-jwt",
		"scope":     "country.read customer.read customer.write",
	}
}

func TestSignerSignsWithEveryAlgorithm(t *testing.T) {
	s := josekit.NewSigner()
	for _, alg := range everyAlgorithm {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			raw := signWithSigner(t, s, key, token())

			checkAccessToken(t, raw, alg, key)
			// ES signatures are R || S (RFC 7518 §3.4), not ASN.1 DER,
			// whose length varies from token to token.
			if sig := signature(t, raw); len(sig) != signatureSizes[alg] {
				t.Errorf("signature is %d bytes, want %d", len(sig), signatureSizes[alg])
			}
		})
	}
}

// TestSignerUsesPSSSaltAsLongAsTheHash checks what go-jose's verifier does
// not (it accepts any salt length): RFC 7518 §3.5 fixes the salt at the
// hash's length, and stricter verifiers insist on it.
func TestSignerUsesPSSSaltAsLongAsTheHash(t *testing.T) {
	for alg, h := range map[domain.Algorithm]crypto.Hash{"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512} {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			raw := signWithSigner(t, josekit.NewSigner(), key, token())
			input := raw[:strings.LastIndexByte(raw, '.')]
			d := h.New()
			d.Write([]byte(input))
			err := rsa.VerifyPSS(key.Public().(*rsa.PublicKey), h, d.Sum(nil), signature(t, raw), &rsa.PSSOptions{SaltLength: h.Size()})
			if err != nil {
				t.Errorf("salt is not %d bytes: %v", h.Size(), err)
			}
		})
	}
}

// TestSignerTokensStayIntact signs several tokens in a row: each must keep
// its own bytes, whatever the signer does with the next.
func TestSignerTokensStayIntact(t *testing.T) {
	for _, alg := range domain.SigningAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			s := josekit.NewSigner()
			var raws []string
			for i := range 3 {
				tok := token()
				tok.ID = strings.Repeat("j", i+1)
				raws = append(raws, signWithSigner(t, s, key, tok))
			}
			for i, raw := range raws {
				var c map[string]any
				if err := json.Unmarshal(verifyWithGoJOSE(t, raw, alg, key.Public()), &c); err != nil {
					t.Fatal(err)
				}
				if c["jti"] != strings.Repeat("j", i+1) {
					t.Errorf("token %d has jti %v", i, c["jti"])
				}
			}
		})
	}
}

func TestSignerRebuildsWhenAKidChangesKeyOrAlgorithm(t *testing.T) {
	for _, alg := range domain.SigningAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			a := keyFor(t, alg)
			b := otherKey(t, alg)
			b.ID = a.ID
			s := josekit.NewSigner()
			signWithSigner(t, s, a, token())
			raw := signWithSigner(t, s, b, token())
			verifyWithGoJOSE(t, raw, alg, b.Public())
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(a.Public()); err == nil {
				t.Error("token signed after the kid changed key still verifies with the old key")
			}
		})
	}
	t.Run("RS256 to PS256", func(t *testing.T) {
		a := keyFor(t, domain.PS256)
		a.Algorithm = domain.RS256
		b := keyFor(t, domain.PS256)
		s := josekit.NewSigner()
		signWithSigner(t, s, a, token())
		raw := signWithSigner(t, s, b, token())
		verifyWithGoJOSE(t, raw, domain.PS256, b.Public())
		if h, _ := segments(t, raw); h["alg"] != "PS256" {
			t.Errorf("alg = %v, want PS256", h["alg"])
		}
	})
}

// hsmKey stands for a key held in an HSM or a KMS: a crypto.Signer of a
// type the signer does not know, which it can only ask for signatures.
type hsmKey struct {
	key   crypto.Signer
	signs atomic.Int32
}

func (h *hsmKey) Public() crypto.PublicKey { return h.key.Public() }

func (h *hsmKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.signs.Add(1)
	return h.key.Sign(rand, digest, opts)
}

func TestSignerSignsThroughACryptoSigner(t *testing.T) {
	for _, alg := range domain.SigningAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			hsm := &hsmKey{key: key.Private}
			key.Private = hsm
			raw := signWithSigner(t, josekit.NewSigner(), key, token())
			if hsm.signs.Load() != 1 {
				t.Fatalf("the key's Sign was called %d times, want once", hsm.signs.Load())
			}
			checkAccessToken(t, raw, alg, key)

			raw, err := josekit.NewIntrospectionSigner().SignIntrospection(context.Background(), key, introspectionOf(true))
			if err != nil {
				t.Fatal(err)
			}
			if hsm.signs.Load() != 2 {
				t.Errorf("the introspection signer did not sign through the key")
			}
			if h, _ := verifyIntrospection(t, key, raw); h.ExtraHeaders[jose.HeaderType] != "token-introspection+jwt" {
				t.Errorf("introspection typ = %v", h.ExtraHeaders[jose.HeaderType])
			}
		})
	}
}

// checkAccessToken verifies raw with go-jose under key and checks that
// its claims are token()'s and its header exactly alg, kid and typ.
func checkAccessToken(t *testing.T, raw string, alg domain.Algorithm, key domain.SigningKey) {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(verifyWithGoJOSE(t, raw, alg, key.Public()), &c); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(c, wantClaims()) {
		t.Errorf("claims = %v\nwant %v", c, wantClaims())
	}
	h, _ := segments(t, raw)
	if want := map[string]any{"alg": string(alg), "kid": key.ID, "typ": "at+jwt"}; !maps.Equal(h, want) {
		t.Errorf("header = %v, want exactly %v", h, want)
	}
}

func signWithSigner(t *testing.T, s *josekit.Signer, key domain.SigningKey, tok domain.Token) string {
	t.Helper()
	raw, err := s.SignAccessToken(context.Background(), key, tok)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return raw
}

// signature decodes the third part of a compact JWS.
func signature(t *testing.T, raw string) []byte {
	t.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
	if err != nil {
		t.Fatalf("decode signature: %v", err)
	}
	return sig
}

// otherKey returns a second key for alg, other than keyFor's.
func otherKey(t *testing.T, alg domain.Algorithm) domain.SigningKey {
	t.Helper()
	if alg == domain.RS256 {
		k := rsaKey(t, 1)
		k.Algorithm = alg
		return k
	}
	if alg == domain.PS256 {
		k := rsaKey(t, 0)
		k.Algorithm = alg
		return k
	}
	k, err := josekit.NewKeyGenerator(0).GenerateSigningKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestECDSAAccessTokensAreDeterministicAndIntrospectionAnswersHedged
// checks where each ECDSA signing mode is used. Access tokens each carry
// a fresh jti, so the signer signs them deterministically (RFC 6979): the
// same token gives the same signature. Signed introspection answers can
// repeat, so theirs stay randomized.
func TestECDSAAccessTokensAreDeterministicAndIntrospectionAnswersHedged(t *testing.T) {
	for _, alg := range []domain.Algorithm{"ES256", "ES384", "ES512"} {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			s := josekit.NewSigner()
			first, second := signWithSigner(t, s, key, token()), signWithSigner(t, s, key, token())
			if first != second {
				t.Errorf("the same access token signed twice gave two signatures; want RFC 6979's one")
			}
			verifyWithGoJOSE(t, first, alg, key.Public())

			is := josekit.NewIntrospectionSigner()
			a, err1 := is.SignIntrospection(context.Background(), key, introspectionOf(true))
			b, err2 := is.SignIntrospection(context.Background(), key, introspectionOf(true))
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if a == b {
				t.Errorf("the same introspection answer signed twice gave one signature; want hedged ECDSA")
			}
		})
	}
}

func TestSignerRefusesAnAccessTokenWithoutJTI(t *testing.T) {
	tok := token()
	tok.ID = ""
	if raw, err := josekit.NewSigner().SignAccessToken(context.Background(), keyFor(t, "ES256"), tok); err == nil {
		t.Fatalf("signed a token without jti: %s", raw)
	}
}
