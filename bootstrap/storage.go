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

// readiness reports whether a backing service answers; /readyz asks it
// and names the ones that do not. A zero readiness checks nothing.
type readiness struct {
	name  string
	check func(ctx context.Context) error
}

// GormModule opens the database, migrates it on start, and provides the
// Gorm stores behind their ports. The client registry and the key store
// are provided as the concrete stores too: the auth role puts a cache in
// front of the registry for lookups, and the commands list and delete
// through them.
var GormModule = fx.Module("gormstore",
	fx.Provide(
		openDatabase,
		guardDatabase,
		gormstore.NewClients,
		func(c *gormstore.Clients) application.ClientRegistry { return c },
		func(c *gormstore.Clients) application.ScopeLister { return c },
		gormstore.NewKeys,
		func(k *gormstore.Keys) application.KeyStore { return k },
		fx.Annotate(gormstore.NewCountries, fx.As(new(application.CountryFinder))),
		fx.Annotate(gormstore.NewLocker, fx.As(new(application.Locker))),
		fx.Annotate(gormstore.NewClientRevocations, fx.As(new(application.ClientRevocationStore)), fx.As(new(application.ClientRevocationLister))),
		fx.Annotate(gormstore.NewFederatedIssuers, fx.As(new(application.FederatedIssuerStore))),
		fx.Annotate(databaseReadiness, fx.ResultTags(`name:"database"`)),
	),
)

