package domain_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

func TestTokenActiveAt(t *testing.T) {
	// iat/nbf/exp of the seed's JWT (1682731659 + 4h).
	nbf := time.Unix(1682731659, 0)
	exp := time.Unix(1682746059, 0)
	tok := domain.Token{NotBefore: nbf, ExpiresAt: exp}
	const leeway = 30 * time.Second

	tests := []struct {
		name   string
		tok    domain.Token
		now    time.Time
		leeway time.Duration
		want   bool
	}{
		{"between nbf and exp", tok, nbf.Add(time.Hour), 0, true},
		// RFC 7519 §4.1.5: not accepted before nbf, accepted on it.
		{"exactly at nbf", tok, nbf, 0, true},
		{"just before nbf", tok, nbf.Add(-time.Nanosecond), 0, false},
		{"before nbf within leeway", tok, nbf.Add(-leeway), leeway, true},
		{"before nbf beyond leeway", tok, nbf.Add(-leeway - time.Nanosecond), leeway, false},
		// RFC 7519 §4.1.4: accepted only before exp.
		{"just before exp", tok, exp.Add(-time.Nanosecond), 0, true},
		{"exactly at exp", tok, exp, 0, false},
		{"after exp", tok, exp.Add(time.Second), 0, false},
		{"after exp within leeway", tok, exp.Add(leeway - time.Nanosecond), leeway, true},
		{"exactly at exp plus leeway", tok, exp.Add(leeway), leeway, false},
		{"no nbf, before exp", domain.Token{ExpiresAt: exp}, exp.Add(-time.Hour), 0, true},
		{"no nbf, long before", domain.Token{ExpiresAt: exp}, time.Unix(0, 0), 0, true},
		{"no exp is never active", domain.Token{NotBefore: nbf}, nbf.Add(time.Second), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.ActiveAt(tt.now, tt.leeway); got != tt.want {
				t.Errorf("ActiveAt(%v, %v) = %v, want %v (nbf %v, exp %v)",
					tt.now, tt.leeway, got, tt.want, tt.tok.NotBefore, tt.tok.ExpiresAt)
			}
		})
	}
}

func TestTokenExpiresIn(t *testing.T) {
	iat := time.Unix(1682731659, 0)
	tok := domain.Token{IssuedAt: iat, ExpiresAt: iat.Add(4 * time.Hour)}
	tests := []struct {
		name string
		now  time.Time
		want int64
	}{
		{"at issue", iat, 14400},
		{"one second later", iat.Add(time.Second), 14399},
		{"partial seconds round down", tok.ExpiresAt.Add(-1900 * time.Millisecond), 1},
		{"under a second left", tok.ExpiresAt.Add(-time.Nanosecond), 0},
		{"at expiry", tok.ExpiresAt, 0},
		{"after expiry never negative", tok.ExpiresAt.Add(time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.ExpiresIn(tt.now); got != tt.want {
				t.Errorf("ExpiresIn(%v) = %d, want %d", tt.now, got, tt.want)
			}
		})
	}
}
