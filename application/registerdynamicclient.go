package application

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// ClientMetadata is a client's registration metadata (RFC 7591 §2), as
// far as Sigil supports it. An empty field is one the registration does
// not set; DPoPBound is nil when unset.
type ClientMetadata struct {
	ClientName              string
	TokenEndpointAuthMethod string
	GrantTypes              []string
	// Scope is space-separated, as RFC 7591 §2 has it.
	Scope string
	// JWKS is the jwks member as JSON text.
	JWKS    string
	JWKSURI string
	// TokenFormat is Sigil's extension sigil_token_format: jwt or opaque.
	TokenFormat string
	// Resources are the RFC 8707 resource indicators the client may ask
	// tokens for (Sigil's extension, as in a clients file).
	Resources []string
	DPoPBound *bool
	// TLSSubject is the tls_client_auth subject (RFC 8705 §2.1.2): one of
	// tls_client_auth_subject_dn and the four SAN members, by kind.
	TLSSubject map[domain.TLSSubjectKind]string
	// CertBound is tls_client_certificate_bound_access_tokens (RFC 8705
	// §3.4), nil when unset.
	CertBound       *bool
	SoftwareID      string
	SoftwareVersion string
	// SoftwareStatement is the signed JWT of RFC 7591 §2.3, if sent.
	SoftwareStatement string
}

// overriddenBy is m with every field that s sets taken from s: the
// claims of a software statement win over the request's (RFC 7591 §2.3).
func (m ClientMetadata) overriddenBy(s ClientMetadata) ClientMetadata {
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&m.ClientName, s.ClientName)
	str(&m.TokenEndpointAuthMethod, s.TokenEndpointAuthMethod)
	str(&m.Scope, s.Scope)
	str(&m.JWKS, s.JWKS)
	str(&m.JWKSURI, s.JWKSURI)
	str(&m.TokenFormat, s.TokenFormat)
	str(&m.SoftwareID, s.SoftwareID)
	str(&m.SoftwareVersion, s.SoftwareVersion)
	if s.GrantTypes != nil {
		m.GrantTypes = s.GrantTypes
	}
	if s.Resources != nil {
		m.Resources = s.Resources
	}
	if s.DPoPBound != nil {
		m.DPoPBound = s.DPoPBound
	}
	if len(s.TLSSubject) > 0 {
		m.TLSSubject = s.TLSSubject
	}
	if s.CertBound != nil {
		m.CertBound = s.CertBound
	}
	if s.JWKS != "" {
		m.JWKSURI = ""
	}
	if s.JWKSURI != "" {
		m.JWKS = ""
	}
	m.SoftwareStatement = ""
	return m
}

// RegistrationPolicy is what the operator allows of dynamic registration.
type RegistrationPolicy struct {
	// InitialTokenHash is the SHA-256 of the initial access token
	// (RFC 7591 §3) a registration must carry, unless Open.
	InitialTokenHash []byte
	// Open lets anyone register, without an initial access token.
	Open bool
	// Scopes are the ceiling of what a registered client may ask for;
	// empty means every scope the server knows (ScopeLister).
	Scopes domain.Scopes
	// SecretLifetime, when set, makes issued secrets expire after it
	// (client_secret_expires_at); zero, they do not.
	SecretLifetime time.Duration
	// MTLS allows the RFC 8705 methods, tls_client_auth and
	// self_signed_tls_client_auth: the server asks for client
	// certificates.
	MTLS bool
}

// RegisterDynamicClientInput is one registration request (RFC 7591 §3.1).
type RegisterDynamicClientInput struct {
	// InitialToken is the bearer token the request carried, if any.
	InitialToken string
	Metadata     ClientMetadata
	// Unreadable, when set, is why the request's metadata could not be
	// read: returned once the token is checked, so that a caller without
	// a valid token learns nothing but that (RFC 7591 §3).
	Unreadable error
}

// RegisteredClient is the answer of registration and management (RFC
// 7591 §3.2.1, RFC 7592 §3): the client's metadata as registered, and the
// credentials issued with it. ClientSecret and RegistrationToken are set
// only when issued, and are never kept in the clear.
type RegisteredClient struct {
	ClientID          string
	Metadata          ClientMetadata
	IssuedAt          time.Time
	ClientSecret      string
	SecretExpiresAt   time.Time // zero: never
	RegistrationToken string
}

// RegisterDynamicClient registers a client on its own request (RFC 7591),
// through ApplyClient: the validation, audit (client_created) and cache
// announcement of every other registration path.
type RegisterDynamicClient struct {
	policy     RegistrationPolicy
	apply      *ApplyClient
	store      RegistrationStore
	statements SoftwareStatementVerifier
	scopes     ScopeLister
	clock      Clock
	random     io.Reader
}

