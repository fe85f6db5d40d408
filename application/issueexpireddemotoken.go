package application

import (
	"context"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// expiredBy is how long ago a playground's expired token expired: well
// past any sensible clock leeway of a resource server.
const expiredBy = time.Hour

// IssueExpiredDemoToken issues, for the playground only, a JWT that
// expired an hour ago to a demo client, so the page can show a resource
// server refusing it. It refuses every other client, and an opaque-token
// client: an expired opaque token is simply gone, and introspects as
// inactive like any unknown one (RFC 7662 §2.2).
type IssueExpiredDemoToken struct {
	issue *IssueToken
}

// NewIssueExpiredDemoToken builds the use case over the token endpoint's.
func NewIssueExpiredDemoToken(issue *IssueToken) *IssueExpiredDemoToken {
	return &IssueExpiredDemoToken{issue: issue}
}

// errNotDemoJWTClient refuses a client the use case does not act for.
var errNotDemoJWTClient = domain.ErrUnauthorizedClient.With("only the demo JWT client gets expired tokens")

// Handle authenticates the client as the token endpoint does, with the
// client_credentials grant whatever in says, and issues its token
// backdated by its lifetime and an hour.
func (h *IssueExpiredDemoToken) Handle(ctx context.Context, in IssueTokenInput) (IssuedToken, error) {
	demo := false
	for _, d := range DemoClients() {
		demo = demo || (d.Client.ID == in.Credentials.ID && d.Client.TokenFormat == domain.FormatJWT)
	}
	if !demo {
		return IssuedToken{}, errNotDemoJWTClient
	}
	in.GrantType, in.Assertion = string(domain.GrantClientCredentials), ""
	return h.issue.issue(ctx, in, true)
}
