package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/adapters/josekit"
)

// The client side of OAuth, against any authorization server found by its
// metadata (RFC 8414): `sigil token` (client credentials, RFC 6749 §4.4),
// `sigil introspect` (RFC 7662) and `sigil revoke` (RFC 7009), as Hydra's
// `perform` commands. They read no settings of Sigil's own.

// performTimeout bounds each command: discovery and one call.
const performTimeout = 30 * time.Second

// clientFlags are how a command authenticates as a client.
type clientFlags struct {
	issuer, clientID, secret, secretFile, keyFile, keyID, method string
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.issuer, "issuer", "", "the authorization server's issuer identifier, e.g. http://localhost:8085/ms-auth-server (its metadata names the endpoints)")
	fs.StringVar(&f.clientID, "client-id", "", "client id")
	fs.StringVar(&f.secret, "client-secret", "", "client secret (visible to other users of this machine in the process list: prefer --client-secret-file)")
	fs.StringVar(&f.secretFile, "client-secret-file", "", "file holding the client secret (- reads standard input)")
	fs.StringVar(&f.keyFile, "key-file", "", "PEM private key for private_key_jwt (RSA, P-256 or Ed25519)")
	fs.StringVar(&f.keyID, "key-id", "", "kid of that key among the client's registered keys")
	fs.StringVar(&f.method, "auth-method", "", "client_secret_basic, client_secret_post or private_key_jwt; default: basic with a secret, private_key_jwt with a key")
}

// metadata is what the commands read of RFC 8414 §2 metadata.
type metadata struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
}

// discover fetches the metadata of issuer: at the RFC 8414 §3.1 address
// (the well-known segment before the issuer's path), then appended to the
// issuer, as many servers and OpenID Connect put it. The metadata must
// name the issuer asked for (RFC 8414 §3.3), or an attacker's metadata
// could send the credentials elsewhere.
func discover(ctx context.Context, hc *http.Client, issuer string) (metadata, error) {
	issuer = strings.TrimSuffix(issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return metadata{}, fmt.Errorf("--issuer %q is not an absolute URL", issuer)
	}
	inserted := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path
	var tried []string
	for _, where := range []string{inserted, issuer + "/.well-known/oauth-authorization-server", issuer + "/.well-known/openid-configuration"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
		if err != nil {
			return metadata{}, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return metadata{}, fmt.Errorf("metadata: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return metadata{}, fmt.Errorf("metadata at %s: %w", where, err)
		}
		if resp.StatusCode != http.StatusOK {
			tried = append(tried, fmt.Sprintf("%s (%d)", where, resp.StatusCode))
			continue
		}
		var m metadata
		if err := json.Unmarshal(body, &m); err != nil {
			return metadata{}, fmt.Errorf("metadata at %s is not JSON: %w", where, err)
		}
		if strings.TrimSuffix(m.Issuer, "/") != issuer {
			return metadata{}, fmt.Errorf("metadata at %s names the issuer %q, not %q", where, m.Issuer, issuer)
		}
		return m, nil
	}
	return metadata{}, fmt.Errorf("no metadata for %s: tried %s", issuer, strings.Join(tried, ", "))
}

// authenticate adds the client's credentials for a request to endpoint:
// to its form, or, for client_secret_basic, as the header header returns.
func (f *clientFlags) authenticate(form url.Values, endpoint string) (header func(*http.Request), err error) {
	header = func(*http.Request) {}
	if f.clientID == "" {
		return nil, errors.New("--client-id is needed")
	}
	secret := f.secret
	if f.secretFile != "" {
		raw, err := readFileOrStdin(f.secretFile)
		if err != nil {
			return nil, err
		}
		secret = strings.TrimRight(string(raw), "\r\n")
	}
	method := f.method
	switch {
	case method != "":
	case f.keyFile != "":
		method = "private_key_jwt"
	default:
		method = "client_secret_basic"
	}
	switch method {
	case "client_secret_basic", "client_secret_post":
		if secret == "" {
			return nil, fmt.Errorf("%s needs --client-secret or --client-secret-file", method)
		}
		if method == "client_secret_post" {
			form.Set("client_id", f.clientID)
			form.Set("client_secret", secret)
		} else {
			// RFC 6749 §2.3.1: each half form-encoded before Basic.
			header = func(req *http.Request) { req.SetBasicAuth(url.QueryEscape(f.clientID), url.QueryEscape(secret)) }
		}
	case "private_key_jwt":
		if f.keyFile == "" {
			return nil, errors.New("private_key_jwt needs --key-file")
		}
		pemKey, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, err
		}
		assertion, err := josekit.SignClientAssertion(pemKey, f.keyID, f.clientID, endpoint, time.Now())
		if err != nil {
			return nil, err
		}
		form.Set("client_id", f.clientID)
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	default:
		return nil, fmt.Errorf("--auth-method %q is not one of client_secret_basic, client_secret_post, private_key_jwt", method)
	}
	return header, nil
}

// call posts form to endpoint as the client and returns the answer's body
// when it is a success; an OAuth error answer becomes its code and
// description.
func (f *clientFlags) call(ctx context.Context, hc *http.Client, endpoint string, form url.Values) ([]byte, error) {
	if endpoint == "" {
		return nil, errors.New("the server's metadata names no such endpoint")
	}
	header, err := f.authenticate(form, endpoint)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	header(req)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	var oauthErr struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oauthErr) == nil && oauthErr.Code != "" {
		if oauthErr.Description != "" {
			return nil, fmt.Errorf("%s (%d): %s", oauthErr.Code, resp.StatusCode, oauthErr.Description)
		}
		return nil, fmt.Errorf("%s (%d)", oauthErr.Code, resp.StatusCode)
	}
	return nil, fmt.Errorf("%s answered %d", endpoint, resp.StatusCode)
}

