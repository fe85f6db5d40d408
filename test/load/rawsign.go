package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// signingInput is the JWS signing input (RFC 7515 §5.1) of a typical
// Sigil access token (RFC 9068) signed with alg: the header with a kid
// and typ at+jwt, and the claims service-client-jwt gets from the token
// endpoint. Only its length matters to the hash; the signature costs the
// same for any input.
func signingInput(alg string) []byte {
	b64 := base64.RawURLEncoding
	header := `{"alg":"` + alg + `","kid":"3064751c-e719-4b17-8030-2ba4e1935b0f","typ":"at+jwt"}`
	claims := `{"iss":"http://127.0.0.1:8085/ms-auth-server","sub":"service-client-jwt",` +
		`"aud":"service-client-jwt","exp":1795392319,"iat":1795377919,"nbf":1795377919,` +
		`"jti":"959e8fc3-8a9a-424a-8b52-be89d6c9af83","client_id":"service-client-jwt",` +
		`"scope":"country.read customer.read customer.write"}`
	return []byte(b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims)))
}

// A primitive makes one signature of an access token, as Sigil's signer
// does for alg (adapters/josekit, directSigner.sign): the standard
// library's call, with nothing of Sigil around it.
type primitive func() error

// rsaPrimitive signs RS256: RSA 2048 (--rsa-bits' default), PKCS #1
// v1.5, SHA-256 (RFC 7518 §3.3).
func rsaPrimitive() (primitive, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("rsa key: %w", err)
	}
	input := signingInput("RS256")
	return func() error {
		digest := sha256.Sum256(input)
		_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		return err
	}, nil
}

// ecdsaPrimitive signs ES256: P-256 and SHA-256 (RFC 7518 §3.4), with
// the deterministic nonce of RFC 6979 that Sigil uses for access tokens
// (a nil random source); the conversion of the DER signature to R || S
// that Sigil adds is left out, as it costs next to nothing.
func ecdsaPrimitive() (primitive, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ecdsa key: %w", err)
	}
	input := signingInput("ES256")
	return func() error {
		digest := sha256.Sum256(input)
		_, err := key.Sign(nil, digest[:], crypto.SHA256)
		return err
	}, nil
}

// ed25519Primitive signs EdDSA with Ed25519 (RFC 8037 §3.1), over the
// signing input itself.
func ed25519Primitive() (primitive, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ed25519 key: %w", err)
	}
	input := signingInput("EdDSA")
	return func() error {
		_ = ed25519.Sign(key, input)
		return nil
	}, nil
}

// rawRun measures how many signatures per second this machine makes
// with one primitive's key on GOMAXPROCS goroutines: the most tokens per
// second a server that signs each token could ever issue on these cores.
// It may measure in several spans (see runNode) and adds them up, with
// the CPU this process used.
type rawRun struct {
	sign primitive
	n    int64
	wall time.Duration
	cpu  time.Duration
}

func newRawRun(newPrimitive func() (primitive, error)) (*rawRun, error) {
	sign, err := newPrimitive()
	if err != nil {
		return nil, err
	}
	return &rawRun{sign: sign}, nil
}

// measure signs for warmup without counting, then counts for d.
func (r *rawRun) measure(warmup, d time.Duration) error {
	if _, err := signFor(r.sign, warmup); err != nil {
		return err
	}
	cpu0, err := cpuTime(0)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := signFor(r.sign, d)
	wall := time.Since(start)
	if err != nil {
		return err
	}
	cpu1, err := cpuTime(0)
	if err != nil {
		return err
	}
	r.n += n
	r.wall += wall
	r.cpu += cpu1 - cpu0
	return nil
}

// result is the rate and CPU over every span measured.
func (r *rawRun) result() measurement {
	if r.wall <= 0 {
		return measurement{}
	}
	return measurement{RPS: float64(r.n) / r.wall.Seconds(), CPU: cores(r.cpu, r.wall)}
}

// signRate measures newPrimitive's rate in one span.
func signRate(newPrimitive func() (primitive, error), warmup, d time.Duration) (measurement, error) {
	r, err := newRawRun(newPrimitive)
	if err != nil {
		return measurement{}, err
	}
	if err := r.measure(warmup, d); err != nil {
		return measurement{}, err
	}
	return r.result(), nil
}

// signFor calls sign on GOMAXPROCS goroutines until d has passed and
// returns how many calls completed.
func signFor(sign primitive, d time.Duration) (int64, error) {
	var (
		count    atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := sign(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return count.Load(), firstErr
}
