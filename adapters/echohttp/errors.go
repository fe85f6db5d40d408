package echohttp

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/domain"
)

// endpoint is where an error arose; see endpointError.
type endpoint uint8

const (
	anyEndpoint endpoint = iota
	tokenEndpoint
	introspectionEndpoint
	revocationEndpoint
	protectedResource
	// registrationEndpoint is RFC 7591 §3 and RFC 7592 §2: a bearer
	// token (initial or registration access token) guards them.
	registrationEndpoint
)

// endpointError tells handleError where an error arose, because the same
// OAuth error answers differently at the token endpoint (RFC 6749 §5.2),
// the introspection endpoint (RFC 7662 §2.3), the revocation endpoint
// (RFC 7009 §2.2.1) and a protected resource (RFC 6750 §3.1).
type endpointError struct {
	err error
	at  endpoint
	// basic is set when the client authenticated with HTTP Basic: a failed
	// authentication must then be answered with a Basic challenge.
	basic bool
	// At a protected resource, dpop is set when the token came with the
	// DPoP scheme, and dpopAlgs, when DPoP is accepted, lists the proof
	// algorithms for the DPoP challenge (RFC 9449 §7.1).
	dpop     bool
	dpopAlgs string
	// resourceMetadata, at a protected resource that publishes RFC 9728
	// metadata, is its URL for the Bearer challenge.
	resourceMetadata string
}

func (e *endpointError) Error() string { return e.err.Error() }
func (e *endpointError) Unwrap() error { return e.err }

func failedAt(at endpoint, basic bool, err error) error {
	return &endpointError{err: err, at: at, basic: basic}
}

// describedError gives a bare sentinel such as domain.ErrNotFound a
// description that is safe to show the caller.
type describedError struct {
	err         error
	description string
}

func (e *describedError) Error() string { return e.description + ": " + e.err.Error() }
func (e *describedError) Unwrap() error { return e.err }

// errNoBearer is a request to a protected resource without a bearer token.
var errNoBearer = errors.New("no bearer token")

// errorBody is the JSON of every error response (RFC 6749 §5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Challenges and bodies that never change, built once.
const (
	// codeUnavailable is OAuth's "retry later" (RFC 6749 §4.1.2.1).
	codeUnavailable = "temporarily_unavailable"
	basicChallenge  = `Basic realm="sigil"`
	bearerChallenge = "Bearer"
	// retryAfterSeconds is what a 503 asks clients to wait.
	retryAfterSeconds = "5"
)

