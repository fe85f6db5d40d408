// Package registrationwire is the JSON of client metadata (RFC 7591 §2,
// §3.2.1; RFC 7592 §3), shared by the two adapters that read it: echohttp,
// from registration requests and into answers, and josekit, from the
// claims of software statements. One type keeps the two the same.
package registrationwire

import (
	"encoding/json"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Metadata is a registration request, answer or software statement's
// claims: the client metadata Sigil supports, and in answers the
// credentials issued (§3.2.1). Members Sigil does not support are ignored
// when read (§2: "the authorization server MAY ignore"), redirect_uris
// included, as Sigil has no redirect-based grant.
type Metadata struct {
	ClientID                string `json:"client_id,omitempty"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`

	ClientName              string          `json:"client_name,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	// TokenFormat is Sigil's extension: jwt or opaque access tokens.
	TokenFormat string   `json:"sigil_token_format,omitempty"`
	Resources   []string `json:"resources,omitempty"`
	DPoPBound   *bool    `json:"dpop_bound_access_tokens,omitempty"`
	// The RFC 8705 §2.1.2 subject of a tls_client_auth client, at most one,
	// and §3.4's binding.
	adminwire.TLSSubject
	CertBound *bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`

	SoftwareID        string `json:"software_id,omitempty"`
	SoftwareVersion   string `json:"software_version,omitempty"`
	SoftwareStatement string `json:"software_statement,omitempty"`
}

// ToApplication is the metadata the use cases read. jwks must be a JSON
// object; anything else is kept as it came, for the client's validation
// to refuse.
func (m Metadata) ToApplication() application.ClientMetadata {
	out := application.ClientMetadata{
		ClientName:              m.ClientName,
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod,
		GrantTypes:              m.GrantTypes,
		Scope:                   m.Scope,
		JWKSURI:                 m.JWKSURI,
		TokenFormat:             m.TokenFormat,
		Resources:               m.Resources,
		DPoPBound:               m.DPoPBound,
		CertBound:               m.CertBound,
		SoftwareID:              m.SoftwareID,
		SoftwareVersion:         m.SoftwareVersion,
		SoftwareStatement:       m.SoftwareStatement,
	}
	for k, v := range m.Kinds() {
		if v != "" {
			if out.TLSSubject == nil {
				out.TLSSubject = map[domain.TLSSubjectKind]string{}
			}
			out.TLSSubject[k] = v
		}
	}
	if len(m.JWKS) > 0 && string(m.JWKS) != "null" {
		out.JWKS = string(m.JWKS)
	}
	return out
}

// FromApplication lays out registered metadata for an answer.
func FromApplication(m application.ClientMetadata) Metadata {
	out := Metadata{
		ClientName:              m.ClientName,
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod,
		GrantTypes:              m.GrantTypes,
		Scope:                   m.Scope,
		JWKSURI:                 m.JWKSURI,
		TokenFormat:             m.TokenFormat,
		Resources:               m.Resources,
		DPoPBound:               m.DPoPBound,
		CertBound:               m.CertBound,
		SoftwareID:              m.SoftwareID,
		SoftwareVersion:         m.SoftwareVersion,
	}
	for k, v := range m.TLSSubject {
		// One at most: the registered subject.
		out.TLSSubject = adminwire.TLSSubjectOf(domain.TLSSubject{Kind: k, Value: v})
	}
	if m.JWKS != "" && json.Valid([]byte(m.JWKS)) {
		out.JWKS = json.RawMessage(m.JWKS)
	}
	return out
}
