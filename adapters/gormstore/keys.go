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
// The private key rests sealed by the SecretBox (AES-256-GCM under the
// key-encryption key): whoever reads the table without that key cannot
// sign tokens. A key written by an earlier release, in the clear, is
// sealed the first time the store lists it.
type Keys struct {
	db  *gorm.DB
	box application.SecretBox
}

var _ application.KeyStore = (*Keys)(nil)

// NewKeys returns a key store over a migrated database that seals and
// opens private keys with box.
func NewKeys(db *gorm.DB, box application.SecretBox) *Keys { return &Keys{db: db, box: box} }

// signingKeyRow is a row of sigil_signing_keys.
type signingKeyRow struct {
	Kid       string `gorm:"column:kid;primaryKey"`
	Algorithm string `gorm:"column:algorithm;not null"`
	State     string `gorm:"column:state;not null"`
	// PrivateKey is PKCS#8 DER, which holds RSA, ECDSA and Ed25519 keys
	// alike, sealed by the box when Sealed is true. Rows of releases
	// before sealing have Sealed false (the migration's default) and the
	// DER in the clear, until ListSigningKeys seals them.
	PrivateKey []byte `gorm:"column:private_key;not null"`
	Sealed     bool   `gorm:"column:sealed;not null"`
	// The times are not named CreatedAt and so on: Gorm would fill those
	// itself.
	CreatedUnixMicro   *int64 `gorm:"column:created_at"`
	ActivatedUnixMicro *int64 `gorm:"column:activated_at"`
	RetiredUnixMicro   *int64 `gorm:"column:retired_at"`
}

func (signingKeyRow) TableName() string { return "sigil_signing_keys" }

func (s *Keys) toRow(k domain.SigningKey) (signingKeyRow, error) {
	if k.Private == nil {
		return signingKeyRow{}, errors.New("no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := s.box.Seal(der)
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("seal private key: %w", err)
	}
	return signingKeyRow{
		Kid:                k.ID,
		Algorithm:          string(k.Algorithm),
		State:              string(k.State),
		PrivateKey:         sealed,
		Sealed:             true,
		CreatedUnixMicro:   toMicros(k.CreatedAt),
		ActivatedUnixMicro: toMicros(k.ActivatedAt),
		RetiredUnixMicro:   toMicros(k.RetiredAt),
	}, nil
}

// der returns the row's private key in the clear.
func (s *Keys) der(r signingKeyRow) ([]byte, error) {
	if !r.Sealed {
		return r.PrivateKey, nil
	}
	der, err := s.box.Open(r.PrivateKey)
	if err != nil {
		// The box cannot tell a wrong key from altered bytes; a wrong key
		// (a node started with another key-encryption key) is by far the
		// likelier, so it is named first.
		return nil, fmt.Errorf("cannot open the private key: the key-encryption key does not match the one it was sealed with, or the row was altered: %w", err)
	}
	return der, nil
}

func (s *Keys) toDomain(r signingKeyRow) (domain.SigningKey, error) {
	der, err := s.der(r)
	if err != nil {
		return domain.SigningKey{}, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("decode private key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return domain.SigningKey{}, fmt.Errorf("private key of type %T cannot sign", priv)
	}
	return domain.SigningKey{
		ID:          r.Kid,
		Algorithm:   domain.Algorithm(r.Algorithm),
		State:       domain.KeyState(r.State),
		Private:     signer,
		CreatedAt:   fromMicros(r.CreatedUnixMicro),
		ActivatedAt: fromMicros(r.ActivatedUnixMicro),
		RetiredAt:   fromMicros(r.RetiredUnixMicro),
	}, nil
}

// ListSigningKeys implements application.KeyStore, oldest key first (ties
// by kid), so the order is the same on every call and every replica.
//
// A key still in the clear, written by a release before keys were sealed,
// is sealed and written back here: the auth role lists the keys at every
// start, so after the first start of this release no key rests in the
// clear. A key that the box cannot open fails the whole list, naming the
// kid: signing on with the other keys would hide a misconfigured node.
func (s *Keys) ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.db.WithContext(ctx).Order("created_at").Order("kid").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys := make([]domain.SigningKey, 0, len(rows))
	for _, r := range rows {
		k, err := s.toDomain(r)
		if err != nil {
			return nil, fmt.Errorf("list signing keys: key %s: %w", r.Kid, err)
		}
		if !r.Sealed {
			if err := s.sealInPlace(ctx, r); err != nil {
				return nil, fmt.Errorf("list signing keys: key %s: %w", r.Kid, err)
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sealInPlace replaces a plaintext private key by its sealed form. The
// update only takes a row still in the clear, so nodes doing this at once
// write it once; the loser's sealed copy, of the same key, is dropped.
func (s *Keys) sealInPlace(ctx context.Context, r signingKeyRow) error {
	sealed, err := s.box.Seal(r.PrivateKey)
	if err != nil {
		return fmt.Errorf("seal plaintext private key: %w", err)
	}
	err = s.db.WithContext(ctx).Model(&signingKeyRow{}).
		Where("kid = ? AND sealed = ?", r.Kid, false).
		Updates(map[string]any{"private_key": sealed, "sealed": true}).Error
	if err != nil {
		return fmt.Errorf("seal plaintext private key: %w", err)
	}
	return nil
}

// SaveSigningKey implements application.KeyStore: it inserts the key or
// replaces the one with the same kid.
func (s *Keys) SaveSigningKey(ctx context.Context, k domain.SigningKey) error {
	r, err := s.toRow(k)
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

// DeleteSigningKey implements application.KeyStore; an unknown kid is not
// an error.
func (s *Keys) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := s.db.WithContext(ctx).Where("kid = ?", kid).Delete(&signingKeyRow{}).Error; err != nil {
		return fmt.Errorf("delete signing key %s: %w", kid, err)
	}
	return nil
}
