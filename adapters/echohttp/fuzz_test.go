package echohttp

// Fuzz targets for what the HTTP adapter reads from callers before any use
// case sees it: the form body, the Basic and Bearer Authorization headers,
// the Accept header and X-Request-Id. Each checks its parser against a
// simple reference (net/url, net/http, mime, a regular expression) rather
// than only that it does not panic. The seeds, f.Add's and those under
// testdata/fuzz, run with every go test.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/domain"
)

// oauthError returns err's *domain.Error, failing the test if it has none
// or if its code is not one of codes.
func oauthError(t *testing.T, err error, codes ...domain.ErrorCode) *domain.Error {
	t.Helper()
	var oe *domain.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %q (%T) is not an OAuth error", err, err)
	}
	for _, c := range codes {
		if oe.Code == c {
			return oe
		}
	}
	t.Fatalf("error %q has code %s, want one of %v", err, oe.Code, codes)
	return nil
}

// FuzzReadForm checks readForm against url.ParseQuery, which it wraps: a
// form content type (bare, with parameters, in any case) and a body
// ParseQuery accepts give ParseQuery's values, unless a parameter other
// than resource is repeated; anything else is invalid_request with the
// matching description, and never comes with values.
func FuzzReadForm(f *testing.F) {
	form := echo.MIMEApplicationForm
	f.Add(form, []byte("grant_type=client_credentials&scope=country.read"), true)
	f.Add(form+"; charset=UTF-8", []byte("resource=https%3A%2F%2Fa&resource=urn%3Ab&resource="), false)
	f.Add("APPLICATION/X-WWW-FORM-URLENCODED", []byte("a=1&a=2"), true)
	f.Add("application/json", []byte(`{"grant_type":"client_credentials"}`), true)
	f.Add(form, []byte("a=%zz"), true)
	f.Add(form, []byte("a=1;b=2"), true)
	f.Add(form, []byte("&&=&x"), false)
	f.Add("", []byte("a=1"), true)
	f.Add(form+";", []byte(""), true)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, knownLength bool) {
		req := httptest.NewRequest(http.MethodPost, "/token", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, contentType)
		if !knownLength {
			req.ContentLength = -1 // chunked: readBody takes the growing path
		}
		got, err := readForm(req, paramResource)
		if err != nil && got != nil {
			t.Fatalf("readForm returned values %v together with error %v", got, err)
		}

		mt, _, mtErr := mime.ParseMediaType(contentType)
		isForm := strings.EqualFold(contentType, form) || (mtErr == nil && mt == form)
		if !isForm {
			if err != errNotForm {
				t.Fatalf("content type %q: error = %v, want %v", contentType, err, errNotForm)
			}
			return
		}
		want, refErr := url.ParseQuery(string(body))
		if refErr != nil {
			if err != errBadForm {
				t.Fatalf("body ParseQuery refuses (%v): error = %v, want %v", refErr, err, errBadForm)
			}
			return
		}
		for name, values := range want {
			if len(values) > 1 && name != paramResource {
				oe := oauthError(t, err, domain.CodeInvalidRequest)
				if !strings.Contains(oe.Description, "repeated") {
					t.Fatalf("repeated %q: description %q does not say so", name, oe.Description)
				}
				return
			}
		}
		if err != nil {
			t.Fatalf("readForm(%q) = %v; ParseQuery accepts it", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("readForm = %v, ParseQuery = %v", got, want)
		}
		// What the reader accepted, written back as a form, reads the same.
		again, err := readForm(formRequest(got.Encode()), paramResource)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoded form %q reads as %v, %v; want %v", got.Encode(), again, err, got)
		}
		// resources keeps the non-empty resource values in order.
		var wantRes []string
		for _, r := range want[paramResource] {
			if r != "" {
				wantRes = append(wantRes, r)
			}
		}
		if res := resources(got, paramResource); !reflect.DeepEqual(res, wantRes) {
			t.Fatalf("resources = %q, want %q", res, wantRes)
		}
	})
}

func formRequest(body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
	return req
}

// encodeBasic is the client side of RFC 6749 §2.3.1: id and secret each
// form-urlencoded, then joined and base64-encoded by net/http.
func encodeBasic(id, secret string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get(echo.HeaderAuthorization)
}

