package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Clients is the registry of OAuth clients.
//
// A client is one row of sigil_clients and one row of sigil_client_secrets
// per secret. Secrets get a table of their own rather than a JSON column
// so that the sealed client_secret_jwt secrets are stored as the bytes
// the SecretBox gave (a binary column, no second encoding), and so that an
// operator can ask the database which secrets expire soon with plain SQL.
// A foreign key deletes a client's secrets with the client, however the
// client row goes.
type Clients struct {
	db *gorm.DB
}

var (
	_ application.ClientRegistry = (*Clients)(nil)
	_ application.ClientLister   = (*Clients)(nil)
	_ application.ClientDeleter  = (*Clients)(nil)
	_ application.ScopeLister    = (*Clients)(nil)
)

// NewClients returns a registry over a migrated database.
func NewClients(db *gorm.DB) *Clients { return &Clients{db: db} }

// clientRow is a row of sigil_clients.
type clientRow struct {
	ID string `gorm:"column:id;primaryKey"`
	// AuthMethods, GrantTypes, AllowedScopes and DefaultScopes are
	// space-separated; Audience and Resources are JSON arrays of strings.
	AuthMethods   string `gorm:"column:auth_methods;not null"`
	GrantTypes    string `gorm:"column:grant_types;not null"`
	AllowedScopes string `gorm:"column:allowed_scopes;not null"`
	DefaultScopes string `gorm:"column:default_scopes;not null"`
	Audience      string `gorm:"column:audience;not null"`
	// Columns added after the first release carry a default, so that
	// AutoMigrate can add them to a table that already has rows.
	Resources   string `gorm:"column:resources;not null;default:''"`
	JWKS        string `gorm:"column:jwks;not null;default:''"`
	JWKSURI     string `gorm:"column:jwks_uri;not null;default:''"`
	TokenFormat string `gorm:"column:token_format;not null"`
	// TokenLifetimeSeconds of 0 means the domain default.
	TokenLifetimeSeconds int64 `gorm:"column:token_lifetime_seconds;not null"`
	CanIntrospect        bool  `gorm:"column:can_introspect;not null"`
	// DPoPBound is dpop_bound_access_tokens (added by migration 5).
	DPoPBound bool `gorm:"column:dpop_bound_access_tokens;not null;default:false"`
	// TLSSubjectKind names the RFC 8705 §2.1.2 parameter TLSSubject
	// holds; CertBound is tls_client_certificate_bound_access_tokens
	// (added by migration 6).
	TLSSubjectKind string `gorm:"column:tls_subject_kind;not null;default:''"`
	TLSSubject     string `gorm:"column:tls_subject;not null;default:''"`
	CertBound      bool   `gorm:"column:tls_client_certificate_bound_access_tokens;not null;default:false"`
	// Profile is the client's security profile, empty or fapi2 (added
	// by migration 6).
	Profile string `gorm:"column:profile;not null;default:''"`
	// TokenExchange is the client's token exchange policy as JSON
	// (exchangePolicyJSON), empty for none (added by migration 8).
	TokenExchange string `gorm:"column:token_exchange;not null;default:''"`
}

