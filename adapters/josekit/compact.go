package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sigilauth/sigil/domain"
)

// b64 is the JWS encoding of every part of a compact serialization:
// base64url without padding (RFC 7515 §2).
var b64 = base64.RawURLEncoding

// scheme is how a JWS algorithm turns the signing input into a signature.
type scheme uint8

const (
	schemePKCS1v15 scheme = iota + 1 // RSASSA-PKCS1-v1_5, RFC 7518 §3.3
	schemePSS                        // RSASSA-PSS, RFC 7518 §3.5
	schemeECDSA                      // ECDSA, RFC 7518 §3.4
	schemeEd25519                    // EdDSA with Ed25519, RFC 8037 §3.1
)

// pssOptions sets the salt as long as the hash, as RFC 7518 §3.5 requires
// and go-jose and other verifiers expect. It is only ever read.
var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// directSigner makes compact JWSs (RFC 7515 §7.1) under one protected
// header with one key of the standard library's types, calling the crypto
// packages itself. go-jose builds and marshals a header, copies the
// payload and serializes through its own JSON package on every call;
// here all that is done once, at construction, and a token costs one
// buffer, a hash and the signature.
type directSigner struct {
	// prefix is BASE64URL(UTF8(JWS Protected Header)) and the "." after
	// it: the start of every signing input (RFC 7515 §5.1 steps 6 to 8).
	prefix []byte
	scheme scheme
	hash   crypto.Hash
	// sigSize is the signature's length in bytes, known from the key, so
	// that the output buffer can be sized before signing.
	sigSize int

	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
	// deterministic makes ECDSA signatures deterministic (RFC 6979, FIPS
	// 186-5 §6.3): the nonce is derived from the key and the message
	// alone. It is set only for payloads that never repeat (see
	// signerCache.uniquePayloads); otherwise each ECDSA signature is
	// hedged with fresh randomness, as crypto/ecdsa does by default.
	deterministic bool
}

// newDirectSigner returns a directSigner for priv, a key of the standard
// library's types, under the header alg, kid and typ. The caller has
// checked that the key fits alg.
func newDirectSigner(alg domain.Algorithm, kid, typ string, priv crypto.Signer, deterministic bool) (*directSigner, error) {
	s, ok := algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("no signature scheme for %q", alg)
	}
	d := &directSigner{scheme: s.scheme, hash: s.hash, deterministic: deterministic}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if s.scheme != schemePKCS1v15 && s.scheme != schemePSS {
			return nil, fmt.Errorf("rsa key cannot sign %q", alg)
		}
		// Both RSA schemes give a signature as long as the modulus
		// (RFC 8017 §8.1.1, §8.2.1).
		d.rsa, d.sigSize = k, k.Size()
	case *ecdsa.PrivateKey:
		if s.scheme != schemeECDSA {
			return nil, fmt.Errorf("ecdsa key cannot sign %q", alg)
		}
		// R and S, each as long as the curve's order in bytes (RFC 7518
		// §3.4): 32 for P-256, 48 for P-384, 66 for P-521.
		d.ec, d.sigSize = k, 2*((k.Curve.Params().BitSize+7)/8)
	case ed25519.PrivateKey:
		if s.scheme != schemeEd25519 {
			return nil, fmt.Errorf("ed25519 key cannot sign %q", alg)
		}
		// ed25519.Sign panics on a key of another length.
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("ed25519 key is %d bytes, want %d", len(k), ed25519.PrivateKeySize)
		}
		d.ed, d.sigSize = k, ed25519.SignatureSize
	default:
		return nil, fmt.Errorf("%T is not a key of the standard library", priv)
	}
	// The header is written once per key, so encoding/json is cheap enough
	// here and escapes whatever a kid holds. Its members are those go-jose
	// wrote, in the same order: alg (RFC 7515 §4.1.1), kid (§4.1.4), typ
	// (§4.1.9).
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, typ})
	if err != nil {
		return nil, fmt.Errorf("marshal header: %w", err)
	}
	d.prefix = append(b64.AppendEncode(nil, header), '.')
	return d, nil
}

