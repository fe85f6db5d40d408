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
// it was away still reaches it. Without Redis there is one node, and the
// resource role's revocation set hears the auth role's events in process.
func feedModule(c Config) fx.Option {
	base := fx.Provide(
		application.NewRevocationSet,
	)
	if c.RedisAddr == "" {
		return fx.Options(base,
			fx.Provide(func(s *application.RevocationSet) application.EventPublisher { return s }),
			fx.Invoke(sweepRevocations),
		)
	}
	return fx.Options(base, RedisModule,
		fx.Provide(func(f *redisstore.Feed) application.EventPublisher { return f }),
		fx.Invoke(runFeed, sweepRevocations),
	)
}

type feedParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Feed      *redisstore.Feed
	Revoked   *application.RevocationSet
	Denied    application.DenyLister
	Handlers  []func(domain.Event) `group:"feed"`
	Log       *slog.Logger
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
					for _, h := range p.Handlers {
						h(e)
					}
				}, func(ctx context.Context) {
					n, err := p.Revoked.CatchUp(ctx, p.Denied)
					if err != nil {
						p.Log.Warn("catch up on revocations", "err", err)
						return
					}
					p.Log.Debug("caught up on revocations", "entries", n)
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

// sweepRevocations forgets revocations of tokens that have expired anyway.
func sweepRevocations(lc fx.Lifecycle, revoked *application.RevocationSet) {
	every(lc, time.Minute, func(context.Context) { revoked.Sweep() })
}
