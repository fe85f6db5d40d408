package domain_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func TestSigningKeyPublished(t *testing.T) {
	tests := []struct {
		state domain.KeyState
		want  bool
	}{
		{domain.KeyPublished, true},
		{domain.KeyActive, true},
		{domain.KeyRetired, true},
		{"", false},
		{"revoked", false},
		{"ACTIVE", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			k := domain.SigningKey{ID: "kid-1", State: tt.state}
			if got := k.Published(); got != tt.want {
				t.Errorf("Published() in state %q = %v, want %v", tt.state, got, tt.want)
			}
		})
	}
}

func TestSigningKeyPublic(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := domain.SigningKey{ID: "kid-1", Private: priv}
	pub, ok := k.Public().(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&priv.PublicKey) {
		t.Errorf("Public() = %v, want the private key's public half", k.Public())
	}
}

func TestAlgorithmSupported(t *testing.T) {
	tests := []struct {
		alg  domain.Algorithm
		want bool
	}{
		{domain.RS256, true},
		{domain.PS256, true},
		{domain.ES256, true},
		{domain.EdDSA, true},
		// HMAC would let anyone who verifies a token forge one.
		{"HS256", false},
		{"none", false},
		{"", false},
		{"rs256", false},
		{"ES384", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			if got := tt.alg.Supported(); got != tt.want {
				t.Errorf("Algorithm(%q).Supported() = %v, want %v", tt.alg, got, tt.want)
			}
		})
	}
	for _, a := range domain.SigningAlgorithms {
		if !a.Supported() {
			t.Errorf("%q is in SigningAlgorithms but not Supported", a)
		}
	}
}