// sign returns the compact JWS of payload: BASE64URL(header) "."
// BASE64URL(payload) "." BASE64URL(signature) (RFC 7515 §7.1), built in
// one buffer sized in advance.
func (d *directSigner) sign(payload []byte) (string, error) {
	inputLen := len(d.prefix) + b64.EncodedLen(len(payload))
	out := make([]byte, 0, inputLen+1+b64.EncodedLen(d.sigSize))
	out = append(out, d.prefix...)
	out = b64.AppendEncode(out, payload)

	var sig []byte
	switch d.scheme {
	case schemeEd25519:
		// Ed25519 signs the JWS Signing Input itself, not a hash of it
		// (RFC 8037 §3.1; RFC 8032 §5.1.6 hashes inside the scheme).
		sig = ed25519.Sign(d.ed, out)
	default:
		var sumBuf [sha512.Size]byte
		digest := sum(&sumBuf, d.hash, out)
		var err error
		switch d.scheme {
		case schemePKCS1v15:
			sig, err = rsa.SignPKCS1v15(rand.Reader, d.rsa, d.hash, digest)
		case schemePSS:
			sig, err = rsa.SignPSS(rand.Reader, d.rsa, d.hash, digest, &pssOptions)
		case schemeECDSA:
			// R || S of P-521, the longest, is 2 × 66 bytes.
			var sigBuf [2 * 66]byte
			sig, err = d.signECDSA(sigBuf[:d.sigSize], digest)
		}
		if err != nil {
			return "", err
		}
	}
	out = append(out, '.')
	return string(b64.AppendEncode(out, sig)), nil
}

// signECDSA signs digest into sig as R || S, each an unsigned big-endian
// integer left-padded to half of sig: the JWS form of RFC 7518 §3.4, read
// out of the ASN.1 DER sequence crypto/ecdsa returns.
func (d *directSigner) signECDSA(sig, digest []byte) ([]byte, error) {
	var der []byte
	var err error
	if d.deterministic {
		// A nil source selects RFC 6979: about a fifth cheaper than the
		// hedged signature, which runs an extra HMAC-DRBG over fresh
		// randomness. Go returns the DER form either way.
		der, err = d.ec.Sign(nil, digest, d.hash)
	} else {
		der, err = ecdsa.SignASN1(rand.Reader, d.ec, digest)
	}
	if err != nil {
		return nil, err
	}
	// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3).
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("ecdsa: malformed signature")
	}
	half := len(sig) / 2
	if !leftPad(sig[:half], r) || !leftPad(sig[half:], s) {
		return nil, errors.New("ecdsa: signature value out of range")
	}
	return sig, nil
}

// leftPad copies the positive DER INTEGER v into dst, big-endian and
// left-padded with zeros. DER puts a zero byte before an integer whose top
// bit is set; it is dropped. It reports false if v does not fit.
func leftPad(dst, v []byte) bool {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > len(dst) {
		return false
	}
	clear(dst[:len(dst)-len(v)])
	copy(dst[len(dst)-len(v):], v)
	return true
}

// sum hashes data with h into buf and returns the digest. The fixed-size
// functions keep the hash state off the heap, where h.New() would not.
func sum(buf *[sha512.Size]byte, h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(data)
		return append(buf[:0], s[:]...)
	case crypto.SHA384:
		s := sha512.Sum384(data)
		return append(buf[:0], s[:]...)
	default:
		s := sha512.Sum512(data)
		return append(buf[:0], s[:]...)
	}
}

// canonicalCompact reports whether raw has the shape of a compact JWS
// (RFC 7515 §7.1): three parts joined by '.', each in the canonical
// base64url encoding without padding (RFC 7515 §2): only the 64 letters of
// the alphabet, no length that leaves a lone character, and zero in the
// bits the last character carries beyond the data (RFC 4648 §3.5).
//
// go-jose decodes with encoding/base64, which skips CR and LF and ignores
// those trailing bits, so without this check a token with a line feed
// inserted, or its last character changed within those bits, verifies as
// the original: many strings for one signed token. Tokens are cached and
// logged by their text, so one token must have one text.
func canonicalCompact(raw string) bool {
	parts := 1
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i < len(raw) && raw[i] != '.' {
			if b64Value(raw[i]) < 0 {
				return false
			}
			continue
		}
		if !canonicalPart(raw[start:i]) {
			return false
		}
		if i < len(raw) {
			parts++
		}
		start = i + 1
	}
	return parts == 3
}

// canonicalPart checks the length and trailing bits of one base64url part
// whose characters are all in the alphabet.
func canonicalPart(p string) bool {
	switch len(p) % 4 {
	case 1:
		return false
	case 2: // one byte: 12 bits written, the low 4 unused
		return b64Value(p[len(p)-1])&0x0f == 0
	case 3: // two bytes: 18 bits written, the low 2 unused
		return b64Value(p[len(p)-1])&0x03 == 0
	}
	return true
}

// b64Value is c's value in the base64url alphabet (RFC 4648 §5), or -1.
func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
