// Package dpopclient makes DPoP proofs (RFC 9449 §4.2) for tests and the
// load harness, with the standard library alone, so that what Sigil
// checks is not checked by Sigil's own code. Options let a test break any
// one property of a proof.
package dpopclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"time"
)

var b64 = base64.RawURLEncoding

// Key is a client's DPoP key.
type Key struct {
	Alg  string
	priv crypto.Signer
	// JWK is the public key as the proof header carries it.
	JWK map[string]any
	// JKT is its RFC 7638 thumbprint, computed here independently.
	JKT string
}

// NewES256 makes a P-256 key.
func NewES256() *Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	point, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	x, y := point[1:33], point[33:]
	jwk := map[string]any{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(x), "y": b64.EncodeToString(y)}
	return &Key{Alg: "ES256", priv: k, JWK: jwk, JKT: thumb(`{"crv":"P-256","kty":"EC","x":"` + jwk["x"].(string) + `","y":"` + jwk["y"].(string) + `"}`)}
}

// NewEdDSA makes an Ed25519 key.
func NewEdDSA() *Key {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	x := b64.EncodeToString(pub)
	return &Key{Alg: "EdDSA", priv: priv, JWK: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": x},
		JKT: thumb(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`)}
}

// NewRS256 makes a 2048-bit RSA key.
func NewRS256() *Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	n, e := b64.EncodeToString(k.N.Bytes()), b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	return &Key{Alg: "RS256", priv: k, JWK: map[string]any{"kty": "RSA", "n": n, "e": e},
		JKT: thumb(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`)}
}

func thumb(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// Proof is what a proof will say; Make fills what is left empty.
type Proof struct {
	Method, URL string
	// AccessToken, when set, gives the proof its ath.
	AccessToken string
	IssuedAt    time.Time
	ID          string
	Nonce       string
	// Header and Claims replace or add members (nil deletes one), to
	// break a proof on purpose.
	Header map[string]any
	Claims map[string]any
	// Alg signs the proof under another alg header than the key's; HS256
	// makes an HMAC with the key's x as the secret.
	Alg string
	// BadSignature flips a bit of the signature.
	BadSignature bool
}

// Make signs p with k.
func (k *Key) Make(p Proof) string {
	if p.IssuedAt.IsZero() {
		p.IssuedAt = time.Now()
	}
	if p.ID == "" {
		var id [16]byte
		_, _ = rand.Read(id[:])
		p.ID = b64.EncodeToString(id[:])
	}
	alg := k.Alg
	if p.Alg != "" {
		alg = p.Alg
	}
	header := map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": k.JWK}
	claims := map[string]any{"jti": p.ID, "htm": p.Method, "htu": p.URL, "iat": p.IssuedAt.Unix()}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		claims["ath"] = b64.EncodeToString(sum[:])
	}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	merge(header, p.Header)
	merge(claims, p.Claims)
	input := enc(header) + "." + enc(claims)
	sig := k.sign(alg, []byte(input))
	if p.BadSignature {
		sig[len(sig)/2] ^= 1
	}
	return input + "." + b64.EncodeToString(sig)
}

// Private is the key's jwk with its private part: a header carrying it
// must be refused.
func (k *Key) Private() map[string]any {
	out := map[string]any{}
	for n, v := range k.JWK {
		out[n] = v
	}
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		d, err := priv.Bytes()
		if err != nil {
			panic(err)
		}
		out["d"] = b64.EncodeToString(d)
	case ed25519.PrivateKey:
		out["d"] = b64.EncodeToString(priv.Seed())
	case *rsa.PrivateKey:
		out["d"] = b64.EncodeToString(priv.D.Bytes())
	}
	return out
}

func merge(dst, src map[string]any) {
	for n, v := range src {
		if v == nil {
			delete(dst, n)
		} else {
			dst[n] = v
		}
	}
}

func enc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b64.EncodeToString(b)
}

func (k *Key) sign(alg string, input []byte) []byte {
	switch alg {
	case "none":
		return nil
	case "HS256":
		return hmacSHA256([]byte(k.JWK["x"].(string)), input)
	}
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
		if err != nil {
			panic(err)
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, input)
	case *rsa.PrivateKey:
		d := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
	panic("unknown key")
}