// performShort are the client commands' one-line descriptions.
var performShort = map[string]string{
	"token":      "Get a client_credentials token from any server found by its metadata",
	"introspect": "Ask the server about a token (RFC 7662)",
	"revoke":     "Revoke a token (RFC 7009)",
}

// performCommand is one of the client commands.
func performCommand(e env, command string) *cobra.Command {
	var client clientFlags
	var scope string
	var resources []string
	c := &cobra.Command{
		Use:   command + " --issuer URL --client-id ID (--client-secret-file FILE | --key-file PEM) TOKEN",
		Short: performShort[command],
		Long: performShort[command] + `.

The server is found by its metadata (RFC 8414, or OpenID Connect discovery),
which must name the issuer asked for. The client authenticates with a secret
(client_secret_basic, or --auth-method client_secret_post) or a private key
(--key-file, private_key_jwt). The commands read none of Sigil's settings.`,
		Args:              exactArgs(1, "give the token to "+command+" (- reads it from standard input)"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	client.register(c.Flags())
	var out *outputFormat
	switch command {
	case "token":
		c.Use = "token --issuer URL --client-id ID (--client-secret-file FILE | --key-file PEM) [--scope S]"
		c.Example = `  sigil token --issuer http://localhost:8085/ms-auth-server --client-id service-client-jwt --client-secret-file secret.txt
  printf %s "$SECRET" | sigil token --issuer $A --client-id billing --client-secret-file - -o json`
		c.Args = noArgs
		c.Flags().StringVar(&scope, "scope", "", "space-separated scopes to ask for; empty asks for the client's default")
		c.Flags().StringArrayVar(&resources, "resource", nil, "resource indicator (RFC 8707); may be repeated")
		out = addOutputFlag(c, "token", "json", "yaml")
		c.Flags().Lookup("output").Usage = "token prints the access token alone; json or yaml the whole answer"
	case "introspect":
		out = addOutputFlag(c, "json", "yaml", "table")
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		if client.issuer == "" {
			return usagef("%s: --issuer is needed", command)
		}
		var token string
		if len(args) == 1 {
			token = args[0]
		}
		if token == "-" {
			raw, err := io.ReadAll(stdin)
			if err != nil {
				return err
			}
			token = strings.TrimSpace(string(raw))
		}
		ctx, cancel := context.WithTimeout(c.Context(), performTimeout)
		defer cancel()
		hc := &http.Client{}
		meta, err := discover(ctx, hc, client.issuer)
		if err != nil {
			return err
		}
		switch command {
		case "token":
			form := url.Values{"grant_type": {"client_credentials"}}
			if scope != "" {
				form.Set("scope", scope)
			}
			for _, r := range resources {
				form.Add("resource", r)
			}
			body, err := client.call(ctx, hc, meta.TokenEndpoint, form)
			if err != nil {
				return fmt.Errorf("token endpoint: %w", err)
			}
			if out.value != "token" {
				return printAnswer(e.stdout, out.value, body)
			}
			var answer struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(body, &answer); err != nil || answer.AccessToken == "" {
				return errors.New("the token endpoint's answer holds no access_token")
			}
			fmt.Fprintln(e.stdout, answer.AccessToken)
		case "introspect":
			body, err := client.call(ctx, hc, meta.IntrospectionEndpoint, url.Values{"token": {token}})
			if err != nil {
				return fmt.Errorf("introspection endpoint: %w", err)
			}
			return printAnswer(e.stdout, out.value, body)
		case "revoke":
			if _, err := client.call(ctx, hc, meta.RevocationEndpoint, url.Values{"token": {token}}); err != nil {
				return fmt.Errorf("revocation endpoint: %w", err)
			}
			// RFC 7009 §2.2: the same answer for a token that was not valid.
			fmt.Fprintln(e.stdout, "revoked (or it was not a valid token of this client)")
		}
		return nil
	}
	return c
}

// printAnswer prints a server's JSON answer as -o asks: indented JSON,
// YAML, or a table of its members in their order.
func printAnswer(w io.Writer, format string, body []byte) error {
	if format == "json" {
		var out bytes.Buffer
		if err := json.Indent(&out, body, "", "  "); err != nil {
			return fmt.Errorf("the answer is not JSON: %w", err)
		}
		fmt.Fprintln(w, out.String())
		return nil
	}
	// yaml.v3 reads JSON, and a node keeps the members' order.
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return errors.New("the answer is not a JSON object")
	}
	clearStyle(&doc)
	if format == "yaml" {
		return encode(w, "yaml", &doc)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	m := doc.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		v := m[i+1]
		text := v.Value
		if v.Kind != yaml.ScalarNode {
			raw, _ := json.Marshal(decodeNode(v))
			text = string(raw)
		}
		fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(m[i].Value), text)
	}
	return tw.Flush()
}

// clearStyle drops the flow style and quotes the JSON text gave its
// nodes, so that they print as block YAML.
func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func decodeNode(n *yaml.Node) any {
	var v any
	_ = n.Decode(&v)
	return v
}
