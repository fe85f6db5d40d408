package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The playground's expired token: the demo JWT client, authenticated as
// at the token endpoint, gets a JWT that expired an hour ago; the opaque
// demo client and a wrong secret get none.
func TestIssueExpiredDemoToken(t *testing.T) {
	e := newEnv(t)
	h := application.NewIssueExpiredDemoToken(e.issue)
	got, err := h.Handle(t.Context(), application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), Scope: "country.read"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ExpiresIn != -3600 {
		t.Errorf("expires_in %d, want -3600", got.ExpiresIn)
	}
	if _, err := e.verifier.VerifyAccessToken(t.Context(), got.AccessToken); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("the expired token verifies: %v", err)
	}
	e.clock.Advance(-5*time.Hour + time.Minute) // back to when it was valid
	if _, err := e.verifier.VerifyAccessToken(t.Context(), got.AccessToken); err != nil {
		t.Errorf("the token was never valid: %v", err)
	}
	for name, creds := range map[string]application.ClientCredentials{
		"opaque client": post(opaqueClientID, opaqueSecret),
		"wrong secret":  post(jwtClientID, "wrong"),
	} {
		if _, err := h.Handle(t.Context(), application.IssueTokenInput{Credentials: creds}); err == nil {
			t.Errorf("%s: an expired token was issued", name)
		}
	}
}
