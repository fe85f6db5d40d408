package application

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// MaxFederationLifetime bounds an issuer's max_lifetime: a token that
// lives longer is a credential in all but name.
const MaxFederationLifetime = 24 * time.Hour

// FederatedIssuerSpec is a trust relationship as an operator writes it,
// in the federation file or through the admin API: the text before it
// is checked and given its defaults (FederationRules.Check). The admin
// API stores it so; the file's jwks_file is read into JWKS.
type FederatedIssuerSpec struct {
	Issuer string
	// At most one of the three; none means discovery at
	// {issuer}/.well-known/openid-configuration.
	DiscoveryURL string
	JWKSURI      string
	// JWKS is a JWK Set document itself.
	JWKS       string
	Audiences  []string
	Algorithms []string
	// MaxLifetime is a Go duration ("1h"); empty is
	// DefaultFederationMaxLifetime.
	MaxLifetime        string
	AllowReuse         bool
	SubjectTokenScopes []string
	Clients            []FederationMapping
}

// FederatedKeySource says where one trusted issuer's public keys are:
// exactly one of DiscoveryURL, JWKSURI and JWKS.
type FederatedKeySource struct {
	Issuer string
	// DiscoveryURL is its metadata document (OpenID Connect Discovery 1.0
	// or RFC 8414), whose jwks_uri is read once, when first needed.
	DiscoveryURL string
	// JWKSURI is its JWK Set document.
	JWKSURI string
	// JWKS is a JWK Set itself, for issuers whose keys are not public (a
	// cluster's service account keys).
	JWKS []byte
}

// Same reports whether k and o name the same keys, so that a verifier
// may keep what it cached of them.
func (k FederatedKeySource) Same(o FederatedKeySource) bool {
	return k.Issuer == o.Issuer && k.DiscoveryURL == o.DiscoveryURL && k.JWKSURI == o.JWKSURI && string(k.JWKS) == string(o.JWKS)
}

// FederationRules are what every trust relationship is checked against,
// wherever it comes from, so that the file and the admin API cannot
// disagree.
type FederationRules struct {
	// DefaultAudiences are the aud values accepted when an entry names
	// none: the issuer and the token endpoint.
	DefaultAudiences []string
	// Algorithms are those an entry may allow: the asymmetric client
	// assertion ones, never HMAC.
	Algorithms []string
}

// FederationEntryError is a trust relationship that does not hold
// together; Reason is one line saying what is wrong.
type FederationEntryError struct{ Reason string }

func (e *FederationEntryError) Error() string { return e.Reason }

// ErrFileIssuer refuses to manage through the admin API an issuer the
// federation file defines: the file wins, and is changed where it lives.
// It matches domain.ErrConflict.
var ErrFileIssuer error = fileIssuerError{}

type fileIssuerError struct{}

func (fileIssuerError) Error() string {
	return "the federation file defines this issuer; change it there"
}
func (fileIssuerError) Is(target error) bool { return target == domain.ErrConflict }

// Check gives s its defaults and checks it, returning the issuer with its
// key source. An error is a *FederationEntryError.
func (r FederationRules) Check(s FederatedIssuerSpec) (FederatedIssuer, error) {
	iss, err := r.check(s)
	if err != nil {
		return FederatedIssuer{}, &FederationEntryError{Reason: err.Error()}
	}
	return iss, nil
}

func (r FederationRules) check(s FederatedIssuerSpec) (FederatedIssuer, error) {
	if s.Issuer == "" {
		return FederatedIssuer{}, errors.New("issuer is required")
	}
	keys := FederatedKeySource{Issuer: s.Issuer, DiscoveryURL: s.DiscoveryURL, JWKSURI: s.JWKSURI, JWKS: []byte(s.JWKS)}
	given := 0
	for _, v := range []string{s.DiscoveryURL, s.JWKSURI, s.JWKS} {
		if v != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return FederatedIssuer{}, errors.New("name at most one of discovery_url, jwks_uri and jwks")
	case given == 0:
		if !httpURL(s.Issuer) {
			return FederatedIssuer{}, errors.New("issuer is not an http(s) URL, so its discovery document cannot be found: name discovery_url, jwks_uri or jwks")
		}
		keys.DiscoveryURL = strings.TrimSuffix(s.Issuer, "/") + "/.well-known/openid-configuration"
	}
	for _, u := range []struct{ name, v string }{{"discovery_url", s.DiscoveryURL}, {"jwks_uri", s.JWKSURI}} {
		if u.v != "" && !httpURL(u.v) {
			return FederatedIssuer{}, fmt.Errorf("%s %q is not an http(s) URL", u.name, u.v)
		}
	}
	iss := FederatedIssuer{
		Issuer:      s.Issuer,
		Audiences:   slices.Clone(s.Audiences),
		MaxLifetime: DefaultFederationMaxLifetime,
		AllowReuse:  s.AllowReuse,
		Keys:        keys,
	}
	if len(iss.Audiences) == 0 {
		iss.Audiences = r.DefaultAudiences
	}
	if slices.Contains(iss.Audiences, "") {
		return FederatedIssuer{}, errors.New("audiences holds an empty value")
	}
	iss.Algorithms = DefaultFederationAlgorithms
	if len(s.Algorithms) > 0 {
		iss.Algorithms = nil
		for _, a := range s.Algorithms {
			if !slices.Contains(r.Algorithms, a) {
				return FederatedIssuer{}, fmt.Errorf("algorithm %q not allowed: use %s", a, strings.Join(r.Algorithms, ", "))
			}
			iss.Algorithms = append(iss.Algorithms, domain.Algorithm(a))
		}
	}
	if s.MaxLifetime != "" {
		l, err := time.ParseDuration(s.MaxLifetime)
		if err != nil || l <= 0 || l > MaxFederationLifetime {
			return FederatedIssuer{}, fmt.Errorf("max_lifetime %q must be a duration above 0 and at most %s", s.MaxLifetime, MaxFederationLifetime)
		}
		iss.MaxLifetime = l
	}
	for _, sc := range s.SubjectTokenScopes {
		if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
			return FederatedIssuer{}, fmt.Errorf("subject_token_scopes: %q is not a scope token", sc)
		}
	}
	iss.SubjectScopes = domain.NewScopes(s.SubjectTokenScopes...)
	if len(s.Clients) == 0 && len(iss.SubjectScopes) == 0 {
		return FederatedIssuer{}, errors.New("maps no clients and has no subject_token_scopes: it would be trusted for nothing")
	}
	for j, m := range s.Clients {
		switch {
		case m.Client == "":
			return FederatedIssuer{}, fmt.Errorf("clients %d: client is required", j+1)
		case m.Subject == "" && len(m.Claims) == 0:
			return FederatedIssuer{}, fmt.Errorf("clients %d (%s): name sub or claims, or every token of the issuer would be this client", j+1, m.Client)
		}
		iss.Mappings = append(iss.Mappings, FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return iss, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
