package application

import (
	"context"
	"crypto"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// Clock tells the time. Use cases never call time.Now themselves.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// ClientFinder looks up a registered client by id, returning
// domain.ErrNotFound if there is none.
type ClientFinder interface {
	FindClient(ctx context.Context, id string) (domain.Client, error)
}

// ClientSaver creates or replaces a client.
type ClientSaver interface {
	SaveClient(ctx context.Context, c domain.Client) error
}

// SecretHasher turns a client secret into a slow salted hash and checks a
// secret against such a hash in constant time.
type SecretHasher interface {
	HashSecret(secret string) (string, error)
	// VerifySecret reports whether secret matches hash. An error means the
	// hash itself could not be read, not that the secret was wrong.
	VerifySecret(hash, secret string) (bool, error)
}

// TokenStore keeps opaque access tokens. Implementations store a hash of
// the token value, never the value, and forget the token when it expires.
type TokenStore interface {
	SaveToken(ctx context.Context, t domain.Token) error
	// FindToken returns the token whose value is value, with Value set, or
	// domain.ErrNotFound if it is unknown or expired.
	FindToken(ctx context.Context, value string) (domain.Token, error)
	// DeleteToken forgets the token whose value is value; deleting an
	// unknown token is not an error.
	DeleteToken(ctx context.Context, value string) error
}

// ExchangeLedger remembers which tokens were exchanged from which of
// Sigil's tokens (RFC 8693), until they expire, so that revoking a token
// revokes what was exchanged from it.
type ExchangeLedger interface {
	RecordExchange(ctx context.Context, parentJTI string, child ExchangedToken) error
	// ExchangedFrom lists the unexpired tokens exchanged from parentJTI.
	ExchangedFrom(ctx context.Context, parentJTI string) ([]ExchangedToken, error)
}

// ExchangedToken is a token the ledger holds: its jti and expiry.
type ExchangedToken struct {
	JTI       string
	ExpiresAt time.Time
}

// DenyList remembers revoked JWT access tokens by jti until they expire
// (RFC 7009 §2 for self-contained tokens).
type DenyList interface {
	Deny(ctx context.Context, jti string, until time.Time) error
	IsDenied(ctx context.Context, jti string) (bool, error)
}

// ReplayGuard makes client assertions single-use (RFC 7523 §3, item 7).
type ReplayGuard interface {
	// FirstUse records id until until and reports whether it was unseen.
	// Two concurrent calls with the same id never both see true.
	FirstUse(ctx context.Context, id string, until time.Time) (bool, error)
}

// SecretBox encrypts secrets the server must be able to read back (the
// shared secrets of client_secret_jwt) under its key-encryption key.
type SecretBox interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// ClientAssertionVerifier checks the signature of a client's JWT assertion
// (RFC 7523 §2.2) with what the client registered: an HMAC secret for
// client_secret_jwt, its public keys (jwks or jwks_uri) for private_key_jwt.
type ClientAssertionVerifier interface {
	// UnverifiedIssuer reads the iss of an assertion without checking it,
	// to find the client the assertion claims to come from.
	UnverifiedIssuer(assertion string) (string, error)
	// VerifyClientAssertion checks the signature with secrets (the opened
	// client_secret_jwt secrets, possibly none) or the client's public
	// keys, and returns the claims and the method the signature shows.
	// Claims are for the caller to judge. A bad signature or malformed
	// assertion matches domain.ErrInvalidClient.
	VerifyClientAssertion(ctx context.Context, c domain.Client, secrets [][]byte, assertion string) (domain.ClientAssertion, domain.AuthMethod, error)
}

// IntrospectionSigner signs an introspection answer as a JWT (RFC 9701).
type IntrospectionSigner interface {
	SignIntrospection(ctx context.Context, key domain.SigningKey, r SignedIntrospection) (string, error)
}

// SignedIntrospection is what an RFC 9701 introspection JWT says.
type SignedIntrospection struct {
	Issuer   string
	Audience string // the client that asked
	IssuedAt time.Time
	Result   Introspection
}

// ScopeLister lists every scope some client may be granted, for the
// server metadata.
type ScopeLister interface {
	ListScopes(ctx context.Context) (domain.Scopes, error)
}

// AccessTokenSigner signs a token's claims as an RFC 9068 JWT with key and
// returns the compact serialisation.
type AccessTokenSigner interface {
	SignAccessToken(ctx context.Context, key domain.SigningKey, t domain.Token) (string, error)
}

// AccessTokenVerifier checks a JWT access token's signature and claims.
// Any token that is not valid gives an error matching domain.ErrInvalidToken;
// any other error means verification could not be carried out.
type AccessTokenVerifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error)
}

// TokenIntrospector asks an authorization server about an access token
// (RFC 7662). An inactive token gives an error matching
// domain.ErrInvalidToken.
type TokenIntrospector interface {
	IntrospectToken(ctx context.Context, raw string) (domain.Token, error)
}

