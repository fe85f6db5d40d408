package e2e_test

import (
	"net"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestSeparateRoles deploys the two roles as separate processes would be:
// an auth node and a resource node with its own database, the resource
// node reaching the auth node only over HTTP (JWKS and introspection).
func TestSeparateRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	auth := startNode(t, func(c *bootstrap.Config) { c.Role = bootstrap.RoleAuth })
	res := startNode(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleResource
		c.ResourceIssuer = auth.Config.Issuer()
	})

	for _, token := range []string{
		auth.token(t, jwtClient[0], jwtClient[1], "country.read"),
		auth.token(t, opaqueClient[0], opaqueClient[1], "country.read"),
	} {
		wantCountryAUS(t, get(t, res.ResourceURL+"/country/code/AUS", token))
	}

	// Each node listens only for its own role.
	for _, addr := range []string{auth.Config.ResourceAddr, res.Config.AuthAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s is listening but its role is not running there", addr)
		}
	}
}