// NewRegisterDynamicClient builds the use case; statements may be nil,
// and then every software statement is unapproved.
func NewRegisterDynamicClient(policy RegistrationPolicy, apply *ApplyClient, store RegistrationStore,
	statements SoftwareStatementVerifier, scopes ScopeLister, clock Clock, random io.Reader) *RegisterDynamicClient {
	return &RegisterDynamicClient{policy: policy, apply: apply, store: store, statements: statements,
		scopes: scopes, clock: clock, random: random}
}

var errBadInitialToken = domain.ErrInvalidToken.With("the initial access token is missing or invalid")

// Handle checks the initial access token and the software statement,
// registers the client under a fresh id, and returns its credentials.
func (h *RegisterDynamicClient) Handle(ctx context.Context, in RegisterDynamicClientInput) (RegisteredClient, error) {
	if !h.policy.Open && !tokenMatches(h.policy.InitialTokenHash, in.InitialToken) {
		return RegisteredClient{}, errBadInitialToken
	}
	if in.Unreadable != nil {
		return RegisteredClient{}, in.Unreadable
	}
	m, err := resolveStatement(ctx, h.statements, in.Metadata)
	if err != nil {
		return RegisteredClient{}, err
	}
	id, err := randomToken(h.random, 16)
	if err != nil {
		return RegisteredClient{}, err
	}
	c, err := clientFromMetadata(ctx, id, m, h.policy, h.scopes)
	if err != nil {
		return RegisteredClient{}, err
	}
	now := h.clock.Now()
	out := RegisteredClient{ClientID: id, IssuedAt: now}
	var secrets []SecretSpec
	if usesSecret(c) {
		if out.ClientSecret, err = randomToken(h.random, 32); err != nil {
			return RegisteredClient{}, err
		}
		if h.policy.SecretLifetime > 0 {
			out.SecretExpiresAt = now.Add(h.policy.SecretLifetime)
		}
		secrets = []SecretSpec{{ID: "registered", Secret: out.ClientSecret, ExpiresAt: out.SecretExpiresAt}}
	}
	res, err := h.apply.Handle(ctx, ApplyClientInput{Registration: RegisterClientInput{Client: c, Secrets: secrets}, Create: true})
	if err != nil {
		return RegisteredClient{}, err
	}
	if out.RegistrationToken, err = randomToken(h.random, 32); err != nil {
		return RegisteredClient{}, err
	}
	reg := domain.ClientRegistration{ClientID: id, TokenHash: hashToken(out.RegistrationToken), ClientName: m.ClientName, IssuedAt: now}
	if err := h.store.SaveRegistration(ctx, reg); err != nil {
		return RegisteredClient{}, fmt.Errorf("client %s registered, but not its registration access token: %w", id, err)
	}
	out.Metadata = metadataOf(res.Client, reg)
	out.Metadata.SoftwareID, out.Metadata.SoftwareVersion = m.SoftwareID, m.SoftwareVersion
	return out, nil
}

// resolveStatement verifies m's software statement, if any, and lets its
// claims override m's.
func resolveStatement(ctx context.Context, statements SoftwareStatementVerifier, m ClientMetadata) (ClientMetadata, error) {
	if m.SoftwareStatement == "" {
		return m, nil
	}
	if statements == nil {
		return ClientMetadata{}, domain.ErrUnapprovedSoftwareStatement.With("this server trusts no software statement issuer")
	}
	claims, err := statements.VerifySoftwareStatement(ctx, m.SoftwareStatement)
	if err != nil {
		return ClientMetadata{}, err
	}
	return m.overriddenBy(claims), nil
}

// registrableMethods are the token_endpoint_auth_method values a client
// may register; "none" is not one: every Sigil client authenticates. The
// RFC 8705 methods are added when the server asks for certificates.
var registrableMethods = []domain.AuthMethod{
	domain.AuthClientSecretBasic, domain.AuthClientSecretPost, domain.AuthClientSecretJWT, domain.AuthPrivateKeyJWT,
}

// mtlsMethods are the RFC 8705 §2 methods.
var mtlsMethods = []domain.AuthMethod{domain.AuthTLSClientAuth, domain.AuthSelfSignedTLSClientAuth}