// KeyStore persists signing keys; the private key never rests in the
// clear.
type KeyStore interface {
	// ListSigningKeys returns every key, oldest first (by CreatedAt, then kid).
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	SaveSigningKey(ctx context.Context, k domain.SigningKey) error
	// DeleteSigningKey removes a key; an unknown kid is not an error.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Locker runs work under a lock that every node sharing the storage
// respects, so that a transition (a key rotation step) happens once.
type Locker interface {
	// TryLocked runs fn if the named lock is free and reports whether it
	// ran; a lock held elsewhere is not an error.
	TryLocked(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error)
}

// EventPublisher tells every node about a change (a revocation, a key
// removal, a client change). Delivery is best effort; what must survive a
// lost message is also kept in storage (the deny list).
type EventPublisher interface {
	Publish(ctx context.Context, e domain.Event) error
}

// DenyLister lists the live entries of the deny list, for a node that
// (re)joins the feed and must catch up.
type DenyLister interface {
	ListDenied(ctx context.Context) ([]domain.Event, error)
}

// ClientRevocationStore keeps, per client, the time up to which all its
// tokens are revoked (RevokeClientTokens), so that nodes that missed the
// feed's message, or have none, still learn of it.
type ClientRevocationStore interface {
	// RevokeClientTokens records that the tokens of client issued up to
	// before are revoked; a later call for the client replaces the time.
	RevokeClientTokens(ctx context.Context, client string, before time.Time) error
	ClientRevocationLister
}

// ClientRevocationLister lists every client revocation as
// domain.EventClientTokensRevoked events.
type ClientRevocationLister interface {
	ListClientRevocations(ctx context.Context) ([]domain.Event, error)
}

// KeyGenerator makes a new signing key for an algorithm.
type KeyGenerator interface {
	GenerateSigningKey(alg domain.Algorithm) (domain.SigningKey, error)
}

// JWKSEncoder renders public keys as a JSON Web Key Set (RFC 7517 §5).
type JWKSEncoder interface {
	EncodeJWKS(keys []domain.SigningKey) ([]byte, error)
}

// VerificationKeys finds the public key and algorithm for a key id.
// An unknown kid gives domain.ErrNotFound.
type VerificationKeys interface {
	VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, domain.Algorithm, error)
}

// KeyTrust tells whether the signing key kid is still trusted: the
// authorization server publishes it and has not removed it. It is asked
// on every request a cached verification answers, so it must be quick;
// an empty kid is never trusted.
type KeyTrust interface {
	TrustsKey(kid string) bool
}

// CountryFinder looks countries up.
type CountryFinder interface {
	// FindCountry finds a country by its upper-case alpha-2 or alpha-3
	// code, or returns domain.ErrNotFound.
	FindCountry(ctx context.Context, code string) (domain.Country, error)
	// ListCountries returns up to limit countries ordered by alpha-3 code,
	// starting at offset, and the total count.
	ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error)
}

// ClientLister lists every registered client, ordered by id.
type ClientLister interface {
	ListClients(ctx context.Context) ([]domain.Client, error)
}

// ClientDeleter removes a client; removing an unknown client gives
// domain.ErrNotFound.
type ClientDeleter interface {
	DeleteClient(ctx context.Context, id string) error
}

// ClientRegistry reads and writes clients.
type ClientRegistry interface {
	ClientFinder
	ClientSaver
}

// RateLimiter counts events per key against a limit. The Redis adapter
// shares the counts between every node; LocalRateLimiter keeps them in
// the process.
type RateLimiter interface {
	// Allow takes one event from key's budget under limit, if the budget
	// holds one. A refused event takes nothing.
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
}

// KnownAddresses remembers, for the failure throttle, the (client id,
// address) pairs that authenticated successfully, so that every node
// knows them and a restart does not forget them.
type KnownAddresses interface {
	Remember(ctx context.Context, key string, ttl time.Duration) error
	// Known reports whether key was remembered and has not expired.
	Known(ctx context.Context, key string) (bool, error)
}

// Auditor records audit events (see AuditKind). It must not fail the
// change it records, so it returns nothing: an auditor that cannot write
// says so itself.
type Auditor interface {
	Audit(ctx context.Context, e AuditEvent)
}

// DPoPVerifier reads a DPoP proof JWT (RFC 9449 §4.2) and checks what
// the proof alone can show (§4.3 items 2 to 7): one well-formed JWS, typ
// dpop+jwt, an allowed asymmetric alg, a public jwk and no private one,
// the signature by that key, and the claims jti, htm, htu and iat. What
// the proof says about the request is for the caller to judge
// (domain.DPoPProof.Check). Any fault of the proof matches
// domain.ErrInvalidDPoPProof.
type DPoPVerifier interface {
	VerifyDPoPProof(raw string) (domain.DPoPProof, error)
}

