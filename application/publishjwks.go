package application

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// JWKS is the published key set, ready to send.
type JWKS struct {
	JSON []byte
	// MaxAge is how long a resource server may cache the document.
	MaxAge time.Duration
}

// PublishJWKS serves the public half of every published signing key
// (RFC 7517). The encoded document is kept until the key set changes.
type PublishJWKS struct {
	traced
	keys    *KeyRing
	encoder JWKSEncoder
	maxAge  time.Duration
	cached  atomic.Pointer[encodedJWKS]
}

type encodedJWKS struct {
	fingerprint string
	json        []byte
}

// NewPublishJWKS builds the use case.
func NewPublishJWKS(keys *KeyRing, encoder JWKSEncoder, maxAge time.Duration) *PublishJWKS {
	return &PublishJWKS{keys: keys, encoder: encoder, maxAge: maxAge}
}

// Handle returns the current key set.
func (h *PublishJWKS) Handle(ctx context.Context) (_ JWKS, err error) {
	_, end := h.span(ctx, "PublishJWKS")
	defer func() { end(err) }()

	keys := h.keys.Published()
	var fp strings.Builder
	for _, k := range keys {
		fp.WriteString(k.ID)
		fp.WriteByte(' ')
	}
	if c := h.cached.Load(); c != nil && c.fingerprint == fp.String() {
		return JWKS{JSON: c.json, MaxAge: h.maxAge}, nil
	}
	doc, err := h.encoder.EncodeJWKS(keys)
	if err != nil {
		return JWKS{}, fmt.Errorf("encode jwks: %w", err)
	}
	h.cached.Store(&encodedJWKS{fingerprint: fp.String(), json: doc})
	return JWKS{JSON: doc, MaxAge: h.maxAge}, nil
}
