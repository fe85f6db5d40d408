package application

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// DPoPNonces makes and checks server nonces for DPoP proofs (RFC 9449
// §8). A nonce is the number of a time step and a MAC of it under a key
// every node holds, so any node accepts a nonce another made, without
// storing anything or talking to anyone: base64url of the step (8 bytes,
// big-endian) and the first 16 bytes of HMAC-SHA256(key, step). Nonces
// rotate every step and are accepted during their own step and the next,
// so one is good for at least one step and at most two.
type DPoPNonces struct {
	key  []byte
	step time.Duration
}

// nonceMACSize is the part of the HMAC a nonce keeps: 128 bits cannot be
// guessed.
const nonceMACSize = 16

// NewDPoPNonces returns nonces under key, rotating every step.
func NewDPoPNonces(key []byte, step time.Duration) *DPoPNonces {
	if step <= 0 {
		step = DefaultDPoPWindow
	}
	return &DPoPNonces{key: key, step: step}
}

func (n *DPoPNonces) stepAt(now time.Time) uint64 { return uint64(now.UnixNano() / int64(n.step)) }

func (n *DPoPNonces) make(step uint64) string {
	var buf [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(buf[:8], step)
	m := hmac.New(sha256.New, n.key)
	m.Write(buf[:8])
	m.Sum(buf[:8])
	return base64.RawURLEncoding.EncodeToString(buf[:8+nonceMACSize])
}

// Current is the nonce to send at now, in a DPoP-Nonce header.
func (n *DPoPNonces) Current(now time.Time) string { return n.make(n.stepAt(now)) }

// Valid reports whether nonce was made by a node with the same key during
// now's step or the one before.
func (n *DPoPNonces) Valid(nonce string, now time.Time) bool {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 8+nonceMACSize {
		return false
	}
	step, cur := binary.BigEndian.Uint64(raw[:8]), n.stepAt(now)
	if step != cur && step+1 != cur {
		return false
	}
	return hmac.Equal([]byte(n.make(step)), []byte(nonce))
}