// exchangePolicyJSON is the stored form of a domain.ExchangePolicy.
type exchangePolicyJSON struct {
	Audiences        []string `json:"audiences,omitempty"`
	SubjectAudiences []string `json:"subject_audiences,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	Delegate         bool     `json:"delegate,omitempty"`
}

func encodeExchangePolicy(p domain.ExchangePolicy) (string, error) {
	if !p.Enabled() && len(p.SubjectAudiences) == 0 && len(p.Scopes) == 0 && !p.Delegate {
		return "", nil
	}
	b, err := json.Marshal(exchangePolicyJSON{Audiences: p.Audiences, SubjectAudiences: p.SubjectAudiences, Scopes: p.Scopes, Delegate: p.Delegate})
	if err != nil {
		return "", fmt.Errorf("token exchange policy: %w", err)
	}
	return string(b), nil
}

func decodeExchangePolicy(s string) (domain.ExchangePolicy, error) {
	if s == "" {
		return domain.ExchangePolicy{}, nil
	}
	var j exchangePolicyJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return domain.ExchangePolicy{}, fmt.Errorf("token_exchange column: %w", err)
	}
	return domain.ExchangePolicy{Audiences: j.Audiences, SubjectAudiences: j.SubjectAudiences, Scopes: domain.NewScopes(j.Scopes...), Delegate: j.Delegate}, nil
}

func (clientRow) TableName() string { return "sigil_clients" }

// clientSecretRow is a row of sigil_client_secrets.
type clientSecretRow struct {
	ClientID string `gorm:"column:client_id;primaryKey"`
	ID       string `gorm:"column:id;primaryKey"`
	// Ordinal keeps the secrets in the order the client was saved with.
	Ordinal int    `gorm:"column:ordinal;not null"`
	Hash    string `gorm:"column:hash;not null"`
	// Sealed is NULL when the secret has no sealed copy.
	Sealed []byte `gorm:"column:sealed"`
	// ExpiresAt in Unix microseconds, NULL for never; see codec.go.
	ExpiresAt *int64 `gorm:"column:expires_at"`

	// Client is here only for Migrate to create the foreign key; it is
	// never loaded or saved.
	Client clientRow `gorm:"foreignKey:ClientID;references:ID;constraint:OnDelete:CASCADE"`
}

func (clientSecretRow) TableName() string { return "sigil_client_secrets" }

func toClientRows(c domain.Client) (clientRow, []clientSecretRow, error) {
	r := clientRow{
		ID:                   c.ID,
		JWKS:                 c.JWKS,
		JWKSURI:              c.JWKSURI,
		TokenFormat:          string(c.TokenFormat),
		TokenLifetimeSeconds: int64(c.TokenLifetime / time.Second),
		CanIntrospect:        c.CanIntrospect,
		DPoPBound:            c.DPoPBound,
		TLSSubjectKind:       string(c.TLSSubject.Kind),
		TLSSubject:           c.TLSSubject.Value,
		CertBound:            c.CertBound,
		Profile:              string(c.Profile),
	}
	var err error
	if r.AuthMethods, err = joinWords("auth method", c.AuthMethods); err != nil {
		return clientRow{}, nil, err
	}
	if r.GrantTypes, err = joinWords("grant type", c.GrantTypes); err != nil {
		return clientRow{}, nil, err
	}
	if r.AllowedScopes, err = joinWords("scope", c.AllowedScopes); err != nil {
		return clientRow{}, nil, err
	}
	if r.DefaultScopes, err = joinWords("scope", c.DefaultScopes); err != nil {
		return clientRow{}, nil, err
	}
	if r.Audience, err = encodeStrings(c.Audience); err != nil {
		return clientRow{}, nil, err
	}
	if r.Resources, err = encodeStrings(c.Resources); err != nil {
		return clientRow{}, nil, err
	}
	if r.TokenExchange, err = encodeExchangePolicy(c.Exchange); err != nil {
		return clientRow{}, nil, err
	}
	secrets := make([]clientSecretRow, len(c.Secrets))
	seen := make(map[string]bool, len(c.Secrets))
	for i, s := range c.Secrets {
		// The id is half the primary key: say which, rather than let the
		// database report a constraint by name.
		if seen[s.ID] {
			return clientRow{}, nil, fmt.Errorf("secret id %q appears twice", s.ID)
		}
		seen[s.ID] = true
		secrets[i] = clientSecretRow{
			ClientID:  c.ID,
			ID:        s.ID,
			Ordinal:   i,
			Hash:      s.Hash,
			ExpiresAt: toMicros(s.ExpiresAt),
		}
		if len(s.Sealed) > 0 {
			secrets[i].Sealed = s.Sealed
		}
	}
	return r, secrets, nil
}

func (r clientRow) toDomain(secrets []clientSecretRow) (domain.Client, error) {
	aud, err := decodeStrings(r.Audience)
	if err != nil {
		return domain.Client{}, fmt.Errorf("audience column: %w", err)
	}
	resources, err := decodeStrings(r.Resources)
	if err != nil {
		return domain.Client{}, fmt.Errorf("resources column: %w", err)
	}
	exchange, err := decodeExchangePolicy(r.TokenExchange)
	if err != nil {
		return domain.Client{}, err
	}
	c := domain.Client{
		ID:            r.ID,
		AuthMethods:   splitWords[domain.AuthMethod](r.AuthMethods),
		GrantTypes:    splitWords[domain.GrantType](r.GrantTypes),
		AllowedScopes: domain.NewScopes(splitWords[string](r.AllowedScopes)...),
		DefaultScopes: domain.NewScopes(splitWords[string](r.DefaultScopes)...),
		Audience:      aud,
		Resources:     resources,
		JWKS:          r.JWKS,
		JWKSURI:       r.JWKSURI,
		TokenFormat:   domain.TokenFormat(r.TokenFormat),
		TokenLifetime: time.Duration(r.TokenLifetimeSeconds) * time.Second,
		CanIntrospect: r.CanIntrospect,
		DPoPBound:     r.DPoPBound,
		TLSSubject:    domain.TLSSubject{Kind: domain.TLSSubjectKind(r.TLSSubjectKind), Value: r.TLSSubject},
		CertBound:     r.CertBound,
		Profile:       domain.Profile(r.Profile),
		Exchange:      exchange,
	}
	for _, s := range secrets {
		c.Secrets = append(c.Secrets, domain.ClientSecret{
			ID:        s.ID,
			Hash:      s.Hash,
			Sealed:    s.Sealed,
			ExpiresAt: fromMicros(s.ExpiresAt),
		})
	}
	return c, nil
}

// clientJoinRow is a client row joined with one of its secrets, or with
// none: a client and its secrets are read in one statement, so a reader
// sees them as one save left them, never the row of one save and the
// secrets of the next.
type clientJoinRow struct {
	Client clientRow `gorm:"embedded"`

	// The sec_ aliases stay clear of every column of sigil_clients, past
	// (secret_hash) or present.
	SecretID        *string `gorm:"column:sec_id"`
	SecretHash      string  `gorm:"column:sec_hash"`
	SecretSealed    []byte  `gorm:"column:sec_sealed"`
	SecretExpiresAt *int64  `gorm:"column:sec_expires_at"`
}

// selectClients reads clients with their secrets, each client's rows
// together and its secrets in order.
func selectClients(db *gorm.DB) *gorm.DB {
	return db.Table("sigil_clients AS c").
		Select("c.*, s.id AS sec_id, s.hash AS sec_hash, s.sealed AS sec_sealed, s.expires_at AS sec_expires_at").
		Joins("LEFT JOIN sigil_client_secrets AS s ON s.client_id = c.id").
		Order(bytewise(db, "c.id")).Order("s.ordinal")
}

// joinedClients folds joined rows, ordered by client, into clients.
func joinedClients(rows []clientJoinRow) ([]domain.Client, error) {
	var out []domain.Client
	for i := 0; i < len(rows); {
		r := rows[i].Client
		var secrets []clientSecretRow
		for ; i < len(rows) && rows[i].Client.ID == r.ID; i++ {
			if rows[i].SecretID == nil {
				continue // the LEFT JOIN's row of a client without secrets
			}
			secrets = append(secrets, clientSecretRow{
				ID:        *rows[i].SecretID,
				Hash:      rows[i].SecretHash,
				Sealed:    rows[i].SecretSealed,
				ExpiresAt: rows[i].SecretExpiresAt,
			})
		}
		c, err := r.toDomain(secrets)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// FindClient implements application.ClientFinder.
func (s *Clients) FindClient(ctx context.Context, id string) (domain.Client, error) {
	var rows []clientJoinRow
	if err := selectClients(s.db.WithContext(ctx)).Where("c.id = ?", id).Scan(&rows).Error; err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	clients, err := joinedClients(rows)
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	if len(clients) == 0 {
		return domain.Client{}, domain.ErrNotFound
	}
	return clients[0], nil
}

// SaveClient implements application.ClientSaver: it inserts the client or
// replaces every field of the one with the same id, its secrets included,
// in one transaction, so a reader never sees a client half-saved.
func (s *Clients) SaveClient(ctx context.Context, c domain.Client) error {
	r, secrets, err := toClientRows(c)
	if err != nil {
		return fmt.Errorf("save client %s: %w", c.ID, err)
	}
	// The transaction's BEGIN and COMMIT run outside Gorm's callbacks:
	// withGuard bounds and classifies them.
	err = withGuard(ctx, s.db, func(ctx context.Context) error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// The upsert locks the client's row until commit, so two saves of
			// one client on PostgreSQL take turns instead of mixing secrets.
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).
				Create(&r).Error
			if err != nil {
				return err
			}
			if err := tx.Where("client_id = ?", c.ID).Delete(&clientSecretRow{}).Error; err != nil {
				return fmt.Errorf("replace secrets: %w", err)
			}
			if len(secrets) == 0 {
				return nil
			}
			if err := tx.Omit(clause.Associations).Create(&secrets).Error; err != nil {
				return fmt.Errorf("insert secrets: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("save client %s: %w", c.ID, err)
	}
	return nil
}

// ListClients implements application.ClientLister.
func (s *Clients) ListClients(ctx context.Context) ([]domain.Client, error) {
	var rows []clientJoinRow
	if err := selectClients(s.db.WithContext(ctx)).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	clients, err := joinedClients(rows)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return clients, nil
}

// bytewise orders column byte by byte, as Go sorts strings: PostgreSQL
// would otherwise follow the database's collation, which in most locales
// puts "Mu" after "alpha" and so differs from node to node. SQLite compares
// bytes already.
func bytewise(db *gorm.DB, column string) string {
	if db.Dialector.Name() == DriverPostgres {
		return column + ` COLLATE "C"`
	}
	return column
}

// DeleteClient implements application.ClientDeleter. The client's secrets
// go with it.
func (s *Clients) DeleteClient(ctx context.Context, id string) error {
	err := withGuard(ctx, s.db, func(ctx context.Context) error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// Deleted explicitly as well as by the foreign key's cascade: a
			// SQLite connection opened without foreign_keys=1 ignores it.
			if err := tx.Where("client_id = ?", id).Delete(&clientSecretRow{}).Error; err != nil {
				return err
			}
			res := tx.Where("id = ?", id).Delete(&clientRow{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return domain.ErrNotFound
			}
			return nil
		})
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	return nil
}

// ListScopes implements application.ScopeLister: every scope some client
// may be granted, for scopes_supported in the server metadata (RFC 8414
// §2).
func (s *Clients) ListScopes(ctx context.Context) (domain.Scopes, error) {
	var lists []string
	if err := s.db.WithContext(ctx).Model(&clientRow{}).Distinct().Pluck("allowed_scopes", &lists).Error; err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	var all []string
	for _, l := range lists {
		all = append(all, splitWords[string](l)...)
	}
	return domain.NewScopes(all...), nil
}
