// Package bootstrap turns configuration into a running Sigil: it reads the
// settings, holds one fx.Module per adapter, and composes the roles (auth,
// resource, all) from them in one fx graph.
package bootstrap

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// RoleName is which of Sigil's servers a process runs (see Role).
type RoleName string

// Roles Sigil can run as.
const (
	RoleAuth     RoleName = "auth"
	RoleResource RoleName = "resource"
	RoleAll      RoleName = "all"
)

// Set reads a role from text; see value.
func (r *RoleName) Set(s string) error { return oneOf(r, s, RoleAuth, RoleResource, RoleAll) }
func (r RoleName) String() string      { return string(r) }

// LogFormat is how log lines are written.
type LogFormat string

// Log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Set reads a log format from text; see value.
func (f *LogFormat) Set(s string) error { return oneOf(f, s, LogText, LogJSON) }
func (f LogFormat) String() string      { return string(f) }

// DatabaseDriver is the database Sigil keeps its state in.
type DatabaseDriver string

// Database drivers.
const (
	SQLite   DatabaseDriver = "sqlite"
	Postgres DatabaseDriver = "postgres"
)

// Set reads a database driver from text; see value.
func (d *DatabaseDriver) Set(s string) error { return oneOf(d, s, SQLite, Postgres) }
func (d DatabaseDriver) String() string      { return string(d) }

// DemoMode says whether the demo clients are registered: see
// Config.DemoEnabled.
type DemoMode string

// Demo modes.
const (
	DemoAuto DemoMode = "auto"
	DemoOn   DemoMode = "true"
	DemoOff  DemoMode = "false"
)

// Set reads a demo mode from text; see value.
func (m *DemoMode) Set(s string) error { return oneOf(m, s, DemoAuto, DemoOn, DemoOff) }
func (m DemoMode) String() string      { return string(m) }