// Tracer reports each call of a use case as a span of the caller's trace
// (OpenTelemetry in bootstrap when tracing is on). Start returns the
// context the use case goes on with, carrying the span to its storage and
// upstream calls, and the function that ends the span with the call's
// error.
type Tracer interface {
	Start(ctx context.Context, name string) (context.Context, func(err error))
}

// FederatedTokenVerifier checks tokens of trusted external issuers
// (Federation): the signature with the keys of that issuer only.
type FederatedTokenVerifier interface {
	// UnverifiedIssuer reads the iss of a token without checking it, to
	// pick the trust relationship whose keys will check it.
	UnverifiedIssuer(raw string) (string, error)
	// VerifyFederatedToken checks raw's signature with the keys of the
	// configured issuer iss and an algorithm among algs, and returns its
	// claims for the caller to judge. A token that is not valid matches
	// domain.ErrInvalidClient; keys that cannot be had match
	// domain.ErrTemporarilyUnavailable.
	VerifyFederatedToken(ctx context.Context, iss string, algs []domain.Algorithm, raw string) (FederatedToken, error)
	// Trusting returns a verifier of the issuers of keys, which keeps
	// what this one cached of a key source that did not change. A key
	// source it cannot use (an inline JWKS without a public key) is an
	// error naming it.
	Trusting(keys []FederatedKeySource) (FederatedTokenVerifier, error)
}

// FederatedIssuerStore keeps the trust relationships managed through the
// admin API, one per issuer, as they were written.
type FederatedIssuerStore interface {
	// SaveFederatedIssuer creates the entry of s.Issuer or replaces it,
	// and reports whether it created it.
	SaveFederatedIssuer(ctx context.Context, s FederatedIssuerSpec) (created bool, err error)
	// DeleteFederatedIssuer removes the entry of iss; domain.ErrNotFound
	// when there is none.
	DeleteFederatedIssuer(ctx context.Context, iss string) error
	// ListFederatedIssuers returns every entry, ordered by issuer.
	ListFederatedIssuers(ctx context.Context) ([]FederatedIssuerSpec, error)
}

// CertificateKeys tells whether a public key is among a client's
// registered keys (jwks or jwks_uri), for self_signed_tls_client_auth
// (RFC 8705 §2.2).
type CertificateKeys interface {
	// HasCertificateKey reports whether spki, a DER SubjectPublicKeyInfo,
	// is the public key of one of c's registered JWKs.
	HasCertificateKey(ctx context.Context, c domain.Client, spki []byte) (bool, error)
}

// RegistrationStore keeps the dynamic registrations of clients (RFC 7592
// §3): one per client, with the hash of its registration access token.
type RegistrationStore interface {
	SaveRegistration(ctx context.Context, r domain.ClientRegistration) error
	// FindRegistration gives domain.ErrNotFound for a client not
	// registered dynamically.
	FindRegistration(ctx context.Context, clientID string) (domain.ClientRegistration, error)
	DeleteRegistration(ctx context.Context, clientID string) error
}

// SoftwareStatementVerifier checks a software statement (RFC 7591 §2.3)
// against the keys of the trusted statement issuers and returns the
// client metadata it asserts. A statement that cannot be read or whose
// signature fails matches domain.ErrInvalidSoftwareStatement; one signed
// by no trusted key, domain.ErrUnapprovedSoftwareStatement.
type SoftwareStatementVerifier interface {
	VerifySoftwareStatement(ctx context.Context, statement string) (ClientMetadata, error)
}

// UpstreamReporter hears of the calls a resource node makes to the
// authorization server on behalf of one request (the JWKS fetch, or the
// kid found in the cache; the introspection call), for the playground
// page, which cannot see them. Whom a call is reported to is for the
// adapter to tell from ctx. Reporters must be cheap when nobody listens:
// callers ask Watched first and build the UpstreamCall only then.
type UpstreamReporter interface {
	// Watched reports whether anyone listens for ctx's request.
	Watched(ctx context.Context) bool
	Report(ctx context.Context, c UpstreamCall)
}

// UpstreamCall is one call a resource node made, or spared itself, to
// check a token: as it went over the wire, credentials and the token
// itself left out.
type UpstreamCall struct {
	// Kind is "jwks" or "introspection".
	Kind string
	// Cached is set when no call was made: the key (KeyID) or the
	// answer was in the cache.
	Cached bool
	// KeyID is the kid the JWKS was consulted for.
	KeyID string
	// Method, URL, RequestHeaders and RequestBody are the request;
	// Status and ResponseBody the answer (Status 0 with Error when none
	// came). The request body names the token as "<token>".
	Method         string
	URL            string
	RequestHeaders map[string]string
	RequestBody    string
	Status         int
	ResponseBody   string
	Error          string
	Started        time.Time
	Duration       time.Duration
}
