package claims

import (
	"strconv"

	"github.com/sigilauth/sigil/adapters/internal/jsonwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Introspection is the answer of an introspection endpoint (RFC 7662
// §2.2), the one definition of that shape in Sigil: the auth role sends
// it as JSON (echohttp, written by AppendIntrospection), signs it as the
// token_introspection claim of an RFC 9701 answer (josekit, marshalled
// from this struct), and the resource role reads any server's answer into
// it (the introspection client).
//
// The members are the JWT claims an RFC 9068 access token carries, which
// RFC 7662 §2.2 reuses, plus active, client_id and token_type, in the
// order Sigil has always written them. Every member but active is left
// out when empty, so an inactive token's answer is exactly
// {"active":false}, all RFC 7662 §2.2 and RFC 9701 §5 allow. Reading, aud
// and scope also take the other forms other servers send (see
// AudienceList and Scope), and dates outside 0 to year 9999 are refused.
//
// Active is a pointer because RFC 7662 §2.2 requires the member: read, nil
// is an answer without it (or with null), which is malformed, not an
// inactive token. Build answers with NewIntrospection, which always sets
// it.
type Introspection struct {
	Active    *bool        `json:"active"`
	Subject   string       `json:"sub,omitempty"`
	Audience  AudienceList `json:"aud,omitempty"`
	NotBefore NumericDate  `json:"nbf,omitempty"`
	Scope     Scope        `json:"scope,omitempty"`
	Issuer    string       `json:"iss,omitempty"`
	ExpiresAt NumericDate  `json:"exp,omitempty"`
	IssuedAt  NumericDate  `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
	ClientID  string       `json:"client_id,omitempty"`
	TokenType string       `json:"token_type,omitempty"`
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.2).
	Cnf *Confirmation `json:"cnf,omitempty"`
	// Act is who acts for the subject of an exchanged token (RFC 8693
	// §4.1).
	Act *Actor `json:"act,omitempty"`
}

// NewIntrospection is the answer for r: for an active token every member
// the token has, token_type Bearer or, with cnf, DPoP; for any
// other, active false and nothing else, whatever r.Token holds.
func NewIntrospection(r application.Introspection) Introspection {
	if !r.Active {
		return Introspection{Active: new(false)}
	}
	t := r.Token
	out := Introspection{
		Active:    new(true),
		Subject:   t.Subject,
		NotBefore: NewNumericDate(t.NotBefore),
		Scope:     Scope(t.Scopes.String()),
		Issuer:    t.Issuer,
		ExpiresAt: NewNumericDate(t.ExpiresAt),
		IssuedAt:  NewNumericDate(t.IssuedAt),
		ID:        t.ID,
		ClientID:  t.ClientID,
		TokenType: t.Type(),
		Cnf:       NewConfirmation(t.JKT, t.X5T),
		Act:       NewActor(t.Actor),
	}
	if len(t.Audience) > 0 {
		out.Audience = AudienceList(t.Audience)
	}
	return out
}

// inactive is the whole answer for a token that is not active.
const inactive = `{"active":false}`

// AppendIntrospection appends the answer for r to dst: exactly the bytes
// json.Marshal writes for NewIntrospection(r), written by hand because
// the introspection endpoint is one of the auth role's hot paths (issue
// 5). It allocates only when dst lacks the room, and never builds the
// joined scope string.
func AppendIntrospection(dst []byte, r application.Introspection) []byte {
	if !r.Active {
		return append(dst, inactive...)
	}
	t := r.Token
	dst = append(dst, `{"active":true`...)
	dst = appendMember(dst, `,"sub":`, t.Subject)
	if len(t.Audience) > 0 {
		dst = append(dst, `,"aud":`...)
		dst = jsonwire.AppendStrings(dst, t.Audience)
	}
	dst = appendDate(dst, `,"nbf":`, NewNumericDate(t.NotBefore))
	// scope is the tokens joined with spaces, left out when that string
	// would be empty: no token, or one empty token.
	if len(t.Scopes) > 1 || len(t.Scopes) == 1 && t.Scopes[0] != "" {
		dst = append(dst, `,"scope":`...)
		dst = jsonwire.AppendScope(dst, t.Scopes)
	}
	dst = appendMember(dst, `,"iss":`, t.Issuer)
	dst = appendDate(dst, `,"exp":`, NewNumericDate(t.ExpiresAt))
	dst = appendDate(dst, `,"iat":`, NewNumericDate(t.IssuedAt))
	dst = appendMember(dst, `,"jti":`, t.ID)
	dst = appendMember(dst, `,"client_id":`, t.ClientID)
	if t.JKT == "" && t.X5T == "" && t.Actor == nil {
		return append(dst, `,"token_type":"`+domain.TokenTypeBearer+`"}`...)
	}
	dst = append(dst, `,"token_type":`...)
	dst = jsonwire.AppendString(dst, t.Type())
	dst = AppendConfirmation(dst, t.JKT, t.X5T)
	return append(AppendActor(dst, `,"act":`, t.Actor), '}')
}

// appendMember appends name and the string v unless v is empty, as
// omitempty does.
func appendMember(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, name...)
	return jsonwire.AppendString(dst, v)
}

// appendDate appends name and d unless d is zero, as omitempty does.
func appendDate(dst []byte, name string, d NumericDate) []byte {
	if d == 0 {
		return dst
	}
	dst = append(dst, name...)
	return strconv.AppendInt(dst, int64(d), 10)
}

// AppendConfirmation appends ,"cnf":{...} for a token bound to jkt and
// x5t, the bytes json.Marshal writes for NewConfirmation(jkt, x5t); nothing
// for a bearer token.
func AppendConfirmation(dst []byte, jkt, x5t string) []byte {
	switch {
	case jkt == "" && x5t == "":
		return dst
	case x5t == "":
		dst = append(dst, `,"cnf":{"jkt":`...)
		dst = jsonwire.AppendString(dst, jkt)
	case jkt == "":
		dst = append(dst, `,"cnf":{"x5t#S256":`...)
		dst = jsonwire.AppendString(dst, x5t)
	default:
		dst = append(dst, `,"cnf":{"jkt":`...)
		dst = jsonwire.AppendString(dst, jkt)
		dst = append(dst, `,"x5t#S256":`...)
		dst = jsonwire.AppendString(dst, x5t)
	}
	return append(dst, '}')
}
