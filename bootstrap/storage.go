package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
)

// readiness reports whether a backing service answers; /readyz asks it.
type readiness func(ctx context.Context) error

// GormModule opens the database, migrates it on start, and provides the
// Gorm stores behind their ports.
var GormModule = fx.Module("gormstore",
	fx.Provide(
		openDatabase,
		fx.Annotate(gormstore.NewClients,
			fx.As(new(application.ClientFinder)), fx.As(new(application.ClientRegistry)),
			fx.As(new(application.ScopeLister))),
		fx.Annotate(gormstore.NewKeys, fx.As(new(application.KeyStore))),
		fx.Annotate(gormstore.NewCountries, fx.As(new(application.CountryFinder))),
		fx.Annotate(databaseReadiness, fx.ResultTags(`name:"database"`)),
	),
)

func openDatabase(lc fx.Lifecycle, c Config, log *slog.Logger) (*gorm.DB, error) {
	db, err := gormstore.Open(c.DatabaseDriver, c.DatabaseDSN, log)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := gormstore.Migrate(ctx, db); err != nil {
				return fmt.Errorf("migrate %s database: %w", c.DatabaseDriver, err)
			}
			log.Info("database ready", "driver", c.DatabaseDriver)
			return nil
		},
		OnStop: func(context.Context) error { return sqlDB.Close() },
	})
	return db, nil
}

func databaseReadiness(db *gorm.DB) (readiness, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	return sqlDB.PingContext, nil
}

// GormTokensModule keeps opaque tokens, the deny list of revoked JWTs and
// used client-assertion ids in the database, the embedded default when
// no Redis is configured, and deletes expired rows on a schedule (Redis
// expires its own keys).
var GormTokensModule = fx.Module("gormstore-tokens",
	fx.Provide(
		gormstore.NewTokens,
		func(t *gormstore.Tokens) application.TokenStore { return t },
		gormstore.NewDenyList,
		func(d *gormstore.DenyList) application.DenyList { return d },
		gormstore.NewReplayGuard,
		func(r *gormstore.ReplayGuard) application.ReplayGuard { return r },
		fx.Annotate(func() readiness { return nil }, fx.ResultTags(`name:"tokens"`)),
	),
	fx.Invoke(scheduleTokenCleanup),
)

// expiring is a table whose rows expire and must be swept.
type expiring interface {
	DeleteExpired(ctx context.Context) (int64, error)
}

// scheduleTokenCleanup deletes expired opaque tokens, deny-list entries
// and used assertion ids every token-cleanup-interval while the app runs.
func scheduleTokenCleanup(lc fx.Lifecycle, tokens *gormstore.Tokens, denied *gormstore.DenyList, replays *gormstore.ReplayGuard, c Config, log *slog.Logger) {
	tables := map[string]expiring{"opaque tokens": tokens, "denied jtis": denied, "used assertions": replays}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				tick := time.NewTicker(c.TokenCleanupInterval)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						for name, t := range tables {
							n, err := t.DeleteExpired(ctx)
							if err != nil && ctx.Err() == nil {
								log.Warn("delete expired "+name, "err", err)
							} else if n > 0 {
								log.Debug("deleted expired "+name, "count", n)
							}
						}
					}
				}
			}()
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			<-done
			return nil
		},
	})
}

// RedisModule keeps opaque tokens, the deny list and used assertion ids
// in Redis. The address may list several
// comma-separated nodes: go-redis's UniversalClient then speaks to a
// cluster.
var RedisModule = fx.Module("redisstore",
	fx.Provide(
		newRedisClient,
		fx.Annotate(func(r redis.UniversalClient, c Config) *redisstore.Tokens {
			return redisstore.NewTokens(r, c.RedisPrefix)
		}, fx.As(new(application.TokenStore))),
		fx.Annotate(func(r redis.UniversalClient, c Config) *redisstore.DenyList {
			return redisstore.NewDenyList(r, c.RedisPrefix)
		}, fx.As(new(application.DenyList))),
		fx.Annotate(func(r redis.UniversalClient, c Config) *redisstore.ReplayGuard {
			return redisstore.NewReplayGuard(r, c.RedisPrefix)
		}, fx.As(new(application.ReplayGuard))),
		fx.Annotate(func(r redis.UniversalClient) readiness {
			return func(ctx context.Context) error { return r.Ping(ctx).Err() }
		}, fx.ResultTags(`name:"tokens"`)),
	),
)

func newRedisClient(lc fx.Lifecycle, c Config, log *slog.Logger) redis.UniversalClient {
	r := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:    strings.Split(c.RedisAddr, ","),
		Username: c.RedisUsername,
		Password: c.RedisPassword,
		DB:       c.RedisDB,
	})
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := r.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis at %s: %w", c.RedisAddr, err)
			}
			log.Info("redis ready", "addr", c.RedisAddr)
			return nil
		},
		OnStop: func(context.Context) error { return r.Close() },
	})
	return r
}

// tokenStoreModule picks where opaque tokens live.
func tokenStoreModule(c Config) fx.Option {
	if c.RedisAddr != "" {
		return RedisModule
	}
	return GormTokensModule
}
