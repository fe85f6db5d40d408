package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// KeyGenerator makes signing keys with random key ids.
type KeyGenerator struct {
	rsaBits int
}

var _ application.KeyGenerator = (*KeyGenerator)(nil)

// NewKeyGenerator returns a generator of RSA keys of rsaBits bits (2048 if
// 0), of EC keys on the curve each ES algorithm names, and of Ed25519 keys
// for EdDSA (RFC 8037).
func NewKeyGenerator(rsaBits int) *KeyGenerator {
	if rsaBits == 0 {
		rsaBits = minRSABits
	}
	return &KeyGenerator{rsaBits: rsaBits}
}

// GenerateSigningKey makes a key for alg. The kid is a random UUID: it
// says nothing about the key and never repeats.
func (g *KeyGenerator) GenerateSigningKey(alg domain.Algorithm) (domain.SigningKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		if g.rsaBits < minRSABits {
			return domain.SigningKey{}, fmt.Errorf("rsa key size %d is below %d bits", g.rsaBits, minRSABits)
		}
		priv, err = rsa.GenerateKey(rand.Reader, g.rsaBits)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		// An ed25519.PrivateKey value: what go-jose signs with directly
		// and x509.MarshalPKCS8PrivateKey stores.
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return domain.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	kid, err := randomUUID()
	if err != nil {
		return domain.SigningKey{}, err
	}
	return domain.SigningKey{ID: kid, Algorithm: alg, Private: priv}, nil
}

// randomUUID draws a version 4 UUID (RFC 9562 §5.4).
func randomUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