// FuzzParseBasic checks the Basic credentials parser two ways: whatever
// id and secret a client encodes as RFC 6749 §2.3.1 says come back
// unchanged, and on any header it agrees with net/http's
// Request.BasicAuth followed by form-unescaping, the reading RFC 6749
// asks for. Its only failure is errBadBasic.
func FuzzParseBasic(f *testing.F) {
	f.Add("svc-a", "s3cret", "")
	f.Add("a:b", "c:d%20e+f", "c3ZjLWE6czNjcmV0")
	f.Add("", "", "Og==")
	f.Add("ünï\x00", "\xff\xfe", "Og")
	f.Add("id", "pw", "   c3ZjLWE6czNjcmV0")
	f.Add("x", "y", "YSUyMGI6JXp6")
	f.Add("x", "y", "YTpiCg==\n")
	f.Fuzz(func(t *testing.T, id, secret, encoded string) {
		header := encodeBasic(id, secret)
		scheme, rest, _ := strings.Cut(header, " ")
		if scheme != "Basic" {
			t.Fatalf("net/http wrote %q", header)
		}
		gotID, gotSecret, err := parseBasic(rest)
		if err != nil || gotID != id || gotSecret != secret {
			t.Fatalf("parseBasic(encode(%q, %q)) = %q, %q, %v", id, secret, gotID, gotSecret, err)
		}

		gotID, gotSecret, err = parseBasic(encoded)
		if err != nil && err != errBadBasic {
			t.Fatalf("parseBasic(%q) error = %v, want %v", encoded, err, errBadBasic)
		}
		if err != nil && (gotID != "" || gotSecret != "") {
			t.Fatalf("parseBasic(%q) returned %q, %q with error %v", encoded, gotID, gotSecret, err)
		}
		ref := http.Request{Header: http.Header{echo.HeaderAuthorization: {"Basic " + encoded}}}
		user, pass, ok := ref.BasicAuth()
		var wantID, wantSecret string
		if ok {
			var e1, e2 error
			wantID, e1 = url.QueryUnescape(user)
			wantSecret, e2 = url.QueryUnescape(pass)
			ok = e1 == nil && e2 == nil
		}
		if !ok {
			wantID, wantSecret = "", ""
		}
		if ok != (err == nil) || gotID != wantID || gotSecret != wantSecret {
			t.Fatalf("parseBasic(%q) = %q, %q, %v; net/http and QueryUnescape give %q, %q, ok %v",
				encoded, gotID, gotSecret, err, wantID, wantSecret, ok)
		}
	})
}