func openDatabase(lc fx.Lifecycle, c Config, log *slog.Logger) (*gorm.DB, error) {
	db, err := gormstore.Open(string(c.DatabaseDriver), c.DatabaseDSN, log)
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

// guardDatabase bounds every statement by database-timeout and turns an
// unreachable database into 503s that fail fast until it is back.
func guardDatabase(lc fx.Lifecycle, db *gorm.DB, c Config, log *slog.Logger) (*gormstore.Health, error) {
	h, err := gormstore.Guard(db, gormstore.GuardOptions{
		Timeout: c.DatabaseTimeout, ProbeInterval: c.OutageProbeInterval, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	// Appended after openDatabase's hook, so it stops first: the probe
	// ends before the database closes.
	lc.Append(fx.StopHook(h.Close))
	return h, nil
}

func databaseReadiness(h *gormstore.Health) readiness {
	return readiness{name: "database", check: h.Check}
}

// GormStateModule keeps opaque tokens, the deny list of revoked tokens and
// used client-assertion ids in the database, the embedded default when no
// Redis is configured, and deletes expired rows on a schedule (Redis
// expires its own keys).
var GormStateModule = fx.Module("gormstore-state",
	fx.Provide(
		gormstore.NewTokens,
		func(t *gormstore.Tokens) application.TokenStore { return t },
		gormstore.NewDenyList,
		func(d *gormstore.DenyList) application.DenyList { return d },
		func(d *gormstore.DenyList) application.DenyLister { return d },
		gormstore.NewReplayGuard,
		func(r *gormstore.ReplayGuard) application.ReplayGuard { return r },
		fx.Annotate(func() readiness { return readiness{} }, fx.ResultTags(`name:"tokens"`)),
	),
	fx.Invoke(scheduleCleanup),
)

// expiring is a table whose rows expire and must be swept.
type expiring interface {
	DeleteExpired(ctx context.Context) (int64, error)
}

// scheduleCleanup deletes expired opaque tokens, deny-list entries and
// used assertion ids every token-cleanup-interval while the app runs.
func scheduleCleanup(lc fx.Lifecycle, tokens *gormstore.Tokens, denied *gormstore.DenyList, replays *gormstore.ReplayGuard, c Config, log *slog.Logger) {
	tables := map[string]expiring{"opaque tokens": tokens, "denied jtis": denied, "used assertions": replays}
	every(lc, c.TokenCleanupInterval, func(ctx context.Context) {
		for name, t := range tables {
			n, err := t.DeleteExpired(ctx)
			if err != nil && ctx.Err() == nil {
				log.Warn("delete expired "+name, "err", err)
			} else if n > 0 {
				log.Debug("deleted expired "+name, "count", n)
			}
		}
	})
}

// every runs fn every interval while the app runs, and waits for a run in
// progress when the app stops.
func every(lc fx.Lifecycle, interval time.Duration, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				tick := time.NewTicker(interval)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						fn(ctx)
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

// RedisStateModule keeps opaque tokens, the deny list and used assertion
// ids in Redis. A server whose state lives there does not start until
// Redis answers.
var RedisStateModule = fx.Module("redisstore-state",
	fx.Provide(
		fx.Annotate(newRedisTokens, fx.As(new(application.TokenStore))),
		fx.Annotate(func(r redis.UniversalClient, c Config) *redisstore.DenyList {
			return redisstore.NewDenyList(r, c.RedisPrefix)
		}, fx.As(new(application.DenyList)), fx.As(new(application.DenyLister))),
		fx.Annotate(func(r redis.UniversalClient, c Config) *redisstore.ReplayGuard {
			return redisstore.NewReplayGuard(r, c.RedisPrefix)
		}, fx.As(new(application.ReplayGuard))),
		fx.Annotate(func(h *redisstore.Health) readiness {
			return readiness{name: "redis", check: h.Check}
		}, fx.ResultTags(`name:"tokens"`)),
	),
	fx.Invoke(requireRedis),
)

// newRedisTokens keeps opaque tokens in Redis, and closes the store's
// pipeline when the app stops: after the servers have drained, before the
// client closes.
func newRedisTokens(lc fx.Lifecycle, r redis.UniversalClient, c Config) *redisstore.Tokens {
	t := redisstore.NewTokens(r, c.RedisPrefix)
	lc.Append(fx.StopHook(t.Close))
	return t
}

// stateModule picks where opaque tokens and the deny list live.
func stateModule(c Config) fx.Option {
	if c.RedisAddr != "" {
		return RedisStateModule
	}
	return GormStateModule
}

// RedisModule connects to Redis, single, Sentinel or Cluster through
// go-redis's UniversalClient: several comma-separated addresses mean a
// cluster (or, with --redis-master-name, Sentinel). It also provides the
// event feed between nodes. It does not wait for Redis to answer:
// `sigil serve` requires it (see RedisStateModule), while the commands
// only tell the running nodes of a change when they can.
var RedisModule = fx.Module("redis",
	fx.Provide(
		newRedisClient,
		func(r redis.UniversalClient, c Config, log *slog.Logger) *redisstore.Feed {
			return redisstore.NewFeed(r, c.RedisPrefix+"events", log)
		},
	),
)

// redisOptions are the client options of every Redis connection Sigil
// makes. Each wait is bounded by redis-timeout: go-redis applies it to the
// dial, to each read and write, and to the wait for a pooled connection,
// and with ContextTimeoutEnabled it honours the per-call deadline that
// redisstore.Guard sets. A refused dial is tried once, not five times with
// pauses: the gate's probe does the retrying.
func redisOptions(c Config) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:                 strings.Split(c.RedisAddr, ","),
		MasterName:            c.RedisMasterName,
		Username:              c.RedisUsername,
		Password:              c.RedisPassword,
		DB:                    c.RedisDB,
		DialTimeout:           c.RedisTimeout,
		ReadTimeout:           c.RedisTimeout,
		WriteTimeout:          c.RedisTimeout,
		PoolTimeout:           c.RedisTimeout,
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
	}
}

// clusterStateReload bounds how old a Redis Cluster client's slot map may
// get before a command or a reconnect rereads it. go-redis's default is a
// minute, and only errors on commands reread it sooner: a node that sends
// no commands, a resource node whose feed subscription was on a master
// that died, would try the dead master's address for that long before it
// subscribed to the replica that took over.
const clusterStateReload = time.Second

// newUniversalClient is redis.NewUniversalClient for Sigil's options, with
// a cluster client's slot map reread every clusterStateReload.
func newUniversalClient(c Config) redis.UniversalClient {
	o := redisOptions(c)
	if o.MasterName == "" && len(o.Addrs) > 1 {
		co := o.Cluster()
		co.ClusterStateReloadInterval = clusterStateReload
		return redis.NewClusterClient(co)
	}
	return redis.NewUniversalClient(o)
}

// newRedisClient connects to Redis under redisstore.Guard (every command
// bounded by redis-timeout, an unreachable Redis failing fast until its
// probe sees it back), and closes both when the app stops.
func newRedisClient(lc fx.Lifecycle, c Config, log *slog.Logger) (redis.UniversalClient, *redisstore.Health) {
	redisstore.RouteDriverLog(log)
	r := newUniversalClient(c)
	h := redisstore.Guard(r, redisstore.GuardOptions{
		Timeout: c.RedisTimeout, ProbeInterval: c.OutageProbeInterval, Logger: log,
	})
	lc.Append(fx.StopHook(func() error {
		h.Close()
		return r.Close()
	}))
	return r, h
}

// requireRedis fails the start unless Redis answers a PING.
func requireRedis(lc fx.Lifecycle, r redis.UniversalClient, c Config, log *slog.Logger) {
	lc.Append(fx.StartHook(func(ctx context.Context) error {
		if err := r.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis at %s: %w", c.RedisAddr, err)
		}
		log.Info("redis ready", "addr", c.RedisAddr)
		return nil
	}))
}
