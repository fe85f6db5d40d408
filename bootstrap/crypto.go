package bootstrap

import (
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
		fx.Annotate(josekit.NewJWKS, fx.As(new(application.JWKSEncoder))),
	),
)

// SecretHashModule provides the argon2id client-secret hasher.
var SecretHashModule = fx.Module("secrethash",
	fx.Provide(
		fx.Annotate(func() *secrethash.Hasher { return secrethash.NewHasher(secrethash.DefaultParams) },
			fx.As(new(application.SecretHasher))),
	),
)
