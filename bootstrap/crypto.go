package bootstrap

import (
	"log/slog"
	"net/http"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/adapters/secrethash"
	"github.com/sigilauth/sigil/application"
)

// JoseModule provides key generation, token signing and JWKS encoding.
// The verifiers differ by role, so each role provides its own, privately.
var JoseModule = fx.Module("josekit",
	fx.Provide(
		fx.Annotate(func(c Config) *josekit.KeyGenerator { return josekit.NewKeyGenerator(c.RSABits) },
			fx.As(new(application.KeyGenerator))),
		fx.Annotate(josekit.NewSigner, fx.As(new(application.AccessTokenSigner))),
		fx.Annotate(josekit.NewKeySetEncoder, fx.As(new(application.JWKSEncoder))),
		fx.Annotate(josekit.NewIntrospectionSigner, fx.As(new(application.IntrospectionSigner))),
		fx.Annotate(newClientAssertions, fx.As(new(application.ClientAssertionVerifier)), fx.As(new(application.CertificateKeys))),
	),
)

func newClientAssertions(c Config, hc *http.Client, clock application.Clock, log *slog.Logger) *josekit.ClientAssertions {
	return josekit.NewClientAssertions(josekit.ClientAssertionOptions{
		HTTPClient:         hc,
		MinRefreshInterval: c.JWKSMinRefreshInterval,
		MaxAge:             c.JWKSMaxAge,
		Clock:              clock,
		Logger:             log,
	})
}

// SecretHashModule provides the argon2id client-secret hasher.
var SecretHashModule = fx.Module("secrethash",
	fx.Provide(
		fx.Annotate(func() *secrethash.Hasher { return secrethash.NewHasher(secrethash.DefaultParams) },
			fx.As(new(application.SecretHasher))),
	),
)

// SecretBoxModule provides the AES-256-GCM encryption of secrets at rest.
var SecretBoxModule = fx.Module("aesgcm",
	fx.Provide(func(c Config, log *slog.Logger, fresh freshDatabase) (application.SecretBox, error) {
		return newSecretBox(c, log, fresh)
	}),
)
