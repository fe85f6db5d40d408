package adminhttp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/adminhttp"
	"github.com/sigilauth/sigil/domain"
)

func TestFederatedIssuerLifecycle(t *testing.T) {
	srv, o := newServer(t, hashOf(token))
	auth := "Bearer " + token
	path := "/admin/v1" + adminhttp.FederatedIssuerPath("https://k8s.example")
	if path != "/admin/v1/federation/issuers/https:%2F%2Fk8s.example" {
		t.Fatalf("path %s: want the issuer escaped into one segment", path)
	}
	for _, p := range []string{"/admin/v1/federation/issuers", path} {
		wantProblem(t, call(t, srv, http.MethodGet, p, "", ""), http.StatusUnauthorized, "unauthorized")
	}
	wantProblem(t, call(t, srv, http.MethodPut, path, "", `{}`), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, call(t, srv, http.MethodDelete, path, "Bearer wrong", ""), http.StatusUnauthorized, "unauthorized")

	body := `{"jwks":{"keys":[]},"max_lifetime":"30m","clients":[{"client":"orders","sub":"system:serviceaccount:shop:orders"}]}`
	a := call(t, srv, http.MethodPut, path, auth, body)
	if a.status != http.StatusCreated || a.header.Get("Location") != path {
		t.Fatalf("create: %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if a := call(t, srv, http.MethodPut, path, auth, body); a.status != http.StatusOK {
		t.Fatalf("replace: %d %s", a.status, a.body)
	}
	got := call(t, srv, http.MethodGet, path, auth, "")
	var one struct {
		Issuer  string          `json:"issuer"`
		JWKS    json.RawMessage `json:"jwks"`
		Clients []struct {
			Sub string `json:"sub"`
		} `json:"clients"`
	}
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &one) != nil || one.Issuer != "https://k8s.example" ||
		string(one.JWKS) != `{"keys":[]}` || one.Clients[0].Sub != "system:serviceaccount:shop:orders" {
		t.Fatalf("get: %d %s", got.status, got.body)
	}
	list := call(t, srv, http.MethodGet, "/admin/v1/federation/issuers", auth, "")
	if list.status != http.StatusOK || !strings.Contains(list.body, `"issuer":"https://k8s.example"`) || strings.Contains(list.body, "file.example") {
		t.Fatalf("list: %d %s", list.status, list.body)
	}

	bad := call(t, srv, http.MethodPut, path, auth, `{"algorithms":["HS256"],"clients":[{"client":"orders","sub":"x"}]}`)
	wantProblem(t, bad, http.StatusUnprocessableEntity, "invalid_federated_issuer")
	if !strings.Contains(bad.body, `algorithm \"HS256\" not allowed`) {
		t.Errorf("refusal %s lacks the federation file's message", bad.body)
	}
	wantProblem(t, call(t, srv, http.MethodPut, path, auth, `{"issuer":"https://other.example","clients":[{"client":"a","sub":"b"}]}`),
		http.StatusUnprocessableEntity, "invalid_federated_issuer")
	wantProblem(t, call(t, srv, http.MethodPut, path, auth, `{"audience":"x"}`), http.StatusBadRequest, "invalid_request")

	file := "/admin/v1" + adminhttp.FederatedIssuerPath("https://file.example")
	conflict := call(t, srv, http.MethodPut, file, auth, `{"clients":[{"client":"a","sub":"b"}]}`)
	wantProblem(t, conflict, http.StatusConflict, "conflict")
	if !strings.Contains(conflict.body, "federation file") {
		t.Errorf("conflict %s does not say the file defines the issuer", conflict.body)
	}
	wantProblem(t, call(t, srv, http.MethodDelete, file, auth, ""), http.StatusConflict, "conflict")

	if a := call(t, srv, http.MethodDelete, path, auth, ""); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	wantProblem(t, call(t, srv, http.MethodGet, path, auth, ""), http.StatusNotFound, "not_found")
	wantProblem(t, call(t, srv, http.MethodDelete, path, auth, ""), http.StatusNotFound, "not_found")
	wantProblem(t, call(t, srv, http.MethodGet, "/admin/v1/federation/issuers/"+url.PathEscape("https://nobody.example"), auth, ""), http.StatusNotFound, "not_found")

	var changes int
	for _, e := range o.events.Published() {
		if e.Kind == domain.EventFederationChanged {
			changes++
		}
	}
	if changes != 3 {
		t.Errorf("%d federation changes announced, want 3 (create, replace, delete)", changes)
	}
}
