package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/fx"
	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// federationFile is the YAML the federation-file setting names: the
// external issuers whose tokens authenticate clients (federated_jwt).
type federationFile struct {
	Issuers []federatedIssuerDoc `yaml:"issuers"`
}

type federatedIssuerDoc struct {
	Issuer string `yaml:"issuer"`
	// At most one of the three; none means discovery at
	// {issuer}/.well-known/openid-configuration.
	DiscoveryURL string   `yaml:"discovery_url"`
	JWKSURI      string   `yaml:"jwks_uri"`
	JWKSFile     string   `yaml:"jwks_file"`
	Audiences    []string `yaml:"audiences"`
	Algorithms   []string `yaml:"algorithms"`
	MaxLifetime  string   `yaml:"max_lifetime"`
	AllowReuse   bool     `yaml:"allow_reuse"`
	// SubjectTokenScopes lets the issuer's tokens be token exchange
	// subject tokens, keeping at most these scopes.
	SubjectTokenScopes []string `yaml:"subject_token_scopes"`
	Clients            []struct {
		Client  string            `yaml:"client"`
		Subject string            `yaml:"sub"`
		Claims  map[string]string `yaml:"claims"`
	} `yaml:"clients"`
}

// loadFederationFile reads and checks the file at path by rules. Each
// error is one line naming the file, the issuer and what is wrong.
func loadFederationFile(path string, rules application.FederationRules) ([]application.FederatedIssuer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("federation file: %w", err)
	}
	issuers, err := parseFederationFile(raw, filepath.Dir(path), rules)
	if err != nil {
		return nil, fmt.Errorf("federation file %s: %w", path, err)
	}
	return issuers, nil
}

func parseFederationFile(raw []byte, dir string, rules application.FederationRules) ([]application.FederatedIssuer, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var f federationFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document")
	}
	if len(f.Issuers) == 0 {
		return nil, errors.New("names no issuers")
	}
	var issuers []application.FederatedIssuer
	seen := map[string]bool{}
	for i, d := range f.Issuers {
		spec, err := d.spec(dir)
		if err != nil {
			return nil, fmt.Errorf("issuer %d (%s): %w", i+1, d.Issuer, err)
		}
		iss, err := rules.Check(spec)
		if err != nil {
			return nil, fmt.Errorf("issuer %d (%s): %w", i+1, d.Issuer, err)
		}
		if seen[iss.Issuer] {
			return nil, fmt.Errorf("issuer %d (%s): listed twice", i+1, d.Issuer)
		}
		seen[iss.Issuer] = true
		issuers = append(issuers, iss)
	}
	return issuers, nil
}

// spec is the entry as application.FederationRules checks it, jwks_file
// read: the one thing only a file can say.
func (d federatedIssuerDoc) spec(dir string) (application.FederatedIssuerSpec, error) {
	s := application.FederatedIssuerSpec{
		Issuer: d.Issuer, DiscoveryURL: d.DiscoveryURL, JWKSURI: d.JWKSURI, Audiences: d.Audiences, Algorithms: d.Algorithms,
		MaxLifetime: d.MaxLifetime, AllowReuse: d.AllowReuse, SubjectTokenScopes: d.SubjectTokenScopes,
	}
	for _, m := range d.Clients {
		s.Clients = append(s.Clients, application.FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	if d.JWKSFile == "" {
		return s, nil
	}
	if d.DiscoveryURL != "" || d.JWKSURI != "" {
		return s, errors.New("name at most one of discovery_url, jwks_uri and jwks_file")
	}
	p := d.JWKSFile
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return s, fmt.Errorf("jwks_file: %w", err)
	}
	s.JWKS = string(b)
	return s, nil
}

// federationRules are the rules every trust relationship is checked by,
// the file's and the admin API's: the issuer and the token endpoint as
// the default audiences, and the asymmetric client assertion algorithms,
// never HMAC.
func federationRules(c Config) application.FederationRules {
	token, _, _ := endpointURLs(c)
	var algs []string
	for _, a := range josekit.ClientAssertionAlgorithms() {
		if !strings.HasPrefix(a, "HS") {
			algs = append(algs, a)
		}
	}
	return application.FederationRules{DefaultAudiences: []string{c.Issuer(), token}, Algorithms: algs}
}

type federationParams struct {
	fx.In
	Config Config
	Store  application.FederatedIssuerStore
	// Clients and Replays authenticate; the commands' graph, which only
	// checks entries, has neither.
	Clients application.ClientFinder `optional:"true"`
	Replays application.ReplayGuard  `optional:"true"`
	Clock   application.Clock
	HTTP    *http.Client
	Log     *slog.Logger
}

// newFederation builds federated client authentication: the federation
// file's issuers, fixed, and those stored through the admin API, which
// the auth role reloads (runFederationReloads). Without a file and with
// none stored it trusts no one, and the JWT bearer grant is refused.
func newFederation(p federationParams) (*application.Federation, error) {
	c := p.Config
	rules := federationRules(c)
	var fixed []application.FederatedIssuer
	if c.FederationFile != "" {
		var err error
		if fixed, err = loadFederationFile(c.FederationFile, rules); err != nil {
			return nil, err
		}
	}
	keys := make([]josekit.FederatedIssuerKeys, len(fixed))
	for i, iss := range fixed {
		keys[i] = iss.Keys
	}
	verifier, err := josekit.NewFederatedTokens(keys, josekit.ClientAssertionOptions{
		HTTPClient:         p.HTTP,
		MinRefreshInterval: c.JWKSMinRefreshInterval,
		MaxAge:             c.JWKSMaxAge,
		Clock:              p.Clock,
		Logger:             p.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("federation file %s: %w", c.FederationFile, err)
	}
	for _, i := range fixed {
		p.Log.Info("federated issuer trusted", "issuer", i.Issuer, "clients", len(i.Mappings), "from", "federation file")
	}
	f := application.NewFederation(fixed, verifier, p.Clients, p.Replays, p.Clock)
	f.Manage(p.Store, rules)
	return f, nil
}

// federationReloads asks the auth role to reload the trusted issuers;
// asks made while one is pending are one.
type federationReloads chan struct{}

func newFederationReloads() federationReloads { return make(federationReloads, 1) }

func (r federationReloads) ask() {
	select {
	case r <- struct{}{}:
	default:
	}
}

// federationFeed reloads the trusted issuers when another node (or a
// command) changed them. The reload runs apart from the feed's handlers,
// which must not wait on the database.
func federationFeed(reloads federationReloads) feedHandler {
	return feedHandler{Handle: func(e domain.Event) {
		if e.Kind == domain.EventFederationChanged {
			reloads.ask()
		}
	}}
}

// runFederationReloads loads the stored issuers at start, then whenever
// the feed says they changed and every client-cache-ttl (at least a
// second): a change the feed did not carry (a command without Redis, a
// lost message) reaches the node as soon as a client change would.
func runFederationReloads(lc fx.Lifecycle, c Config, log *slog.Logger, fed *application.Federation, reloads federationReloads) {
	load := func(ctx context.Context) {
		before := fed.Issuers()
		if err := fed.Reload(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reload federated issuers", "err", err)
		}
		if after := fed.Issuers(); !slices.Equal(before, after) {
			log.Info("federated issuers trusted", "issuers", after)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(start context.Context) error {
			load(start)
			go func() {
				defer close(done)
				for {
					select {
					case <-ctx.Done():
						return
					case <-reloads:
						load(ctx)
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
	every(lc, max(c.ClientCacheTTL, time.Second), func(ctx context.Context) { load(ctx) })
}
