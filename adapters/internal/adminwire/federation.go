package adminwire

import (
	"encoding/json"

	"github.com/sigilauth/sigil/application"
)

// FederatedIssuer is a trust relationship as the admin API reads and
// writes it: a federation file's entry in JSON, with jwks (the key set
// itself, or a string holding it) in place of jwks_file.
type FederatedIssuer struct {
	Issuer             string             `json:"issuer"`
	DiscoveryURL       string             `json:"discovery_url,omitempty"`
	JWKSURI            string             `json:"jwks_uri,omitempty"`
	JWKS               json.RawMessage    `json:"jwks,omitempty"`
	Audiences          []string           `json:"audiences,omitempty"`
	Algorithms         []string           `json:"algorithms,omitempty"`
	MaxLifetime        string             `json:"max_lifetime,omitempty"`
	AllowReuse         bool               `json:"allow_reuse,omitempty"`
	SubjectTokenScopes []string           `json:"subject_token_scopes,omitempty"`
	Clients            []FederationClient `json:"clients,omitempty"`
}

// FederationClient is one mapping of an issuer's tokens to a client.
type FederationClient struct {
	Client  string            `json:"client"`
	Subject string            `json:"sub,omitempty"`
	Claims  map[string]string `json:"claims,omitempty"`
}

// FederatedIssuerList is GET /federation/issuers' answer.
type FederatedIssuerList struct {
	Issuers []FederatedIssuer `json:"issuers"`
}

// ToSpec is the entry for the use cases; a jwks that is neither an
// object nor a string is domain.ErrInvalidRequest's text.
func (f FederatedIssuer) ToSpec() (application.FederatedIssuerSpec, error) {
	jwks, err := jwksText(f.JWKS)
	if err != nil {
		return application.FederatedIssuerSpec{}, &application.FederationEntryError{Reason: "jwks: " + err.Error()}
	}
	s := application.FederatedIssuerSpec{
		Issuer: f.Issuer, DiscoveryURL: f.DiscoveryURL, JWKSURI: f.JWKSURI, JWKS: jwks, Audiences: f.Audiences,
		Algorithms: f.Algorithms, MaxLifetime: f.MaxLifetime, AllowReuse: f.AllowReuse, SubjectTokenScopes: f.SubjectTokenScopes,
	}
	for _, m := range f.Clients {
		s.Clients = append(s.Clients, application.FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return s, nil
}

// FederatedIssuerOf is the wire form of an entry.
func FederatedIssuerOf(s application.FederatedIssuerSpec) FederatedIssuer {
	f := FederatedIssuer{
		Issuer: s.Issuer, DiscoveryURL: s.DiscoveryURL, JWKSURI: s.JWKSURI, JWKS: jwksJSON(s.JWKS), Audiences: s.Audiences,
		Algorithms: s.Algorithms, MaxLifetime: s.MaxLifetime, AllowReuse: s.AllowReuse, SubjectTokenScopes: s.SubjectTokenScopes,
	}
	for _, m := range s.Clients {
		f.Clients = append(f.Clients, FederationClient{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return f
}
