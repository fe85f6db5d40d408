package echohttp

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/domain"
)

// headerDPoP carries a DPoP proof (RFC 9449 §4.1), headerDPoPNonce a
// server's nonce (§8.1).
const (
	headerDPoP      = "DPoP"
	headerDPoPNonce = "DPoP-Nonce"
)

var (
	errEmptyDPoP     = domain.ErrInvalidRequest.With("the DPoP-bound access token is empty")
	errMalformedDPoP = domain.ErrInvalidRequest.With("the DPoP-bound access token is malformed")
)

// accessToken takes the access token from the Authorization header: with
// the Bearer scheme (bearerToken), or with the DPoP scheme (RFC 9449
// §7.1), whose token68 has the same syntax as a b64token. dpop tells
// which scheme it came with.
func accessToken(req *http.Request) (token string, dpop bool, err error) {
	values := req.Header.Values(echo.HeaderAuthorization)
	if len(values) == 1 {
		scheme, rest, _ := strings.Cut(values[0], " ")
		if strings.EqualFold(scheme, "DPoP") { // auth-scheme is case-insensitive (RFC 9110 §11.1)
			token = strings.TrimLeft(rest, " ")
			switch {
			case token == "":
				return "", true, errEmptyDPoP
			case !isB64Token(token):
				return "", true, errMalformedDPoP
			}
			return token, true, nil
		}
	}
	token, err = bearerToken(req)
	return token, false, err
}

// requestURL is the URL a proof for req must name in htu (RFC 9449 §4.3
// item 9): the resource server's public URL, when one is configured for
// a server behind a proxy, with the path below the base path; otherwise
// the request's own scheme (https on a TLS connection), Host and path.
// The query is never part of it.
func (r resourceAPI) requestURL(req *http.Request) string {
	path := req.URL.EscapedPath()
	if r.publicURL != "" {
		return r.publicURL + strings.TrimPrefix(path, r.base)
	}
	scheme := "http://"
	if req.TLS != nil {
		scheme = "https://"
	}
	return scheme + req.Host + path
}

// dpopChallenge is the DPoP challenge (RFC 9449 §7.1) for e, or the bare
// one naming the accepted algorithms when e is nil.
func dpopChallenge(e *domain.Error, algs string) string {
	var b strings.Builder
	b.WriteString("DPoP")
	sep := " "
	if e != nil {
		b.WriteString(` error=`)
		writeQuoted(&b, string(e.Code))
		if e.Code == domain.CodeInsufficientScope && e.Scope != "" {
			b.WriteString(`, scope=`)
			writeQuoted(&b, e.Scope)
		} else if e.Description != "" {
			b.WriteString(`, error_description=`)
			writeQuoted(&b, e.Description)
		}
		sep = ", "
	}
	if algs != "" {
		b.WriteString(sep + `algs=`)
		writeQuoted(&b, algs)
	}
	return b.String()
}

// resourceChallenges answers an error at a protected resource that
// accepts both schemes: the challenge of the scheme the request used
// first, with the error, then the other one bare (RFC 9449 §7.2), so that
// a client learns what it may use. A request that used neither gets the
// Bearer challenge first, as the seed documents show it.
func resourceChallenges(r *response, e *domain.Error, dpopScheme bool, algs string) {
	dpopError := e != nil && (e.Code == domain.CodeInvalidDPoPProof || e.Code == domain.CodeUseDPoPNonce)
	switch {
	case algs == "":
		return
	case dpopScheme || dpopError:
		r.challenge, r.extraChallenge = dpopChallenge(e, algs), bearerChallenge
	default:
		r.extraChallenge = dpopChallenge(nil, algs)
	}
	if e != nil {
		r.nonce = e.Nonce
	}
}

// failed marks err as a protected resource's, with what its challenges
// need.
func (r resourceAPI) failed(dpop bool, err error) error {
	return &endpointError{err: err, at: protectedResource, dpop: dpop, dpopAlgs: r.dpopAlgs, resourceMetadata: r.metadataURL}
}
