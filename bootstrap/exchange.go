package bootstrap

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/application"
)

// tokenExchange serves the token exchange grant (RFC 8693) on the auth
// role: clients whose policy allows it trade a subject token for another.
// The ledger of exchanges lives in the database whatever holds the
// tokens, and its expired rows are swept every token-cleanup-interval.
var tokenExchange = fx.Options(
	fx.Provide(
		gormstore.NewExchanges,
		func(e *gormstore.Exchanges) application.ExchangeLedger { return e },
		newTokenExchange,
	),
	fx.Invoke(sweepExchanges),
)

type tokenExchangeParams struct {
	fx.In
	Tokens     application.TokenStore
	Verifier   application.AccessTokenVerifier
	Denied     application.DenyList
	Revoked    *application.RevocationSet
	Federation *application.Federation
	Ledger     application.ExchangeLedger
	Clock      application.Clock
}

func newTokenExchange(p tokenExchangeParams) *application.TokenExchange {
	return application.NewTokenExchange(p.Tokens, p.Verifier, p.Denied, p.Revoked, p.Federation, p.Ledger, p.Clock)
}

func sweepExchanges(lc fx.Lifecycle, e *gormstore.Exchanges, c Config, log *slog.Logger) {
	every(lc, c.TokenCleanupInterval, func(ctx context.Context) {
		if n, err := e.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			log.Warn("delete expired token exchanges", "err", err)
		} else if n > 0 {
			log.Debug("deleted expired token exchanges", "count", n)
		}
	})
}
