package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// register adds clients to a running node's database the way `sigil
// clients apply` does.
func (n *node) register(t *testing.T, inputs ...application.RegisterClientInput) {
	t.Helper()
	admin, err := bootstrap.OpenAdmin(context.Background(), n.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, in := range inputs {
		if err := admin.Register.Handle(context.Background(), in); err != nil {
			t.Fatalf("register %s: %v", in.Client.ID, err)
		}
	}
}

func clientOf(id string, methods ...domain.AuthMethod) domain.Client {
	s := domain.NewScopes("country.read")
	return domain.Client{
		ID: id, AuthMethods: methods, GrantTypes: []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: s, DefaultScopes: s, TokenFormat: domain.FormatJWT,
	}
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	revoke := func(who []string, token string) response {
		return postForm(t, n.AuthURL+"/oauth2/revoke", url.Values{"token": {token}}, who)
	}
	active := func(token string) bool {
		return postForm(t, n.AuthURL+"/oauth2/introspect", url.Values{"token": {token}}, jwtClient).JSON(t)["active"] == true
	}

	opaque := n.token(t, opaqueClient[0], opaqueClient[1], "")
	jwtTok := n.token(t, jwtClient[0], jwtClient[1], "")

	// Another client may not revoke them.
	wantOAuthError(t, revoke(opaqueClient, jwtTok), 400, "unauthorized_client")
	wantOAuthError(t, revoke(jwtClient, opaque), 400, "unauthorized_client")
	if !active(opaque) || !active(jwtTok) {
		t.Fatal("a refused revocation took effect")
	}
	wantCountryAUS(t, get(t, n.ResourceURL+"/country/code/AUS", opaque))

	// The owners may.
	for _, tc := range []struct {
		who   []string
		token string
	}{{opaqueClient, opaque}, {jwtClient, jwtTok}} {
		if r := revoke(tc.who, tc.token); r.Status != 200 {
			t.Fatalf("revoke by owner: %d %s", r.Status, r.Body)
		}
		if active(tc.token) {
			t.Errorf("%s token still active after revocation", tc.who[0])
		}
	}
	// One node without Redis: the resource role hears of the revocation
	// in process, so even the self-contained JWT is refused at once.
	for name, token := range map[string]string{"opaque": opaque, "JWT": jwtTok} {
		if r := get(t, n.ResourceURL+"/country/code/AUS", token); r.Status != 401 {
			t.Errorf("revoked %s token still opens the resource: %d", name, r.Status)
		}
	}
	// Unknown and already revoked tokens answer 200 (RFC 7009 §2.2).
	for _, token := range []string{"never-issued", opaque, jwtTok} {
		if r := revoke(opaqueClient, token); r.Status != 200 {
			t.Errorf("revoke %q: %d %s", token, r.Status, r.Body)
		}
	}
	wantOAuthError(t, revoke([]string{jwtClient[0], "wrong"}, jwtTok), 401, "invalid_client")
}

func TestResourceIndicators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, func(c *bootstrap.Config) { c.ResourceIdentifier = application.DemoResource })
	token := func(resources ...string) response {
		form := url.Values{"grant_type": {"client_credentials"}, "resource": resources}
		return postForm(t, n.AuthURL+"/oauth2/token", form, jwtClient)
	}

	r := token(application.DemoResource)
	if r.Status != 200 {
		t.Fatalf("allowed resource: %d %s", r.Status, r.Body)
	}
	forResource := r.JSON(t)["access_token"].(string)
	if aud := claimsOf(t, forResource)["aud"]; aud != application.DemoResource {
		t.Errorf("aud = %v, want %s", aud, application.DemoResource)
	}
	wantOAuthError(t, token("https://elsewhere.example/api"), 400, "invalid_target")
	wantOAuthError(t, token("relative/path"), 400, "invalid_target")
	wantOAuthError(t, token(application.DemoResource+"#frag"), 400, "invalid_target")

	// The resource role, knowing its identifier, takes only tokens for it.
	wantCountryAUS(t, get(t, n.ResourceURL+"/country/code/AUS", forResource))
	plain := n.token(t, jwtClient[0], jwtClient[1], "")
	if r := get(t, n.ResourceURL+"/country/code/AUS", plain); r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("token for another audience: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
}

