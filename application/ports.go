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

// KeyStore persists signing keys.
type KeyStore interface {
	// ListSigningKeys returns every key, oldest first (by CreatedAt, then kid).
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)
	SaveSigningKey(ctx context.Context, k domain.SigningKey) error
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

// CountryFinder looks countries up.
type CountryFinder interface {
	// FindCountry finds a country by its upper-case alpha-2 or alpha-3
	// code, or returns domain.ErrNotFound.
	FindCountry(ctx context.Context, code string) (domain.Country, error)
	// ListCountries returns up to limit countries ordered by alpha-3 code,
	// starting at offset, and the total count.
	ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error)
}
