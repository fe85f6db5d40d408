package echohttp_test

import (
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// dpopDeps turn DPoP on: proofs read by the fake, their ids in one guard
// both servers share, nonces required at the token endpoint when
// nonces is set, and the resource server's public URL.
type dpopDeps struct {
	nonces    *application.DPoPNonces
	publicURL string
}

func (d *dpopDeps) wire(clock *fakes.Clock, issue *application.IssueToken, authorize *application.AuthorizeBearer, opts *echohttp.Options) []string {
	guard := fakes.NewExpiring(clock)
	tokenCheck := application.NewDPoPCheck(fakes.DPoPProofs{}, guard, clock, time.Minute)
	if d.nonces != nil {
		tokenCheck.RequireNonces(d.nonces)
	}
	issue.BindDPoP(tokenCheck, issuer+echohttp.TokenPath)
	authorize.CheckDPoP(application.NewDPoPCheck(fakes.DPoPProofs{}, guard, clock, time.Minute))
	opts.PublicURL = d.publicURL
	return []string{"ES256", "EdDSA"}
}

const (
	dpopKey      = "thumbprint-a"
	dpopAlgs     = `algs="ES256 EdDSA"`
	tokenURL     = issuer + echohttp.TokenPath
	ausPath      = countryPath + "/code/AUS"
	ausURL       = "http://example.com" + ausPath // httptest's Host
	dpopNonceKey = "nonce key"
)

var proofSeq atomic.Int64

func (e *env) dpopProof(key, method, url, token string, change ...func(*domain.DPoPProof)) string {
	p := domain.DPoPProof{Algorithm: "ES256", JKT: key, ID: "p" + strconv.FormatInt(proofSeq.Add(1), 10),
		Method: method, URL: url, IssuedAt: e.clock.Now()}
	if token != "" {
		p.AccessTokenHash = application.AccessTokenHash(token)
	}
	for _, c := range change {
		c(&p)
	}
	return fakes.DPoPProof{Proof: p}.Encode()
}

func dpopOn(d *deps) { d.dpop = &dpopDeps{} }

func (e *env) dpopToken(t *testing.T, client, secret string) string {
	t.Helper()
	req := with(post(authBase+echohttp.TokenPath, form("grant_type", "client_credentials", "client_id", client, "client_secret", secret)),
		"DPoP", e.dpopProof(dpopKey, "POST", tokenURL, ""))
	rec := e.toAuth(req)
	body := jsonObject(t, rec)
	if rec.Code != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("DPoP token request: %d %v", rec.Code, body)
	}
	return body["access_token"].(string)
}

