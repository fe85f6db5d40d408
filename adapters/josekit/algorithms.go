package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"

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
}

// algorithms lists the only algorithms Sigil accepts: asymmetric ones
// (RFC 7518 §3.1). "none" and the HMAC family are deliberately absent, so
// that no configuration can make a verifier accept an unsigned token or a
// token "signed" with a public key used as an HMAC secret.
var algorithms = map[domain.Algorithm]algorithm{
	"RS256": {jose.RS256, isRSA},
	"RS384": {jose.RS384, isRSA},
	"RS512": {jose.RS512, isRSA},
	"PS256": {jose.PS256, isRSA},
	"PS384": {jose.PS384, isRSA},
	"PS512": {jose.PS512, isRSA},
	"ES256": {jose.ES256, isEC(elliptic.P256())},
	"ES384": {jose.ES384, isEC(elliptic.P384())},
	"ES512": {jose.ES512, isEC(elliptic.P521())},
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

// fits reports whether pub may be used with alg.
func fits(alg domain.Algorithm, pub crypto.PublicKey) bool {
	a, ok := algorithms[alg]
	return ok && a.fits(pub)
}

// samePublicKey reports whether a and b are the same public key. All the
// standard library's key types have an Equal method.
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