// Config is every setting of Sigil. Settings lists each with its flag,
// environment variable, YAML key and default; README.md documents them.
// Every exported field is bound by exactly one setting
// (TestEveryFieldHasOneSetting).
type Config struct {
	Role RoleName

	LogLevel  slog.Level
	LogFormat LogFormat
	DebugAddr string
	AdminAddr string
	// The admin API's token: see adminTokenHash.
	AdminTokenFile   string
	AdminTokenSHA256 string
	// AdminClientCAFile turns on TLS with client certificates on the
	// management listener: see managementTLS.
	AdminClientCAFile string
	// MetricsClientLimit bounds the client_id label; 0 leaves it out.
	MetricsClientLimit int

	// TLS of the auth and resource listeners: see newServerTLS.
	TLSCertFile   string
	TLSKeyFile    string
	TLSMinVersion TLSVersion
	// Client certificates (RFC 8705): see publicTLS and clientCerts.
	TLSClientAuth    string
	TLSClientCAFile  string
	ClientCertHeader string
	// Profile is the server-wide security profile: see validateProfile.
	Profile domain.Profile

	AuthAddr     string
	AuthBasePath string
	AuthIssuer   string
	KeyAlgorithm domain.Algorithm
	// KeyEncryptionKey (base64) or KeyEncryptionKeyFile encrypts secrets
	// the server must read back; see keyEncryptionKey.
	KeyEncryptionKey     string
	KeyEncryptionKeyFile string
	RSABits              int
	// Staged rotation: see domain.RotationPolicy.
	KeyPublishLead   time.Duration
	KeySigningPeriod time.Duration
	KeyRetirePeriod  time.Duration
	KeyRotationCheck time.Duration
	ClientCacheTTL   time.Duration
	ClientCacheStale time.Duration
	// FederationFile names the trusted external issuers (federation.go).
	FederationFile string
	// CredentialCacheTTL bounds how long verified client credentials
	// skip the slow hash; 0 turns that off.
	CredentialCacheTTL time.Duration

	// Limits against brute force and floods: see defences.
	HashConcurrency    int
	HashQueueWait      time.Duration
	HashFailurePercent int
	AuthFailureLimit   int
	AuthFailureWindow  time.Duration
	AuthFailureHold    time.Duration
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For names the client address.
	TrustedProxies         []netip.Prefix
	TokenRateLimit         application.Limit
	IntrospectionRateLimit application.Limit
	RevocationRateLimit    application.Limit

	DemoClients    DemoMode
	Playground     DemoMode
	MaxBodyBytes   int64
	MaxHeaderBytes int
	ShutdownPeriod time.Duration

	// Key sets fetched: the authorization server's JWKS by the resource
	// role, clients' jwks_uri by the auth role; and every outbound call.
	JWKSMinRefreshInterval time.Duration
	JWKSMaxAge             time.Duration
	OutboundTimeout        time.Duration
	OutboundCAFile         string

	TokenCleanupInterval time.Duration

	ResourceAddr             string
	ResourceBasePath         string
	ResourceIssuer           string
	ResourceJWKSURL          string
	ResourceIntrospectionURL string
	ResourceClientID         string
	ResourceClientSecret     string
	ResourceLeeway           time.Duration
	ResourceIdentifier       string
	ResourceAudienceCheck    bool
	// ResourceAlgorithms are the JWT algorithms the resource role
	// accepts; none means all (see VerifyAlgorithms).
	ResourceAlgorithms []domain.Algorithm
	// ResourceIntrospectionCacheTTL bounds how long an introspection
	// answer is reused; 0 asks every time.
	ResourceIntrospectionCacheTTL time.Duration

	DatabaseDriver DatabaseDriver
	DatabaseDSN    string

	RedisAddr       string
	RedisMasterName string
	RedisUsername   string
	RedisPassword   string
	RedisDB         int
	RedisPrefix     string

	// Bounded waits on the dependencies: see gormstore.Guard and
	// redisstore.Guard.
	DatabaseTimeout     time.Duration
	RedisTimeout        time.Duration
	OutageProbeInterval time.Duration

	// DPoPProofWindow bounds a DPoP proof's iat both ways (RFC 9449
	// §11.1); ResourcePublicURL is what a resource request's htu must
	// start with, when set (see echohttp.Options.PublicURL).
	DPoPProofWindow   time.Duration
	ResourcePublicURL string
	// DPoPNonce requires server nonces in the token endpoint's proofs.
	DPoPNonce bool

	// Dynamic client registration (RFC 7591, 7592): see registration.go.
	RegistrationTokenFile     string
	RegistrationTokenSHA256   string
	RegistrationOpen          bool
	RegistrationScopes        string
	RegistrationStatementKeys string
	RegistrationSecretTTL     time.Duration

	// renamed are the settings Load was given by their former names,
	// with the names to use (see WarnRenamed). It is not a setting.
	renamed [][2]string
}

// Issuer is the authorization server's issuer identifier: the configured
// one, or http://localhost:{port}{base path} from the listen address
// (https when the listeners serve TLS).
func (c Config) Issuer() string {
	if c.AuthIssuer != "" {
		return strings.TrimSuffix(c.AuthIssuer, "/")
	}
	return c.localhostURL(c.AuthAddr, "8085", c.AuthBasePath)
}

// localhostURL is http://localhost:{port}{base}, https when the listeners
// serve TLS, with the port of addr, else defaultPort.
func (c Config) localhostURL(addr, defaultPort, base string) string {
	port := defaultPort
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	scheme := "http://"
	if c.TLSEnabled() {
		scheme = "https://"
	}
	return scheme + "localhost:" + port + base
}

// ResourceURL is the resource role's identifier as its RFC 9728 metadata
// publishes it: resource-identifier, else resource-public-url, else
// http://localhost:{port}{base path} from the listen address (https when
// the listeners serve TLS), as Issuer does for the auth role. Only an
// explicit resource-identifier is also checked against tokens' aud
// (Audience): the seed's tokens carry none.
func (c Config) ResourceURL() string {
	switch {
	case c.ResourceIdentifier != "":
		return c.ResourceIdentifier
	case c.ResourcePublicURL != "":
		return strings.TrimRight(c.ResourcePublicURL, "/")
	}
	return c.localhostURL(c.ResourceAddr, "8091", c.ResourceBasePath)
}

// ExpectedIssuer is the issuer the resource role accepts tokens from.
func (c Config) ExpectedIssuer() string {
	if c.ResourceIssuer != "" {
		return strings.TrimSuffix(c.ResourceIssuer, "/")
	}
	return c.Issuer()
}

