package adminwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// DecodePatch reads a JSON merge patch (RFC 7396) of the client id: each
// member replaces that field, null resets it to what a clients file that
// omits it gives (token format jwt, the two client_secret methods, default
// scopes equal to the allowed ones, nothing for the rest). "id" may only
// repeat the client's; secrets have endpoints of their own.
func DecodePatch(raw []byte, id string) (application.ClientPatch, error) {
	var members map[string]json.RawMessage
	if err := Decode(raw, &members); err != nil || members == nil {
		return application.ClientPatch{}, domain.ErrInvalidRequest.With("a merge patch must be a JSON object")
	}
	var p application.ClientPatch
	for name, v := range members {
		if err := setMember(&p, name, v, id); err != nil {
			var e *domain.Error
			if errors.As(err, &e) {
				return application.ClientPatch{}, e
			}
			return application.ClientPatch{}, domain.ErrInvalidClientMetadata.With(fmt.Sprintf("%s: %v", name, err))
		}
	}
	return p, nil
}

// setMember applies the patch member name of value v to p.
func setMember(p *application.ClientPatch, name string, v json.RawMessage, id string) error {
	null := bytes.Equal(bytes.TrimSpace(v), []byte("null"))
	strs := func() (*[]string, error) {
		out := []string{}
		if null {
			return &out, nil
		}
		err := json.Unmarshal(v, &out)
		return &out, err
	}
	str := func() (string, error) {
		var s string
		if null {
			return "", nil
		}
		err := json.Unmarshal(v, &s)
		return s, err
	}
	switch name {
	case "id":
		s, err := str()
		if err != nil || s != id {
			return domain.ErrInvalidClientMetadata.With("id cannot be changed; create a client of the new id and delete this one")
		}
	case "secrets":
		return domain.ErrInvalidClientMetadata.With("secrets are not patched: POST to the client's secrets, or expire one")
	case "token_format":
		s, err := str()
		if err != nil {
			return err
		}
		f := domain.TokenFormat(s)
		if null {
			f = domain.FormatJWT
		}
		p.TokenFormat = &f
	case "token_lifetime":
		s, err := str()
		if err != nil {
			return err
		}
		var d time.Duration
		if s != "" {
			if d, err = time.ParseDuration(s); err != nil {
				return domain.ErrInvalidClientMetadata.With(fmt.Sprintf("token_lifetime %q is not a duration such as 1h", s))
			}
		}
		p.TokenLifetime = &d
	case "auth_methods":
		l, err := strs()
		if err != nil {
			return err
		}
		ms := toMethods(*l)
		if null {
			ms = []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}
		}
		if ms == nil {
			ms = []domain.AuthMethod{}
		}
		p.AuthMethods = &ms
	case "scopes":
		l, err := strs()
		if err != nil {
			return err
		}
		s := domain.NewScopes(*l...)
		p.Scopes = &s
	case "default_scopes":
		if null {
			p.ResetDefaultScopes = true
			return nil
		}
		l, err := strs()
		if err != nil {
			return err
		}
		s := domain.NewScopes(*l...)
		p.DefaultScopes = &s
	case "resources":
		l, err := strs()
		if err != nil {
			return err
		}
		p.Resources = nilIfEmpty(l)
	case "audience":
		l, err := strs()
		if err != nil {
			return err
		}
		p.Audience = nilIfEmpty(l)
	case "introspect":
		b := false
		if !null {
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
		}
		p.Introspect = &b
	case string(domain.TLSSubjectDN), string(domain.TLSSubjectSANDNS), string(domain.TLSSubjectSANURI),
		string(domain.TLSSubjectSANIP), string(domain.TLSSubjectSANEmail):
		s, err := str()
		if err != nil {
			return err
		}
		subject := domain.TLSSubject{}
		if s != "" {
			subject = domain.TLSSubject{Kind: domain.TLSSubjectKind(name), Value: s}
		}
		// A patch names one subject: it replaces the one registered.
		if p.TLSSubject != nil && !p.TLSSubject.IsZero() && !subject.IsZero() {
			return domain.ErrInvalidClientMetadata.With("register only one of " + string(p.TLSSubject.Kind) + " and " + name)
		}
		if p.TLSSubject == nil || !subject.IsZero() {
			p.TLSSubject = &subject
		}
	case "tls_client_certificate_bound_access_tokens":
		b := false
		if !null {
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
		}
		p.CertBound = &b
	case "profile":
		s, err := str()
		if err != nil {
			return err
		}
		pr := domain.Profile(s)
		p.Profile = &pr
	case "dpop_bound_access_tokens":
		b := false
		if !null {
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
		}
		p.DPoPBound = &b
	case "jwks":
		s, err := jwksText(v)
		if err != nil {
			return domain.ErrInvalidClientMetadata.With("jwks must be a JSON Web Key Set, as an object or a string")
		}
		p.JWKS = &s
	case "jwks_uri":
		s, err := str()
		if err != nil {
			return err
		}
		p.JWKSURI = &s
	case "token_exchange":
		var x *TokenExchange
		if !null {
			if err := Decode(v, &x); err != nil {
				return domain.ErrInvalidClientMetadata.With("token_exchange must be an object with audiences, subject_audiences, scopes and delegate")
			}
		}
		var c domain.Client
		x.applyTo(&c)
		p.Exchange = &c.Exchange
	default:
		return domain.ErrInvalidClientMetadata.With(fmt.Sprintf("unknown field %q", name))
	}
	return nil
}

