package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// maxFederationLifetime bounds an issuer's max_lifetime: a token that
// lives longer is a credential in all but name.
const maxFederationLifetime = 24 * time.Hour

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

// federationConfig is the federation file read and checked.
type federationConfig struct {
	issuers []application.FederatedIssuer
	keys    []josekit.FederatedIssuerKeys
}

// loadFederationFile reads and checks the file at path; defaultAudiences
// are the aud values accepted when an issuer names none. Each error is one
// line naming the file, the issuer and what is wrong.
func loadFederationFile(path string, defaultAudiences []string) (federationConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return federationConfig{}, fmt.Errorf("federation file: %w", err)
	}
	cfg, err := parseFederationFile(raw, filepath.Dir(path), defaultAudiences)
	if err != nil {
		return federationConfig{}, fmt.Errorf("federation file %s: %w", path, err)
	}
	return cfg, nil
}

func parseFederationFile(raw []byte, dir string, defaultAudiences []string) (federationConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var f federationFile
	if err := dec.Decode(&f); err != nil {
		return federationConfig{}, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return federationConfig{}, errors.New("holds more than one YAML document")
	}
	if len(f.Issuers) == 0 {
		return federationConfig{}, errors.New("names no issuers")
	}
	var cfg federationConfig
	seen := map[string]bool{}
	for i, d := range f.Issuers {
		iss, keys, err := d.check(dir, defaultAudiences)
		if err != nil {
			return federationConfig{}, fmt.Errorf("issuer %d (%s): %w", i+1, d.Issuer, err)
		}
		if seen[iss.Issuer] {
			return federationConfig{}, fmt.Errorf("issuer %d (%s): listed twice", i+1, d.Issuer)
		}
		seen[iss.Issuer] = true
		cfg.issuers = append(cfg.issuers, iss)
		cfg.keys = append(cfg.keys, keys)
	}
	return cfg, nil
}

func (d federatedIssuerDoc) check(dir string, defaultAudiences []string) (application.FederatedIssuer, josekit.FederatedIssuerKeys, error) {
	none := application.FederatedIssuer{}
	nokeys := josekit.FederatedIssuerKeys{}
	if d.Issuer == "" {
		return none, nokeys, errors.New("issuer is required")
	}
	keys := josekit.FederatedIssuerKeys{Issuer: d.Issuer, DiscoveryURL: d.DiscoveryURL, JWKSURI: d.JWKSURI}
	given := 0
	for _, s := range []string{d.DiscoveryURL, d.JWKSURI, d.JWKSFile} {
		if s != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return none, nokeys, errors.New("name at most one of discovery_url, jwks_uri and jwks_file")
	case d.JWKSFile != "":
		p := d.JWKSFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return none, nokeys, fmt.Errorf("jwks_file: %w", err)
		}
		keys.JWKS = b
	case given == 0:
		if !httpURL(d.Issuer) {
			return none, nokeys, errors.New("issuer is not an http(s) URL, so its discovery document cannot be found: name discovery_url, jwks_uri or jwks_file")
		}
		keys.DiscoveryURL = strings.TrimSuffix(d.Issuer, "/") + "/.well-known/openid-configuration"
	}
	for name, u := range map[string]string{"discovery_url": d.DiscoveryURL, "jwks_uri": d.JWKSURI} {
		if u != "" && !httpURL(u) {
			return none, nokeys, fmt.Errorf("%s %q is not an http(s) URL", name, u)
		}
	}
	iss := application.FederatedIssuer{
		Issuer:      d.Issuer,
		Audiences:   d.Audiences,
		MaxLifetime: application.DefaultFederationMaxLifetime,
		AllowReuse:  d.AllowReuse,
	}
	if len(iss.Audiences) == 0 {
		iss.Audiences = defaultAudiences
	}
	if slices.Contains(iss.Audiences, "") {
		return none, nokeys, errors.New("audiences holds an empty value")
	}
	iss.Algorithms = application.DefaultFederationAlgorithms
	if len(d.Algorithms) > 0 {
		iss.Algorithms = nil
		allowed := federationAlgorithms()
		for _, a := range d.Algorithms {
			if !slices.Contains(allowed, a) {
				return none, nokeys, fmt.Errorf("algorithm %q not allowed: use %s", a, strings.Join(allowed, ", "))
			}
			iss.Algorithms = append(iss.Algorithms, domain.Algorithm(a))
		}
	}
	if d.MaxLifetime != "" {
		l, err := time.ParseDuration(d.MaxLifetime)
		if err != nil || l <= 0 || l > maxFederationLifetime {
			return none, nokeys, fmt.Errorf("max_lifetime %q must be a duration above 0 and at most %s", d.MaxLifetime, maxFederationLifetime)
		}
		iss.MaxLifetime = l
	}
	for _, sc := range d.SubjectTokenScopes {
		if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
			return none, nokeys, fmt.Errorf("subject_token_scopes: %q is not a scope token", sc)
		}
	}
	iss.SubjectScopes = domain.NewScopes(d.SubjectTokenScopes...)
	if len(d.Clients) == 0 && len(iss.SubjectScopes) == 0 {
		return none, nokeys, errors.New("maps no clients and has no subject_token_scopes: it would be trusted for nothing")
	}
	for j, m := range d.Clients {
		switch {
		case m.Client == "":
			return none, nokeys, fmt.Errorf("clients %d: client is required", j+1)
		case m.Subject == "" && len(m.Claims) == 0:
			return none, nokeys, fmt.Errorf("clients %d (%s): name sub or claims, or every token of the issuer would be this client", j+1, m.Client)
		}
		iss.Mappings = append(iss.Mappings, application.FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return iss, keys, nil
}

// federationAlgorithms are the algorithms an issuer may be allowed:
// the asymmetric client assertion ones, never HMAC.
func federationAlgorithms() []string {
	var out []string
	for _, a := range josekit.ClientAssertionAlgorithms() {
		if !strings.HasPrefix(a, "HS") {
			out = append(out, a)
		}
	}
	return out
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// newFederation builds federated client authentication from the
// federation file; nil when the setting is empty.
func newFederation(c Config, clients application.ClientFinder, replays application.ReplayGuard, clock application.Clock, hc *http.Client, log *slog.Logger) (*application.Federation, error) {
	if c.FederationFile == "" {
		return nil, nil
	}
	token, _, _ := endpointURLs(c)
	cfg, err := loadFederationFile(c.FederationFile, []string{c.Issuer(), token})
	if err != nil {
		return nil, err
	}
	verifier, err := josekit.NewFederatedTokens(cfg.keys, josekit.ClientAssertionOptions{
		HTTPClient:         hc,
		MinRefreshInterval: c.JWKSMinRefreshInterval,
		MaxAge:             c.JWKSMaxAge,
		Clock:              clock,
		Logger:             log,
	})
	if err != nil {
		return nil, fmt.Errorf("federation file %s: %w", c.FederationFile, err)
	}
	for _, i := range cfg.issuers {
		log.Info("federated issuer trusted", "issuer", i.Issuer, "clients", len(i.Mappings))
	}
	return application.NewFederation(cfg.issuers, verifier, clients, replays, clock), nil
}
