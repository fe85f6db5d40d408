package fakes

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The doubles of a dependency that is down. Each fails every call with its
// Err, or ErrDown when Err is nil; a test that checks what leaks into an
// answer sets an Err of its own.

// ErrDown is what a broken double fails with unless told otherwise: a
// store that cannot be reached.
var ErrDown = errors.New("connection refused")

func errOr(err error) error {
	if err != nil {
		return err
	}
	return ErrDown
}

// BrokenClients is a client registry whose database is down.
type BrokenClients struct{ Err error }

// FindClient implements application.ClientFinder.
func (b BrokenClients) FindClient(context.Context, string) (domain.Client, error) {
	return domain.Client{}, errOr(b.Err)
}

// SaveClient implements application.ClientSaver.
func (b BrokenClients) SaveClient(context.Context, domain.Client) error { return errOr(b.Err) }

// ListClients implements application.ClientLister.
func (b BrokenClients) ListClients(context.Context) ([]domain.Client, error) {
	return nil, errOr(b.Err)
}

// DeleteClient implements application.ClientDeleter.
func (b BrokenClients) DeleteClient(context.Context, string) error { return errOr(b.Err) }

// ListScopes implements application.ScopeLister.
func (b BrokenClients) ListScopes(context.Context) (domain.Scopes, error) { return nil, errOr(b.Err) }

// BrokenTokens is a token store whose database is down.
type BrokenTokens struct{ Err error }

// SaveToken implements application.TokenStore.
func (b BrokenTokens) SaveToken(context.Context, domain.Token) error { return errOr(b.Err) }

// FindToken implements application.TokenStore.
func (b BrokenTokens) FindToken(context.Context, string) (domain.Token, error) {
	return domain.Token{}, errOr(b.Err)
}

// DeleteToken implements application.TokenStore.
func (b BrokenTokens) DeleteToken(context.Context, string) error { return errOr(b.Err) }

// BrokenExpiring is a deny list and replay guard whose store is down.
type BrokenExpiring struct{ Err error }

// Deny implements application.DenyList.
func (b BrokenExpiring) Deny(context.Context, string, time.Time) error { return errOr(b.Err) }

// IsDenied implements application.DenyList.
func (b BrokenExpiring) IsDenied(context.Context, string) (bool, error) { return false, errOr(b.Err) }

// ListDenied implements application.DenyLister.
func (b BrokenExpiring) ListDenied(context.Context) ([]domain.Event, error) {
	return nil, errOr(b.Err)
}

// FirstUse implements application.ReplayGuard.
func (b BrokenExpiring) FirstUse(context.Context, string, time.Time) (bool, error) {
	return false, errOr(b.Err)
}

// BrokenCountries is a country table whose database is down.
type BrokenCountries struct{ Err error }

// FindCountry implements application.CountryFinder.
func (b BrokenCountries) FindCountry(context.Context, string) (domain.Country, error) {
	return domain.Country{}, errOr(b.Err)
}

// ListCountries implements application.CountryFinder.
func (b BrokenCountries) ListCountries(context.Context, int, int) ([]domain.Country, int, error) {
	return nil, 0, errOr(b.Err)
}

// BrokenLimiter is a rate limiter whose store is down; it counts the
// calls it failed.
type BrokenLimiter struct {
	Err   error
	Calls atomic.Int64
}

// Allow implements application.RateLimiter.
func (b *BrokenLimiter) Allow(context.Context, string, application.Limit) (application.Decision, error) {
	b.Calls.Add(1)
	return application.Decision{}, errOr(b.Err)
}

// BrokenVerifier cannot verify anything: its key source is unreachable.
type BrokenVerifier struct{ Err error }

// VerifyAccessToken implements application.AccessTokenVerifier.
func (b BrokenVerifier) VerifyAccessToken(context.Context, string) (domain.Token, error) {
	return domain.Token{}, fmt.Errorf("load keys: %w", errOr(b.Err))
}

// BrokenKeyGenerator cannot make keys.
type BrokenKeyGenerator struct{ Err error }

// GenerateSigningKey implements application.KeyGenerator.
func (b BrokenKeyGenerator) GenerateSigningKey(domain.Algorithm) (domain.SigningKey, error) {
	return domain.SigningKey{}, errOr(b.Err)
}

// FailingKeys is a key store whose operations can be made to fail with
// ErrDown, one kind at a time; with FailSave set, the first SavesOK saves
// still succeed.
type FailingKeys struct {
	*Keys
	FailList, FailSave, FailDelete bool
	SavesOK                        int
}

// ListSigningKeys implements application.KeyStore.
func (f *FailingKeys) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	if f.FailList {
		return nil, ErrDown
	}
	return f.Keys.ListSigningKeys(ctx)
}

// SaveSigningKey implements application.KeyStore.
func (f *FailingKeys) SaveSigningKey(ctx context.Context, k domain.SigningKey) error {
	if f.FailSave {
		if f.SavesOK == 0 {
			return ErrDown
		}
		f.SavesOK--
	}
	return f.Keys.SaveSigningKey(ctx, k)
}

// DeleteSigningKey implements application.KeyStore.
func (f *FailingKeys) DeleteSigningKey(ctx context.Context, kid string) error {
	if f.FailDelete {
		return ErrDown
	}
	return f.Keys.DeleteSigningKey(ctx, kid)
}

var (
	_ application.ClientRegistry      = BrokenClients{}
	_ application.ClientLister        = BrokenClients{}
	_ application.ClientDeleter       = BrokenClients{}
	_ application.ScopeLister         = BrokenClients{}
	_ application.TokenStore          = BrokenTokens{}
	_ application.DenyList            = BrokenExpiring{}
	_ application.DenyLister          = BrokenExpiring{}
	_ application.ReplayGuard         = BrokenExpiring{}
	_ application.CountryFinder       = BrokenCountries{}
	_ application.RateLimiter         = (*BrokenLimiter)(nil)
	_ application.AccessTokenVerifier = BrokenVerifier{}
	_ application.KeyGenerator        = BrokenKeyGenerator{}
	_ application.KeyStore            = (*FailingKeys)(nil)
)