// FuzzClientCredentials checks the one-method rule of RFC 6749 §2.3 and
// RFC 7523 §2.2 on any Authorization header and form fields: an error is
// invalid_client or invalid_request and comes with no credentials; basic
// is set exactly when a header was sent; what is returned is what the
// request carried.
func FuzzClientCredentials(f *testing.F) {
	basic := encodeBasic("svc-a", "s3cret")
	f.Add("", "svc-a", "s3cret", "", "")
	f.Add(basic, "", "", "", "")
	f.Add(basic, "svc-a", "", "", "")
	f.Add(basic, "other", "", "", "")
	f.Add(basic, "", "s3cret", "", "")
	f.Add(basic, "", "", "eyJ.e30.x", "")
	f.Add("", "", "s3cret", "eyJ.e30.x", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	f.Add("", "svc-a", "", "eyJ.e30.x", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	f.Add("Bearer abc", "", "", "", "")
	f.Add("basic    c3ZjLWE6czNjcmV0", "", "", "", "")
	f.Add("Basic", "", "", "", "")
	f.Fuzz(func(t *testing.T, header, id, secret, assertion, assertionType string) {
		req := httptest.NewRequest(http.MethodPost, "/token", nil)
		if header != "" {
			req.Header.Set(echo.HeaderAuthorization, header)
		}
		form := url.Values{}
		for name, v := range map[string]string{
			"client_id": id, "client_secret": secret,
			"client_assertion": assertion, "client_assertion_type": assertionType,
		} {
			if v != "" {
				form.Set(name, v)
			}
		}
		creds, basic, err := clientCredentials(req, form)
		if basic != (header != "") {
			t.Fatalf("basic = %v with header %q", basic, header)
		}
		hasAssertion := assertion != "" || assertionType != ""
		if err != nil {
			if !reflect.ValueOf(creds).IsZero() {
				t.Fatalf("credentials %+v returned with error %v", creds, err)
			}
			oauthError(t, err, domain.CodeInvalidClient, domain.CodeInvalidRequest)
			return
		}
		switch {
		case header != "":
			if hasAssertion || secret != "" {
				t.Fatalf("two methods accepted: header %q, secret %q, assertion %q", header, secret, assertion)
			}
			scheme, encoded, _ := strings.Cut(header, " ")
			wantID, wantSecret, berr := parseBasic(strings.TrimLeft(encoded, " "))
			if !strings.EqualFold(scheme, "Basic") || berr != nil {
				t.Fatalf("header %q accepted as Basic", header)
			}
			if creds.ID != wantID || creds.Secret != wantSecret || creds.Method != domain.AuthClientSecretBasic {
				t.Fatalf("credentials %+v, want Basic %q, %q", creds, wantID, wantSecret)
			}
			if id != "" && id != wantID {
				t.Fatalf("body client_id %q accepted beside Basic for %q", id, wantID)
			}
		case hasAssertion:
			if secret != "" {
				t.Fatalf("assertion accepted with a client_secret")
			}
			if creds.ID != id || creds.Assertion != assertion || creds.AssertionType != assertionType || creds.Method != "" || creds.Secret != "" {
				t.Fatalf("credentials %+v do not carry the assertion", creds)
			}
		default:
			if creds.ID != id || creds.Secret != secret || creds.Method != domain.AuthClientSecretPost {
				t.Fatalf("credentials %+v, want post %q, %q", creds, id, secret)
			}
		}
	})
}

// b64tokenRE is RFC 6750 §2.1's b64token.
var b64tokenRE = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// FuzzBearerToken checks bearerToken on any set of Authorization header
// values (given separated by newlines, which a header value cannot hold):
// a token is returned only from a single "Bearer" header, in any case, and
// is the b64token after the spaces; every failure is one of the four
// errors the resource server maps to its RFC 6750 answers.
func FuzzBearerToken(f *testing.F) {
	f.Add("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("bearer   abc-._~+/==")
	f.Add("Bearer ")
	f.Add("Bearer a=b")
	f.Add("Basic Og==")
	f.Add("Bearer a\nBearer b")
	f.Add("")
	f.Add("Bearer\tabc")
	f.Add("BEARER ==")
	f.Fuzz(func(t *testing.T, headers string) {
		if isB64Token(headers) != b64tokenRE.MatchString(headers) {
			t.Fatalf("isB64Token(%q) = %v, RFC 6750 grammar says %v", headers, isB64Token(headers), !isB64Token(headers))
		}
		req := httptest.NewRequest(http.MethodGet, "/country", nil)
		var values []string
		if headers != "" {
			values = strings.Split(headers, "\n")
			for _, v := range values {
				req.Header.Add(echo.HeaderAuthorization, v)
			}
		}
		token, err := bearerToken(req)
		// The error the rules of RFC 6750 §2.1 and §3.1 give.
		var want error
		switch {
		case len(values) == 0:
			want = errNoBearer
		case len(values) > 1:
			want = errManyAuthHeaders
		default:
			scheme, rest, _ := strings.Cut(values[0], " ")
			switch rest = strings.TrimLeft(rest, " "); {
			case !strings.EqualFold(scheme, "Bearer"):
				want = errNoBearer
			case rest == "":
				want = errEmptyBearer
			case !b64tokenRE.MatchString(rest):
				want = errMalformedBearer
			}
		}
		if err != want {
			t.Fatalf("bearerToken(%q) error = %v, want %v", values, err, want)
		}
		if err != nil {
			if token != "" {
				t.Fatalf("token %q returned with error %v", token, err)
			}
			switch err {
			case errNoBearer, errEmptyBearer, errMalformedBearer, errManyAuthHeaders:
			default:
				t.Fatalf("bearerToken error %v is none of the four it may return", err)
			}
			if (err == errManyAuthHeaders) != (len(values) > 1) {
				t.Fatalf("%d headers gave %v", len(values), err)
			}
			return
		}
		if len(values) != 1 {
			t.Fatalf("token %q taken from %d headers", token, len(values))
		}
		scheme, rest, _ := strings.Cut(values[0], " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimLeft(rest, " ") != token || !b64tokenRE.MatchString(token) {
			t.Fatalf("token %q taken from %q", token, values[0])
		}
	})
}

// qvalueRE is RFC 9110 §12.4.2's qvalue.
var qvalueRE = regexp.MustCompile(`^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$`)

// referenceWeight is a second, plain reading of acceptWeight's rule (RFC
// 9110 §12.5.1): the weight of the most specific range matching
// typ/sub, the highest among equally specific ones. mime.ParseMediaType
// does the parsing; comparable is false when it refuses an element, or
// when an element has quotes or RFC 2231 parameters, which it reads
// further than an Accept header allows.
func referenceWeight(accept []string, typ, sub string) (q float64, named, comparable bool) {
	best := -1
	for _, value := range accept {
		for _, item := range strings.Split(value, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			if _, params, _ := strings.Cut(item, ";"); strings.ContainsAny(params, `"*%\`) {
				return 0, false, false
			}
			mt, params, err := mime.ParseMediaType(item)
			if err != nil {
				return 0, false, false
			}
			t, s, _ := strings.Cut(mt, "/")
			spec := -1
			switch {
			case t == typ && s == sub:
				spec = 2
			case t == typ && s == "*":
				spec = 1
			case t == "*" && s == "*":
				spec = 0
			}
			if spec < 0 {
				continue
			}
			w := 1.0
			if v, ok := params["q"]; ok {
				if !qvalueRE.MatchString(v) {
					continue
				}
				w, _ = strconv.ParseFloat(v, 64)
			}
			if spec > best || (spec == best && w > q) {
				best, q = spec, w
			}
		}
	}
	return q, best == 2, true
}

// FuzzAccept checks the Accept reading of the introspection endpoint
// against referenceWeight on every header the reference can parse (values
// separated by newlines), the qvalue check against RFC 9110's grammar,
// and the JWT choice against the rule RFC 9701 §4 leaves us: the JWT type
// named, with a weight above zero and not below JSON's.
func FuzzAccept(f *testing.F) {
	f.Add("application/token-introspection+jwt")
	f.Add("application/json;q=0.9, application/token-introspection+jwt")
	f.Add("application/token-introspection+jwt;q=0.5, application/json;q=0.5")
	f.Add("application/token-introspection+jwt;q=0, */*")
	f.Add("*/*;q=0.1, application/*;q=0.2\napplication/token-introspection+jwt;q=1.000")
	f.Add("application/TOKEN-INTROSPECTION+JWT; Q=0.001; charset=utf-8")
	f.Add("application/token-introspection+jwt;q=1.5")
	f.Add("application/token-introspection+jwt;q=\"1\"")
	f.Add("application/token-introspection+jwt;q=0.")
	f.Add(",, ,application/json;q=0.000")
	f.Add("application/json;q=0.2, application/json;q=0.8, application/token-introspection+jwt;q=0.5")
	f.Fuzz(func(t *testing.T, header string) {
		if isQValue(header) != qvalueRE.MatchString(header) {
			t.Fatalf("isQValue(%q) = %v, RFC 9110 grammar says %v", header, isQValue(header), !isQValue(header))
		}
		accept := strings.Split(header, "\n")
		jwtQ, jwtNamed := acceptWeight(accept, "application", "token-introspection+jwt")
		jsonQ, jsonNamed := acceptWeight(accept, "application", "json")
		for _, q := range []float64{jwtQ, jsonQ} {
			if q < 0 || q > 1 {
				t.Fatalf("weight %v outside [0, 1] for %q", q, header)
			}
		}
		if got, want := prefersIntrospectionJWT(accept), jwtNamed && jwtQ > 0 && jwtQ >= jsonQ; got != want {
			t.Fatalf("prefersIntrospectionJWT(%q) = %v, want %v", header, got, want)
		}
		for _, c := range []struct {
			sub   string
			q     float64
			named bool
		}{{"token-introspection+jwt", jwtQ, jwtNamed}, {"json", jsonQ, jsonNamed}} {
			q, named, ok := referenceWeight(accept, "application", c.sub)
			if ok && (q != c.q || named != c.named) {
				t.Fatalf("application/%s in %q: weight %v named %v, reference %v named %v", c.sub, header, c.q, c.named, q, named)
			}
		}
	})
}

var generatedIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// FuzzRequestID checks that a caller's X-Request-Id is kept only when it
// is short and plain (it goes into every log line) and replaced by a
// generated one otherwise.
func FuzzRequestID(f *testing.F) {
	f.Add("")
	f.Add("req-1.a_B")
	f.Add(strings.Repeat("a", maxRequestIDLen))
	f.Add(strings.Repeat("a", maxRequestIDLen+1))
	f.Add("a b\n\"level\":\"ERROR\"")
	f.Add(base64.StdEncoding.EncodeToString([]byte("\xff\x00")))
	plain := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	f.Fuzz(func(t *testing.T, incoming string) {
		got := requestID(incoming)
		if plain.MatchString(incoming) {
			if got != incoming {
				t.Fatalf("requestID(%q) = %q, want it kept", incoming, got)
			}
			return
		}
		if !generatedIDRE.MatchString(got) {
			t.Fatalf("requestID(%q) = %q, want a generated id", incoming, got)
		}
	})
}
