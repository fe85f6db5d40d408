package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testnode"
)

// TestTokenIntrospectRevoke gets tokens from a running Sigil found by its
// metadata, with each client authentication method, then introspects and
// revokes one, as an operator would from the command line.
func TestTokenIntrospectRevoke(t *testing.T) {
	n := testnode.Start(t, func(c *bootstrap.Config) { c.AuthIssuer = "http://" + c.AuthAddr + c.AuthBasePath })
	issuer := n.Config.Issuer()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("user-client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jwtClient := []string{"--issuer", issuer, "--client-id", "service-client-jwt", "--client-secret", "service-client-jwt-secret"}

	code, jwt, errOut := cli(t, nil, append([]string{"token"}, jwtClient...)...)
	if code != 0 || strings.Count(jwt, ".") != 2 || !strings.HasSuffix(jwt, "\n") {
		t.Fatalf("token: exit %d, stdout %q, stderr %q; want a JWT alone", code, jwt, errOut)
	}
	code, out, errOut := cli(t, nil, "token", "--issuer", issuer, "--client-id", "user-client-opaque", "--client-secret-file", secretFile,
		"--auth-method", "client_secret_post", "--scope", "country.read", "-o", "json")
	if code != 0 || !strings.Contains(out, `"token_type": "Bearer"`) || !strings.Contains(out, `"scope": "country.read"`) {
		t.Fatalf("token -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	opaque := out[strings.Index(out, `"access_token": "`)+len(`"access_token": "`):]
	opaque = opaque[:strings.IndexByte(opaque, '"')]

	// service-client-jwt may introspect; the opaque token is active, and
	// after its owner revokes it, it is not.
	code, out, errOut = cli(t, nil, append(append([]string{"introspect"}, jwtClient...), opaque)...)
	if code != 0 || !strings.Contains(out, `"active": true`) || !strings.Contains(out, `"client_id": "user-client-opaque"`) {
		t.Fatalf("introspect: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = cli(t, nil, append(append([]string{"introspect", "-o", "yaml"}, jwtClient...), opaque)...)
	var answer map[string]any
	if err := yaml.Unmarshal([]byte(out), &answer); code != 0 || err != nil || answer["active"] != true || answer["client_id"] != "user-client-opaque" {
		t.Fatalf("introspect -o yaml: exit %d, %v, stderr %q:\n%s", code, err, errOut, out)
	}
	code, out, _ = cli(t, nil, append(append([]string{"introspect", "-o", "table"}, jwtClient...), opaque)...)
	if code != 0 || !regexp.MustCompile(`(?m)^ACTIVE\s+true$`).MatchString(out) || !regexp.MustCompile(`(?m)^AUD\s+\["user-client-opaque"\]$`).MatchString(out) {
		t.Fatalf("introspect -o table: exit %d:\n%s", code, out)
	}
	code, out, _ = cli(t, nil, append([]string{"token", "-o", "yaml"}, jwtClient...)...)
	answer = nil
	if err := yaml.Unmarshal([]byte(out), &answer); code != 0 || err != nil || answer["token_type"] != "Bearer" || answer["expires_in"] != 14400 {
		t.Fatalf("token -o yaml: exit %d, %v:\n%s", code, err, out)
	}
	// The token from standard input.
	stdin = strings.NewReader(opaque + "\n")
	code, out, _ = cli(t, nil, append(append([]string{"introspect"}, jwtClient...), "-")...)
	stdin = os.Stdin
	if code != 0 || !strings.Contains(out, `"active": true`) {
		t.Fatalf("introspect -: exit %d:\n%s", code, out)
	}
	code, out, errOut = cli(t, nil, "revoke", opaque, "--issuer", issuer, "--client-id", "user-client-opaque", "--client-secret-file", secretFile)
	if code != 0 || !strings.HasPrefix(out, "revoked") {
		t.Fatalf("revoke: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, out, _ = cli(t, nil, append(append([]string{"introspect"}, jwtClient...), opaque)...); strings.TrimSpace(out) != `{
  "active": false
}` {
		t.Errorf("introspect after revoke: %q", out)
	}

	// private_key_jwt with a key registered for a client of its own.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	registerKeyClient(t, n.Config, "reporting", key)
	keyFile := filepath.Join(t.TempDir(), "reporting.pem")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cli(t, nil, "token", "--issuer", issuer, "--client-id", "reporting", "--key-file", keyFile, "--key-id", "reporting-1")
	if code != 0 || strings.Count(out, ".") != 2 {
		t.Fatalf("token with private_key_jwt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a wrong secret", []string{"token", "--issuer", issuer, "--client-id", "service-client-jwt", "--client-secret", "wrong"}, 1, "sigil: token endpoint: invalid_client (401)"},
		{"a scope the client may not have", append([]string{"token", "--scope", "admin"}, jwtClient...), 1, "invalid_scope (400)"},
		{"an issuer with no metadata", []string{"token", "--issuer", issuer + "/nowhere", "--client-id", "x", "--client-secret", "y"}, 1, "no metadata for " + issuer + "/nowhere"},
		{"no issuer", []string{"token", "--client-id", "x"}, 2, "--issuer is needed"},
		{"introspect without a token", append([]string{"introspect"}, jwtClient...), 2, "give the token to introspect"},
		{"a key method without a key", []string{"token", "--issuer", issuer, "--client-id", "x", "--auth-method", "private_key_jwt"}, 1, "private_key_jwt needs --key-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.code, tc.want)
			}
		})
	}
}

// registerKeyClient registers id for private_key_jwt with key's public
// half as its inline JWKS, kid reporting-1.
func registerKeyClient(t *testing.T, c bootstrap.Config, id string, key *rsa.PrivateKey) {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"reporting-1","alg":"RS256","use":"sig","n":%q,"e":%q}]}`,
		b64(key.N.Bytes()), b64(big.NewInt(int64(key.E)).Bytes()))
	admin, err := bootstrap.OpenAdmin(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	err = admin.Register.Handle(context.Background(), application.RegisterClientInput{Client: domain.Client{
		ID: id, TokenFormat: domain.FormatJWT, GrantTypes: []domain.GrantType{domain.GrantClientCredentials},
		AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, AllowedScopes: domain.NewScopes("country.read"),
		DefaultScopes: domain.NewScopes("country.read"), JWKS: jwks,
	}})
	if err != nil {
		t.Fatal(err)
	}
}
