package bootstrap

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Setting is one configuration knob, reachable as a flag (--Name), an
// environment variable (SIGIL_NAME with dashes as underscores) and a YAML
// key (Name with dashes as underscores, optionally nested at the first
// dash group: auth: {addr: ...} or auth_addr: ...).
type Setting struct {
	Name    string
	Default string
	Usage   string
	// bind returns the field of c the setting holds, as a pointer;
	// valueOf reads and writes it as text.
	bind func(c *Config) any
}

// Env is the setting's environment variable.
func (s Setting) Env() string { return envName(s.Name) }

// List reports whether the setting takes a comma-separated list, which a
// configuration file may also write as a YAML list.
func (s Setting) List() bool {
	switch valueOf(s.bind(&Config{})).(type) {
	case algorithmsValue, prefixesValue:
		return true
	}
	return s.Name == "redis-addr"
}

// YAMLKey is the setting's key in a configuration file.
func (s Setting) YAMLKey() string { return yamlKey(s.Name) }

func envName(name string) string { return "SIGIL_" + strings.ToUpper(yamlKey(name)) }
func yamlKey(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Settings lists every setting in the order README.md documents them.
var Settings = []Setting{
	{"role", "all", "which role to run: auth, resource or all", func(c *Config) any { return &c.Role }},
	{"log-level", "info", "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
	{"log-format", "text", "text or json", func(c *Config) any { return &c.LogFormat }},
	{"debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; empty is off", func(c *Config) any { return &c.DebugAddr }},
	{"admin-addr", "127.0.0.1:8095", "management listener: Prometheus metrics at /metrics and the admin API at /admin/v1; keep it off the public network; empty is off", func(c *Config) any { return &c.AdminAddr }},
	{"admin-token-file", "", "file holding the admin API's token (at least 32 characters), or sha256:<hex> of it; read at start, only its hash kept; without it or admin-token-sha256 the admin API refuses every request", func(c *Config) any { return &c.AdminTokenFile }},
	{"admin-token-sha256", "", "hex SHA-256 of the admin API's token, instead of admin-token-file", func(c *Config) any { return &c.AdminTokenSHA256 }},
	{"admin-client-ca-file", "", "PEM bundle of CAs whose client certificates the admin API accepts as well as the token; with it the management listener serves TLS with tls-cert-file, which it needs", func(c *Config) any { return &c.AdminClientCAFile }},
	{"metrics-client-limit", "0", "count tokens issued per client id (sigil_tokens_issued_by_client_total) for up to this many clients, the rest as \"other\"; 0 is off", func(c *Config) any { return &c.MetricsClientLimit }},
	{"tls-cert-file", "", "PEM certificate chain the auth and resource listeners serve over TLS (HTTP/2 on); read again when it changes; empty serves plain HTTP", func(c *Config) any { return &c.TLSCertFile }},
	{"tls-key-file", "", "PEM private key of tls-cert-file", func(c *Config) any { return &c.TLSKeyFile }},
	{"tls-min-version", "1.2", "oldest TLS version accepted: 1.2 or 1.3", func(c *Config) any { return &c.TLSMinVersion }},
	{"tls-client-auth", "off", "client certificates on the auth and resource listeners (RFC 8705): off, or request (asked for, never required, chains checked by tls_client_auth against tls-client-ca-file)", func(c *Config) any { return &c.TLSClientAuth }},
	{"tls-client-ca-file", "", "PEM bundle of the CAs a tls_client_auth client certificate must chain to (the system's are not used); empty allows only self_signed_tls_client_auth", func(c *Config) any { return &c.TLSClientCAFile }},
	{"client-cert-header", "", "request header in which a TLS-terminating proxy of trusted-proxies forwards the client certificate: Envoy's x-forwarded-client-cert (one element, Cert=) or a URL-encoded PEM as nginx's $ssl_client_escaped_cert; ignored from other addresses", func(c *Config) any { return &c.ClientCertHeader }},

	{"profile", "", "server-wide security profile: empty, or fapi2 (FAPI 2.0: sender-constrained tokens only, private_key_jwt or mTLS only, PS256, ES256 or EdDSA only); a client may also register profile: fapi2", func(c *Config) any { return &c.Profile }},

	{"auth-addr", ":8085", "listen address of the authorization server", func(c *Config) any { return &c.AuthAddr }},
	{"auth-base-path", "/ms-auth-server", "path prefix of the authorization server's endpoints", func(c *Config) any { return &c.AuthBasePath }},
	{"auth-issuer", "", "issuer identifier (iss); empty means http://localhost:{auth port}{auth base path}, https with tls-cert-file", func(c *Config) any { return &c.AuthIssuer }},
	{"key-algorithm", "RS256", "signing algorithm: RS256, PS256, ES256 or EdDSA; a change goes through the staged rotation: a new key is published, signs after key-publish-lead, and the old one is retired", func(c *Config) any { return &c.KeyAlgorithm }},
	{"key-encryption-key", "", "base64 of the 32-byte key that encrypts secrets at rest (client_secret_jwt secrets)", func(c *Config) any { return &c.KeyEncryptionKey }},
	{"key-encryption-key-file", "", "file holding that key; empty means {SQLite file}.kek, created on first start (PostgreSQL needs one of the two)", func(c *Config) any { return &c.KeyEncryptionKeyFile }},
	{"rsa-bits", "2048", "size of new RSA signing keys", func(c *Config) any { return &c.RSABits }},
	{"key-publish-lead", "10m", "how long a new signing key is in the JWKS before it signs; also the JWKS Cache-Control max-age", func(c *Config) any { return &c.KeyPublishLead }},
	{"key-signing-period", "720h", "how long a key signs before the next takes over; 0 rotates only on `sigil keys rotate`", func(c *Config) any { return &c.KeySigningPeriod }},
	{"key-retire-period", "24h", "how long a retired key stays in the JWKS; at least the longest token lifetime plus key-rotation-check, checked at start and by `sigil clients apply`", func(c *Config) any { return &c.KeyRetirePeriod }},
	{"key-rotation-check", "1m", "how often each auth node checks the rotation schedule and reloads the keys", func(c *Config) any { return &c.KeyRotationCheck }},
	{"client-cache-ttl", "30s", "how long an auth node reuses a client record before reading it again", func(c *Config) any { return &c.ClientCacheTTL }},
	{"credential-cache-ttl", "10m", "how long a client secret that passed the slow hash is accepted for one HMAC; 0 turns this off", func(c *Config) any { return &c.CredentialCacheTTL }},
	{"hash-concurrency", "0", "most slow secret hashes (argon2id, bcrypt) running at once, 19 MiB each; 0 means half of GOMAXPROCS, at least one", func(c *Config) any { return &c.HashConcurrency }},
	{"hash-queue-wait", "200ms", "how long a request waits for a free hash slot before it is answered 503 with Retry-After", func(c *Config) any { return &c.HashQueueWait }},
	{"hash-failure-percent", "5", "largest share, in percent, of a hash slot's time that failed verifications may take: after a failed hash the slot rests until the share holds; 100 turns this off", func(c *Config) any { return &c.HashFailurePercent }},
	{"auth-failure-limit", "10", "failed client authentications allowed per client id, per address and per both in auth-failure-window; then 429 without the hash; the pace then falls to 3x per 60 windows and 10x per 1440; 0 turns this off", func(c *Config) any { return &c.AuthFailureLimit }},
	{"auth-failure-window", "1m", "the window of auth-failure-limit", func(c *Config) any { return &c.AuthFailureWindow }},
	{"auth-failure-hold", "1s", "how long a request refused by auth-failure-limit is held before the 429 is sent (at most its Retry-After); 0 answers at once", func(c *Config) any { return &c.AuthFailureHold }},
	{"trusted-proxies", "", "comma-separated CIDRs of reverse proxies before Sigil's servers whose X-Forwarded-For names the client address (for auth-failure-limit and the access log); empty uses the connection's peer", func(c *Config) any { return &c.TrustedProxies }},
	{"token-rate-limit", "", "per-client limit at the token endpoint, as N/s, N/m or N/h in bursts of N; empty is none", func(c *Config) any { return &c.TokenRateLimit }},
	{"introspection-rate-limit", "", "per-client limit at the introspection endpoint, as token-rate-limit", func(c *Config) any { return &c.IntrospectionRateLimit }},
	{"revocation-rate-limit", "", "per-client limit at the revocation endpoint, as token-rate-limit", func(c *Config) any { return &c.RevocationRateLimit }},
	{"client-cache-stale", "5m", "how much longer a cached client record serves while the database is down", func(c *Config) any { return &c.ClientCacheStale }},
	{"federation-file", "", "YAML file of external issuers (Kubernetes, SPIFFE, CI) whose tokens authenticate federated_jwt clients and serve the jwt-bearer grant, fixed at start; issuers can also be managed on a running cluster through the admin API (sigil federation), and the file wins over them", func(c *Config) any { return &c.FederationFile }},
	{"demo-clients", "auto", "register the seed documents' demo clients: auto (only on SQLite), true or false", func(c *Config) any { return &c.DemoClients }},
	{"playground", "auto", "serve the playground page at {auth base path}/playground, which runs both seed flows from the browser, and let its origin call the resource role (CORS): auto (on exactly when the demo clients are), true or false", func(c *Config) any { return &c.Playground }},
	{"max-body-bytes", "65536", "largest request body accepted", func(c *Config) any { return &c.MaxBodyBytes }},
	{"max-header-bytes", "32768", "largest request header block accepted (plus net/http's 4 KiB of slack); beyond it, 431 Request Header Fields Too Large", func(c *Config) any { return &c.MaxHeaderBytes }},
	{"shutdown-period", "10s", "how long a graceful shutdown may take", func(c *Config) any { return &c.ShutdownPeriod }},

	{"jwks-min-refresh-interval", "10s", "least time between two fetches of one key set caused by unknown key ids: the authorization server's JWKS on a resource node, a client's jwks_uri on an auth node", func(c *Config) any { return &c.JWKSMinRefreshInterval }},
	{"jwks-max-age", "5m", "how long a fetched key set is trusted before it is fetched again: the authorization server's JWKS on a resource node (at most key-publish-lead), a client's jwks_uri on an auth node", func(c *Config) any { return &c.JWKSMaxAge }},
	{"outbound-timeout", "5s", "timeout of each HTTP call Sigil makes: key set fetches (the JWKS, clients' jwks_uri) and introspection", func(c *Config) any { return &c.OutboundTimeout }},
	{"outbound-ca-file", "", "PEM bundle of CAs trusted, besides the system's, by each HTTPS call Sigil makes, e.g. the auth server's CA for a resource node", func(c *Config) any { return &c.OutboundCAFile }},

	{"resource-addr", ":8091", "listen address of the resource server", func(c *Config) any { return &c.ResourceAddr }},
	{"resource-base-path", "/ms-system", "path prefix of the resource server's endpoints", func(c *Config) any { return &c.ResourceBasePath }},
	{"resource-issuer", "", "issuer the resource server accepts tokens from; empty means the auth issuer", func(c *Config) any { return &c.ResourceIssuer }},
	{"resource-jwks-url", "", "JWKS the resource server verifies JWTs with; empty means {issuer}/oauth2/jwks", func(c *Config) any { return &c.ResourceJWKSURL }},
	{"resource-introspection-url", "", "introspection endpoint for opaque tokens; empty means {issuer}/oauth2/introspect", func(c *Config) any { return &c.ResourceIntrospectionURL }},
	{"resource-client-id", "service-client-jwt", "client id the resource server introspects with", func(c *Config) any { return &c.ResourceClientID }},
	{"resource-client-secret", "service-client-jwt-secret", "client secret the resource server introspects with", func(c *Config) any { return &c.ResourceClientSecret }},
	{"resource-leeway", "30s", "clock skew the resource server allows when checking a token's exp and nbf", func(c *Config) any { return &c.ResourceLeeway }},
	{"resource-introspection-cache-ttl", "10s", "how long the resource server reuses an introspection answer (never past the token's expiry); 0 asks every time", func(c *Config) any { return &c.ResourceIntrospectionCacheTTL }},
	{"resource-identifier", "", "this resource server's identifier (RFC 8707), e.g. http://localhost:8091/ms-system, checked against tokens' aud; the resource of its RFC 9728 metadata, where empty means resource-public-url, else http://localhost:{resource port}{resource base path}", func(c *Config) any { return &c.ResourceIdentifier }},
	{"resource-audience-check", "true", "refuse tokens whose aud lacks the resource identifier (only when one is set)", func(c *Config) any { return &c.ResourceAudienceCheck }},
	{"resource-algorithms", "", "comma-separated JWT algorithms the resource server accepts; empty means all of RS256, PS256, ES256, EdDSA, each key only with its own", func(c *Config) any { return &c.ResourceAlgorithms }},

	{"database-driver", "sqlite", "sqlite or postgres", func(c *Config) any { return &c.DatabaseDriver }},
	{"database-dsn", "sigil.db", "SQLite file or PostgreSQL DSN", func(c *Config) any { return &c.DatabaseDSN }},
	{"token-cleanup-interval", "10m", "how often expired opaque tokens are deleted from the database (without Redis)", func(c *Config) any { return &c.TokenCleanupInterval }},

	{"redis-addr", "", "Redis address(es), comma-separated for a cluster or Sentinel; empty keeps state in the database and revocations in process", func(c *Config) any { return &c.RedisAddr }},
	{"redis-master-name", "", "Sentinel master name (with the Sentinel addresses in redis-addr)", func(c *Config) any { return &c.RedisMasterName }},
	{"redis-username", "", "Redis ACL user name", func(c *Config) any { return &c.RedisUsername }},
	{"redis-password", "", "Redis password", func(c *Config) any { return &c.RedisPassword }},
	{"redis-db", "0", "Redis database number", func(c *Config) any { return &c.RedisDB }},
	{"redis-prefix", "sigil:", "prefix of every Redis key Sigil writes", func(c *Config) any { return &c.RedisPrefix }},

	{"database-timeout", "2s", "longest wait for one database statement or transaction; past it the request gets 503 and the database counts as down", func(c *Config) any { return &c.DatabaseTimeout }},
	{"redis-timeout", "1s", "longest wait for one Redis command, from taking a connection to the reply; past it the request gets 503 and Redis counts as down", func(c *Config) any { return &c.RedisTimeout }},
	{"outage-probe-interval", "200ms", "how often a database or Redis that is down is asked again; requests that need it fail at once meanwhile", func(c *Config) any { return &c.OutageProbeInterval }},

	{"dpop-proof-window", "1m", "how far a DPoP proof's iat may lie from the server's clock, either way; each proof's jti is remembered that long", func(c *Config) any { return &c.DPoPProofWindow }},
	{"dpop-nonce", "false", "require a server nonce (RFC 9449 §8) in DPoP proofs at the token endpoint; nonces rotate every dpop-proof-window and every auth node with the same key-encryption key accepts them", func(c *Config) any { return &c.DPoPNonce }},
	{"resource-public-url", "", "the resource server's URL as clients reach it, base path included, which DPoP proofs must name behind a proxy; empty means the request's scheme, Host and path", func(c *Config) any { return &c.ResourcePublicURL }},

	{"registration-token-file", "", "file holding the initial access token of dynamic client registration (RFC 7591, at least 32 characters), or sha256:<hex> of it; with it, or registration-token-sha256 or registration-open, the auth role serves {auth base path}/oauth2/register", func(c *Config) any { return &c.RegistrationTokenFile }},
	{"registration-token-sha256", "", "hex SHA-256 of the initial access token, instead of registration-token-file", func(c *Config) any { return &c.RegistrationTokenSHA256 }},
	{"registration-open", "false", "let anyone register a client, without an initial access token", func(c *Config) any { return &c.RegistrationOpen }},
	{"registration-scopes", "", "space-separated scopes a registered client may ask for; empty means every scope some client already has", func(c *Config) any { return &c.RegistrationScopes }},
	{"registration-statement-keys", "", "JWK Set file of the trusted signers of software statements (RFC 7591 §2.3); empty refuses every statement as unapproved", func(c *Config) any { return &c.RegistrationStatementKeys }},
	{"registration-secret-lifetime", "0s", "how long a secret issued at registration is valid (client_secret_expires_at); 0 never expires", func(c *Config) any { return &c.RegistrationSecretTTL }},
}

// secretSettings are never printed.
var secretSettings = map[string]bool{"resource-client-secret": true, "redis-password": true, "database-dsn": true, "key-encryption-key": true}

// Defaults returns the configuration with every default applied.
func Defaults() Config {
	var c Config
	for _, s := range Settings {
		if err := valueOf(s.bind(&c)).Set(s.Default); err != nil {
			panic("bad default for " + s.Name + ": " + err.Error())
		}
	}
	return c
}

// formerNames are the names settings had before they were renamed, by
// their names now. A former name still works, as a flag, a variable or a
// file key, and Config.WarnRenamed tells the operator to change it;
// `sigil settings` and README.md's table show only the names now.
var formerNames = map[string]string{
	"jwks-min-refresh-interval": "resource-jwks-refresh",
	"jwks-max-age":              "resource-jwks-max-age",
	"outbound-timeout":          "resource-upstream-timeout",
}

// Load builds the configuration from, in rising precedence: defaults, the
// YAML file named by --config or SIGIL_CONFIG, SIGIL_* environment
// variables, and flags. args excludes the program and subcommand names.
// lookup reads the environment as os.LookupEnv does: a variable set to the
// empty string sets its setting to empty. The configuration is returned
// only if it is valid; with an error it is the zero Config.
//
// Load parses args itself, with the standard library's flag package; the
// sigil command parses its command line with its own library and hands
// the flags it was given to LoadFrom.
func Load(args []string, lookup func(string) (string, bool)) (Config, error) {
	fs := flag.NewFlagSet("sigil", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	given := map[string]string{}
	for _, name := range FlagNames() {
		fs.Func(name, "", func(v string) error { given[name] = v; return nil })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("command line: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("command line: unexpected argument %q", fs.Arg(0))
	}
	return LoadFrom(given, lookup)
}

// ConfigFlag is the flag (and, as SIGIL_CONFIG, the variable) naming the
// YAML file of settings.
const ConfigFlag = "config"

// FlagNames lists every flag a command that reads the settings takes:
// each setting's name, the former names of renamed ones, and ConfigFlag.
func FlagNames() []string {
	names := []string{ConfigFlag}
	for _, s := range Settings {
		names = append(names, s.Name)
		if former := formerNames[s.Name]; former != "" {
			names = append(names, former)
		}
	}
	return names
}

// FormerName is the name s had before it was renamed, or "".
func (s Setting) FormerName() string { return formerNames[s.Name] }

// LoadFrom is Load for flags a command line library has parsed: given
// holds the value of each flag of FlagNames that the command line gave,
// by its name without dashes, and nothing for the flags it did not give,
// so that only those override the file and the environment. It keeps
// bootstrap free of the command line library (cobra and pflag, in
// cmd/sigil): a map is all the loader needs of it.
//
// The loader is Sigil's own rather than koanf's or ardanlabs/conf's:
// either would move the table into struct tags or key paths, and still
// need code of its own for the rules here (a file key unknown or given
// twice, former names with a warning, an error naming where the bad
// value was given), so it would not be shorter.
func LoadFrom(given map[string]string, lookup func(string) (string, bool)) (Config, error) {
	configFile, _ := lookup("SIGIL_CONFIG")
	if v, ok := given[ConfigFlag]; ok {
		configFile = v
	}
	sources := []source{
		{key: envName, get: lookup},
		{key: func(name string) string { return "--" + name }, get: func(k string) (string, bool) {
			v, ok := given[strings.TrimPrefix(k, "--")]
			return v, ok
		}},
	}
	if configFile != "" {
		file, err := readFile(configFile)
		if err != nil {
			return Config{}, err
		}
		sources = append([]source{file}, sources...)
	}
	c := Defaults()
	var renamed [][2]string
	for _, src := range sources {
		r, err := src.applyTo(&c)
		if err != nil {
			return Config{}, err
		}
		renamed = append(renamed, r...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	c.renamed = renamed
	return c, nil
}

// Type names the kind of value the setting takes, for a command's help:
// duration, int, bool, list or string.
func (s Setting) Type() string {
	switch valueOf(s.bind(&Config{})).(type) {
	case durationValue:
		return "duration"
	case intValue, int64Value:
		return "int"
	case boolValue:
		return "bool"
	}
	if s.List() {
		return "list"
	}
	return "string"
}

// WarnRenamed logs a warning for each setting given by its former name.
func (c Config) WarnRenamed(log *slog.Logger) {
	for _, r := range c.renamed {
		log.Warn("setting given by its former name: use the new one", "given", r[0], "use", r[1])
	}
}

// source is one of the places settings are read from.
type source struct {
	// where starts its error messages, e.g. "config file sigil.yaml: ".
	where string
	// key is how the source writes a setting's name.
	key func(name string) string
	get func(key string) (string, bool)
}

func mapGet(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// applyTo sets in c every setting the source gives, and returns the
// former names it was given by, each with the name to use.
func (src source) applyTo(c *Config) (renamed [][2]string, err error) {
	for _, s := range Settings {
		key := src.key(s.Name)
		v, ok := src.get(key)
		if former, was := formerNames[s.Name]; was {
			if fv, given := src.get(src.key(former)); given {
				if ok {
					return nil, fmt.Errorf("%s%s and %s are the same setting, under its former and its new name: give only %s",
						src.where, src.key(former), key, key)
				}
				renamed = append(renamed, [2]string{src.key(former), key})
				key, v, ok = src.key(former), fv, true
			}
		}
		if !ok {
			continue
		}
		if err := valueOf(s.bind(c)).Set(v); err != nil {
			return nil, fmt.Errorf("%s%s %w", src.where, key, err)
		}
	}
	return renamed, nil
}

// readFile reads a YAML file of settings. Keys may be flat (auth_addr)
// or nested one level (auth: {addr: ...}); an unknown key is an error, so
// a typo does not silently leave a default in place.
func readFile(path string) (source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return source{}, fmt.Errorf("config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return source{}, fmt.Errorf("config file %s: %w", path, err)
	}
	flat, twice, lists := map[string]string{}, map[string]bool{}, map[string]bool{}
	flatten("", doc, flat, twice, lists)
	if len(twice) > 0 {
		// Flat and nested (auth_addr and auth: {addr}), or with dashes and
		// underscores: which one won would depend on map order.
		return source{}, fmt.Errorf("config file %s: setting %q is given more than once", path, slices.Sorted(maps.Keys(twice))[0])
	}
	known := map[string]bool{}
	for _, s := range Settings {
		known[yamlKey(s.Name)] = true
		if former := formerNames[s.Name]; former != "" {
			known[yamlKey(former)] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		if !known[k] {
			return source{}, fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
	}
	// A YAML list is the file's way to write a comma-separated setting;
	// any other setting holds one value.
	for _, s := range Settings {
		for _, name := range []string{s.Name, formerNames[s.Name]} {
			clean, isList := lists[yamlKey(name)]
			if name == "" || !isList {
				continue
			}
			if !s.List() {
				return source{}, fmt.Errorf("config file %s: %s is a list, but the setting takes one value", path, yamlKey(name))
			}
			if !clean {
				return source{}, fmt.Errorf("config file %s: %s: a list item may not hold a comma", path, yamlKey(name))
			}
		}
	}
	return source{where: "config file " + path + ": ", key: yamlKey, get: mapGet(flat)}, nil
}

// flatten writes the settings of in under their flat keys into out, each
// key met more than once into twice, and each key given as a YAML list
// into lists, its items joined with commas: true unless an item holds a
// comma of its own, which readFile refuses.
func flatten(prefix string, in map[string]any, out map[string]string, twice, lists map[string]bool) {
	for k, v := range in {
		key := k
		if prefix != "" {
			key = prefix + "_" + k
		}
		key = strings.ReplaceAll(key, "-", "_")
		if _, ok := v.(map[string]any); !ok {
			if _, seen := out[key]; seen {
				twice[key] = true
			}
		}
		switch v := v.(type) {
		case map[string]any:
			flatten(key, v, out, twice, lists)
		case []any:
			items := make([]string, len(v))
			clean := true
			for i, item := range v {
				items[i] = fmt.Sprint(item)
				clean = clean && !strings.Contains(items[i], ",")
			}
			lists[key] = clean
			out[key] = strings.Join(items, ",")
		case nil:
			out[key] = ""
		default:
			out[key] = fmt.Sprint(v)
		}
	}
}

// Describe lists the effective settings for the startup log, with secrets
// masked.
func (c Config) Describe() []any {
	out := make([]any, 0, 2*len(Settings))
	for _, s := range Settings {
		v := valueOf(s.bind(&c)).String()
		if secretSettings[s.Name] && v != "" {
			v = "***"
		}
		out = append(out, s.Name, v)
	}
	return out
}