// clientFromMetadata is the client m describes, under id, with the
// defaults of RFC 7591 §2 (client_secret_basic, client_credentials) and
// Sigil's (JWT tokens, the whole scope ceiling when m names none).
func clientFromMetadata(ctx context.Context, id string, m ClientMetadata, policy RegistrationPolicy, known ScopeLister) (domain.Client, error) {
	bad := func(why string) error { return domain.ErrInvalidClientMetadata.With(why) }
	ceiling := policy.Scopes
	method := domain.AuthMethod(m.TokenEndpointAuthMethod)
	if method == "" {
		method = domain.AuthClientSecretBasic
	}
	if !slices.Contains(registrableMethods, method) && !(policy.MTLS && slices.Contains(mtlsMethods, method)) {
		return domain.Client{}, bad("token_endpoint_auth_method " + string(method) + " is not supported")
	}
	subject, err := domain.NewTLSSubject(m.TLSSubject)
	if err != nil {
		return domain.Client{}, err
	}
	certBound := m.CertBound != nil && *m.CertBound
	if certBound && !policy.MTLS {
		return domain.Client{}, bad("tls_client_certificate_bound_access_tokens needs a server that asks for client certificates")
	}
	grants := []domain.GrantType{domain.GrantClientCredentials}
	if m.GrantTypes != nil {
		grants = nil
		for _, g := range m.GrantTypes {
			if g != string(domain.GrantClientCredentials) {
				return domain.Client{}, bad("grant type " + g + " is not supported: only client_credentials")
			}
			grants = append(grants, domain.GrantType(g))
		}
		if len(grants) == 0 {
			return domain.Client{}, bad("grant_types is empty")
		}
	}
	if len(ceiling) == 0 {
		var err error
		if ceiling, err = known.ListScopes(ctx); err != nil {
			return domain.Client{}, fmt.Errorf("list scopes: %w", err)
		}
	}
	scopes, err := domain.ParseScopes(m.Scope)
	if err != nil {
		return domain.Client{}, bad("scope holds a character RFC 6749 §3.3 does not allow")
	}
	if scopes == nil {
		scopes = ceiling
	}
	for _, s := range scopes {
		if !ceiling.Contains(s) {
			return domain.Client{}, bad("scope " + s + " may not be registered")
		}
	}
	format := domain.TokenFormat(m.TokenFormat)
	if format == "" {
		format = domain.FormatJWT
	}
	if m.JWKS != "" && m.JWKSURI != "" {
		return domain.Client{}, bad("jwks and jwks_uri are both set: give one (RFC 7591 §2)")
	}
	c := domain.Client{
		ID:            id,
		AuthMethods:   []domain.AuthMethod{method},
		GrantTypes:    grants,
		AllowedScopes: scopes,
		DefaultScopes: scopes,
		Resources:     m.Resources,
		JWKS:          m.JWKS,
		JWKSURI:       m.JWKSURI,
		TokenFormat:   format,
		DPoPBound:     m.DPoPBound != nil && *m.DPoPBound,
		TLSSubject:    subject,
		CertBound:     certBound,
	}
	if !format.Valid() {
		return domain.Client{}, bad("sigil_token_format must be jwt or opaque")
	}
	return c, nil
}

// metadataOf is the registered metadata of c (RFC 7592 §3), as stored.
func metadataOf(c domain.Client, reg domain.ClientRegistration) ClientMetadata {
	grants := make([]string, len(c.GrantTypes))
	for i, g := range c.GrantTypes {
		grants[i] = string(g)
	}
	var method string
	if len(c.AuthMethods) > 0 {
		method = string(c.AuthMethods[0])
	}
	dpop, certBound := c.DPoPBound, c.CertBound
	var subject map[domain.TLSSubjectKind]string
	if !c.TLSSubject.IsZero() {
		subject = map[domain.TLSSubjectKind]string{c.TLSSubject.Kind: c.TLSSubject.Value}
	}
	return ClientMetadata{
		ClientName:              reg.ClientName,
		TokenEndpointAuthMethod: method,
		GrantTypes:              grants,
		Scope:                   c.AllowedScopes.String(),
		JWKS:                    c.JWKS,
		JWKSURI:                 c.JWKSURI,
		TokenFormat:             string(c.TokenFormat),
		Resources:               c.Resources,
		DPoPBound:               &dpop,
		TLSSubject:              subject,
		CertBound:               &certBound,
	}
}

func usesSecret(c domain.Client) bool {
	return c.AllowsAuthMethod(domain.AuthClientSecretBasic) || c.AllowsAuthMethod(domain.AuthClientSecretPost) ||
		c.AllowsAuthMethod(domain.AuthClientSecretJWT)
}

// randomToken is n random bytes, base64url without padding.
func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is the SHA-256 a bearer token is kept as: the tokens are 32
// random bytes, so no slow hash is needed to keep them from being guessed.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// tokenMatches compares token with the hash in constant time; no hash
// matches nothing.
func tokenMatches(hash []byte, token string) bool {
	if len(hash) == 0 || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare(hash, hashToken(token)) == 1
}
