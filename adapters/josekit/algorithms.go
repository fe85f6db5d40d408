package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"slices"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/domain"
)

// minRSABits is the smallest RSA modulus Sigil signs or verifies with
// (RFC 7518 §3.3 requires 2048 bits or more).
const minRSABits = 2048

// algorithm is a JWS algorithm Sigil can sign and verify with, and the test
// a key must pass to be used with it.
type algorithm struct {
	jose jose.SignatureAlgorithm
	fits func(pub crypto.PublicKey) bool
	// scheme and hash are how the direct signer (compact.go) signs: the
	// signature scheme, and the hash of the signing input it signs (none
	// for EdDSA, which hashes inside the scheme).
	scheme scheme
	hash   crypto.Hash
}

// algorithms lists the only algorithms Sigil signs and verifies access
// tokens with: asymmetric ones (RFC 7518 §3.1, RFC 8037 §3.1). "none" and
// the HMAC family are deliberately absent, so that no configuration can
// make a verifier accept an unsigned token or a token "signed" with a
// public key used as an HMAC secret.
var algorithms = map[domain.Algorithm]algorithm{
	"RS256": {jose.RS256, isRSA, schemePKCS1v15, crypto.SHA256},
	"RS384": {jose.RS384, isRSA, schemePKCS1v15, crypto.SHA384},
	"RS512": {jose.RS512, isRSA, schemePKCS1v15, crypto.SHA512},
	"PS256": {jose.PS256, isRSA, schemePSS, crypto.SHA256},
	"PS384": {jose.PS384, isRSA, schemePSS, crypto.SHA384},
	"PS512": {jose.PS512, isRSA, schemePSS, crypto.SHA512},
	"ES256": {jose.ES256, isEC(elliptic.P256()), schemeECDSA, crypto.SHA256},
	"ES384": {jose.ES384, isEC(elliptic.P384()), schemeECDSA, crypto.SHA384},
	"ES512": {jose.ES512, isEC(elliptic.P521()), schemeECDSA, crypto.SHA512},
	// RFC 8037 §3.1: EdDSA with an OKP key; Sigil knows the Ed25519 curve
	// only (Ed448 is not in the standard library).
	"EdDSA": {jose.EdDSA, isEd25519, schemeEd25519, 0},
}

// hmacAlgorithm is an HMAC algorithm a client_secret_jwt assertion may be
// signed with, and the shortest secret it may be checked with: as long as
// the hash output (RFC 7518 §3.2).
type hmacAlgorithm struct {
	jose   jose.SignatureAlgorithm
	minKey int
}

// hmacAlgorithms are accepted on client assertions only, never on access
// tokens: there the secret is the client's own, shared with Sigil alone.
var hmacAlgorithms = map[domain.Algorithm]hmacAlgorithm{
	"HS256": {jose.HS256, 32},
	"HS384": {jose.HS384, 48},
	"HS512": {jose.HS512, 64},
}

// assertionAlgorithms is the allow-list a client assertion is parsed
// with: every asymmetric algorithm and the HMAC ones, never "none".
var assertionAlgorithms = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, 0, len(algorithms)+len(hmacAlgorithms))
	for _, a := range algorithms {
		out = append(out, a.jose)
	}
	for _, h := range hmacAlgorithms {
		out = append(out, h.jose)
	}
	slices.Sort(out)
	return out
}()

// ClientAssertionAlgorithms lists the JWS algorithms ClientAssertions
// accepts, sorted: the server metadata's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2), which
// must not hold "none".
func ClientAssertionAlgorithms() []string {
	out := make([]string, len(assertionAlgorithms))
	for i, a := range assertionAlgorithms {
		out[i] = string(a)
	}
	return out
}

// HMACAlgorithmsFor lists, sorted, the client_secret_jwt algorithms a
// secret of n bytes may sign assertions with: those whose hash is no
// longer than the secret (RFC 7518 §3.2), HS256 from 32 bytes, HS384 from
// 48 and HS512 from 64. Assertions with the others are refused.
func HMACAlgorithmsFor(n int) []string {
	var out []string
	for name, h := range hmacAlgorithms {
		if n >= h.minKey {
			out = append(out, string(name))
		}
	}
	slices.Sort(out)
	return out
}

// HMACMinSecret is the shortest secret alg checks assertions with, 0 for
// an algorithm that is not a client_secret_jwt one.
func HMACMinSecret(alg string) int {
	return hmacAlgorithms[domain.Algorithm(alg)].minKey
}

func isRSA(pub crypto.PublicKey) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && k.N != nil && k.N.BitLen() >= minRSABits
}

// isEC checks the curve too: RFC 7518 §3.4 binds each ES algorithm to one
// curve.
func isEC(curve elliptic.Curve) func(crypto.PublicKey) bool {
	return func(pub crypto.PublicKey) bool {
		k, ok := pub.(*ecdsa.PublicKey)
		return ok && k.Curve == curve
	}
}

func isEd25519(pub crypto.PublicKey) bool {
	k, ok := pub.(ed25519.PublicKey)
	return ok && len(k) == ed25519.PublicKeySize
}

// fits reports whether pub may be used with alg.
func fits(alg domain.Algorithm, pub crypto.PublicKey) bool {
	a, ok := algorithms[alg]
	return ok && a.fits(pub)
}

// defaultAlgorithm guesses the algorithm of a key published without alg
// (RFC 7517 §4.4 makes it optional; Spring Authorization Server omits it):
// RS256 for RSA, the curve's ES algorithm for EC, EdDSA for Ed25519.
func defaultAlgorithm(pub crypto.PublicKey) domain.Algorithm {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return domain.RS256
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256"
		case elliptic.P384():
			return "ES384"
		case elliptic.P521():
			return "ES512"
		}
	case ed25519.PublicKey:
		return domain.EdDSA
	}
	return ""
}

// samePublicKey reports whether a and b are the same public key. All the
// standard library's key types have an Equal method.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
