package main

import (
	"crypto"
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

// accessTokenSigningInput is the JWS signing input (RFC 7515 §5.1) of a
// typical Sigil access token (RFC 9068): the header with a kid and
// typ at+jwt, and the claims service-client-jwt gets from the token
// endpoint. Only its length matters to the hash; the signature costs the
// same for any input.
var accessTokenSigningInput = func() []byte {
	b64 := base64.RawURLEncoding
	header := `{"alg":"RS256","kid":"3064751c-e719-4b17-8030-2ba4e1935b0f","typ":"at+jwt"}`
	claims := `{"iss":"http://127.0.0.1:8085/ms-auth-server","sub":"service-client-jwt",` +
		`"aud":"service-client-jwt","exp":1795392319,"iat":1795377919,"nbf":1795377919,` +
		`"jti":"959e8fc3-8a9a-424a-8b52-be89d6c9af83","client_id":"service-client-jwt",` +
		`"scope":"country.read customer.read customer.write"}`
	return []byte(b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims)))
}()

// signRate measures how many RS256 signatures (RSA 2048, PKCS #1 v1.5,
// SHA-256: RFC 7518 §3.3) this machine makes per second with crypto/rsa
// on GOMAXPROCS goroutines: the most tokens per second a server that
// signs each token could ever issue on these cores. It signs for warmup
// first, then counts for d, and reports the CPU this process used.
func signRate(warmup, d time.Duration) (measurement, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return measurement{}, fmt.Errorf("rsa key: %w", err)
	}
	sign := func() error {
		digest := sha256.Sum256(accessTokenSigningInput)
		_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		return err
	}
	if _, err := signFor(sign, warmup); err != nil {
		return measurement{}, err
	}
	cpu0, err := cpuTime(0)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	n, err := signFor(sign, d)
	wall := time.Since(start)
	if err != nil {
		return measurement{}, err
	}
	cpu1, err := cpuTime(0)
	if err != nil {
		return measurement{}, err
	}
	return measurement{
		RPS: float64(n) / wall.Seconds(),
		CPU: cores(cpu1-cpu0, wall),
	}, nil
}

// signFor calls sign on GOMAXPROCS goroutines until d has passed and
// returns how many calls completed.
func signFor(sign func() error, d time.Duration) (int64, error) {
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
