package josekit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const (
	// maxProofBytes bounds a DPoP proof: a few hundred bytes with an EC
	// key, under 2 KiB with a 4096-bit RSA key in the header.
	maxProofBytes = 8 << 10
	// maxProofIDBytes bounds jti: RFC 9449 §4.2 asks for 96 random bits,
	// and ids are kept by the replay guard.
	maxProofIDBytes = 256
	// dpopKeyCacheSize bounds the parsed proof keys kept, by the text of
	// their jwk: a client sends the same key on every request, and
	// decoding and validating an EC point costs more than a map lookup.
	dpopKeyCacheSize = 10_000
	// dpopProofType is the typ of a DPoP proof (RFC 9449 §4.2).
	dpopProofType = "dpop+jwt"
)

// DefaultDPoPAlgorithms are the proof algorithms accepted when the
// configuration names none: the asymmetric algorithms clients and
// libraries make DPoP proofs with (ES256 above all, RFC 9449 §4.2's
// example), ordered as the metadata lists them.
var DefaultDPoPAlgorithms = []domain.Algorithm{"ES256", "ES384", domain.EdDSA, domain.PS256, domain.RS256}

// DPoPProofs reads and checks DPoP proof JWTs (RFC 9449 §4.3 items 2 to
// 7) with the standard library alone: a proof is small and arrives with
// every protected request, so it is parsed here by hand, without go-jose
// building a JSONWebSignature for it. What the proof says about the
// request (htm, htu, iat, ath) is the domain's to judge.
type DPoPProofs struct {
	allowed []domain.Algorithm
	keys    *application.BoundedCache[string, proofKey]
}

var _ application.DPoPVerifier = (*DPoPProofs)(nil)

// proofKey is a parsed jwk and its RFC 7638 thumbprint.
type proofKey struct {
	pub crypto.PublicKey
	jkt string
}

// NewDPoPProofs accepts proofs signed with one of algs (DefaultDPoPAlgorithms
// when empty). An algorithm that is not asymmetric, "none" and the HMAC
// family above all (RFC 9449 §4.3 item 5), is an error.
func NewDPoPProofs(algs []domain.Algorithm) (*DPoPProofs, error) {
	if len(algs) == 0 {
		algs = DefaultDPoPAlgorithms
	}
	for _, a := range algs {
		if _, ok := algorithms[a]; !ok {
			return nil, fmt.Errorf("algorithm %q may not sign DPoP proofs", a)
		}
	}
	return &DPoPProofs{allowed: slices.Clone(algs), keys: application.NewBoundedCache[string, proofKey](dpopKeyCacheSize)}, nil
}

// Algorithms lists the accepted algorithms: the metadata's
// dpop_signing_alg_values_supported (§5.1) and the algs of a DPoP
// challenge (§7.1).
func (v *DPoPProofs) Algorithms() []string {
	out := make([]string, len(v.allowed))
	for i, a := range v.allowed {
		out[i] = string(a)
	}
	return out
}

func badProof(reason string) error { return domain.ErrInvalidDPoPProof.With(reason) }

var (
	errProofMalformed  = badProof("the DPoP proof is not a well-formed JWT")
	errProofType       = badProof("the DPoP proof's typ is not dpop+jwt")
	errProofAlg        = badProof("the DPoP proof's alg is not allowed")
	errProofCrit       = badProof("the DPoP proof has critical header parameters Sigil does not know")
	errProofPrivateKey = badProof("the DPoP proof's jwk holds a private key")
	errProofKey        = badProof("the DPoP proof's jwk is not a public key fit for its alg")
	errProofClaims     = badProof("the DPoP proof lacks jti, htm, htu or iat")
	errProofSignature  = badProof("the DPoP proof's signature does not verify with its jwk")
)

// proofHeader is the JOSE header of a DPoP proof (§4.2).
type proofHeader struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  json.RawMessage `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

// proofJWK holds the members of a jwk Sigil reads, and those of private
// keys (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2), whose presence alone
// refuses the proof (§4.3 item 7).
type proofJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`

	D   *json.RawMessage `json:"d"`
	P   *json.RawMessage `json:"p"`
	Q   *json.RawMessage `json:"q"`
	DP  *json.RawMessage `json:"dp"`
	DQ  *json.RawMessage `json:"dq"`
	QI  *json.RawMessage `json:"qi"`
	Oth *json.RawMessage `json:"oth"`
	K   *json.RawMessage `json:"k"`
}

