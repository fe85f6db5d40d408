package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestRegistrationInterop runs panva's oauth4webapi for Node (test/e2e/node,
// pinned by its package-lock.json; .ci/run installs it with npm ci): a
// client that knows only the resource discovers its authorization server
// (RFC 9728), registers itself (RFC 7591), gets a token and calls the
// resource.
func TestRegistrationInterop(t *testing.T) {
	client := nodeClient(t, "oauth4webapi")
	sum := sha256.Sum256([]byte(registrationIAT))
	n := startNode(t, func(c *bootstrap.Config) { c.RegistrationTokenSHA256 = hex.EncodeToString(sum[:]) })
	out := client.run(t, "registration-client.mjs",
		n.Config.ResourceURL(), n.Config.ResourceURL()+"/country/code/AUS", registrationIAT)
	var r struct {
		RegistrationEndpoint string         `json:"registration_endpoint"`
		ClientID             string         `json:"client_id"`
		TokenType            string         `json:"token_type"`
		ResourceStatus       int            `json:"resource_status"`
		ResourceBody         map[string]any `json:"resource_body"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node client printed %q: %v", out, err)
	}
	if r.RegistrationEndpoint != n.Config.Issuer()+"/oauth2/register" || r.ClientID == "" || r.TokenType != "bearer" ||
		r.ResourceStatus != 200 || r.ResourceBody["code"] != "AUS" {
		t.Errorf("node client saw %+v", r)
	}
}
