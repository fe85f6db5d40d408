package bootstrap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/introspection"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/adapters/playground"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// App is the whole of Sigil for a configuration: the base every role
// shares and the role's own modules, in one fx graph.
func App(c Config, log *slog.Logger) fx.Option {
	return fx.Options(
		base(c, log),
		stateModule(c),
		feedModule(c),
		limiterModule(c),
		debugModule(c),
		managementModule(c),
		fx.Provide(newServerTLS, clientCerts),
		tracingModule(c),
		Role(c),
		ServersModule,
	)
}

// base is what every entry point is built on, `sigil serve` (App) and the
// commands (OpenAdmin) alike: the configuration, the logger, the clock,
// the database (opened, guarded, migrated on start), the encryption of
// secrets at rest and the HTTP client of outbound calls.
func base(c Config, log *slog.Logger) fx.Option {
	return fx.Options(
		fxLogger(log),
		fx.Supply(c, log, sqliteMissing(c)),
		fx.Provide(func() application.Clock { return application.SystemClock{} }, newTracedOutboundClient),
		fx.Provide(newAuditor),
		GormModule,
		SecretBoxModule,
	)
}

// Role composes the modules of the configured role. An unknown role is an
// fx.Error, so the app fails to start and says why.
func Role(c Config) fx.Option {
	switch c.Role {
	case RoleAuth:
		return AuthRole()
	case RoleResource:
		return ResourceRole()
	case RoleAll:
		return fx.Options(AuthRole(), ResourceRole())
	default:
		return fx.Error(fmt.Errorf("unknown role %q: use auth, resource or all", c.Role))
	}
}

// AuthRole is the authorization server: token, introspection,
// revocation, JWKS and metadata endpoints over the client registry, the
// key ring and the token store.
func AuthRole() fx.Option {
	return fx.Module("auth",
		JoseModule,
		SecretHashModule,
		authDPoP,
		fx.Provide(
			func() *application.KeyRing { return &application.KeyRing{} },
			func() keyReloads { return make(keyReloads, 1) },
			fx.Private,
			// The auth server verifies JWTs it issued, for introspection and
			// revocation, against its own key ring, whatever algorithm each
			// of its keys has.
			newAuthVerifier,
		),
		fx.Provide(
			newAuthenticateClient,
			newFederation,
			func(f *application.Federation) adminFederation { return adminFederation{Federation: f} },
			newClientCache,
			func(cache *application.ClientCache) application.ClientFinder { return cache },
			clientCacheFeed,
			keyRingFeed,
			newRotateSigningKeys,
			newIssueToken,
			newIntrospect,
			newRevokeToken,
			newPublishJWKS,
			newPublishMetadata,
			application.NewSeedDemoClients,
			application.NewIssueExpiredDemoToken,
			application.NewRotateDemoKeys,
			clientRevocationFeed,
			newFederationReloads,
			federationFeed,
		),
		adminOps(),
		registration,
		tokenExchange,
		authUseCaseTracing,
		fx.Provide(authListener),
		fx.Invoke(registerKeyMetrics, registerAuthCacheMetrics, runFederationReloads),
	)
}

// newRotateSigningKeys runs the key schedule of the configuration over the
// key store, under the database lock, announcing removals on events.
func newRotateSigningKeys(s application.KeyStore, g application.KeyGenerator, r *application.KeyRing, l application.Locker,
	events application.EventPublisher, clock application.Clock, c Config, a application.Auditor) *application.RotateSigningKeys {
	h := application.NewRotateSigningKeys(s, g, r, l, events, clock, c.RotationPolicy())
	h.AuditTo(a)
	return h
}

// newRevokeToken is the revocation endpoint's use case, auditing each
// revocation.
func newRevokeToken(auth *application.AuthenticateClient, store application.TokenStore, verifier application.AccessTokenVerifier,
	denied application.DenyList, events application.EventPublisher, a application.Auditor, ledger application.ExchangeLedger) *application.RevokeToken {
	h := application.NewRevokeToken(auth, store, verifier, denied, events)
	h.AuditTo(a)
	h.CascadeTo(ledger)
	return h
}

