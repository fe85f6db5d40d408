package domain

import "time"

// Error codes of dynamic client registration (RFC 7591 §3.2.2) beside
// invalid_client_metadata.
const (
	// CodeInvalidSoftwareStatement: the software statement is not a JWT
	// Sigil can read, or its signature does not verify.
	CodeInvalidSoftwareStatement ErrorCode = "invalid_software_statement"
	// CodeUnapprovedSoftwareStatement: the statement is well formed but
	// not signed by a trusted issuer, or registration requires one.
	CodeUnapprovedSoftwareStatement ErrorCode = "unapproved_software_statement"
)

// Sentinels of the registration codes, as in errors.go.
var (
	ErrInvalidSoftwareStatement    = &Error{Code: CodeInvalidSoftwareStatement}
	ErrUnapprovedSoftwareStatement = &Error{Code: CodeUnapprovedSoftwareStatement}
)

// ClientRegistration is what dynamic registration (RFC 7591, 7592) keeps
// of a client beside the client itself: the hash of its registration
// access token, the name it gave, and when its id was issued.
type ClientRegistration struct {
	ClientID   string
	TokenHash  []byte
	ClientName string
	IssuedAt   time.Time
}