func (k *proofJWK) private() bool {
	return k.D != nil || k.P != nil || k.Q != nil || k.DP != nil || k.DQ != nil || k.QI != nil || k.Oth != nil || k.K != nil
}

// proofClaims are the claims of a DPoP proof (§4.2).
type proofClaims struct {
	ID       string             `json:"jti"`
	Method   string             `json:"htm"`
	URL      string             `json:"htu"`
	IssuedAt claims.NumericDate `json:"iat"`
	Ath      string             `json:"ath"`
	Nonce    string             `json:"nonce"`
}

// VerifyDPoPProof implements application.DPoPVerifier.
func (v *DPoPProofs) VerifyDPoPProof(raw string) (domain.DPoPProof, error) {
	if len(raw) > maxProofBytes || !canonicalCompact(raw) {
		return domain.DPoPProof{}, errProofMalformed
	}
	dot1 := strings.IndexByte(raw, '.')
	dot2 := dot1 + 1 + strings.IndexByte(raw[dot1+1:], '.')

	headerJSON, err := b64.DecodeString(raw[:dot1])
	if err != nil {
		return domain.DPoPProof{}, errProofMalformed
	}
	var h proofHeader
	if err := json.Unmarshal(headerJSON, &h); err != nil {
		return domain.DPoPProof{}, errProofMalformed
	}
	// Media types compare case-insensitively (RFC 2045 §5.1).
	if !strings.EqualFold(h.Typ, dpopProofType) {
		return domain.DPoPProof{}, errProofType
	}
	alg := domain.Algorithm(h.Alg)
	if !slices.Contains(v.allowed, alg) {
		return domain.DPoPProof{}, errProofAlg
	}
	if h.Crit != nil {
		return domain.DPoPProof{}, errProofCrit
	}
	key, err := v.proofKey(h.JWK)
	if err != nil {
		return domain.DPoPProof{}, err
	}
	// The key decides what it may sign with (RFC 8725 §3.1): a P-256 key
	// only ES256, an RSA key only RS or PS.
	if !fits(alg, key.pub) {
		return domain.DPoPProof{}, errProofKey
	}

	payloadJSON, err := b64.DecodeString(raw[dot1+1 : dot2])
	if err != nil {
		return domain.DPoPProof{}, errProofMalformed
	}
	var c proofClaims
	if err := json.Unmarshal(payloadJSON, &c); err != nil {
		return domain.DPoPProof{}, errProofMalformed
	}
	if c.ID == "" || c.Method == "" || c.URL == "" || c.IssuedAt == 0 {
		return domain.DPoPProof{}, errProofClaims
	}
	if len(c.ID) > maxProofIDBytes {
		return domain.DPoPProof{}, badProof("the DPoP proof's jti is too long")
	}

	sig, err := b64.DecodeString(raw[dot2+1:])
	if err != nil {
		return domain.DPoPProof{}, errProofMalformed
	}
	if !verifySignature(alg, key.pub, raw[:dot2], sig) {
		return domain.DPoPProof{}, errProofSignature
	}
	return domain.DPoPProof{
		Algorithm:       alg,
		JKT:             key.jkt,
		ID:              c.ID,
		Method:          c.Method,
		URL:             c.URL,
		IssuedAt:        c.IssuedAt.Time(),
		AccessTokenHash: c.Ath,
		Nonce:           c.Nonce,
	}, nil
}

// proofKey parses jwk, or finds it parsed before.
func (v *DPoPProofs) proofKey(jwk json.RawMessage) (proofKey, error) {
	if len(jwk) == 0 {
		return proofKey{}, errProofKey
	}
	// The cache is asked with the bytes; the map lookup does not copy them.
	var zero time.Time
	if k, ok := v.keys.Get(string(jwk), zero); ok {
		return k, nil
	}
	k, err := parseProofKey(jwk)
	if err != nil {
		return proofKey{}, err
	}
	v.keys.Keep(string(jwk), k)
	return k, nil
}