// assertionKey is a client's key pair in jwx form.
type assertionKey struct {
	priv jwk.Key
	set  string // the public JWK Set, as the client registers it
}

func newAssertionKey(t *testing.T, kid string) assertionKey {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, kid)
	_ = priv.Set(jwk.AlgorithmKey, jwa.ES256())
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return assertionKey{priv: priv, set: string(b)}
}

// assertion builds an RFC 7523 client assertion with jwx.
func assertion(t *testing.T, key jwk.Key, alg jwa.SignatureAlgorithm, client, aud string, exp time.Time) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range map[string]any{
		jwt.IssuerKey: client, jwt.SubjectKey: client, jwt.AudienceKey: aud,
		jwt.ExpirationKey: exp, jwt.IssuedAtKey: time.Now(), jwt.JwtIDKey: rand.Text(),
	} {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func assertionForm(a string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {application.AssertionTypeJWTBearer},
		"client_assertion":      {a},
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	tokenURL := n.AuthURL + "/oauth2/token"
	// An assertion names the token endpoint as the issuer spells it.
	aud := n.Config.Issuer() + "/oauth2/token"
	key := newAssertionKey(t, "k1")
	stranger := newAssertionKey(t, "k2")

	// One client registers its keys inline, another by URL.
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(key.set))
	}))
	t.Cleanup(jwksServer.Close)
	inline := clientOf("pk-inline", domain.AuthPrivateKeyJWT)
	inline.JWKS = key.set
	remote := clientOf("pk-remote", domain.AuthPrivateKeyJWT)
	remote.JWKSURI = jwksServer.URL
	n.register(t, application.RegisterClientInput{Client: inline}, application.RegisterClientInput{Client: remote})

	soon := time.Now().Add(2 * time.Minute)
	for _, id := range []string{"pk-inline", "pk-remote"} {
		t.Run(id, func(t *testing.T) {
			a := assertion(t, key.priv, jwa.ES256(), id, aud, soon)
			if r := postForm(t, tokenURL, assertionForm(a), nil); r.Status != 200 {
				t.Fatalf("valid assertion: %d %s", r.Status, r.Body)
			}
			cases := map[string]string{
				"replayed":       a,
				"expired":        assertion(t, key.priv, jwa.ES256(), id, aud, time.Now().Add(-time.Hour)),
				"wrong audience": assertion(t, key.priv, jwa.ES256(), id, "https://other.example/token", soon),
				"unknown key":    assertion(t, stranger.priv, jwa.ES256(), id, aud, soon),
				"other client":   assertion(t, key.priv, jwa.ES256(), jwtClient[0], aud, soon),
			}
			for name, a := range cases {
				t.Run(name, func(t *testing.T) {
					r := postForm(t, tokenURL, assertionForm(a), nil)
					wantOAuthError(t, r, 401, "invalid_client")
					if strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
						t.Error("Basic challenge for a client that did not use Basic")
					}
				})
			}
		})
	}
	t.Run("the issuer is an accepted audience", func(t *testing.T) {
		a := assertion(t, key.priv, jwa.ES256(), "pk-inline", n.Config.Issuer(), soon)
		if r := postForm(t, tokenURL, assertionForm(a), nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("the secret methods stay closed to a private_key_jwt client", func(t *testing.T) {
		wantOAuthError(t, postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, []string{"pk-inline", "anything"}), 401, "invalid_client")
	})
}

func TestClientSecretJWTAndSecretRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	tokenURL := n.AuthURL + "/oauth2/token"
	aud := n.Config.Issuer() + "/oauth2/token"
	const current, old, expired = "current-secret-of-at-least-32-bytes!", "older-secret-still-valid-32-bytes!!", "expired-secret-no-longer-valid-32b!!"
	rotating := clientOf("rotating", domain.AuthClientSecretBasic, domain.AuthClientSecretJWT)
	n.register(t, application.RegisterClientInput{Client: rotating, Secrets: []application.SecretSpec{
		{ID: "2026-11", Secret: current},
		{ID: "2026-10", Secret: old, ExpiresAt: time.Now().Add(time.Hour)},
		{ID: "2026-09", Secret: expired, ExpiresAt: time.Now().Add(-time.Hour)},
	}})

	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, secret := range []string{current, old} {
		if r := postForm(t, tokenURL, cc, []string{"rotating", secret}); r.Status != 200 {
			t.Errorf("secret %q refused: %d %s", secret[:7], r.Status, r.Body)
		}
	}
	wantOAuthError(t, postForm(t, tokenURL, cc, []string{"rotating", expired}), 401, "invalid_client")
	// client_secret_post is not among this client's methods.
	wantOAuthError(t, postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"rotating"}, "client_secret": {current}}, nil), 401, "invalid_client")

	hmacKey := func(secret string) jwk.Key {
		k, err := jwk.Import([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	soon := time.Now().Add(time.Minute)
	for _, secret := range []string{current, old} {
		a := assertion(t, hmacKey(secret), jwa.HS256(), "rotating", aud, soon)
		if r := postForm(t, tokenURL, assertionForm(a), nil); r.Status != 200 {
			t.Errorf("client_secret_jwt with %q: %d %s", secret[:7], r.Status, r.Body)
		}
	}
	for _, secret := range []string{expired, "a-wrong-secret-that-is-32-bytes-long"} {
		a := assertion(t, hmacKey(secret), jwa.HS256(), "rotating", aud, soon)
		wantOAuthError(t, postForm(t, tokenURL, assertionForm(a), nil), 401, "invalid_client")
	}
}

// TestClientSecretJWTPerHash: each HMAC algorithm needs a secret at least
// as long as its hash (RFC 7518 §3.2), so a 48-byte secret signs HS256
// and HS384 and a 64-byte one all three; an algorithm the secret is too
// short for is refused. Assertions are made by another
// JOSE library (lestrrat-go/jwx).
func TestClientSecretJWTPerHash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	tokenURL := n.AuthURL + "/oauth2/token"
	aud := n.Config.Issuer() + "/oauth2/token"
	soon := time.Now().Add(time.Minute)
	secrets := map[int]string{32: strings.Repeat("a", 32), 48: strings.Repeat("b", 48), 64: strings.Repeat("c", 64)}
	for size, secret := range secrets {
		n.register(t, application.RegisterClientInput{
			Client:  clientOf(fmt.Sprintf("hs-%d", size), domain.AuthClientSecretJWT),
			Secrets: []application.SecretSpec{{ID: "1", Secret: secret}},
		})
	}
	for _, c := range []struct {
		alg  jwa.SignatureAlgorithm
		need int
	}{{jwa.HS256(), 32}, {jwa.HS384(), 48}, {jwa.HS512(), 64}} {
		for size, secret := range secrets {
			t.Run(fmt.Sprintf("%s with %d bytes", c.alg, size), func(t *testing.T) {
				key, err := jwk.Import([]byte(secret))
				if err != nil {
					t.Fatal(err)
				}
				r := postForm(t, tokenURL, assertionForm(assertion(t, key, c.alg, fmt.Sprintf("hs-%d", size), aud, soon)), nil)
				if size >= c.need {
					if r.Status != 200 {
						t.Fatalf("%d %s", r.Status, r.Body)
					}
					return
				}
				// The answer is the one every failed assertion gets; the
				// operator learns the lengths from `sigil clients apply`.
				wantOAuthError(t, r, 401, "invalid_client")
			})
		}
	}
}
