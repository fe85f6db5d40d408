package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

func TestSameHTU(t *testing.T) {
	const target = "https://api.example/ms-system/country/code/AUS"
	tests := []struct {
		htu  string
		same bool
	}{
		{target, true},
		{target + "?page=2", true}, // §4.3 item 9: query ignored
		{target + "#frag", true},   // and fragment
		{"HTTPS://API.Example/ms-system/country/code/AUS", true}, // scheme and host case-insensitive
		{"https://api.example:443/ms-system/country/code/AUS", true},
		{"https://api.example/ms-system/country/code/%41US", true}, // percent-encoding of an unreserved character
		{"https://api.example/ms-system/country/code/aus", false},  // the path is case-sensitive
		{"http://api.example/ms-system/country/code/AUS", false},
		{"https://api.example:8443/ms-system/country/code/AUS", false},
		{"https://other.example/ms-system/country/code/AUS", false},
		{"https://api.example/ms-system/country/code/AUS/", false},
		{"https://api.example/ms-system/country", false},
		{"https://user@api.example/ms-system/country/code/AUS", false},
		{"/ms-system/country/code/AUS", false},
		{"", false},
		{"ftp://api.example/ms-system/country/code/AUS", false},
	}
	for _, tt := range tests {
		if got := domain.SameHTU(tt.htu, target); got != tt.same {
			t.Errorf("SameHTU(%q) = %v, want %v", tt.htu, got, tt.same)
		}
	}
	if !domain.SameHTU("http://localhost:8085", "http://localhost:8085/") {
		t.Error("an empty path is not /")
	}
	if !domain.SameHTU("http://[::1]:80/x", "http://[::1]/x") {
		t.Error("IPv6 with the default port")
	}
}

func TestDPoPProofCheck(t *testing.T) {
	now := time.Unix(1795377919, 0)
	good := domain.DPoPProof{JKT: "k", ID: "j", Method: "GET", URL: "https://api.example/r", IssuedAt: now, AccessTokenHash: "ath"}
	req := domain.DPoPRequest{Method: "GET", URL: "https://api.example/r", Now: now, Window: time.Minute, AccessTokenHash: "ath", JKT: "k"}
	if err := good.Check(req); err != nil {
		t.Fatalf("good proof: %v", err)
	}
	tests := []struct {
		name   string
		change func(*domain.DPoPProof)
		want   *domain.Error
	}{
		{"wrong htm", func(p *domain.DPoPProof) { p.Method = "POST" }, domain.ErrInvalidDPoPProof},
		{"lower-case htm", func(p *domain.DPoPProof) { p.Method = "get" }, domain.ErrInvalidDPoPProof},
		{"wrong htu", func(p *domain.DPoPProof) { p.URL = "https://api.example/other" }, domain.ErrInvalidDPoPProof},
		{"stale iat", func(p *domain.DPoPProof) { p.IssuedAt = now.Add(-time.Minute - time.Second) }, domain.ErrInvalidDPoPProof},
		{"future iat", func(p *domain.DPoPProof) { p.IssuedAt = now.Add(time.Minute + time.Second) }, domain.ErrInvalidDPoPProof},
		{"wrong ath", func(p *domain.DPoPProof) { p.AccessTokenHash = "other" }, domain.ErrInvalidDPoPProof},
		{"no ath", func(p *domain.DPoPProof) { p.AccessTokenHash = "" }, domain.ErrInvalidDPoPProof},
		{"another key", func(p *domain.DPoPProof) { p.JKT = "other" }, domain.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.change(&p)
			if err := p.Check(req); !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %s", err, tt.want.Code)
			}
		})
	}
	// At the edges of the window the proof still passes.
	for _, iat := range []time.Time{now.Add(-time.Minute), now.Add(time.Minute)} {
		p := good
		p.IssuedAt = iat
		if err := p.Check(req); err != nil {
			t.Errorf("iat %v from now refused: %v", iat.Sub(now), err)
		}
	}
	// At the token endpoint neither ath nor a key is expected.
	p := good
	p.AccessTokenHash, p.JKT = "", "any"
	if err := p.Check(domain.DPoPRequest{Method: "GET", URL: "https://api.example/r", Now: now, Window: time.Minute}); err != nil {
		t.Errorf("token endpoint proof: %v", err)
	}
}