// JWKSURL is where the resource role fetches the authorization server's keys.
func (c Config) JWKSURL() string {
	if c.ResourceJWKSURL != "" {
		return c.ResourceJWKSURL
	}
	return c.ExpectedIssuer() + "/oauth2/jwks"
}

// IntrospectionURL is where the resource role introspects opaque tokens.
func (c Config) IntrospectionURL() string {
	if c.ResourceIntrospectionURL != "" {
		return c.ResourceIntrospectionURL
	}
	return c.ExpectedIssuer() + "/oauth2/introspect"
}

// RotationPolicy is the staged rotation schedule of the signing keys.
func (c Config) RotationPolicy() domain.RotationPolicy {
	return domain.RotationPolicy{
		Algorithm:     c.KeyAlgorithm,
		PublishLead:   c.KeyPublishLead,
		SigningPeriod: c.KeySigningPeriod,
		RetireFor:     c.KeyRetirePeriod,
	}
}

// MaxTokenLifetime is the longest token lifetime the key schedule keeps
// valid to the end. A token is signed at the latest one key check after
// its key was retired (an auth node signs with the key it loaded until
// its next check), and the key is removed key-retire-period after the
// retirement, so a token may live key-retire-period minus
// key-rotation-check.
func (c Config) MaxTokenLifetime() time.Duration {
	return c.KeyRetirePeriod - c.KeyRotationCheck
}

// CheckTokenLifetime explains why tokens of whose, living lifetime, would
// fail before they expire under this key schedule; nil if they would not.
func (c Config) CheckTokenLifetime(whose string, lifetime time.Duration) error {
	if lifetime <= c.MaxTokenLifetime() {
		return nil
	}
	return fmt.Errorf("key-retire-period %s is too short for %s, whose tokens live %s: a retired key must stay published "+
		"for the longest token lifetime plus key-rotation-check (%s), or the tokens it signed fail before they expire; "+
		"set key-retire-period to at least %s, or shorten the token lifetime",
		c.KeyRetirePeriod, whose, lifetime, c.KeyRotationCheck, lifetime+c.KeyRotationCheck)
}

// DemoEnabled tells whether the seed documents' demo clients are
// registered: "auto" means on for SQLite and off for PostgreSQL.
func (c Config) DemoEnabled() bool {
	switch c.DemoClients {
	case DemoOn:
		return true
	case DemoOff:
		return false
	default:
		return c.DatabaseDriver == SQLite
	}
}

// PlaygroundEnabled tells whether the playground page is served (auth
// role) and its origin may call the resource role: "auto" means exactly
// when the demo clients are registered, as the page runs their flows.
func (c Config) PlaygroundEnabled() bool {
	switch c.Playground {
	case DemoOn:
		return true
	case DemoOff:
		return false
	default:
		return c.DemoEnabled()
	}
}

// PlaygroundOrigin is the origin the playground page is served from, the
// issuer's: the only origin the resource role lets call it cross-origin.
// A resource node takes it from the issuer it accepts tokens from.
func (c Config) PlaygroundOrigin() string {
	if c.Role == RoleResource {
		return origin(c.ExpectedIssuer())
	}
	return origin(c.Issuer())
}

// PlaygroundResourceURL is the resource role's URL as the playground's
// browser calls it, base path included: resource-public-url, else
// http://localhost:{resource port}{resource base path}.
func (c Config) PlaygroundResourceURL() string {
	if c.ResourcePublicURL != "" {
		return strings.TrimRight(c.ResourcePublicURL, "/")
	}
	return c.localhostURL(c.ResourceAddr, "8091", c.ResourceBasePath)
}

// origin is the scheme and authority of an absolute URL, "" if it has
// neither.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// VerifyAlgorithms are the algorithms the resource role accepts on JWTs:
// the configured list, or else every signing algorithm Sigil has. Either
// way a key verifies only with the algorithm its JWK declares, and never
// "none" or HMAC, so the default follows whatever the authorization
// server publishes, across a change of algorithm.
func (c Config) VerifyAlgorithms() []domain.Algorithm {
	if len(c.ResourceAlgorithms) == 0 {
		if c.Profile == domain.ProfileFAPI2 {
			return domain.FAPI2Algorithms
		}
		return domain.SigningAlgorithms
	}
	return c.ResourceAlgorithms
}

