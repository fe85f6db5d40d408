package josekit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
)

func TestKeySetEncoderHasExactlyThePublicMembers(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	b.State = domain.KeyRetired
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("unmarshal %s: %v", doc, err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("got %d keys, want 2", len(set.Keys))
	}
	for i, k := range []domain.SigningKey{a, b} {
		got := set.Keys[i]
		members := make([]string, 0, len(got))
		for m := range got {
			members = append(members, m)
		}
		slices.Sort(members)
		if want := []string{"alg", "e", "kid", "kty", "n", "use"}; !slices.Equal(members, want) {
			t.Errorf("key %d members = %v, want %v", i, members, want)
		}
		pub := rsaPrivate(k).PublicKey
		if got["kty"] != "RSA" || got["kid"] != k.ID || got["use"] != "sig" || got["alg"] != "RS256" ||
			got["n"] != base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) ||
			got["e"] != base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()) {
			t.Errorf("key %d = %v, want the public key %s", i, got, k.ID)
		}
	}
	// Belt and braces: no private member name anywhere in the document.
	for _, m := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `"k"`} {
		if bytes.Contains(doc, []byte(m)) {
			t.Errorf("document contains %s: %s", m, doc)
		}
	}
}

func TestKeySetEncoderEmptySetIsAnEmptyArray(t *testing.T) {
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != `{"keys":[]}` {
		t.Errorf("empty set = %s, want {\"keys\":[]}", doc)
	}
}

func TestKeySetEncoderRefusesKeysThatDoNotFitTheirAlgorithm(t *testing.T) {
	k := rsaKey(t, 0)
	k.Algorithm = "ES256"
	if _, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{k}); err == nil {
		t.Error("published an RSA key as ES256")
	}
	if _, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{{ID: "x", Algorithm: domain.RS256}}); err == nil {
		t.Error("published a key without material")
	}
}
