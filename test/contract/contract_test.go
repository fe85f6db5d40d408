package contract_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/aesgcm"
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
			s := redisstore.NewTokens(testenv.Redis(t))
			// Before the client, which testenv closes in its own cleanup.
			t.Cleanup(func() {
				if err := s.Close(context.Background()); err != nil {
					t.Errorf("close token store: %v", err)
				}
			})
			return s
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
	// The resource role's guard of DPoP proof ids without Redis.
	t.Run("memory", func(t *testing.T) {
		contract.ReplayGuard(t, func(_ *testing.T, clock *fakes.Clock) application.ReplayGuard {
			return application.NewMemoryReplayGuard(clock, 100_000)
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
	t.Run("redis pipelined", func(t *testing.T) {
		contract.ReplayGuard(t, func(t *testing.T, _ *fakes.Clock) application.ReplayGuard {
			g := redisstore.NewPipelinedReplayGuard(testenv.Redis(t))
			t.Cleanup(func() { g.Close(context.Background()) })
			return g
		})
	})
}

func TestClientRevocations(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.ClientRevocations(t, func(*testing.T) application.ClientRevocationStore { return &fakes.ClientRevocations{} })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.ClientRevocations(t, func(t *testing.T) application.ClientRevocationStore {
				return gormstore.NewClientRevocations(open(t))
			})
		})
	}
}

func TestKeyStore(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.KeyStore(t, func(*testing.T) application.KeyStore { return &fakes.Keys{} })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.KeyStore(t, func(t *testing.T) application.KeyStore { return gormstore.NewKeys(open(t), newBox(t)) })
		})
	}
}

// newBox returns the real AES-256-GCM box under a random key, so the
// keys make the round trip through sealing the server does.
func newBox(t *testing.T) application.SecretBox {
	t.Helper()
	box, err := aesgcm.New([]byte(rand.Text() + rand.Text())[:aesgcm.KeySize])
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func TestLocker(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.Locker(t, func(*testing.T) (application.Locker, application.Locker) {
			l := &fakes.Locker{}
			return l, l
		})
	})
	// Two nodes: two pools over one database.
	nodes := map[string]func(t *testing.T) (*gorm.DB, *gorm.DB){
		"sqlite": func(t *testing.T) (*gorm.DB, *gorm.DB) {
			path := filepath.Join(t.TempDir(), "sigil.db")
			return openMigrated(t, gormstore.DriverSQLite, path), openMigrated(t, gormstore.DriverSQLite, path)
		},
		"postgres": func(t *testing.T) (*gorm.DB, *gorm.DB) {
			dsn := testenv.PostgresDSN(t)
			return openMigrated(t, gormstore.DriverPostgres, dsn), openMigrated(t, gormstore.DriverPostgres, dsn)
		},
	}
	for name, open := range nodes {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.Locker(t, func(t *testing.T) (application.Locker, application.Locker) {
				a, b := open(t)
				return gormstore.NewLocker(a), gormstore.NewLocker(b)
			})
		})
	}
}

// openMigrated opens a pool of its own on the database at dsn, migrated,
// and closes it when the test ends.
func openMigrated(t *testing.T, driver, dsn string) *gorm.DB {
	t.Helper()
	db, err := gormstore.Open(driver, dsn, nil)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatalf("migrate %s: %v", driver, err)
	}
	return db
}

func TestDenyLister(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.DenyLister(t, func(_ *testing.T, clock *fakes.Clock) contract.ListingDenyList {
			return fakes.NewExpiring(clock)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.DenyLister(t, func(t *testing.T, clock *fakes.Clock) contract.ListingDenyList {
				return gormstore.NewDenyList(open(t), clock)
			})
		})
	}
	t.Run("redis", func(t *testing.T) {
		contract.DenyLister(t, func(t *testing.T, _ *fakes.Clock) contract.ListingDenyList {
			return redisstore.NewDenyList(testenv.Redis(t))
		})
	})
	t.Run("redis cluster", func(t *testing.T) {
		// One cluster for the whole suite, each subtest under a prefix of
		// its own: starting a cluster takes seconds.
		addrs := testenv.RedisCluster(t)
		contract.DenyLister(t, func(t *testing.T, _ *fakes.Clock) contract.ListingDenyList {
			client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
			t.Cleanup(func() { _ = client.Close() })
			if _, ok := client.(*redis.ClusterClient); !ok {
				t.Fatalf("client of %d addresses is a %T, want a cluster client", len(addrs), client)
			}
			return redisstore.NewDenyList(client, "sigil-test:"+rand.Text()+":")
		})
	})
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

