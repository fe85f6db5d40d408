package gormstore

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Keys keeps the authorization server's signing keys, so that a restart
// signs with the same kid and still verifies what it signed before.
//
// The private key is stored unencrypted (PKCS#8 DER): whoever can read the
// table can sign tokens. Protect the database accordingly.
type Keys struct {
	db *gorm.DB
}

var _ application.KeyStore = (*Keys)(nil)

// NewKeys returns a key store over a migrated database.
func NewKeys(db *gorm.DB) *Keys { return &Keys{db: db} }

// signingKeyRow is a row of sigil_signing_keys.
type signingKeyRow struct {
	Kid       string `gorm:"column:kid;primaryKey"`
	Algorithm string `gorm:"column:algorithm;not null"`
	State     string `gorm:"column:state;not null"`
	// PrivateKey is PKCS#8 DER, which holds RSA, ECDSA and Ed25519 keys alike.
	PrivateKey []byte `gorm:"column:private_key;not null"`
	// CreatedUnixMicro is not named CreatedAt: Gorm would fill that itself.
	CreatedUnixMicro *int64 `gorm:"column:created_at"`
}

func (signingKeyRow) TableName() string { return "sigil_signing_keys" }

func toSigningKeyRow(k domain.SigningKey) (signingKeyRow, error) {
	if k.Private == nil {
		return signingKeyRow{}, errors.New("no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("encode private key: %w", err)
	}
	return signingKeyRow{
		Kid:              k.ID,
		Algorithm:        string(k.Algorithm),
		State:            string(k.State),
		PrivateKey:       der,
		CreatedUnixMicro: toMicros(k.CreatedAt),
	}, nil
}

func (r signingKeyRow) toDomain() (domain.SigningKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(r.PrivateKey)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("decode private key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return domain.SigningKey{}, fmt.Errorf("private key of type %T cannot sign", priv)
	}
	return domain.SigningKey{
		ID:        r.Kid,
		Algorithm: domain.Algorithm(r.Algorithm),
		State:     domain.KeyState(r.State),
		Private:   signer,
		CreatedAt: fromMicros(r.CreatedUnixMicro),
	}, nil
}

// ListSigningKeys implements application.KeyStore, oldest key first (ties
// by kid), so the order is the same on every call and every replica.
func (s *Keys) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.db.WithContext(ctx).Order("created_at").Order("kid").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys := make([]domain.SigningKey, 0, len(rows))
	for _, r := range rows {
		k, err := r.toDomain()
		if err != nil {
			return nil, fmt.Errorf("list signing keys: key %s: %w", r.Kid, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// SaveSigningKey implements application.KeyStore: it inserts the key or
// replaces the one with the same kid.
func (s *Keys) SaveSigningKey(ctx context.Context, k domain.SigningKey) error {
	r, err := toSigningKeyRow(k)
	if err != nil {
		return fmt.Errorf("save signing key %s: %w", k.ID, err)
	}
	err = s.db.WithContext(ctx).
		Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "kid"}}, UpdateAll: true}).
		Create(&r).Error
	if err != nil {
		return fmt.Errorf("save signing key %s: %w", k.ID, err)
	}
	return nil
}
