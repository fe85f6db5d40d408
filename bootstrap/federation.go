package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
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
	Issuers []FederationEntry `yaml:"issuers"`
}

// FederationEntry is one trust relationship as a federation file writes
// it, and as `sigil federation` reads and prints one (JSON or YAML), so
// that what get prints, apply takes back.
type FederationEntry struct {
	Issuer string `yaml:"issuer" json:"issuer"`
	// At most one of the four; none means discovery at
	// {issuer}/.well-known/openid-configuration.
	DiscoveryURL string `yaml:"discovery_url,omitempty" json:"discovery_url,omitempty"`
	JWKSURI      string `yaml:"jwks_uri,omitempty" json:"jwks_uri,omitempty"`
	JWKSFile     string `yaml:"jwks_file,omitempty" json:"jwks_file,omitempty"`
	// JWKS is the key set itself (a mapping, or a string of JSON).
	JWKS        any      `yaml:"jwks,omitempty" json:"jwks,omitempty"`
	Audiences   []string `yaml:"audiences,omitempty" json:"audiences,omitempty"`
	Algorithms  []string `yaml:"algorithms,omitempty" json:"algorithms,omitempty"`
	MaxLifetime string   `yaml:"max_lifetime,omitempty" json:"max_lifetime,omitempty"`
	AllowReuse  bool     `yaml:"allow_reuse,omitempty" json:"allow_reuse,omitempty"`
	// SubjectTokenScopes lets the issuer's tokens be token exchange
	// subject tokens, keeping at most these scopes.
	SubjectTokenScopes []string           `yaml:"subject_token_scopes,omitempty" json:"subject_token_scopes,omitempty"`
	Clients            []FederationClient `yaml:"clients,omitempty" json:"clients,omitempty"`
}

// FederationClient is one mapping of a FederationEntry.
type FederationClient struct {
	Client  string            `yaml:"client" json:"client"`
	Subject string            `yaml:"sub,omitempty" json:"sub,omitempty"`
	Claims  map[string]string `yaml:"claims,omitempty" json:"claims,omitempty"`
}

// FederationEntryOf is a stored trust relationship as a file writes it.
func FederationEntryOf(s application.FederatedIssuerSpec) FederationEntry {
	e := FederationEntry{
		Issuer: s.Issuer, DiscoveryURL: s.DiscoveryURL, JWKSURI: s.JWKSURI, Audiences: s.Audiences, Algorithms: s.Algorithms,
		MaxLifetime: s.MaxLifetime, AllowReuse: s.AllowReuse, SubjectTokenScopes: s.SubjectTokenScopes,
	}
	if s.JWKS != "" {
		var set any
		if json.Unmarshal([]byte(s.JWKS), &set) == nil {
			e.JWKS = set
		} else {
			e.JWKS = s.JWKS
		}
	}
	for _, m := range s.Clients {
		e.Clients = append(e.Clients, FederationClient{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return e
}

// ParseFederationEntries reads what `sigil federation apply` takes: a
// federation file (issuers: [...]) or one entry, YAML or JSON; a
// jwks_file is read, relative to dir, into the entry. The entries are not
// yet checked: the admin operation checks them.
func ParseFederationEntries(raw []byte, dir string) ([]application.FederatedIssuerSpec, error) {
	var probe map[string]any
	if err := yaml.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var entries []FederationEntry
	if _, ok := probe["issuers"]; ok {
		var f federationFile
		if err := strictYAML(raw, &f); err != nil {
			return nil, err
		}
		entries = f.Issuers
	} else {
		var e FederationEntry
		if err := strictYAML(raw, &e); err != nil {
			return nil, err
		}
		entries = []FederationEntry{e}
	}
	if len(entries) == 0 {
		return nil, errors.New("names no issuers")
	}
	out := make([]application.FederatedIssuerSpec, len(entries))
	for i, e := range entries {
		spec, err := e.spec(dir)
		if err != nil {
			return nil, fmt.Errorf("issuer %d (%s): %w", i+1, e.Issuer, err)
		}
		out[i] = spec
	}
	return out, nil
}

// strictYAML decodes one YAML document into v, refusing unknown keys.
func strictYAML(raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return errors.New("holds more than one YAML document")
	}
	return nil
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
	var f federationFile
	if err := strictYAML(raw, &f); err != nil {
		return nil, err
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
// read (only a file can name one) and jwks as JSON text.
func (d FederationEntry) spec(dir string) (application.FederatedIssuerSpec, error) {
	s := application.FederatedIssuerSpec{
		Issuer: d.Issuer, DiscoveryURL: d.DiscoveryURL, JWKSURI: d.JWKSURI, Audiences: d.Audiences, Algorithms: d.Algorithms,
		MaxLifetime: d.MaxLifetime, AllowReuse: d.AllowReuse, SubjectTokenScopes: d.SubjectTokenScopes,
	}
	for _, m := range d.Clients {
		s.Clients = append(s.Clients, application.FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	switch v := d.JWKS.(type) {
	case nil:
	case string:
		s.JWKS = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return s, fmt.Errorf("jwks: %w", err)
		}
		s.JWKS = string(b)
	}
	if d.JWKSFile == "" {
		return s, nil
	}
	if d.DiscoveryURL != "" || d.JWKSURI != "" || d.JWKS != nil {
		return s, errors.New("name at most one of discovery_url, jwks_uri, jwks and jwks_file")
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

// federationReloads asks the auth role to reload the trusted issuers.
type federationReloads asks

func newFederationReloads() federationReloads { return make(federationReloads, 1) }

// federationFeed reloads the trusted issuers when another node (or a
// command) changed them.
func federationFeed(reloads federationReloads) feedHandler {
	return feedHandler{Handle: func(e domain.Event) {
		if e.Kind == domain.EventFederationChanged {
			asks(reloads).ask()
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
	lc.Append(fx.StartHook(func(ctx context.Context) { load(ctx) }))
	onAsk(lc, asks(reloads), load)
	every(lc, max(c.ClientCacheTTL, time.Second), load)
}