// endpointURLs are the absolute URLs of the endpoints that authenticate
// clients, built from the same path constants the router uses.
func endpointURLs(c Config) (token, introspection, revocation string) {
	iss := c.Issuer()
	return iss + echohttp.TokenPath, iss + echohttp.IntrospectionPath, iss + echohttp.RevocationPath
}

// serverMetadata is the static part of the RFC 8414 metadata, from the
// configuration and the capabilities the use cases declare.
func serverMetadata(c Config) application.ServerMetadata {
	token, introspection, revocation := endpointURLs(c)
	grants := make([]string, len(application.GrantTypes))
	for i, g := range application.GrantTypes {
		grants[i] = string(g)
	}
	// The JWT bearer grant is added while an issuer is trusted
	// (PublishMetadata.Federate).
	grants = append(grants, string(domain.GrantTokenExchange))
	var methods []string
	for _, m := range domain.AuthMethods {
		if (c.MTLSEnabled() || (m != domain.AuthTLSClientAuth && m != domain.AuthSelfSignedTLSClientAuth)) &&
			(c.Profile != domain.ProfileFAPI2 || slices.Contains(domain.FAPI2AuthMethods, m)) {
			methods = append(methods, string(m))
		}
	}
	m := application.ServerMetadata{
		Issuer:                c.Issuer(),
		TokenEndpoint:         token,
		JWKSURI:               c.Issuer() + echohttp.JWKSPath,
		IntrospectionEndpoint: introspection,
		RevocationEndpoint:    revocation,
		GrantTypes:            grants,
		AuthMethods:           methods,
		AuthSigningAlgs:       josekit.ClientAssertionAlgorithms(),
		DPoPSigningAlgs:       dpopAlgorithmNames(c),
		CertBoundTokens:       c.MTLSEnabled(),
	}
	if c.RegistrationOn() {
		m.RegistrationEndpoint = c.registrationEndpoint()
	}
	return m
}

func newAuthenticateClient(clients application.ClientFinder, hasher application.SecretHasher, clock application.Clock,
	verifier application.ClientAssertionVerifier, box application.SecretBox, replays application.ReplayGuard, limiter application.RateLimiter, known application.KnownAddresses, c Config,
	certKeys application.CertificateKeys, fed *application.Federation) (*application.AuthenticateClient, error) {
	token, introspection, revocation := endpointURLs(c)
	auth, err := application.NewAuthenticateClient(application.UnderProfile(clients, c.Profile), hasher, clock, application.AssertionSupport{
		Verifier:  verifier,
		Box:       box,
		Replays:   replays,
		Audiences: assertionAudiences(c, token, introspection, revocation),
	})
	if err != nil {
		return nil, err
	}
	auth.RememberVerified(c.CredentialCacheTTL, 100_000)
	if c.MTLSEnabled() {
		auth.AcceptCertificates(certKeys)
	}
	auth.Defend(defences(c, limiter, known, clock))
	auth.Federate(fed)
	return auth, nil
}

type authParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Log       *slog.Logger
	Keys      *application.RotateSigningKeys
	Ring      *application.KeyRing
	Demo      *application.SeedDemoClients
	// Expired and RotateDemo serve the playground's failure choices,
	// only when it is on.
	Expired    *application.IssueExpiredDemoToken
	RotateDemo *application.RotateDemoKeys
	Issue      *application.IssueToken
	Introspect *application.Introspect
	Revoke     *application.RevokeToken
	JWKS       *application.PublishJWKS
	Metadata   *application.PublishMetadata
	// Registration is dynamic client registration, Register nil when off.
	Registration echohttp.Registration
	Reloads      keyReloads
	Clients      *gormstore.Clients
	Database     readiness `name:"database"`
	Tokens       readiness `name:"tokens"`
	Metrics      *echohttp.HTTPMetrics
	TLS          serverTLS
	Tracing      *echohttp.Tracing `optional:"true"`
	// ClientCerts: see clientCerts.
	ClientCerts echohttp.ClientCerts
}