// parseProofKey reads a public jwk of the three types DPoP proofs use
// and computes its thumbprint (RFC 7638 §3): the SHA-256 of the JSON
// object of its required members only, in lexicographic order, without
// white space. The members are taken as they came, which is the
// canonical base64url each was checked to be, so one key has one
// thumbprint.
func parseProofKey(jwk json.RawMessage) (proofKey, error) {
	var k proofJWK
	if err := json.Unmarshal(jwk, &k); err != nil {
		return proofKey{}, errProofKey
	}
	if k.private() {
		return proofKey{}, errProofPrivateKey
	}
	var (
		pub       crypto.PublicKey
		canonical string
	)
	switch k.Kty {
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return proofKey{}, errProofKey
		}
		size := (curve.Params().BitSize + 7) / 8
		x, errX := decodeCanonical(k.X)
		y, errY := decodeCanonical(k.Y)
		// RFC 7518 §6.2.1.2: x and y are exactly as long as the curve's
		// coordinates.
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return proofKey{}, errProofKey
		}
		point := append(append([]byte{4}, x...), y...)
		ec, err := ecdsa.ParseUncompressedPublicKey(curve, point) // checks that the point is on the curve
		if err != nil {
			return proofKey{}, errProofKey
		}
		pub = ec
		canonical = `{"crv":"` + k.Crv + `","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
	case "RSA":
		n, errN := decodeCanonical(k.N)
		e, errE := decodeCanonical(k.E)
		// No leading zero octets (RFC 7518 §6.3.1.1 and §2's Base64urlUInt),
		// so that one key has one text and one thumbprint.
		if errN != nil || errE != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return proofKey{}, errProofKey
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		if exp < 3 || exp%2 == 0 {
			return proofKey{}, errProofKey
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		canonical = `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
	case "OKP":
		x, err := decodeCanonical(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return proofKey{}, errProofKey
		}
		pub = ed25519.PublicKey(x)
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + k.X + `"}`
	default:
		return proofKey{}, errProofKey
	}
	sum := sha256.Sum256([]byte(canonical))
	return proofKey{pub: pub, jkt: b64.EncodeToString(sum[:])}, nil
}

// decodeCanonical decodes s if it is canonical base64url without padding
// (see canonicalPart); anything else is an error, so that the text of a
// member is a function of its value.
func decodeCanonical(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if b64Value(s[i]) < 0 {
			return nil, errProofKey
		}
	}
	if !canonicalPart(s) {
		return nil, errProofKey
	}
	return b64.DecodeString(s)
}

// verifySignature checks sig over input with the standard library, as
// alg says: ECDSA R || S (RFC 7518 §3.4), RSASSA-PKCS1-v1_5 or PSS, or
// Ed25519 over the input itself (RFC 8037 §3.1).
func verifySignature(alg domain.Algorithm, pub crypto.PublicKey, input string, sig []byte) bool {
	a := algorithms[alg]
	if a.scheme == schemeEd25519 {
		return ed25519.Verify(pub.(ed25519.PublicKey), []byte(input), sig)
	}
	var buf [sha512.Size]byte
	digest := sumString(&buf, a.hash, input)
	switch a.scheme {
	case schemeECDSA:
		k := pub.(*ecdsa.PublicKey)
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		der, ok := ecdsaDER(sig[:size], sig[size:])
		return ok && ecdsa.VerifyASN1(k, digest, der)
	case schemePKCS1v15:
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), a.hash, digest, sig) == nil
	case schemePSS:
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), a.hash, digest, sig, &pssOptions) == nil
	}
	return false
}

// sumString is sum over a string, without copying it to a []byte first
// where the compiler can avoid it.
func sumString(buf *[sha512.Size]byte, h crypto.Hash, s string) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(s))
		return append(buf[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384([]byte(s))
		return append(buf[:0], d[:]...)
	default:
		d := sha512.Sum512([]byte(s))
		return append(buf[:0], d[:]...)
	}
}

// ecdsaDER writes R and S, unsigned big-endian integers, as the ASN.1 DER
// ECDSA-Sig-Value crypto/ecdsa verifies (RFC 3279 §2.2.3).
func ecdsaDER(r, s []byte) ([]byte, bool) {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addUnsigned(b, r)
		addUnsigned(b, s)
	})
	der, err := b.Bytes()
	return der, err == nil
}

// addUnsigned adds v as a positive DER INTEGER: leading zeros dropped,
// and one zero byte put back before a top bit that is set.
func addUnsigned(b *cryptobyte.Builder, v []byte) {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) {
		if v[0]&0x80 != 0 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}