var (
	bodyNotFound         = mustJSON(errorBody{Error: "not_found"})
	bodyMethodNotAllowed = mustJSON(errorBody{Error: "method_not_allowed"})
	bodyTooLarge         = mustJSON(errorBody{Error: string(domain.CodeInvalidRequest), Description: "request body too large"})
	bodyBadRequest       = mustJSON(errorBody{Error: string(domain.CodeInvalidRequest)})
	bodyInternal         = mustJSON(errorBody{Error: string(domain.CodeServerError), Description: "internal error"})
	bodyUnavailable      = mustJSON(errorBody{Error: codeUnavailable})
	bodyNoBearer         = mustJSON(errorBody{Error: "unauthorized", Description: "a bearer token is required"})
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// response is an error as it will be sent.
type response struct {
	status    int
	body      []byte
	challenge string // WWW-Authenticate, if any
	// extraChallenge is a second WWW-Authenticate field, for the other
	// scheme a protected resource accepts (RFC 9449 §7.2).
	extraChallenge string
	// nonce is a DPoP-Nonce to send (RFC 9449 §8, §9).
	nonce string
	// internal errors are logged with their text and answered with a
	// generic body; unavailable ones only at debug level.
	internal    bool
	unavailable bool
	// retryAfter, when set, is the Retry-After of a throttled request.
	retryAfter string
	// code is the body's error code and reason why the request was
	// refused, in words; both for the access line only.
	code   string
	reason string
	// throttled names, for the metrics, why a request was turned away
	// unworked: failures, rate or busy; empty for any other answer.
	throttled string
}

var internalResponse = response{status: http.StatusInternalServerError, body: bodyInternal, internal: true,
	code: string(domain.CodeServerError), reason: "internal error"}

// handleError is Echo's HTTPErrorHandler: the one place an error becomes a
// response. The text of an error that is not an OAuth error never reaches
// the client; it is logged here, once.
func (s *server) handleError(err error, c echo.Context) { s.writeError(err, c) }

// writeError is handleError, returning what it answered for the access
// line.
func (s *server) writeError(err error, c echo.Context) response {
	r := respond(err)
	req := c.Request()
	if r.internal || r.unavailable || c.Response().Committed {
		attrs := []slog.Attr{
			slog.String("error", err.Error()),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		}
		level, msg := slog.LevelError, "internal error"
		if r.unavailable {
			// The dependency's gate logs the outage once; a line per
			// refused request would bury everything else.
			level, msg = slog.LevelDebug, "dependency unavailable"
		}
		if c.Response().Committed {
			msg = "error after the response was sent"
		}
		var p *panicError
		if errors.As(err, &p) {
			attrs = append(attrs, slog.String("stack", string(p.stack)))
		}
		s.log.LogAttrs(req.Context(), level, msg, attrs...)
	}
	if c.Response().Committed {
		return r
	}

	h := c.Response().Header()
	// No error answer may be cached (RFC 6749 §5.2 for the token endpoint;
	// harmless everywhere else).
	h.Set(echo.HeaderCacheControl, "no-store")
	if r.challenge != "" {
		h.Set(echo.HeaderWWWAuthenticate, r.challenge)
	}
	if r.extraChallenge != "" {
		h.Add(echo.HeaderWWWAuthenticate, r.extraChallenge)
	}
	if r.nonce != "" {
		h.Set(headerDPoPNonce, r.nonce)
	}
	if r.unavailable {
		h.Set(echo.HeaderRetryAfter, retryAfterSeconds)
	}
	if r.retryAfter != "" {
		h.Set(echo.HeaderRetryAfter, r.retryAfter)
	}
	if err := c.JSONBlob(r.status, r.body); err != nil {
		s.log.LogAttrs(req.Context(), slog.LevelDebug, "write error response", slog.String("error", err.Error()))
	}
	return r
}

// respond maps an error to its response.
func respond(err error) response {
	where, basic := anyEndpoint, false
	var ee *endpointError
	if errors.As(err, &ee) {
		where, basic = ee.at, ee.basic
	}
	r := respondAt(err, where, basic)
	if where == protectedResource && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden || r.status == http.StatusBadRequest) {
		var oauth *domain.Error
		errors.As(err, &oauth)
		resourceChallenges(&r, oauth, ee.dpop, ee.dpopAlgs)
		if ee.resourceMetadata != "" {
			r.challenge = withResourceMetadata(r.challenge, ee.resourceMetadata)
			r.extraChallenge = withResourceMetadata(r.extraChallenge, ee.resourceMetadata)
		}
	}
	return r
}

// respondAt is respond for an error that arose at where.
func respondAt(err error, where endpoint, basic bool) response {
	var (
		tooLarge  *http.MaxBytesError
		oauth     *domain.Error
		he        *echo.HTTPError
		panicked  *panicError
		throttled *domain.Throttled
	)
	switch {
	case errors.As(err, &panicked):
		return internalResponse
	case errors.As(err, &tooLarge):
		return response{status: http.StatusRequestEntityTooLarge, body: bodyTooLarge,
			code: string(domain.CodeInvalidRequest), reason: "request body too large"}
	case errors.Is(err, domain.ErrTemporarilyUnavailable):
		return response{status: http.StatusServiceUnavailable, body: bodyUnavailable, unavailable: true,
			code: codeUnavailable, reason: "dependency unavailable"}
	case errors.As(err, &throttled):
		return throttledResponse(throttled)
	case errors.Is(err, errNoBearer):
		// RFC 6750 §3.1: a request without authentication gets a bare
		// challenge, no error code.
		return response{status: http.StatusUnauthorized, body: bodyNoBearer, challenge: bearerChallenge,
			code: "unauthorized", reason: "no bearer token"}
	case errors.As(err, &oauth):
		r := oauthResponse(oauth, where, basic)
		if !r.internal {
			r.code, r.reason = string(oauth.Code), oauth.LogReason()
		}
		return r
	case errors.Is(err, domain.ErrMalformedCountryCode):
		return response{status: http.StatusBadRequest, body: mustJSON(errorBody{
			Error:       string(domain.CodeInvalidRequest),
			Description: describe(err, domain.ErrMalformedCountryCode.Error()),
		}), code: string(domain.CodeInvalidRequest), reason: "malformed country code"}
	case errors.Is(err, domain.ErrNotFound):
		return response{status: http.StatusNotFound, body: mustJSON(errorBody{
			Error:       "not_found",
			Description: describe(err, ""),
		}), code: "not_found", reason: "not found"}
	case errors.As(err, &he):
		return echoResponse(he)
	default:
		return internalResponse
	}
}