// nilIfEmpty stores an emptied list as none, as the registry reads it.
func nilIfEmpty(l *[]string) *[]string {
	if len(*l) == 0 {
		var none []string
		return &none
	}
	return l
}

// EncodePatch writes p as a JSON merge patch: what adminclient sends.
func EncodePatch(p application.ClientPatch) ([]byte, error) {
	m := map[string]any{}
	if p.TokenFormat != nil {
		m["token_format"] = string(*p.TokenFormat)
	}
	if p.TokenLifetime != nil {
		m["token_lifetime"] = p.TokenLifetime.String()
	}
	if p.AuthMethods != nil {
		m["auth_methods"] = nonNil(fromMethods(*p.AuthMethods))
	}
	if p.Scopes != nil {
		m["scopes"] = nonNil(*p.Scopes)
	}
	switch {
	case p.DefaultScopes != nil:
		m["default_scopes"] = nonNil(*p.DefaultScopes)
	case p.ResetDefaultScopes:
		m["default_scopes"] = nil
	}
	if p.Resources != nil {
		m["resources"] = nonNil(*p.Resources)
	}
	if p.Audience != nil {
		m["audience"] = nonNil(*p.Audience)
	}
	if p.Introspect != nil {
		m["introspect"] = *p.Introspect
	}
	if p.DPoPBound != nil {
		m["dpop_bound_access_tokens"] = *p.DPoPBound
	}
	if p.JWKS != nil {
		m["jwks"] = *p.JWKS
	}
	if p.JWKSURI != nil {
		m["jwks_uri"] = *p.JWKSURI
	}
	if p.TLSSubject != nil {
		if p.TLSSubject.IsZero() {
			for _, k := range domain.TLSSubjectKinds {
				m[string(k)] = nil
			}
		} else {
			m[string(p.TLSSubject.Kind)] = p.TLSSubject.Value
		}
	}
	if p.CertBound != nil {
		m["tls_client_certificate_bound_access_tokens"] = *p.CertBound
	}
	if p.Profile != nil {
		m["profile"] = string(*p.Profile)
	}
	if p.Exchange != nil {
		m["token_exchange"] = TokenExchangeOf(domain.Client{Exchange: *p.Exchange})
	}
	return json.Marshal(m)
}
