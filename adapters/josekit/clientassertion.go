package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clientAssertionLifetime is how long an assertion SignClientAssertion
// makes is valid: one request's worth, as RFC 7523 §3 asks exp to limit
// the window of use.
const clientAssertionLifetime = time.Minute

// SignClientAssertion makes the private_key_jwt assertion (RFC 7523 §2.2,
// §3) with which the client clientID authenticates to audience (the
// token endpoint's URL): iss and sub the client id, a fresh jti, valid
// for a minute from now. keyPEM is the client's private key in PEM
// (PKCS #8, PKCS #1 RSA or SEC 1 EC); its type picks the algorithm:
// RS256 for RSA, ES256 for P-256, EdDSA for Ed25519. kid, when given,
// names the key among the client's registered ones.
func SignClientAssertion(keyPEM []byte, kid, clientID, audience string, now time.Time) (string, error) {
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return "", err
	}
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("client key: EC keys must be on P-256, not %s", k.Curve.Params().Name)
		}
		alg = jose.ES256
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	default:
		return "", fmt.Errorf("client key: a %T cannot sign assertions", key)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("client key: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  jwt.Audience{audience},
		ID:        hex.EncodeToString(jti),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(clientAssertionLifetime)),
	}).Serialize()
}

// parsePrivateKey reads the first PEM block of raw as a private key.
func parsePrivateKey(raw []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("client key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("client key: a %T cannot sign", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("client key: the %s block is not a PKCS #8, PKCS #1 or SEC 1 private key", block.Type)
}
