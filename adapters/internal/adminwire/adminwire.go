// Package adminwire is the JSON of the admin API, defined once: adminhttp
// reads requests and writes answers with it, adminclient the other way
// round. A client is written with the field names of a clients file
// (snake_case), and read with the clients file's defaults and messages.
// No answer holds a secret's hash or sealed copy.
package adminwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Client is a client registration as a request carries it: the clients
// file's fields, the secrets in the clear.
type Client struct {
	ID            string          `json:"id"`
	TokenFormat   string          `json:"token_format,omitempty"`
	TokenLifetime string          `json:"token_lifetime,omitempty"`
	AuthMethods   []string        `json:"auth_methods,omitempty"`
	Scopes        []string        `json:"scopes,omitempty"`
	DefaultScopes []string        `json:"default_scopes"`
	Resources     []string        `json:"resources,omitempty"`
	Audience      []string        `json:"audience,omitempty"`
	Introspect    bool            `json:"introspect,omitempty"`
	DPoPBound     bool            `json:"dpop_bound_access_tokens,omitempty"`
	JWKS          json.RawMessage `json:"jwks,omitempty"`
	JWKSURI       string          `json:"jwks_uri,omitempty"`
	Secrets       []Secret        `json:"secrets,omitempty"`
	MTLS
	// TokenExchange, when set, allows the token exchange grant.
	TokenExchange *TokenExchange `json:"token_exchange,omitempty"`
}