// checkTokenLifetimes refuses to start when a registered client's tokens
// would outlive the key that signed them (see Config.MaxTokenLifetime):
// they would fail before they expire, silently, on the day their key is
// removed. `sigil clients apply` refuses such a client too, but the
// settings may have changed since it was registered.
func checkTokenLifetimes(ctx context.Context, clients application.ClientLister, c Config) error {
	list, err := clients.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	for _, cl := range list {
		if err := c.CheckTokenLifetime("client "+cl.ID, cl.Lifetime()); err != nil {
			return err
		}
	}
	return nil
}

// asks are requests for work out of schedule (a reload); asks made while
// one is pending are one.
type asks chan struct{}

func (r asks) ask() {
	select {
	case r <- struct{}{}:
	default:
	}
}

// keyReloads asks the auth role to reload its key ring now.
type keyReloads asks

// onAsk runs do whenever asked, for the app's lifetime, apart from the
// feed's handlers, which must not wait on the database.
func onAsk(lc fx.Lifecycle, r asks, do func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				for {
					select {
					case <-ctx.Done():
						return
					case <-r:
						do(ctx)
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

// runKeyReloads reloads the ring whenever asked.
func runKeyReloads(lc fx.Lifecycle, log *slog.Logger, reloads keyReloads, keys *application.RotateSigningKeys) {
	onAsk(lc, asks(reloads), func(ctx context.Context) {
		if err := keys.Reload(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reload signing keys after a key removal", "err", err)
		}
	})
}

// authListener is the authorization server. It loads the signing keys
// and the demo clients before the server starts listening, and then runs
// the rotation schedule.
func authListener(p authParams) (listenerOut, error) {
	page, err := playgroundPage(p.Config)
	if err != nil {
		return listenerOut{}, fmt.Errorf("playground: %w", err)
	}
	logPlayground(p.Log, p.Config)
	p.Lifecycle.Append(fx.StartHook(func(ctx context.Context) error {
		// On a first start another node may hold the key lock while it
		// creates the first key: wait for it rather than start keyless.
		for {
			if _, err := p.Keys.Handle(ctx, application.RotateInput{}); err != nil {
				return fmt.Errorf("signing keys: %w", err)
			}
			if _, ok := p.Ring.Active(); ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("signing keys: no active key yet, another node holds the key lock: %w", ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
		if p.Config.DemoEnabled() {
			ids, err := p.Demo.Handle(ctx)
			if err != nil {
				return err
			}
			p.Log.Warn("demo clients are active with the public secrets from the documentation; set SIGIL_DEMO_CLIENTS=false for any real deployment",
				"clients", ids)
			if !loopbackOnly(p.Config.AuthAddr) {
				// Anyone who can reach the port can get tokens with them.
				p.Log.Warn("demo clients are reachable beyond loopback: anyone who can reach auth-addr gets tokens with their published secrets; listen on 127.0.0.1 or turn them off",
					"auth_addr", p.Config.AuthAddr)
			}
		}
		return checkTokenLifetimes(ctx, p.Clients, p.Config)
	}))
	runKeyReloads(p.Lifecycle, p.Log, p.Reloads, p.Keys)
	every(p.Lifecycle, p.Config.KeyRotationCheck, func(ctx context.Context) {
		res, err := p.Keys.Handle(ctx, application.RotateInput{})
		switch {
		case errors.Is(err, domain.ErrTemporarilyUnavailable):
			// The database is down: its gate has said so; the next check
			// tries again.
			p.Log.Warn("key rotation skipped: database unavailable")
		case err != nil:
			p.Log.Error("key rotation", "err", err)
		case res.Done && !res.Plan.Empty():
			logRotation(p.Log, res)
		}
	})
	e := echohttp.NewAuthServer(echohttp.Options{
		BasePath:       p.Config.AuthBasePath,
		MaxBodyBytes:   p.Config.MaxBodyBytes,
		Logger:         p.Log.With("role", RoleAuth),
		Ready:          readyAll(p.Database, p.Tokens),
		TrustedProxies: p.Config.TrustedProxies,
		Metrics:        p.Metrics,
		Role:           string(RoleAuth),
		Tracing:        p.Tracing,
		ClientCerts:    p.ClientCerts,
	}, echohttp.AuthHandlers{
		Issue: p.Issue, Introspect: p.Introspect, Revoke: p.Revoke, JWKS: p.JWKS, Metadata: p.Metadata,
		Registration: p.Registration, Playground: page, PlaygroundAPI: playgroundAPI(p.Config, p.Expired, p.RotateDemo),
	})
	return listenerOut{Listener: listener{role: string(RoleAuth), addr: p.Config.AuthAddr, handler: e, tls: publicTLS(p.Config, p.TLS)}}, nil
}

// logRotation reports what a rotation step changed.
func logRotation(log *slog.Logger, res application.RotateResult) {
	log.Info("signing keys rotated", "published", res.Published, "activated", res.Plan.Activate,
		"retired", res.Plan.Retire, "removed", res.Plan.Remove)
}

// tokenCacheSize bounds each of the resource role's token caches: about
// 100 bytes an entry, so some 10 MB at most.
const tokenCacheSize = 100_000

// ResourceRole is the protected resource server: the country API behind
// a bearer-token check that verifies JWTs against the authorization
// server's JWKS and introspects opaque tokens.
func ResourceRole() fx.Option {
	return fx.Module("resource",
		resourceDPoP,
		fx.Provide(
			fx.Private,
			newAuthServerKeySet,
			newResourceVerifier,
			newIntrospector,
			newAuthorizeBearer,
			newGetCountry,
			newListCountries,
			newCountryCatalog,
			newPlaygroundHub,
		),
		fx.Provide(
			remoteKeySetFeed,
			revocationFeed,
		),
		resourceUseCaseTracing,
		fx.Provide(resourceListener),
		fx.Invoke(registerResourceCacheMetrics),
	)
}

// newIssueToken is the token endpoint's use case, issuing as this
// server's issuer, token exchange included.
func newIssueToken(a *application.AuthenticateClient, r *application.KeyRing, s application.AccessTokenSigner,
	t application.TokenStore, clock application.Clock, c Config, audit application.Auditor, x *application.TokenExchange) *application.IssueToken {
	h := application.NewIssueToken(a, r, s, t, clock, rand.Reader, c.Issuer())
	h.AuditTo(audit)
	h.ExchangeWith(x)
	return h
}

type introspectParams struct {
	fx.In
	Authenticate *application.AuthenticateClient
	Tokens       application.TokenStore
	Verifier     application.AccessTokenVerifier
	Denied       application.DenyList
	Clock        application.Clock
	Ring         *application.KeyRing
	Signer       application.IntrospectionSigner
	Config       Config
	Revoked      *application.RevocationSet
}

// newIntrospect is the introspection endpoint's use case, which answers
// the tokens of a client revoked as a whole inactive.
func newIntrospect(p introspectParams) *application.Introspect {
	h := application.NewIntrospect(p.Authenticate, p.Tokens, p.Verifier, p.Denied, p.Clock, p.Ring, p.Signer, p.Config.Issuer())
	h.HonourClientRevocations(p.Revoked)
	return h
}

// newAuthServerKeySet fetches and caches the authorization server's JWKS
// for the resource role.
func newAuthServerKeySet(c Config, hc *http.Client, clock application.Clock, log *slog.Logger, hub *playground.Hub) *josekit.RemoteKeySet {
	return josekit.NewRemoteKeySet(c.JWKSURL(), hc, josekit.RemoteKeySetOptions{
		MinRefreshInterval: c.JWKSMinRefreshInterval,
		MaxAge:             c.JWKSMaxAge,
		Clock:              clock,
		Logger:             log,
		Reporter:           upstreamReporter(hub),
	})
}

// newResourceVerifier checks JWT access tokens against the authorization
// server's keys. A JWT that verified is remembered until it expires or its
// key leaves the JWKS; the revocation set is checked above it on every
// request.
func newResourceVerifier(keys *josekit.RemoteKeySet, c Config, clock application.Clock) application.AccessTokenVerifier {
	v := josekit.NewVerifier(keys, josekit.VerifierOptions{
		Issuer:     c.ExpectedIssuer(),
		Leeway:     c.ResourceLeeway,
		Clock:      clock,
		Algorithms: c.VerifyAlgorithms(),
	})
	return application.NewCachedVerifier(v, keys, clock, tokenCacheSize)
}

// newIntrospector asks the authorization server about opaque tokens,
// reusing an answer for resource-introspection-cache-ttl; the revocation
// set is checked above it on every request.
func newIntrospector(c Config, hc *http.Client, clock application.Clock, hub *playground.Hub) application.TokenIntrospector {
	i := introspection.NewClient(c.IntrospectionURL(), c.ResourceClientID, c.ResourceClientSecret, hc, clock)
	i.ReportTo(upstreamReporter(hub))
	if c.ResourceIntrospectionCacheTTL <= 0 {
		return i
	}
	return application.NewCachedIntrospector(i, clock, c.ResourceIntrospectionCacheTTL, tokenCacheSize)
}

// newAuthorizeBearer is the resource role's token check, requiring the
// configured audience.
func newAuthorizeBearer(jwts application.AccessTokenVerifier, opaque application.TokenIntrospector,
	revoked *application.RevocationSet, c Config) *application.AuthorizeBearer {
	h := application.NewAuthorizeBearer(jwts, opaque, revoked, c.Audience())
	if c.Profile == domain.ProfileFAPI2 {
		h.RequireSenderConstrained()
	}
	return h
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
	Metrics   *echohttp.HTTPMetrics
	TLS       serverTLS
	DPoP      *josekit.DPoPProofs
	Hub       *playground.Hub
	Tracing   *echohttp.Tracing `optional:"true"`
	// ClientCerts: see clientCerts.
	ClientCerts echohttp.ClientCerts
}

// resourceListener is the resource server.
func resourceListener(p resourceParams) listenerOut {
	if p.Config.Role == RoleResource {
		logPlayground(p.Log, p.Config)
	}
	e := echohttp.NewResourceServer(echohttp.Options{
		BasePath:       p.Config.ResourceBasePath,
		MaxBodyBytes:   p.Config.MaxBodyBytes,
		Logger:         p.Log.With("role", RoleResource),
		Ready:          readyAll(p.Database),
		TrustedProxies: p.Config.TrustedProxies,
		Metrics:        p.Metrics,
		Role:           string(RoleResource),
		PublicURL:      p.Config.ResourcePublicURL,
		Tracing:        p.Tracing,
		ClientCerts:    p.ClientCerts,
	}, echohttp.ResourceHandlers{Authorize: p.Authorize, GetCountry: p.Get, ListCountries: p.List,
		DPoPAlgorithms: p.DPoP.Algorithms(),
		Playground:     resourcePlayground(p.Config, p.Hub),
		Metadata: &echohttp.ResourceMetadata{
			Resource:             p.Config.ResourceURL(),
			AuthorizationServers: []string{p.Config.ExpectedIssuer()},
		}})
	l := listener{role: string(RoleResource), addr: p.Config.ResourceAddr, handler: e, tls: publicTLS(p.Config, p.TLS)}
	if p.Hub != nil {
		l.onShutdown = p.Hub.Close
	}
	return listenerOut{Listener: l}
}

// newAuthVerifier verifies, for introspection and revocation, the JWTs
// this server issued, against its own key ring, whatever algorithm each
// of its keys has.
func newAuthVerifier(ring *application.KeyRing, c Config, clock application.Clock) application.AccessTokenVerifier {
	return josekit.NewVerifier(ring, josekit.VerifierOptions{
		Issuer: c.Issuer(), Clock: clock, Algorithms: domain.SigningAlgorithms,
	})
}

// newClientCache keeps up to 10,000 client records in front of the
// registry, each for client-cache-ttl.
func newClientCache(clients *gormstore.Clients, clock application.Clock, c Config) *application.ClientCache {
	return application.NewClientCache(clients, clock, c.ClientCacheTTL, c.ClientCacheStale, 10_000)
}

// newPublishJWKS lets the JWKS be cached as long as a new key waits
// before it signs: whoever cached the set before it appeared refetches
// in time.
func newPublishJWKS(r *application.KeyRing, e application.JWKSEncoder, c Config) *application.PublishJWKS {
	return application.NewPublishJWKS(r, e, c.KeyPublishLead)
}

func newPublishMetadata(c Config, scopes application.ScopeLister, r *application.KeyRing, fed *application.Federation) *application.PublishMetadata {
	h := application.NewPublishMetadata(serverMetadata(c), scopes, r)
	h.Federate(fed)
	return h
}

func newGetCountry(c *application.CountryCatalog) *application.GetCountry {
	return application.NewGetCountry(c)
}

func newListCountries(c *application.CountryCatalog) *application.ListCountries {
	return application.NewListCountries(c)
}

// newCountryCatalog reads the country table into memory, and again
// every five minutes, not once per request.
func newCountryCatalog(countries application.CountryFinder, clock application.Clock) *application.CountryCatalog {
	return application.NewCountryCatalog(countries, clock, 5*time.Minute)
}

// feedHandler is one handler of the events between nodes (see feedModule).
type feedHandler struct {
	fx.Out
	Handle func(domain.Event) `group:"feed"`
}

// clientCacheFeed drops a client another node changed from the cache.
func clientCacheFeed(cache *application.ClientCache) feedHandler {
	return feedHandler{Handle: cache.Apply}
}

// keyRingFeed takes a key another node removed or revoked out of this
// node's ring at once: introspection answers its tokens inactive and the
// JWKS stops listing it. The ring is then reloaded, to pick up the key
// that took over if the removed one was signing.
func keyRingFeed(ring *application.KeyRing, reloads keyReloads) feedHandler {
	return feedHandler{Handle: func(e domain.Event) {
		if e.Kind == domain.EventKeyRemoved && e.KID != "" && ring.Remove(e.KID) {
			asks(reloads).ask()
		}
	}}
}

// clientRevocationFeed has introspection refuse the tokens of a client
// revoked as a whole; the resource role's handler feeds the same set.
func clientRevocationFeed(revoked *application.RevocationSet) feedHandler {
	return feedHandler{Handle: func(e domain.Event) {
		if e.Kind == domain.EventClientTokensRevoked {
			revoked.Apply(e)
		}
	}}
}

// remoteKeySetFeed drops a key the authorization server removed at once,
// and with it every cached verification of a token it signed.
func remoteKeySetFeed(keys *josekit.RemoteKeySet) feedHandler {
	return feedHandler{Handle: func(e domain.Event) {
		if e.Kind == domain.EventKeyRemoved {
			keys.Forget(e.KID)
		}
	}}
}

// revocationFeed gives the resource role every revocation: tokens by jti
// and clients as a whole.
func revocationFeed(revoked *application.RevocationSet) feedHandler {
	return feedHandler{Handle: revoked.Apply}
}
