package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// The DPoP rows of issue 12: a token request and a resource GET, each
// with an ES256 proof made ahead of time, every proof unique (a proof
// used twice is refused, and would count as an error), compared with the
// raw rate of verifying such a proof with the standard library on the
// same cores and with the sigil's HTTP ceiling, as the signing rows are:
// ratio = R/V + R/H. Two names for one primitive, as a raw rate is
// measured around the one row it is the reference of.
const (
	dpopTokenRow    = "DPoP token request, JWT ES256"
	dpopResourceRow = "DPoP-protected resource GET, JWT"
	rawDPoPToken    = "raw ES256 proof verification (crypto/ecdsa P-256), token row"
	rawDPoPResource = "raw ES256 proof verification (crypto/ecdsa P-256), resource row"
)

// dpopProofRate bounds the proofs a row can use per second of wrk time:
// more than two cores verify (about 12k/s each in the harness's loop).
const dpopProofRate = 25_000

// wrkThreads is the harness's -t, for the proof scripts' stride, and
// dpopRowSeconds the wrk time of a row (-warmup and -duration): both set
// by bench.
var (
	wrkThreads     = 1
	dpopRowSeconds = 10.0
)

// dpopKey is the one key every DPoP row's proofs are made with.
var dpopKey = sync.OnceValue(func() *proofKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	point, err := k.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	b64 := base64.RawURLEncoding
	header := `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"` +
		b64.EncodeToString(point[1:33]) + `","y":"` + b64.EncodeToString(point[33:]) + `"}}`
	return &proofKey{key: k, header: b64.EncodeToString([]byte(header))}
})

type proofKey struct {
	key    *ecdsa.PrivateKey
	header string // BASE64URL of the protected header
}

// proof makes one proof for method and url, with ath for token when set,
// jti id.
func (k *proofKey) proof(method, url, token, id string, iat int64) string {
	b64 := base64.RawURLEncoding
	ath := ""
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		ath = `,"ath":"` + b64.EncodeToString(sum[:]) + `"`
	}
	payload := fmt.Sprintf(`{"jti":"%s","htm":"%s","htu":"%s","iat":%d%s}`, id, method, url, iat, ath)
	input := k.header + "." + b64.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64.EncodeToString(rawSignature(der))
}

// rawSignature turns a DER ECDSA signature into R || S (RFC 7518 §3.4).
func rawSignature(der []byte) []byte {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) {
		panic("malformed ECDSA signature")
	}
	out := make([]byte, 64)
	r, s = trimZero(r), trimZero(s)
	copy(out[32-len(r):32], r)
	copy(out[64-len(s):], s)
	return out
}

func trimZero(v []byte) []byte {
	for len(v) > 32 && v[0] == 0 {
		v = v[1:]
	}
	return v
}

// proofs makes n unique proofs on every core.
func (k *proofKey) proofs(n int, method, url, token string) []string {
	out := make([]string, n)
	iat := time.Now().Unix()
	prefix := fmt.Sprintf("%x-", time.Now().UnixNano())
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				out[i] = k.proof(method, url, token, fmt.Sprintf("%s%d", prefix, i), iat)
			}
		})
	}
	wg.Wait()
	return out
}

// dpopRequest is r with DPoP proofs made ahead of time: the probe's in
// Header, and enough for the whole row in a file the Lua script reads.
// wrk runs twice per row (warm-up, then measurement) with the same
// script, so the script keeps its place in a second file, every 1,000
// requests and at a margin of 1,000 past it, so that no proof is sent
// twice; each wrk thread takes every wrkThreads-th proof from its own
// offset.
func dpopRequest(r request, method, url, token string, seconds float64) request {
	k := dpopKey()
	n := int(seconds*dpopProofRate) + 10_000
	list := k.proofs(n+1, method, url, token)
	dir, err := os.MkdirTemp("", "sigil-bench-dpop-")
	if err != nil {
		panic(err)
	}
	file := filepath.Join(dir, "proofs")
	if err := os.WriteFile(file, []byte(strings.Join(list[1:], "\n")+"\n"), 0o600); err != nil {
		panic(err)
	}
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	r.Header["DPoP"] = list[0]
	r.Lua = fmt.Sprintf(`
local proofs, offsetFile, stride = {}, %s, %d
for line in io.lines(%s) do proofs[#proofs + 1] = line end
local base = 0
local f = io.open(offsetFile)
if f then base = tonumber(f:read("*l")) or 0; f:close() end
setup = function(thread)
  thread:set("tid", (threads or 0))
  threads = (threads or 0) + 1
end
local n = 0
request = function()
  n = n + 1
  local i = (base + n) * stride + (tid or 0) + 1
  wrk.headers["DPoP"] = proofs[i] or proofs[#proofs]
  if n %% 1000 == 0 and (tid or 0) == 0 then
    local out = io.open(offsetFile, "w")
    out:write(tostring(base + n + 1000))
    out:close()
  end
  return wrk.format()
end
`, mustLua(filepath.Join(dir, "offset")), wrkThreads, mustLua(file))
	return r
}

// dpopTokenRequest is the JWT client's token request with a DPoP proof.
func dpopTokenRequest(s *sigil, _ tokens) request {
	r := tokenRequest(s, jwtClient, jwtSecret)
	return dpopRequest(r, http.MethodPost, s.AuthURL+"/oauth2/token", "", dpopRowSeconds)
}

// dpopResourceRequest is the country lookup with the DPoP-bound token.
func dpopResourceRequest(s *sigil, t tokens) request {
	u := s.ResourceURL + "/country/code/AUS"
	r := request{Method: http.MethodGet, URL: u, Header: map[string]string{"Authorization": "DPoP " + t.DPoP}}
	return dpopRequest(r, http.MethodGet, u, t.DPoP, dpopRowSeconds)
}

// fetchDPoPToken gets the JWT client a token bound to dpopKey.
func fetchDPoPToken(ctx context.Context, s *sigil) (string, error) {
	r := tokenRequest(s, jwtClient, jwtSecret)
	r.Header["DPoP"] = dpopKey().proofs(1, http.MethodPost, s.AuthURL+"/oauth2/token", "")[0]
	return fetchToken(ctx, r)
}

// dpopVerifyPrimitive verifies one proof's signature as sigil's verifier
// ends up doing (adapters/josekit): SHA-256 of the signing input and
// ecdsa.VerifyASN1 with the key, with nothing of Sigil around it. The
// proof's signature is made once: verification costs the same for any.
func dpopVerifyPrimitive() (primitive, error) {
	k := dpopKey()
	proof := k.proof(http.MethodGet, "http://127.0.0.1:8091/ms-system/country/code/AUS", "token", "id", time.Now().Unix())
	i := strings.LastIndexByte(proof, '.')
	input := []byte(proof[:i])
	digest := sha256.Sum256(input)
	der, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		return nil, err
	}
	pub := &k.key.PublicKey
	return func() error {
		d := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(pub, d[:], der) {
			return fmt.Errorf("proof signature does not verify")
		}
		return nil
	}, nil
}