// TokenExchange is a client's token exchange policy (RFC 8693), as the
// clients file writes it: audiences it may exchange into, the aud its
// subject tokens must carry, the scopes it may keep, and whether it may
// act for others.
type TokenExchange struct {
	Audiences        []string `json:"audiences"`
	SubjectAudiences []string `json:"subject_audiences,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	Delegate         bool     `json:"delegate,omitempty"`
}

// TokenExchangeOf is the wire form of c's policy, nil without one.
func TokenExchangeOf(c domain.Client) *TokenExchange {
	p := c.Exchange
	if !p.Enabled() {
		return nil
	}
	return &TokenExchange{Audiences: p.Audiences, SubjectAudiences: p.SubjectAudiences, Scopes: p.Scopes, Delegate: p.Delegate}
}

// applyTo sets the policy on c and allows it the grant.
func (t *TokenExchange) applyTo(c *domain.Client) {
	if t == nil {
		return
	}
	c.Exchange = domain.ExchangePolicy{Audiences: t.Audiences, SubjectAudiences: t.SubjectAudiences, Scopes: domain.NewScopes(t.Scopes...), Delegate: t.Delegate}
	if !c.AllowsGrant(domain.GrantTokenExchange) {
		c.GrantTypes = append(c.GrantTypes, domain.GrantTokenExchange)
	}
}

// MTLS is a client's RFC 8705 metadata, in requests and answers alike:
// at most one tls_client_auth subject (§2.1.2) and
// tls_client_certificate_bound_access_tokens (§3.4), with the security
// profile that builds on them; each left out when unset.
type MTLS struct {
	TLSSubject
	CertBound bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// Profile is the client's security profile: empty, or fapi2.
	Profile string `json:"profile,omitempty"`
}

// TLSSubject is the five members of RFC 8705 §2.1.2, of which a
// tls_client_auth client registers one: the admin API's and dynamic
// registration's (RFC 7591) form alike.
type TLSSubject struct {
	SubjectDN string `json:"tls_client_auth_subject_dn,omitempty"`
	SANDNS    string `json:"tls_client_auth_san_dns,omitempty"`
	SANURI    string `json:"tls_client_auth_san_uri,omitempty"`
	SANIP     string `json:"tls_client_auth_san_ip,omitempty"`
	SANEmail  string `json:"tls_client_auth_san_email,omitempty"`
}

// TLSSubjectOf is the wire form of s.
func TLSSubjectOf(s domain.TLSSubject) TLSSubject {
	var t TLSSubject
	switch s.Kind {
	case domain.TLSSubjectDN:
		t.SubjectDN = s.Value
	case domain.TLSSubjectSANDNS:
		t.SANDNS = s.Value
	case domain.TLSSubjectSANURI:
		t.SANURI = s.Value
	case domain.TLSSubjectSANIP:
		t.SANIP = s.Value
	case domain.TLSSubjectSANEmail:
		t.SANEmail = s.Value
	}
	return t
}

// Kinds is the members by kind, as domain.NewTLSSubject takes them.
func (t TLSSubject) Kinds() map[domain.TLSSubjectKind]string {
	return map[domain.TLSSubjectKind]string{
		domain.TLSSubjectDN: t.SubjectDN, domain.TLSSubjectSANDNS: t.SANDNS, domain.TLSSubjectSANURI: t.SANURI,
		domain.TLSSubjectSANIP: t.SANIP, domain.TLSSubjectSANEmail: t.SANEmail,
	}
}

// MTLSOf is the wire form of c's mutual-TLS metadata.
func MTLSOf(c domain.Client) MTLS {
	return MTLS{TLSSubject: TLSSubjectOf(c.TLSSubject), CertBound: c.CertBound, Profile: string(c.Profile)}
}

// applyTo sets c's mutual-TLS metadata from m; more than one subject is
// invalid_client_metadata.
func (m MTLS) applyTo(c *domain.Client) error {
	s, err := domain.NewTLSSubject(m.Kinds())
	if err != nil {
		return err
	}
	c.TLSSubject, c.CertBound, c.Profile = s, m.CertBound, domain.Profile(m.Profile)
	return nil
}

// Secret is a client secret in a request: Secret in the clear. In the
// answer to adding one, Secret is set only when the server made it.
type Secret struct {
	ID        string `json:"id,omitempty"`
	Secret    string `json:"secret,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// ClientView is a client as answers show it: every field, lists as arrays
// (never null), the secrets by id and expiry only.
type ClientView struct {
	ID            string          `json:"id"`
	TokenFormat   string          `json:"token_format"`
	TokenLifetime string          `json:"token_lifetime"`
	AuthMethods   []string        `json:"auth_methods"`
	GrantTypes    []string        `json:"grant_types"`
	Scopes        []string        `json:"scopes"`
	DefaultScopes []string        `json:"default_scopes"`
	Resources     []string        `json:"resources"`
	Audience      []string        `json:"audience"`
	Introspect    bool            `json:"introspect"`
	DPoPBound     bool            `json:"dpop_bound_access_tokens"`
	JWKS          json.RawMessage `json:"jwks,omitempty"`
	JWKSURI       string          `json:"jwks_uri,omitempty"`
	Secrets       []SecretView    `json:"secrets"`
	MTLS
	TokenExchange *TokenExchange `json:"token_exchange,omitempty"`
}

// SecretView is a secret as answers show it.
type SecretView struct {
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// ClientList is the answer of GET /clients.
type ClientList struct {
	Clients []ClientView `json:"clients"`
}

// Expiry is the body of POST .../expire (At empty: now) and its answer.
type Expiry struct {
	ID        string `json:"id,omitempty"`
	At        string `json:"at,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// TokensRevoked is the answer of POST .../revoke-tokens.
type TokensRevoked struct {
	ClientID     string `json:"client_id"`
	IssuedBefore string `json:"issued_before"`
}

// Key is a signing key as answers show it: no key material.
type Key struct {
	KID         string `json:"kid"`
	Algorithm   string `json:"algorithm"`
	State       string `json:"state"`
	CreatedAt   string `json:"created_at,omitempty"`
	ActivatedAt string `json:"activated_at,omitempty"`
	RetiredAt   string `json:"retired_at,omitempty"`
}

// KeyList is the answer of GET /keys.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// Rotation is the answer of POST /keys/rotate: application.RotateResult.
type Rotation struct {
	Done        bool     `json:"done"`
	Published   string   `json:"published,omitempty"`
	Publish     bool     `json:"publish"`
	ActivateNow bool     `json:"activate_now"`
	Activate    string   `json:"activate,omitempty"`
	Retire      string   `json:"retire,omitempty"`
	Remove      []string `json:"remove"`
}

// KeyRevocation is the answer of POST /keys/{kid}/revoke:
// application.RevokeResult.
type KeyRevocation struct {
	Done      bool   `json:"done"`
	Remove    string `json:"remove,omitempty"`
	Activate  string `json:"activate,omitempty"`
	Publish   bool   `json:"publish"`
	Published string `json:"published,omitempty"`
	// AnnounceError says why the running nodes could not be told.
	AnnounceError string `json:"announce_error,omitempty"`
}

// Problem is an error answer (RFC 9457, application/problem+json), with
// Code a stable name to branch on.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

// Decode reads one JSON value into v: unknown fields are errors, as
// unknown keys of a clients file are, and so is anything after the value.
func Decode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("body: holds more than one JSON value")
	}
	return nil
}

// FormatTime writes t as RFC 3339 in UTC, "" for zero.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTime reads what FormatTime wrote, zero for "".
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// ToRegistration turns a request's client into a registration with the
// clients file's defaults: token format jwt, methods client_secret_basic
// and client_secret_post, default scopes equal to the allowed scopes. Its
// errors are the clients file's, as domain.ErrInvalidClientMetadata.
func (d Client) ToRegistration() (application.RegisterClientInput, error) {
	bad := func(format string, a ...any) error {
		return domain.ErrInvalidClientMetadata.With(fmt.Sprintf(format, a...))
	}
	jwks, err := jwksText(d.JWKS)
	if err != nil {
		return application.RegisterClientInput{}, bad("jwks must be a JSON Web Key Set, as an object or a string")
	}
	c := domain.Client{
		ID:            d.ID,
		TokenFormat:   domain.FormatJWT,
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost},
		AllowedScopes: domain.NewScopes(d.Scopes...),
		DefaultScopes: domain.NewScopes(d.Scopes...),
		Resources:     d.Resources,
		Audience:      d.Audience,
		CanIntrospect: d.Introspect,
		DPoPBound:     d.DPoPBound,
		JWKS:          jwks,
		JWKSURI:       d.JWKSURI,
	}
	if err := d.MTLS.applyTo(&c); err != nil {
		return application.RegisterClientInput{}, err
	}
	d.TokenExchange.applyTo(&c)
	if d.TokenFormat != "" {
		c.TokenFormat = domain.TokenFormat(d.TokenFormat)
	}
	if d.DefaultScopes != nil {
		c.DefaultScopes = domain.NewScopes(d.DefaultScopes...)
	}
	if len(d.AuthMethods) > 0 {
		c.AuthMethods = toMethods(d.AuthMethods)
	}
	if d.TokenLifetime != "" {
		if c.TokenLifetime, err = time.ParseDuration(d.TokenLifetime); err != nil {
			return application.RegisterClientInput{}, bad("token_lifetime %q is not a duration such as 1h", d.TokenLifetime)
		}
	}
	in := application.RegisterClientInput{Client: c}
	for _, s := range d.Secrets {
		spec, err := s.ToSpec()
		if err != nil {
			return application.RegisterClientInput{}, err
		}
		in.Secrets = append(in.Secrets, spec)
	}
	return in, nil
}

// ToSpec reads a secret of a request.
func (s Secret) ToSpec() (application.SecretSpec, error) {
	exp, err := ParseTime(s.ExpiresAt)
	if err != nil {
		return application.SecretSpec{}, domain.ErrInvalidClientMetadata.With(fmt.Sprintf("secret %s: expires_at %q is not an RFC 3339 time", s.ID, s.ExpiresAt))
	}
	return application.SecretSpec{ID: s.ID, Secret: s.Secret, ExpiresAt: exp}, nil
}

// FromRegistration is the request form of a registration: what
// adminclient sends.
func FromRegistration(in application.RegisterClientInput) Client {
	c := in.Client
	d := Client{
		ID:            c.ID,
		TokenFormat:   string(c.TokenFormat),
		AuthMethods:   fromMethods(c.AuthMethods),
		Scopes:        nonNil(c.AllowedScopes),
		DefaultScopes: nonNil(c.DefaultScopes),
		Resources:     c.Resources,
		Audience:      c.Audience,
		Introspect:    c.CanIntrospect,
		DPoPBound:     c.DPoPBound,
		JWKS:          jwksJSON(c.JWKS),
		JWKSURI:       c.JWKSURI,
		MTLS:          MTLSOf(c),
		TokenExchange: TokenExchangeOf(c),
	}
	if c.TokenLifetime != 0 {
		d.TokenLifetime = c.TokenLifetime.String()
	}
	for _, s := range in.Secrets {
		d.Secrets = append(d.Secrets, Secret{ID: s.ID, Secret: s.Secret, ExpiresAt: FormatTime(s.ExpiresAt)})
	}
	return d
}

// ViewOf is the answer's form of a client, without secret material.
func ViewOf(c domain.Client) ClientView {
	v := ClientView{
		ID:            c.ID,
		TokenFormat:   string(c.TokenFormat),
		AuthMethods:   nonNil(fromMethods(c.AuthMethods)),
		GrantTypes:    []string{},
		Scopes:        nonNil(c.AllowedScopes),
		DefaultScopes: nonNil(c.DefaultScopes),
		Resources:     nonNil(c.Resources),
		Audience:      nonNil(c.Audience),
		Introspect:    c.CanIntrospect,
		DPoPBound:     c.DPoPBound,
		JWKS:          jwksJSON(c.JWKS),
		JWKSURI:       c.JWKSURI,
		Secrets:       []SecretView{},
		MTLS:          MTLSOf(c),
		TokenExchange: TokenExchangeOf(c),
	}
	if c.TokenLifetime != 0 {
		v.TokenLifetime = c.TokenLifetime.String()
	}
	for _, g := range c.GrantTypes {
		v.GrantTypes = append(v.GrantTypes, string(g))
	}
	for _, s := range c.Secrets {
		v.Secrets = append(v.Secrets, SecretView{ID: s.ID, ExpiresAt: FormatTime(s.ExpiresAt)})
	}
	return v
}

// ToDomain reads an answer's client back: the domain.Client the server
// holds, its secrets by id and expiry only.
func (v ClientView) ToDomain() (domain.Client, error) {
	c := domain.Client{
		ID:            v.ID,
		TokenFormat:   domain.TokenFormat(v.TokenFormat),
		AuthMethods:   toMethods(v.AuthMethods),
		AllowedScopes: domain.NewScopes(v.Scopes...),
		DefaultScopes: domain.NewScopes(v.DefaultScopes...),
		Resources:     emptyToNil(v.Resources),
		Audience:      emptyToNil(v.Audience),
		CanIntrospect: v.Introspect,
		DPoPBound:     v.DPoPBound,
		JWKSURI:       v.JWKSURI,
	}
	if err := v.MTLS.applyTo(&c); err != nil {
		return domain.Client{}, err
	}
	var err error
	if c.JWKS, err = jwksText(v.JWKS); err != nil {
		return domain.Client{}, fmt.Errorf("jwks: %w", err)
	}
	for _, g := range v.GrantTypes {
		c.GrantTypes = append(c.GrantTypes, domain.GrantType(g))
	}
	v.TokenExchange.applyTo(&c)
	if v.TokenLifetime != "" {
		if c.TokenLifetime, err = time.ParseDuration(v.TokenLifetime); err != nil {
			return domain.Client{}, fmt.Errorf("token_lifetime: %w", err)
		}
	}
	for _, s := range v.Secrets {
		exp, err := ParseTime(s.ExpiresAt)
		if err != nil {
			return domain.Client{}, fmt.Errorf("secret %s: %w", s.ID, err)
		}
		c.Secrets = append(c.Secrets, domain.ClientSecret{ID: s.ID, ExpiresAt: exp})
	}
	return c, nil
}

// KeyOf is a signing key without its key material.
func KeyOf(k domain.SigningKey) Key {
	return Key{KID: k.ID, Algorithm: string(k.Algorithm), State: string(k.State),
		CreatedAt: FormatTime(k.CreatedAt), ActivatedAt: FormatTime(k.ActivatedAt), RetiredAt: FormatTime(k.RetiredAt)}
}

// ToDomain reads a key back, without key material.
func (k Key) ToDomain() (domain.SigningKey, error) {
	out := domain.SigningKey{ID: k.KID, Algorithm: domain.Algorithm(k.Algorithm), State: domain.KeyState(k.State)}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&out.CreatedAt, k.CreatedAt}, {&out.ActivatedAt, k.ActivatedAt}, {&out.RetiredAt, k.RetiredAt}} {
		if *f.dst, err = ParseTime(f.src); err != nil {
			return domain.SigningKey{}, fmt.Errorf("key %s: %w", k.KID, err)
		}
	}
	return out, nil
}

// RotationOf is the answer's form of a rotation step.
func RotationOf(r application.RotateResult) Rotation {
	return Rotation{Done: r.Done, Published: r.Published, Publish: r.Plan.Publish, ActivateNow: r.Plan.ActivateNow,
		Activate: r.Plan.Activate, Retire: r.Plan.Retire, Remove: nonNil(r.Plan.Remove)}
}

// ToDomain reads a rotation step back.
func (r Rotation) ToDomain() application.RotateResult {
	return application.RotateResult{Done: r.Done, Published: r.Published, Plan: domain.RotationPlan{
		Publish: r.Publish, ActivateNow: r.ActivateNow, Activate: r.Activate, Retire: r.Retire, Remove: emptyToNil(r.Remove)}}
}

// KeyRevocationOf is the answer's form of a key revocation.
func KeyRevocationOf(r application.RevokeResult) KeyRevocation {
	out := KeyRevocation{Done: r.Done, Remove: r.Plan.Remove, Activate: r.Plan.Activate, Publish: r.Plan.Publish, Published: r.Published}
	if r.AnnounceErr != nil {
		out.AnnounceError = "the running nodes could not be told; they learn at their next key check"
	}
	return out
}

// ToDomain reads a key revocation back.
func (r KeyRevocation) ToDomain() application.RevokeResult {
	out := application.RevokeResult{Done: r.Done, Published: r.Published,
		Plan: domain.RevocationPlan{Remove: r.Remove, Activate: r.Activate, Publish: r.Publish}}
	if r.AnnounceError != "" {
		out.AnnounceErr = errors.New(r.AnnounceError)
	}
	return out
}

// jwksText reads jwks given as a JSON object (the key set itself) or as a
// string holding it, as a clients file does.
func jwksText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case raw[0] == '{':
		return string(raw), nil
	default:
		return "", errors.New("neither an object nor a string")
	}
}

// jwksJSON writes a stored key set as the object it is, or as a string if
// it is not valid JSON (it always is, once validated).
func jwksJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

func toMethods(names []string) []domain.AuthMethod {
	var out []domain.AuthMethod
	for _, m := range names {
		out = append(out, domain.AuthMethod(m))
	}
	return out
}

func fromMethods(ms []domain.AuthMethod) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return out
}

// nonNil makes a nil list an empty one, so that JSON says [] rather than
// null.
func nonNil[S ~[]string](s S) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func emptyToNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
