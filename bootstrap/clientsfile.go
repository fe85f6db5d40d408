package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// clientsFile is the YAML that `sigil clients apply` reads.
type clientsFile struct {
	Clients []clientDoc `yaml:"clients"`
}

type clientDoc struct {
	ID            string      `yaml:"id"`
	TokenFormat   string      `yaml:"token_format"`
	TokenLifetime string      `yaml:"token_lifetime"`
	AuthMethods   []string    `yaml:"auth_methods"`
	Scopes        []string    `yaml:"scopes"`
	DefaultScopes []string    `yaml:"default_scopes"`
	Resources     []string    `yaml:"resources"`
	Audience      []string    `yaml:"audience"`
	Introspect    bool        `yaml:"introspect"`
	JWKS          string      `yaml:"jwks"`
	JWKSURI       string      `yaml:"jwks_uri"`
	Secrets       []secretDoc `yaml:"secrets"`
	// DPoPBound is RFC 9449 §5.2's dpop_bound_access_tokens.
	DPoPBound bool `yaml:"dpop_bound_access_tokens"`
	// The RFC 8705 metadata: one subject for tls_client_auth (§2.1.2),
	// and tls_client_certificate_bound_access_tokens (§3.4).
	TLSSubjectDN    string `yaml:"tls_client_auth_subject_dn"`
	TLSSANDNS       string `yaml:"tls_client_auth_san_dns"`
	TLSSANURI       string `yaml:"tls_client_auth_san_uri"`
	TLSSANIP        string `yaml:"tls_client_auth_san_ip"`
	TLSSANEmail     string `yaml:"tls_client_auth_san_email"`
	CertBoundTokens bool   `yaml:"tls_client_certificate_bound_access_tokens"`
	// Profile is empty or fapi2 (FAPI 2.0).
	Profile string `yaml:"profile"`
	// TokenExchange, when present, allows the token exchange grant (RFC
	// 8693) under this policy.
	TokenExchange *struct {
		Audiences        []string `yaml:"audiences"`
		SubjectAudiences []string `yaml:"subject_audiences"`
		Scopes           []string `yaml:"scopes"`
		Delegate         bool     `yaml:"delegate"`
	} `yaml:"token_exchange"`
}

type secretDoc struct {
	ID string `yaml:"id"`
	// Secret is the secret itself; SecretEnv names an environment
	// variable holding it, so the file need not contain it.
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	ExpiresAt string `yaml:"expires_at"`
}

// ParseClientsFile reads client registrations. Unknown keys are errors, so
// a typo cannot silently drop a restriction. Omitted fields take
// defaults: token format jwt, methods client_secret_basic and
// client_secret_post, default scopes equal to the allowed scopes.
func ParseClientsFile(raw []byte, lookup func(string) (string, bool)) ([]application.RegisterClientInput, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var f clientsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("clients file: %w", err)
	}
	// A second YAML document would be dropped without a word; refuse it,
	// as an unknown key is refused.
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("clients file: holds more than one YAML document; put every client under one clients: list")
	}
	out := make([]application.RegisterClientInput, 0, len(f.Clients))
	for i, d := range f.Clients {
		in, err := d.toInput(lookup)
		if err != nil {
			return nil, fmt.Errorf("clients file: client %d (%s): %w", i+1, d.ID, err)
		}
		out = append(out, in)
	}
	return out, nil
}

func (d clientDoc) toInput(lookup func(string) (string, bool)) (application.RegisterClientInput, error) {
	c := domain.Client{
		ID:            d.ID,
		TokenFormat:   domain.FormatJWT,
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost},
		AllowedScopes: domain.NewScopes(d.Scopes...),
		DefaultScopes: domain.NewScopes(d.Scopes...),
		Resources:     d.Resources,
		Audience:      d.Audience,
		CanIntrospect: d.Introspect,
		DPoPBound:     d.DPoPBound,
		JWKS:          d.JWKS,
		JWKSURI:       d.JWKSURI,
	}
	subject, err := domain.NewTLSSubject(map[domain.TLSSubjectKind]string{
		domain.TLSSubjectDN: d.TLSSubjectDN, domain.TLSSubjectSANDNS: d.TLSSANDNS, domain.TLSSubjectSANURI: d.TLSSANURI,
		domain.TLSSubjectSANIP: d.TLSSANIP, domain.TLSSubjectSANEmail: d.TLSSANEmail,
	})
	if err != nil {
		return application.RegisterClientInput{}, err
	}
	c.TLSSubject, c.CertBound, c.Profile = subject, d.CertBoundTokens, domain.Profile(d.Profile)
	if x := d.TokenExchange; x != nil {
		c.GrantTypes = append(c.GrantTypes, domain.GrantTokenExchange)
		c.Exchange = domain.ExchangePolicy{Audiences: x.Audiences, SubjectAudiences: x.SubjectAudiences, Scopes: domain.NewScopes(x.Scopes...), Delegate: x.Delegate}
	}
	if d.TokenFormat != "" {
		c.TokenFormat = domain.TokenFormat(d.TokenFormat)
	}
	if d.DefaultScopes != nil {
		c.DefaultScopes = domain.NewScopes(d.DefaultScopes...)
	}
	if len(d.AuthMethods) > 0 {
		c.AuthMethods = nil
		for _, m := range d.AuthMethods {
			c.AuthMethods = append(c.AuthMethods, domain.AuthMethod(m))
		}
	}
	if d.TokenLifetime != "" {
		lt, err := time.ParseDuration(d.TokenLifetime)
		if err != nil {
			return application.RegisterClientInput{}, fmt.Errorf("token_lifetime %q is not a duration such as 1h", d.TokenLifetime)
		}
		c.TokenLifetime = lt
	}
	in := application.RegisterClientInput{Client: c}
	for _, s := range d.Secrets {
		spec := application.SecretSpec{ID: s.ID, Secret: s.Secret}
		if s.SecretEnv != "" {
			if spec.Secret != "" {
				return application.RegisterClientInput{}, fmt.Errorf("secret %s has both secret and secret_env", s.ID)
			}
			if spec.Secret, _ = lookup(s.SecretEnv); spec.Secret == "" {
				return application.RegisterClientInput{}, fmt.Errorf("secret %s: environment variable %s is empty", s.ID, s.SecretEnv)
			}
		}
		if s.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, s.ExpiresAt)
			if err != nil {
				return application.RegisterClientInput{}, fmt.Errorf("secret %s: expires_at %q is not an RFC 3339 time", s.ID, s.ExpiresAt)
			}
			spec.ExpiresAt = t
		}
		in.Secrets = append(in.Secrets, spec)
	}
	return in, nil
}
