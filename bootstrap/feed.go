package bootstrap

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// feedModule carries events between nodes. With Redis, events go out on a
// Redis channel and every node subscribes; a node that (re)subscribes
// first catches up from the deny list in Redis, so a revocation sent while
// it was away still reaches it. Without Redis there is one node, and
// every role's handler hears the node's own events in process.
func feedModule(c Config) fx.Option {
	base := fx.Provide(
		application.NewRevocationSet,
	)
	if c.RedisAddr == "" {
		return fx.Options(base,
			fx.Provide(newLocalFeed),
			fx.Invoke(sweepRevocations, reloadClientRevocations),
		)
	}
	return fx.Options(base, RedisModule,
		fx.Provide(func(f *redisstore.Feed) application.EventPublisher { return f }),
		fx.Invoke(runFeed, sweepRevocations, reloadClientRevocations),
	)
}

// reloadClientRevocations reads the revocations of whole clients' tokens
// from the database at start and then every client-cache-ttl (at least a
// second): how a node learns of one made where the feed does not reach it
// (a command without Redis, a lost message) within the time it takes to
// learn of any other client change.
func reloadClientRevocations(lc fx.Lifecycle, c Config, log *slog.Logger, revoked *application.RevocationSet, from application.ClientRevocationLister) {
	load := func(ctx context.Context) {
		if _, err := revoked.CatchUpClients(ctx, from); err != nil && ctx.Err() == nil {
			log.Warn("reload client token revocations", "err", err)
		}
	}
	lc.Append(fx.StartHook(func(ctx context.Context) { load(ctx) }))
	every(lc, max(c.ClientCacheTTL, time.Second), load)
}

type feedParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Feed      *redisstore.Feed
	Revoked   *application.RevocationSet
	Denied    application.DenyLister
	Clients   application.ClientRevocationLister
	Handlers  []func(domain.Event) `group:"feed"`
	Log       *slog.Logger
	// State, with the metrics on, follows the subscription.
	State *feedState `optional:"true"`
}

// runFeed subscribes to the event feed for the app's lifetime and hands
// each event to every role's handler.
func runFeed(p feedParams) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				p.Feed.Run(ctx, func(e domain.Event) {
					p.State.onEvent(string(e.Kind))
					for _, h := range p.Handlers {
						h(e)
					}
				}, func(ctx context.Context) {
					p.State.onSubscribed()
					n, err := p.Revoked.CatchUp(ctx, p.Denied)
					if err != nil {
						p.Log.Warn("catch up on revocations", "err", err)
						return
					}
					m, err := p.Revoked.CatchUpClients(ctx, p.Clients)
					if err != nil {
						p.Log.Warn("catch up on client token revocations", "err", err)
						return
					}
					p.Log.Debug("caught up on revocations", "entries", n, "clients", m)
				})
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

type localFeedParams struct {
	fx.In
	Handlers []func(domain.Event) `group:"feed"`
}

// localFeed is the feed of a node without Redis: an event goes straight to
// every role's handler in this process (the revocation set, the JWKS
// cache, the key ring, the client cache), as the Redis feed would deliver
// it.
type localFeed struct{ handlers []func(domain.Event) }

func newLocalFeed(p localFeedParams) application.EventPublisher {
	return localFeed{handlers: p.Handlers}
}

func (f localFeed) Publish(_ context.Context, e domain.Event) error {
	for _, h := range f.handlers {
		h(e)
	}
	return nil
}

// sweepRevocations forgets revocations of tokens that have expired anyway.
func sweepRevocations(lc fx.Lifecycle, revoked *application.RevocationSet) {
	every(lc, time.Minute, func(context.Context) { revoked.Sweep() })
}
