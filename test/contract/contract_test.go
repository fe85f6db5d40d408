package contract_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/contract"
	"github.com/sigilauth/sigil/test/fakes"
	"github.com/sigilauth/sigil/test/testenv"
)

// databases are the SQL engines gormstore runs on; each call gives a
// migrated database of the test's own.
var databases = map[string]func(testing.TB) *gorm.DB{
	"sqlite":   testenv.SQLite,
	"postgres": testenv.Postgres,
}

func TestTokenStore(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.TokenStore(t, func(_ *testing.T, clock *fakes.Clock) application.TokenStore {
			return fakes.NewTokens(clock)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.TokenStore(t, func(t *testing.T, clock *fakes.Clock) application.TokenStore {
				return gormstore.NewTokens(open(t), clock)
			})
		})
	}
	t.Run("redis", func(t *testing.T) {
		contract.TokenStore(t, func(t *testing.T, _ *fakes.Clock) application.TokenStore {
			return redisstore.NewTokens(testenv.Redis(t))
		})
	})
}

func TestClientRegistry(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.ClientRegistry(t, func(*testing.T) contract.ClientStore { return fakes.NewClients() })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.ClientRegistry(t, func(t *testing.T) contract.ClientStore {
				return gormstore.NewClients(open(t))
			})
		})
	}
}

func TestDenyList(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.DenyList(t, func(_ *testing.T, clock *fakes.Clock) application.DenyList {
			return fakes.NewExpiring(clock)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.DenyList(t, func(t *testing.T, clock *fakes.Clock) application.DenyList {
				return gormstore.NewDenyList(open(t), clock)
			})
		})
	}
	t.Run("redis", func(t *testing.T) {
		contract.DenyList(t, func(t *testing.T, _ *fakes.Clock) application.DenyList {
			return redisstore.NewDenyList(testenv.Redis(t))
		})
	})
}

func TestReplayGuard(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.ReplayGuard(t, func(_ *testing.T, clock *fakes.Clock) application.ReplayGuard {
			return fakes.NewExpiring(clock)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.ReplayGuard(t, func(t *testing.T, clock *fakes.Clock) application.ReplayGuard {
				return gormstore.NewReplayGuard(open(t), clock)
			})
		})
	}
	t.Run("redis", func(t *testing.T) {
		contract.ReplayGuard(t, func(t *testing.T, _ *fakes.Clock) application.ReplayGuard {
			return redisstore.NewReplayGuard(testenv.Redis(t))
		})
	})
}

func TestKeyStore(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.KeyStore(t, func(*testing.T) application.KeyStore { return &fakes.Keys{} })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.KeyStore(t, func(t *testing.T) application.KeyStore { return gormstore.NewKeys(open(t)) })
		})
	}
}

func TestCountryFinder(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.CountryFinder(t, func(*testing.T) application.CountryFinder {
			return fakes.NewCountries(domain.ISOCountries()...)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.CountryFinder(t, func(t *testing.T) application.CountryFinder {
				return gormstore.NewCountries(open(t))
			})
		})
	}
}
