package josekit_test

import (
	"context"
	"testing"

	"github.com/sigilauth/sigil/adapters/josekit"
)

func BenchmarkSignAccessToken(b *testing.B) {
	key := rsaKey(b, 0)
	s := josekit.NewSigner()
	tok := token()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignAccessToken(ctx, key, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccessToken(b *testing.B) {
	key := rsaKey(b, 0)
	raw := sign(b, key, token())
	v := newVerifier(ring(key), 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyAccessToken(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