// Audience is the aud the resource role requires of every token, or ""
// when it checks none: on by default once an identifier is set.
func (c Config) Audience() string {
	if !c.ResourceAudienceCheck {
		return ""
	}
	return c.ResourceIdentifier
}

// Validate checks the settings that can be checked without connecting.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	// Each field is read back through its setting, so that one set in
	// code, as the tests do, is held to what a flag would be: a role or
	// an algorithm Sigil does not know is refused here as at load.
	for _, s := range Settings {
		var scratch Config
		if err := valueOf(s.bind(&scratch)).Set(valueOf(s.bind(&c)).String()); err != nil {
			add("%s %v", s.Name, err)
		}
	}
	if c.ResourceIdentifier != "" && !domain.ValidResourceIndicator(c.ResourceIdentifier) {
		add("resource-identifier %q is not an absolute URI without a fragment", c.ResourceIdentifier)
	}
	c.validateTLS(add)
	c.validateMTLS(add)
	c.validateProfile(add)
	if c.RSABits < 2048 {
		add("rsa-bits %d is below 2048", c.RSABits)
	}
	for name, p := range map[string]string{"auth-base-path": c.AuthBasePath, "resource-base-path": c.ResourceBasePath} {
		if p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/")) {
			add("%s %q must start with / and not end with /", name, p)
		}
	}
	if c.Role != RoleAuth && (c.ResourceClientID == "" || c.ResourceClientSecret == "") {
		add("resource-client-id and resource-client-secret are needed to introspect opaque tokens")
	}
	if c.KeyPublishLead < c.JWKSMaxAge {
		add("key-publish-lead %s is shorter than jwks-max-age %s: resource servers could meet a key before they fetched it", c.KeyPublishLead, c.JWKSMaxAge)
	}
	if c.KeySigningPeriod != 0 && c.KeySigningPeriod <= c.KeyPublishLead {
		add("key-signing-period must be longer than key-publish-lead (or 0 to rotate only on demand)")
	}
	if c.KeyRetirePeriod <= 0 || c.KeyRotationCheck <= 0 || c.ClientCacheTTL < 0 || c.ClientCacheStale < 0 {
		add("key-retire-period and key-rotation-check must be positive, client cache durations not negative")
	} else if c.KeyRetirePeriod <= c.KeyRotationCheck {
		add("key-retire-period %s must be longer than key-rotation-check %s (by at least the longest token lifetime)", c.KeyRetirePeriod, c.KeyRotationCheck)
	}
	// The demo clients' lifetime is known now; other clients are checked
	// when the auth role starts and reads the registry (checkTokenLifetimes).
	if c.Role != RoleResource && c.DemoEnabled() && c.KeyRetirePeriod > c.KeyRotationCheck {
		for _, d := range application.DemoClients() {
			if err := c.CheckTokenLifetime("the demo client "+d.Client.ID, d.Client.Lifetime()); err != nil {
				add("%v", err)
				break
			}
		}
	}
	if c.TokenCleanupInterval <= 0 {
		add("token-cleanup-interval must be positive")
	}
	if c.MaxBodyBytes <= 0 {
		add("max-body-bytes must be positive")
	}
	// Below a few KiB, ordinary requests (a JWT in Authorization, a
	// proxy's forwarding headers) would be refused.
	if c.MaxHeaderBytes < 4096 {
		add("max-header-bytes %d is below 4096", c.MaxHeaderBytes)
	}
	if c.DatabaseTimeout <= 0 || c.RedisTimeout <= 0 || c.OutageProbeInterval <= 0 {
		add("database-timeout, redis-timeout and outage-probe-interval must be positive")
	}
	c.validateLimits(add)
	if c.DPoPProofWindow <= 0 {
		add("dpop-proof-window must be positive")
	}
	if u := c.ResourcePublicURL; u != "" {
		// What DPoP proofs name in htu: an absolute http(s) URL that a
		// path can follow (RFC 9449 §4.3 item 9 ignores query and
		// fragment, so the setting may hold neither).
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
			add("resource-public-url %q must be an http or https URL without query or fragment, e.g. https://api.example.com/ms-system", u)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}