// Bodies of throttled requests. RFC 6749 §5.2 has no code for "not now",
// so they carry temporarily_unavailable, the code OAuth has for it (RFC
// 6749 §4.1.2.1), which clients already read as "retry later". Not
// invalid_client: the credentials were never checked, and a client told
// they are wrong might drop a good secret.
var (
	bodyTooManyFailures = mustJSON(errorBody{Error: "temporarily_unavailable", Description: "too many failed authentication attempts"})
	bodyRateLimited     = mustJSON(errorBody{Error: "temporarily_unavailable", Description: "request rate limit exceeded"})
	bodyBusy            = mustJSON(errorBody{Error: "temporarily_unavailable", Description: "server busy"})
)

// throttledResponse is 429 Too Many Requests (RFC 6585 §4) for a caller
// that sent too much, 503 for a server that has no room right now (RFC
// 9110 §15.6.4), each with Retry-After in whole seconds, rounded up. They
// are not logged one by one: under a flood that would be the flood again.
func throttledResponse(t *domain.Throttled) response {
	secs := max(1, int64((t.RetryAfter+time.Second-1)/time.Second))
	r := response{status: http.StatusTooManyRequests, retryAfter: strconv.FormatInt(secs, 10),
		code: codeUnavailable, reason: t.Error()}
	switch t.Reason {
	case domain.ThrottledFailures:
		r.body, r.throttled = bodyTooManyFailures, "failures"
	case domain.ThrottledRate:
		r.body, r.throttled = bodyRateLimited, "rate"
	default:
		r.status, r.body, r.throttled = http.StatusServiceUnavailable, bodyBusy, "busy"
	}
	return r
}

// describe returns the description a describedError in err carries, or
// fallback.
func describe(err error, fallback string) string {
	var d *describedError
	if errors.As(err, &d) {
		return d.description
	}
	return fallback
}

