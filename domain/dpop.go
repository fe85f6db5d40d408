package domain

import (
	"net/url"
	"strings"
	"time"
)

// DPoPProof is what a DPoP proof JWT (RFC 9449 §4.2) says, read once its
// signature has been checked with the public key in its own header.
type DPoPProof struct {
	// Algorithm is the proof's alg.
	Algorithm Algorithm
	// JKT is the SHA-256 JWK thumbprint (RFC 7638) of the header's jwk,
	// base64url without padding: what a token bound to the key carries
	// as cnf.jkt (§6.1).
	JKT string
	// ID is jti, Method htm, URL htu (§4.2).
	ID       string
	Method   string
	URL      string
	IssuedAt time.Time
	// AccessTokenHash is ath: base64url of the SHA-256 of the access
	// token the proof goes with; empty at the token endpoint (§4.2).
	AccessTokenHash string
	// Nonce is the server-provided nonce (§8), empty when none was sent.
	Nonce string
}

// DPoPRequest is the HTTP request a proof must have been made for, and
// what the server expects of it.
type DPoPRequest struct {
	// Method is the request's method; URL its target URI as the client
	// addressed it, without query and fragment (§4.3 items 8, 9).
	Method string
	URL    string
	Now    time.Time
	// Window is how far iat may lie from Now, either way (§4.3 item 11,
	// §11.1): the proof's lifetime, and the clock skew allowed.
	Window time.Duration
	// AccessTokenHash is the ath the proof must carry at a protected
	// resource; empty at the token endpoint (§4.3 item 12).
	AccessTokenHash string
	// JKT is the thumbprint of the key the access token is bound to; a
	// proof of another key is refused. Empty at the token endpoint.
	JKT string
}

// Descriptions of refused proofs, safe to show the client.
var (
	errProofMethod     = ErrInvalidDPoPProof.With("the DPoP proof is for another HTTP method")
	errProofURL        = ErrInvalidDPoPProof.With("the DPoP proof is for another URL")
	errProofStale      = ErrInvalidDPoPProof.With("the DPoP proof was issued too long ago")
	errProofFuture     = ErrInvalidDPoPProof.With("the DPoP proof is issued in the future")
	errProofAth        = ErrInvalidDPoPProof.With("the DPoP proof's ath does not match the access token")
	errProofMissingAth = ErrInvalidDPoPProof.With("the DPoP proof has no ath for the access token")
	// RFC 9449 §7.1 answers a proof by a key other than the token's with
	// invalid_token ("Invalid DPoP key binding"): the token is not usable
	// by this sender.
	errProofKey = ErrInvalidToken.With("the DPoP proof's key is not the one the token is bound to")
)

// Check applies the checks of RFC 9449 §4.3 that need no state: htm (item
// 8), htu (item 9), iat (item 11), and at a protected resource ath and
// the key binding (item 12). The signature, typ, alg and jwk (items 2 to
// 7) were checked when the proof was read; the nonce and the jti's single
// use need the server's state and are checked by the caller.
func (p DPoPProof) Check(r DPoPRequest) error {
	// Methods are case-sensitive (RFC 9110 §9.1).
	if p.Method != r.Method {
		return errProofMethod
	}
	if !SameHTU(p.URL, r.URL) {
		return errProofURL
	}
	if p.IssuedAt.Before(r.Now.Add(-r.Window)) {
		return errProofStale
	}
	if p.IssuedAt.After(r.Now.Add(r.Window)) {
		return errProofFuture
	}
	if r.AccessTokenHash != "" {
		if p.AccessTokenHash == "" {
			return errProofMissingAth
		}
		if p.AccessTokenHash != r.AccessTokenHash {
			return errProofAth
		}
	}
	if r.JKT != "" && p.JKT != r.JKT {
		return errProofKey
	}
	return nil
}

// SameHTU reports whether the htu of a proof names target, a URI the
// server built itself (absolute, without query or fragment). RFC 9449
// §4.3 item 9 ignores the query and fragment of htu, and asks for
// syntax-based and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3)
// before comparing: scheme and host compare case-insensitively, a
// default port equals no port, an empty path equals "/", and
// percent-encodings compare decoded. The common case, a client that
// wrote exactly the URI, costs one string comparison.
func SameHTU(htu, target string) bool {
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	if htu == target {
		return true
	}
	a, okA := normalHTU(htu)
	b, okB := normalHTU(target)
	return okA && okB && a == b
}

// normalHTU is u in a normal form for SameHTU, false when u is not an
// absolute http or https URI.
func normalHTU(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" || p.User != nil || p.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(p.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(p.Hostname())
	port := p.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal keeps its brackets
	}
	if port != "" {
		host += ":" + port
	}
	path := p.Path // decoded: %7E and ~ are one
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}
