package application

import (
	"context"
	"fmt"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// SecretSpec is a client secret as an operator hands it over: in the
// clear, to be hashed (and sealed, for client_secret_jwt) before storage.
type SecretSpec struct {
	ID        string
	Secret    string
	ExpiresAt time.Time
}

// RegisterClientInput is a client registration; Client.Secrets is ignored
// and built from Secrets.
type RegisterClientInput struct {
	Client  domain.Client
	Secrets []SecretSpec
}

// minJWTSecretBytes is the shortest client_secret_jwt secret: HS256 needs
// a key of at least its hash size (RFC 7518 §3.2).
const minJWTSecretBytes = 32

// RegisterClient creates or replaces a client, keeping its secrets only
// as slow hashes, plus sealed copies for client_secret_jwt.
type RegisterClient struct {
	clients     ClientSaver
	hasher      SecretHasher
	box         SecretBox
	maxLifetime time.Duration
}

// LimitLifetime refuses clients whose tokens would live longer than max:
// the longest lifetime the signing keys' retire period keeps valid to the
// end. Zero, the default, sets no limit.
func (h *RegisterClient) LimitLifetime(max time.Duration) { h.maxLifetime = max }

// NewRegisterClient builds the use case.
func NewRegisterClient(clients ClientSaver, hasher SecretHasher, box SecretBox) *RegisterClient {
	return &RegisterClient{clients: clients, hasher: hasher, box: box}
}

// Handle validates and stores the client.
func (h *RegisterClient) Handle(ctx context.Context, in RegisterClientInput) error {
	c := in.Client
	c.Secrets = nil
	c.AllowedScopes = domain.NewScopes(c.AllowedScopes...)
	c.DefaultScopes = domain.NewScopes(c.DefaultScopes...)
	if err := h.checkLifetime(c); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range in.Secrets {
		if s.ID == "" || seen[s.ID] {
			return domain.ErrInvalidClientMetadata.With("each secret needs a distinct id")
		}
		seen[s.ID] = true
		cs, err := h.secret(c, s)
		if err != nil {
			return err
		}
		c.Secrets = append(c.Secrets, cs)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if err := h.clients.SaveClient(ctx, c); err != nil {
		return fmt.Errorf("save client: %w", err)
	}
	return nil
}

// checkLifetime refuses a client whose tokens would outlive their key.
func (h *RegisterClient) checkLifetime(c domain.Client) error {
	if h.maxLifetime > 0 && c.Lifetime() > h.maxLifetime {
		return domain.ErrInvalidClientMetadata.With(fmt.Sprintf(
			"token_lifetime %s is longer than %s, the longest the signing keys' retire period keeps valid: its tokens would fail before they expire",
			c.Lifetime(), h.maxLifetime))
	}
	return nil
}

// secret turns s into the stored secret of client c: its slow hash, and
// for a client allowed client_secret_jwt a sealed copy.
func (h *RegisterClient) secret(c domain.Client, s SecretSpec) (domain.ClientSecret, error) {
	if s.Secret == "" {
		return domain.ClientSecret{}, domain.ErrInvalidClientMetadata.With("secret " + s.ID + " is empty")
	}
	sealed := c.AllowsAuthMethod(domain.AuthClientSecretJWT)
	if sealed && len(s.Secret) < minJWTSecretBytes {
		return domain.ClientSecret{}, domain.ErrInvalidClientMetadata.With("a client_secret_jwt secret needs at least 32 bytes")
	}
	hash, err := h.hasher.HashSecret(s.Secret)
	if err != nil {
		return domain.ClientSecret{}, fmt.Errorf("hash secret: %w", err)
	}
	cs := domain.ClientSecret{ID: s.ID, Hash: hash, ExpiresAt: s.ExpiresAt}
	if sealed {
		if cs.Sealed, err = h.box.Seal([]byte(s.Secret)); err != nil {
			return domain.ClientSecret{}, fmt.Errorf("seal secret: %w", err)
		}
	}
	return cs, nil
}
