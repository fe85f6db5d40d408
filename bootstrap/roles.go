package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/adapters/introspection"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// App is the whole of Sigil for a configuration: the base every role
// shares and the role's own modules, in one fx graph.
func App(c Config, log *slog.Logger) fx.Option {
	return fx.Options(
		fxLogger(log),
		fx.Supply(c, log),
		fx.Provide(func() application.Clock { return application.SystemClock{} }),
		GormModule,
		Role(c),
	)
}

// Role composes the modules of the configured role. An unknown role is an
// fx.Error, so the app fails to start and says why.
func Role(c Config) fx.Option {
	switch c.Role {
	case RoleAuth:
		return AuthRole(c)
	case RoleResource:
		return ResourceRole()
	case RoleAll:
		return fx.Options(AuthRole(c), ResourceRole())
	default:
		return fx.Error(fmt.Errorf("unknown role %q: use auth, resource or all", c.Role))
	}
}

// AuthRole is the authorization server: token, introspection and JWKS
// endpoints over the client registry, the key ring and the token store.
func AuthRole(c Config) fx.Option {
	return fx.Module("auth",
		JoseModule,
		SecretHashModule,
		tokenStoreModule(c),
		fx.Provide(
			func() *application.KeyRing { return &application.KeyRing{} },
			fx.Private,
			// The auth server verifies JWTs it issued, for introspection,
			// against its own key ring.
			func(ring *application.KeyRing, c Config, clock application.Clock) application.AccessTokenVerifier {
				return josekit.NewVerifier(ring, josekit.VerifierOptions{Issuer: c.Issuer(), Clock: clock})
			},
		),
		fx.Provide(
			application.NewAuthenticateClient,
			func(s application.KeyStore, g application.KeyGenerator, r *application.KeyRing, clock application.Clock, c Config) *application.LoadSigningKeys {
				return application.NewLoadSigningKeys(s, g, r, clock, domain.Algorithm(c.KeyAlgorithm))
			},
			func(a *application.AuthenticateClient, r *application.KeyRing, s application.AccessTokenSigner, t application.TokenStore, clock application.Clock, c Config) *application.IssueToken {
				return application.NewIssueToken(a, r, s, t, clock, rand.Reader, c.Issuer())
			},
			application.NewIntrospect,
			func(r *application.KeyRing, e application.JWKSEncoder, c Config) *application.PublishJWKS {
				return application.NewPublishJWKS(r, e, c.JWKSMaxAge)
			},
			application.NewSeedDemoClients,
		),
		fx.Invoke(startAuth),
	)
}

type authParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Config     Config
	Log        *slog.Logger
	Keys       *application.LoadSigningKeys
	Demo       *application.SeedDemoClients
	Issue      *application.IssueToken
	Introspect *application.Introspect
	JWKS       *application.PublishJWKS
	Database   readiness `name:"database"`
	Tokens     readiness `name:"tokens"`
}

// startAuth loads the signing keys and the demo clients before the
// authorization server starts listening.
func startAuth(p authParams) {
	p.Lifecycle.Append(fx.StartHook(func(ctx context.Context) error {
		if err := p.Keys.Handle(ctx); err != nil {
			return err
		}
		if !p.Config.DemoEnabled() {
			return nil
		}
		ids, err := p.Demo.Handle(ctx)
		if err != nil {
			return err
		}
		p.Log.Warn("demo clients are active with the public secrets from the documentation; set SIGIL_DEMO_CLIENTS=false for any real deployment",
			"clients", ids)
		return nil
	}))
	e := echohttp.NewAuthServer(echohttp.Options{
		BasePath:     p.Config.AuthBasePath,
		MaxBodyBytes: p.Config.MaxBodyBytes,
		Logger:       p.Log.With("role", RoleAuth),
		Ready:        readyAll(p.Database, p.Tokens),
	}, echohttp.AuthHandlers{Issue: p.Issue, Introspect: p.Introspect, JWKS: p.JWKS})
	serve(p.Lifecycle, p.Log, RoleAuth, p.Config.AuthAddr, e)
}

// ResourceRole is the protected resource server: the country API behind
// a bearer-token check that verifies JWTs against the authorization
// server's JWKS and introspects opaque tokens.
func ResourceRole() fx.Option {
	return fx.Module("resource",
		fx.Provide(
			fx.Private,
			func(c Config) *http.Client { return &http.Client{Timeout: c.ResourceUpstreamTimeout} },
		),
		fx.Provide(
			fx.Private,
			func(c Config, hc *http.Client, clock application.Clock, log *slog.Logger) application.AccessTokenVerifier {
				keys := josekit.NewRemoteJWKS(c.JWKSURL(), hc, josekit.RemoteJWKSOptions{
					MinRefreshInterval: c.ResourceJWKSRefresh,
					MaxAge:             c.ResourceJWKSMaxAge,
					Clock:              clock,
					Logger:             log,
				})
				return josekit.NewVerifier(keys, josekit.VerifierOptions{
					Issuer: c.ExpectedIssuer(),
					Leeway: c.ResourceLeeway,
					Clock:  clock,
				})
			},
			func(c Config, hc *http.Client, clock application.Clock) application.TokenIntrospector {
				return introspection.NewClient(c.IntrospectionURL(), c.ResourceClientID, c.ResourceClientSecret, hc, clock)
			},
			application.NewAuthorizeBearer,
			application.NewGetCountry,
			application.NewListCountries,
		),
		fx.Invoke(startResource),
	)
}

type resourceParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Log       *slog.Logger
	Authorize *application.AuthorizeBearer
	Get       *application.GetCountry
	List      *application.ListCountries
	Database  readiness `name:"database"`
}

func startResource(p resourceParams) {
	e := echohttp.NewResourceServer(echohttp.Options{
		BasePath:     p.Config.ResourceBasePath,
		MaxBodyBytes: p.Config.MaxBodyBytes,
		Logger:       p.Log.With("role", RoleResource),
		Ready:        readyAll(p.Database),
	}, echohttp.ResourceHandlers{Authorize: p.Authorize, GetCountry: p.Get, ListCountries: p.List})
	serve(p.Lifecycle, p.Log, RoleResource, p.Config.ResourceAddr, e)
}