func TestDPoPTokenEndpoint(t *testing.T) {
	e := newEnv(t, dpopOn)
	e.dpopToken(t, opaqueClient, opaqueSecret)

	tokenRequest := func(proofs ...string) *http.Request {
		req := post(authBase+echohttp.TokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", jwtSecret))
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		return req
	}
	for name, proofs := range map[string][]string{
		"proof for GET":    {e.dpopProof(dpopKey, "GET", tokenURL, "")},
		"two DPoP headers": {e.dpopProof(dpopKey, "POST", tokenURL, ""), e.dpopProof(dpopKey, "POST", tokenURL, "")},
		"garbage":          {"garbage"},
	} {
		t.Run(name, func(t *testing.T) {
			// RFC 9449 §5: 400 invalid_dpop_proof, not cached.
			check(t, e.toAuth(tokenRequest(proofs...)), want{status: http.StatusBadRequest, code: "invalid_dpop_proof",
				header: map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": "", "DPoP-Nonce": ""}})
		})
	}
}

func TestDPoPNonceAtTheTokenEndpoint(t *testing.T) {
	nonces := application.NewDPoPNonces([]byte(dpopNonceKey), time.Minute)
	e := newEnv(t, func(d *deps) { d.dpop = &dpopDeps{nonces: nonces} })
	req := with(post(authBase+echohttp.TokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", jwtSecret)),
		"DPoP", e.dpopProof(dpopKey, "POST", tokenURL, ""))
	rec := e.toAuth(req)
	// RFC 9449 §8: 400 use_dpop_nonce with the nonce in DPoP-Nonce.
	check(t, rec, want{status: http.StatusBadRequest, code: "use_dpop_nonce"})
	nonce := rec.Header().Get("DPoP-Nonce")
	if !nonces.Valid(nonce, e.clock.Now()) {
		t.Fatalf("DPoP-Nonce %q is not a valid nonce", nonce)
	}
	req = with(post(authBase+echohttp.TokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", jwtSecret)),
		"DPoP", e.dpopProof(dpopKey, "POST", tokenURL, "", func(p *domain.DPoPProof) { p.Nonce = nonce }))
	check(t, e.toAuth(req), want{status: http.StatusOK})
}

func TestDPoPResource(t *testing.T) {
	e := newEnv(t, dpopOn)
	for _, c := range []struct{ name, client, secret string }{{"jwt", jwtClient, jwtSecret}, {"opaque", opaqueClient, opaqueSecret}} {
		t.Run(c.name, func(t *testing.T) {
			token := e.dpopToken(t, c.client, c.secret)
			good := e.dpopProof(dpopKey, "GET", ausURL, token)
			tests := []struct {
				name       string
				auth       string
				proofs     []string
				status     int
				code       string
				challenges []string
			}{
				{"good proof", "DPoP " + token, []string{good}, http.StatusOK, "", nil},
				{"scheme in lower case", "dpop " + token, []string{e.dpopProof(dpopKey, "GET", ausURL+"?x=1", token)}, http.StatusOK, "", nil},
				{"replayed proof", "DPoP " + token, []string{good}, http.StatusUnauthorized, "invalid_dpop_proof",
					[]string{`DPoP error="invalid_dpop_proof", error_description="the DPoP proof was already used", ` + dpopAlgs, "Bearer"}},
				{"no proof", "DPoP " + token, nil, http.StatusUnauthorized, "invalid_dpop_proof",
					[]string{`DPoP error="invalid_dpop_proof", error_description="a DPoP proof is required", ` + dpopAlgs, "Bearer"}},
				{"proof of another key", "DPoP " + token, []string{e.dpopProof("other", "GET", ausURL, token)}, http.StatusUnauthorized, "invalid_token",
					[]string{`DPoP error="invalid_token", error_description="the DPoP proof's key is not the one the token is bound to", ` + dpopAlgs, "Bearer"}},
				{"proof for another URL", "DPoP " + token, []string{e.dpopProof(dpopKey, "GET", "http://example.com"+countryPath, token)}, http.StatusUnauthorized, "invalid_dpop_proof", nil},
				{"bound token as bearer", "Bearer " + token, []string{e.dpopProof(dpopKey, "GET", ausURL, token)}, http.StatusUnauthorized, "invalid_token",
					[]string{`Bearer error="invalid_token", error_description="the token is bound to a DPoP key: send it with the DPoP scheme and a proof"`, "DPoP " + dpopAlgs}},
				{"empty DPoP token", "DPoP ", nil, http.StatusBadRequest, "invalid_request",
					[]string{`DPoP error="invalid_request", error_description="the DPoP-bound access token is empty", ` + dpopAlgs, "Bearer"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req := with(get(ausPath), "Authorization", tt.auth)
					for _, p := range tt.proofs {
						req.Header.Add("DPoP", p)
					}
					rec := e.toResource(req)
					check(t, rec, want{status: tt.status, code: tt.code})
					if tt.challenges != nil && !slices.Equal(rec.Header().Values("WWW-Authenticate"), tt.challenges) {
						t.Errorf("WWW-Authenticate = %q\nwant %q", rec.Header().Values("WWW-Authenticate"), tt.challenges)
					}
				})
			}
		})
	}
}

func TestDPoPChallengesKeepBearerFirst(t *testing.T) {
	e := newEnv(t, dpopOn)
	// The seeds' request without a token: "WWW-Authenticate: Bearer" is
	// still the first field, DPoP is offered after it (RFC 9449 §7.2).
	rec := e.toResource(get(ausPath))
	check(t, rec, want{status: http.StatusUnauthorized, header: map[string]string{"WWW-Authenticate": "Bearer"}})
	if got, want := rec.Header().Values("WWW-Authenticate"), []string{"Bearer", "DPoP " + dpopAlgs}; !slices.Equal(got, want) {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	// A bearer token lacking the scope: Bearer's insufficient_scope first.
	plain := e.issue(jwtClient, jwtSecret, "customer.read")
	rec = e.toResource(with(get(ausPath), "Authorization", bearer(plain)))
	if got := rec.Header().Values("WWW-Authenticate"); rec.Code != http.StatusForbidden ||
		!slices.Equal(got, []string{`Bearer error="insufficient_scope", scope="country.read"`, "DPoP " + dpopAlgs}) {
		t.Errorf("%d WWW-Authenticate = %q", rec.Code, got)
	}
	// A bearer token is still a bearer token.
	check(t, e.toResource(with(get(ausPath), "Authorization", bearer(e.issue(jwtClient, jwtSecret, "country.read")))), want{status: http.StatusOK})
}

func TestDPoPPublicURLBehindAProxy(t *testing.T) {
	const public = "https://api.example.com/countries"
	e := newEnv(t, func(d *deps) { d.dpop = &dpopDeps{publicURL: public} })
	token := e.dpopToken(t, jwtClient, jwtSecret)
	ok := with(get(ausPath), "Authorization", "DPoP "+token)
	ok.Header.Set("DPoP", e.dpopProof(dpopKey, "GET", public+"/country/code/AUS", token))
	check(t, e.toResource(ok), want{status: http.StatusOK})
	// The URL the proxy called is not the one the client addressed.
	direct := with(get(ausPath), "Authorization", "DPoP "+token)
	direct.Header.Set("DPoP", e.dpopProof(dpopKey, "GET", ausURL, token))
	check(t, e.toResource(direct), want{status: http.StatusUnauthorized, code: "invalid_dpop_proof"})
}
