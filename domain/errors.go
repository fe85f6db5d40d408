package domain

import (
	"errors"
	"time"
)

// ErrorCode is an OAuth 2.0 error code: RFC 6749 §5.2 for the token
// endpoint, RFC 6750 §3.1 for bearer-protected resources, RFC 8707 §2 for
// resource indicators.
type ErrorCode string

// Error codes Sigil answers with.
const (
	CodeInvalidRequest       ErrorCode = "invalid_request"
	CodeInvalidClient        ErrorCode = "invalid_client"
	CodeInvalidGrant         ErrorCode = "invalid_grant"
	CodeUnauthorizedClient   ErrorCode = "unauthorized_client"
	CodeUnsupportedGrantType ErrorCode = "unsupported_grant_type"
	CodeInvalidScope         ErrorCode = "invalid_scope"
	CodeInvalidToken         ErrorCode = "invalid_token"
	CodeInsufficientScope    ErrorCode = "insufficient_scope"
	CodeServerError          ErrorCode = "server_error"
	// CodeInvalidTarget is RFC 8707 §2: a resource the client may not ask for.
	CodeInvalidTarget ErrorCode = "invalid_target"
	// CodeInvalidClientMetadata is RFC 7591 §3.2.2: a registration that
	// does not hold together.
	CodeInvalidClientMetadata ErrorCode = "invalid_client_metadata"
	// CodeUnsupportedTokenType is RFC 7009 §2.2.1.
	CodeUnsupportedTokenType ErrorCode = "unsupported_token_type"
	// CodeInvalidDPoPProof is RFC 9449 §5 and §7.1: a DPoP proof that is
	// missing where required, malformed or fails a check of §4.3.
	CodeInvalidDPoPProof ErrorCode = "invalid_dpop_proof"
	// CodeUseDPoPNonce is RFC 9449 §8 and §9: the proof must carry the
	// nonce the server sends in its DPoP-Nonce header.
	CodeUseDPoPNonce ErrorCode = "use_dpop_nonce"
)

// Error is an OAuth error: a code from the RFCs, a short description safe
// to show the caller, and for insufficient_scope the scope that was needed.
// Internal causes never travel in it; they are logged where they occur.
type Error struct {
	Code        ErrorCode
	Description string
	// Scope is the scope a resource requires (RFC 6750 §3), set only with
	// CodeInsufficientScope.
	Scope string
	// Nonce is the DPoP-Nonce (RFC 9449 §8) to send with the answer, set
	// only with CodeUseDPoPNonce or a DPoP error when nonces are on.
	Nonce string
	// Reason says in a few words why the request was refused, for the
	// server's log only: it is never sent, so it may tell apart what the
	// answer must not (an unknown client from a wrong secret). Empty when
	// the Description already says it. It never holds a credential.
	Reason string
}

func (e *Error) Error() string {
	if e.Description == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Description
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, domain.ErrInvalidClient) holds whatever the description.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// With returns a copy of e carrying description.
func (e *Error) With(description string) *Error {
	c := *e
	c.Description = description
	return &c
}

// Because returns a copy of e carrying reason; see Error.Reason.
func (e *Error) Because(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// LogReason is why e was refused, in words for the log: the Reason, or
// the Description when there is none.
func (e *Error) LogReason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Description
}

// Sentinels, one per code, to compare with errors.Is and to derive described
// errors from with With.
var (
	ErrInvalidRequest        = &Error{Code: CodeInvalidRequest}
	ErrInvalidClient         = &Error{Code: CodeInvalidClient}
	ErrInvalidGrant          = &Error{Code: CodeInvalidGrant}
	ErrUnauthorizedClient    = &Error{Code: CodeUnauthorizedClient}
	ErrUnsupportedGrantType  = &Error{Code: CodeUnsupportedGrantType}
	ErrInvalidScope          = &Error{Code: CodeInvalidScope}
	ErrInvalidToken          = &Error{Code: CodeInvalidToken}
	ErrInsufficientScope     = &Error{Code: CodeInsufficientScope}
	ErrInvalidTarget         = &Error{Code: CodeInvalidTarget}
	ErrInvalidClientMetadata = &Error{Code: CodeInvalidClientMetadata}
	ErrInvalidDPoPProof      = &Error{Code: CodeInvalidDPoPProof}
	ErrUseDPoPNonce          = &Error{Code: CodeUseDPoPNonce}
)

// ErrNotFound is returned by lookups (clients, tokens, keys, countries)
// when nothing matches. Adapters translate their own not-found errors to it.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when something to be created exists already (a
// client id, a secret id).
var ErrConflict = errors.New("already exists")

// ErrMalformedCountryCode is returned for a country code that is neither
// two nor three ASCII letters.
var ErrMalformedCountryCode = errors.New("country code must be 2 or 3 letters")

// ErrTemporarilyUnavailable is returned when a dependency Sigil needs to
// answer (the authorization server, seen from a resource server) cannot be
// reached. It is the one infrastructure failure callers see as such: 503.
var ErrTemporarilyUnavailable = errors.New("temporarily unavailable")

// ThrottleReason says why a request was refused for now; see Throttled.
type ThrottleReason uint8

// Reasons a request is throttled.
const (
	// ThrottledFailures: too many failed client authentications for the
	// client id or the address (RFC 6749 §2.3.1).
	ThrottledFailures ThrottleReason = iota + 1
	// ThrottledRate: the client sent more requests than its rate limit.
	ThrottledRate
	// ThrottledBusy: every slot for the slow secret hash is taken.
	ThrottledBusy
)

// Throttled refuses a request that the server will not work on now but
// would later: the caller should wait RetryAfter and try again.
type Throttled struct {
	Reason     ThrottleReason
	RetryAfter time.Duration
}

func (e *Throttled) Error() string {
	switch e.Reason {
	case ThrottledFailures:
		return "throttled: too many failed authentication attempts"
	case ThrottledRate:
		return "throttled: request rate limit exceeded"
	default:
		return "throttled: server busy"
	}
}