func TestRateLimiter(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		contract.RateLimiter(t, func(*testing.T) (application.RateLimiter, application.RateLimiter) {
			l := application.NewLocalRateLimiter(application.SystemClock{}, 1000)
			return l, l
		})
	})
	t.Run("redis", func(t *testing.T) {
		contract.RateLimiter(t, func(t *testing.T) (application.RateLimiter, application.RateLimiter) {
			// Two clients: two nodes. redis_rate puts "rate:" before the
			// prefix, so those keys are removed here; they would expire.
			a, prefix := testenv.Redis(t)
			b, _ := testenv.Redis(t)
			t.Cleanup(func() { deleteRedisKeys(t, a, "rate:"+prefix) })
			return redisstore.NewRateLimiter(a, prefix), redisstore.NewRateLimiter(b, prefix)
		})
	})
	t.Run("redis cluster", func(t *testing.T) {
		addrs := testenv.RedisCluster(t)
		contract.RateLimiter(t, func(t *testing.T) (application.RateLimiter, application.RateLimiter) {
			prefix := "sigil-test:" + rand.Text() + ":"
			var nodes [2]application.RateLimiter
			for i := range nodes {
				client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
				t.Cleanup(func() { _ = client.Close() })
				nodes[i] = redisstore.NewRateLimiter(client, prefix)
			}
			return nodes[0], nodes[1]
		})
	})
}

// deleteRedisKeys removes the keys under prefix that testenv's cleanup
// cannot see.
func deleteRedisKeys(t *testing.T, client redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("delete %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan %s*: %v", prefix, err)
	}
}

// TestRateLimiterWhenRedisIsDown takes its own Redis away: the Redis
// limiter reports the failure, and the fallback the auth role wraps it in
// goes on counting in process, refusing nothing for the outage.
func TestRateLimiterWhenRedisIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a redis-server")
	}
	addr, stop := testenv.RedisServer(t)
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	shared := redisstore.NewRateLimiter(client, "sigil-test:")
	limit := application.Limit{Rate: 2, Burst: 2, Period: time.Hour}
	if d, err := shared.Allow(t.Context(), "k", limit); err != nil || !d.Allowed {
		t.Fatalf("with Redis up: %+v, %v", d, err)
	}
	stop()
	if _, err := shared.Allow(t.Context(), "k", limit); err == nil {
		t.Fatal("the Redis limiter reported no error with Redis gone")
	}
	var failures int
	l := application.NewFallbackLimiter(shared, application.NewLocalRateLimiter(application.SystemClock{}, 100),
		application.SystemClock{}, func(error) { failures++ })
	var allowed int
	for range 4 {
		d, err := l.Allow(t.Context(), "k", limit)
		if err != nil {
			t.Fatalf("the fallback limiter failed with Redis down: %v", err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 2 || failures != 1 {
		t.Errorf("with Redis down: %d of 4 allowed under a burst of 2, %d failures reported; want 2 and 1", allowed, failures)
	}
}

func TestRegistrations(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.Registrations(t, func(*testing.T) application.RegistrationStore { return fakes.NewRegistrations() })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.Registrations(t, func(t *testing.T) application.RegistrationStore {
				return gormstore.NewRegistrations(open(t))
			})
		})
	}
}

func TestExchangeLedger(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.ExchangeLedger(t, func(_ *testing.T, clock *fakes.Clock) application.ExchangeLedger {
			return fakes.NewExchanges(clock)
		})
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.ExchangeLedger(t, func(t *testing.T, clock *fakes.Clock) application.ExchangeLedger {
				return gormstore.NewExchanges(open(t), clock)
			})
		})
	}
}

func TestFederatedIssuers(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		contract.FederatedIssuers(t, func(*testing.T) application.FederatedIssuerStore { return fakes.NewFederatedIssuers() })
	})
	for name, open := range databases {
		t.Run("gorm "+name, func(t *testing.T) {
			contract.FederatedIssuers(t, func(t *testing.T) application.FederatedIssuerStore {
				return gormstore.NewFederatedIssuers(open(t))
			})
		})
	}
}