// oauthResponse maps an OAuth error by where it arose.
func oauthResponse(e *domain.Error, where endpoint, basic bool) response {
	body := mustJSON(errorBody{Error: string(e.Code), Description: e.Description})
	if where == protectedResource {
		// RFC 6750 §3.1. Any other code here is the resource server's own
		// failure (say, its introspection credentials were refused), not
		// the caller's.
		switch e.Code {
		case domain.CodeInvalidRequest:
			return response{status: http.StatusBadRequest, body: body, challenge: bearerErrorChallenge(e, false)}
		case domain.CodeInvalidToken:
			return response{status: http.StatusUnauthorized, body: body, challenge: bearerErrorChallenge(e, false)}
		case domain.CodeInsufficientScope:
			return response{status: http.StatusForbidden, body: body, challenge: bearerErrorChallenge(e, true)}
		case domain.CodeInvalidDPoPProof, domain.CodeUseDPoPNonce:
			// RFC 9449 §7.1, §9: 401 with a DPoP challenge (set by
			// resourceChallenges).
			return response{status: http.StatusUnauthorized, body: body}
		default:
			return internalResponse
		}
	}

	switch e.Code {
	case domain.CodeServerError:
		return internalResponse
	case domain.CodeInvalidClient:
		// RFC 6749 §5.2: 401, and a challenge for the scheme the client
		// used in the Authorization header; none for a client that sent
		// its secret or assertion in the body.
		r := response{status: http.StatusUnauthorized, body: body}
		if basic {
			r.challenge = basicChallenge
		}
		return r
	case domain.CodeUnauthorizedClient:
		if where == introspectionEndpoint {
			// RFC 7662 §2.3 leaves it open; an authenticated caller that
			// may not introspect is forbidden, not unauthenticated.
			return response{status: http.StatusForbidden, body: body}
		}
		// RFC 6749 §5.2, and RFC 7009 §2.2.1 for revoking a token issued
		// to another client.
		return response{status: http.StatusBadRequest, body: body}
	case domain.CodeInvalidToken:
		r := response{status: http.StatusUnauthorized, body: body}
		if where == registrationEndpoint {
			// RFC 6750 §3: a refused bearer token gets its challenge.
			r.challenge = bearerErrorChallenge(e, false)
		}
		return r
	case domain.CodeInsufficientScope:
		return response{status: http.StatusForbidden, body: body}
	case domain.CodeUseDPoPNonce:
		// RFC 9449 §8: 400 with the nonce to use in DPoP-Nonce.
		return response{status: http.StatusBadRequest, body: body, nonce: e.Nonce}
	default:
		// invalid_request, invalid_grant, unsupported_grant_type,
		// invalid_scope (RFC 6749 §5.2), invalid_target (RFC 8707 §2),
		// unsupported_token_type (RFC 7009 §2.2.1),
		// invalid_client_metadata (RFC 7591 §3.2.2), invalid_dpop_proof
		// (RFC 9449 §5): all 400; a refused proof may carry the nonce
		// to use next (§8.2).
		return response{status: http.StatusBadRequest, body: body, nonce: e.Nonce}
	}
}

// echoResponse maps Echo's own errors: no route, wrong method.
func echoResponse(he *echo.HTTPError) response {
	switch {
	case he.Code == http.StatusNotFound:
		return response{status: he.Code, body: bodyNotFound, code: "not_found", reason: "no such route"}
	case he.Code == http.StatusMethodNotAllowed:
		return response{status: he.Code, body: bodyMethodNotAllowed, code: "method_not_allowed", reason: "method not allowed"}
	case he.Code == http.StatusRequestEntityTooLarge:
		return response{status: he.Code, body: bodyTooLarge, code: string(domain.CodeInvalidRequest), reason: "request body too large"}
	case he.Code >= 400 && he.Code < 500:
		return response{status: he.Code, body: bodyBadRequest, code: string(domain.CodeInvalidRequest), reason: http.StatusText(he.Code)}
	default:
		return internalResponse
	}
}

// bearerErrorChallenge builds the WWW-Authenticate value of RFC 6750 §3:
// error and error_description, or for insufficient_scope error and the
// scope needed.
func bearerErrorChallenge(e *domain.Error, withScope bool) string {
	var b strings.Builder
	b.WriteString(`Bearer error=`)
	writeQuoted(&b, string(e.Code))
	if withScope {
		if e.Scope != "" {
			b.WriteString(`, scope=`)
			writeQuoted(&b, e.Scope)
		}
		return b.String()
	}
	if e.Description != "" {
		b.WriteString(`, error_description=`)
		writeQuoted(&b, e.Description)
	}
	return b.String()
}

// withResourceMetadata adds resource_metadata (RFC 9728 §5.1) to a Bearer
// challenge, after its other parameters, so that "Bearer" stays the first
// word, as the seed documents show it; other challenges are returned as
// they are.
func withResourceMetadata(challenge, metadataURL string) string {
	if challenge != bearerChallenge && !strings.HasPrefix(challenge, bearerChallenge+" ") {
		return challenge
	}
	var b strings.Builder
	b.WriteString(challenge)
	if challenge == bearerChallenge {
		b.WriteString(" resource_metadata=")
	} else {
		b.WriteString(", resource_metadata=")
	}
	writeQuoted(&b, metadataURL)
	return b.String()
}

// writeQuoted writes s as an HTTP quoted-string (RFC 9110 §5.6.4): '"'
// and '\' are escaped, and bytes outside printable ASCII are dropped,
// since RFC 6750 §3 allows none in these values and CR or LF would split
// the header.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
