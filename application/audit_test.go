package application_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// Each token issued and revoked leaves one audit event naming the client,
// the token's jti and expiry, and for an issue its scopes, audience and
// format; a refused request leaves none, and no event holds the token.
func TestTokensLeaveAnAuditTrail(t *testing.T) {
	e := newEnv(t)
	audits := &fakes.Auditor{}
	e.issue.AuditTo(audits)
	e.revoke.AuditTo(audits)

	for _, tt := range []struct {
		client, secret string
		format         domain.TokenFormat
	}{
		{jwtClientID, jwtSecret, domain.FormatJWT},
		{opaqueClientID, opaqueSecret, domain.FormatOpaque},
	} {
		t.Run(string(tt.format), func(t *testing.T) {
			before := len(audits.Events())
			raw := e.issueToken(t, tt.client, tt.secret, "country.read").AccessToken
			tok := e.issued(t, raw)
			if _, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
				Credentials: post(tt.client, "wrong"), GrantType: "client_credentials",
			}); err == nil {
				t.Fatal("a wrong secret was issued a token")
			}
			if err := e.revokeAs(t, tt.client, tt.secret, raw); err != nil {
				t.Fatal(err)
			}
			got := audits.Events()[before:]
			if len(got) != 2 {
				t.Fatalf("audit events %+v, want one issue and one revocation", got)
			}
			issued, revoked := got[0], got[1]
			if issued.Kind != application.AuditTokenIssued || issued.ClientID != tt.client || issued.Scope != "country.read" ||
				issued.Format != tt.format || issued.JTI != tok.ID || !issued.ExpiresAt.Equal(tok.ExpiresAt) ||
				!slices.Equal(issued.Audience, tok.Audience) || len(issued.Audience) == 0 {
				t.Errorf("issue event %+v, want the token %+v", issued, tok)
			}
			if (issued.KID != "") != (tt.format == domain.FormatJWT) || (tt.format == domain.FormatJWT && issued.KID != e.activeKey.ID) {
				t.Errorf("issue event kid %q, want the signing key's for a JWT only", issued.KID)
			}
			if revoked.Kind != application.AuditTokenRevoked || revoked.ClientID != tt.client || revoked.JTI != tok.ID ||
				revoked.Format != tt.format || !revoked.ExpiresAt.Equal(tok.ExpiresAt) {
				t.Errorf("revocation event %+v, want the token %+v", revoked, tok)
			}
			for _, ev := range got {
				for _, field := range []string{ev.ClientID, ev.Scope, ev.JTI, ev.KID, strings.Join(ev.Audience, " ")} {
					if strings.Contains(field, raw) {
						t.Errorf("audit event holds the token: %+v", ev)
					}
				}
			}
		})
	}
}
