package bootstrap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// statementLeeway is the clock skew allowed on a software statement's exp
// and nbf: that of the resource role's token checks by default.
const statementLeeway = 30 * time.Second

// RegistrationOn tells whether the auth role serves dynamic client
// registration: with an initial access token configured, or open.
func (c Config) RegistrationOn() bool {
	return c.RegistrationOpen || c.RegistrationTokenFile != "" || c.RegistrationTokenSHA256 != ""
}

// registrationEndpoint is the registration endpoint's URL under the
// issuer, as the metadata names it.
func (c Config) registrationEndpoint() string { return c.Issuer() + echohttp.RegistrationPath }

// registration wires dynamic client registration (RFC 7591, 7592) into
// the auth role: its store, the statement verifier, the two use cases
// over the admin API's (ApplyClient, PatchClient, DeleteClient), and what
// the server is handed, with Register nil when registration is off.
var registration = fx.Options(
	fx.Provide(
		fx.Private,
		registrationPolicy,
		func(db *gorm.DB) application.RegistrationStore { return gormstore.NewRegistrations(db) },
		newStatementVerifier,
	),
	fx.Provide(newRegistration),
)

// registrationPolicy reads the settings. The initial access token is kept
// as its hash only, as the admin token is.
func registrationPolicy(c Config) (application.RegistrationPolicy, error) {
	hash, err := tokenHash("registration-token", c.RegistrationTokenFile, c.RegistrationTokenSHA256)
	if err != nil {
		return application.RegistrationPolicy{}, err
	}
	scopes, err := domain.ParseScopes(c.RegistrationScopes)
	if err != nil {
		return application.RegistrationPolicy{}, fmt.Errorf("registration-scopes: %w", err)
	}
	if c.RegistrationSecretTTL < 0 {
		return application.RegistrationPolicy{}, errors.New("registration-secret-lifetime must not be negative")
	}
	return application.RegistrationPolicy{InitialTokenHash: hash, Open: c.RegistrationOpen, Scopes: scopes,
		SecretLifetime: c.RegistrationSecretTTL, MTLS: c.MTLSEnabled()}, nil
}

// newStatementVerifier reads the trusted signers' keys, once, at start;
// none configured gives a nil verifier, which refuses every statement.
func newStatementVerifier(c Config, clock application.Clock) (application.SoftwareStatementVerifier, error) {
	if c.RegistrationStatementKeys == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(c.RegistrationStatementKeys)
	if err != nil {
		return nil, fmt.Errorf("registration-statement-keys: %w", err)
	}
	v, err := josekit.NewSoftwareStatements(raw, clock, statementLeeway)
	if err != nil {
		return nil, fmt.Errorf("registration-statement-keys %s: %w", c.RegistrationStatementKeys, err)
	}
	return v, nil
}

type registrationParams struct {
	fx.In
	Config     Config
	Policy     application.RegistrationPolicy
	Store      application.RegistrationStore
	Statements application.SoftwareStatementVerifier
	Clients    *gormstore.Clients
	Apply      *application.ApplyClient
	Patch      *application.PatchClient
	Delete     *application.DeleteClient
	Clock      application.Clock
}

// newRegistration builds the use cases over the registry itself, never
// the auth role's cache of it, so an answer is the record just saved.
func newRegistration(p registrationParams) echohttp.Registration {
	if !p.Config.RegistrationOn() {
		return echohttp.Registration{}
	}
	return echohttp.Registration{
		Register: application.NewRegisterDynamicClient(p.Policy, p.Apply, p.Store, p.Statements, p.Clients, p.Clock, rand.Reader),
		Manage:   application.NewManageRegistration(p.Policy, p.Clients, p.Store, p.Patch, p.Delete, p.Statements, p.Clients),
		Endpoint: p.Config.registrationEndpoint(),
	}
}
