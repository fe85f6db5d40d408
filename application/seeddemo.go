package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// DemoClient is a client of the seed documents together with its secret.
type DemoClient struct {
	Client domain.Client
	Secret string
}

// DemoResource is the resource indicator (RFC 8707) of the walkthrough's
// resource server, which the demo JWT client may ask a token for.
const DemoResource = "http://localhost:8091/ms-system"

// demoLifetime matches the seeds' expires_in of about four hours.
const demoLifetime = 4 * time.Hour

// DemoClients are the two clients the seed walkthroughs use. Their secrets
// are public, so they must never be active on a real deployment.
func DemoClients() []DemoClient {
	both := []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}
	cc := []domain.GrantType{domain.GrantClientCredentials}
	jwtScopes := domain.NewScopes("country.read", "customer.read", "customer.write")
	opaqueScopes := domain.NewScopes("country.read")
	return []DemoClient{
		{
			Secret: "service-client-jwt-secret",
			Client: domain.Client{
				ID: "service-client-jwt", AuthMethods: both, GrantTypes: cc,
				AllowedScopes: jwtScopes, DefaultScopes: jwtScopes,
				Resources:   []string{DemoResource},
				TokenFormat: domain.FormatJWT, TokenLifetime: demoLifetime, CanIntrospect: true,
			},
		},
		{
			Secret: "user-client-secret",
			Client: domain.Client{
				ID: "user-client-opaque", AuthMethods: both, GrantTypes: cc,
				AllowedScopes: opaqueScopes, DefaultScopes: opaqueScopes,
				TokenFormat: domain.FormatOpaque, TokenLifetime: demoLifetime,
			},
		},
	}
}

// SeedDemoClients registers the demo clients that are not registered yet.
// A client that exists already is left as it is.
type SeedDemoClients struct {
	clients ClientRegistry
	hasher  SecretHasher
}

// NewSeedDemoClients builds the use case.
func NewSeedDemoClients(clients ClientRegistry, hasher SecretHasher) *SeedDemoClients {
	return &SeedDemoClients{clients: clients, hasher: hasher}
}

// Handle registers the missing demo clients and returns the ids of every
// demo client now registered.
func (h *SeedDemoClients) Handle(ctx context.Context) ([]string, error) {
	var ids []string
	for _, d := range DemoClients() {
		_, err := h.clients.FindClient(ctx, d.Client.ID)
		switch {
		case err == nil:
		case errors.Is(err, domain.ErrNotFound):
			c := d.Client
			hash, err := h.hasher.HashSecret(d.Secret)
			if err != nil {
				return nil, fmt.Errorf("hash demo secret: %w", err)
			}
			c.Secrets = []domain.ClientSecret{{ID: "demo", Hash: hash}}
			if err := h.clients.SaveClient(ctx, c); err != nil {
				return nil, fmt.Errorf("save demo client %s: %w", c.ID, err)
			}
		default:
			return nil, fmt.Errorf("find demo client %s: %w", d.Client.ID, err)
		}
		ids = append(ids, d.Client.ID)
	}
	return ids, nil
}
