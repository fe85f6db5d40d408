package bootstrap

import (
	"log/slog"
	"net/http"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/adapters/playground"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// newPlaygroundHub is the stream of the resource role's upstream calls to
// the playground page; nil when the playground is off, so nothing on the
// token check's path is even asked.
func newPlaygroundHub(c Config) *playground.Hub {
	if !c.PlaygroundEnabled() {
		return nil
	}
	return playground.NewHub()
}

// upstreamReporter is hub as the port, or no reporter at all (never an
// interface holding a nil pointer).
func upstreamReporter(hub *playground.Hub) application.UpstreamReporter {
	if hub == nil {
		return nil
	}
	return hub
}

// resourcePlayground lets the playground's origin call the resource role
// and serves it the stream; off (no CORS at all) without the hub.
func resourcePlayground(c Config, hub *playground.Hub) echohttp.ResourcePlayground {
	if hub == nil {
		return echohttp.ResourcePlayground{}
	}
	return echohttp.ResourcePlayground{Origin: c.PlaygroundOrigin(), Events: hub.Events()}
}

// playgroundPage is the page the auth role serves, nil when off. It runs
// the flows as the demo clients, whose secrets are public anyway.
func playgroundPage(c Config) (http.Handler, error) {
	if !c.PlaygroundEnabled() {
		return nil, nil
	}
	var clients []playground.Client
	for _, d := range application.DemoClients() {
		format := "opaque"
		if d.Client.TokenFormat == domain.FormatJWT {
			format = "jwt"
		}
		clients = append(clients, playground.Client{ID: d.Client.ID, Secret: d.Secret, Format: format, Scopes: []string(d.Client.AllowedScopes)})
	}
	return playground.Page(playground.PageOptions{
		Issuer:              c.Issuer(),
		ResourceURL:         c.PlaygroundResourceURL(),
		TokenPath:           echohttp.TokenPath,
		ExpiredTokenPath:    echohttp.PlaygroundExpiredTokenPath,
		RotateKeysPath:      echohttp.PlaygroundRotateKeysPath,
		RevocationPath:      echohttp.RevocationPath,
		JWKSPath:            echohttp.JWKSPath,
		EventsPath:          echohttp.PlaygroundEventsPath,
		IntrospectionClient: c.ResourceClientID,
		Clients:             clients,
	})
}

// playgroundAPI are the playground's endpoints on the auth role, none
// when it is off.
func playgroundAPI(c Config, expired *application.IssueExpiredDemoToken, rotate *application.RotateDemoKeys) echohttp.PlaygroundAPI {
	if !c.PlaygroundEnabled() {
		return echohttp.PlaygroundAPI{}
	}
	return echohttp.PlaygroundAPI{Origin: c.PlaygroundOrigin(), Expired: expired, Rotate: rotate}
}

// logPlayground says at start whether the playground is on, and where.
func logPlayground(log *slog.Logger, c Config) {
	if !c.PlaygroundEnabled() {
		log.Info("playground is off", "setting", "playground="+string(c.Playground))
		return
	}
	log.Info("playground is on: both seed flows, run from the browser", "url", c.Issuer()+echohttp.PlaygroundPath+"/",
		"resource", c.PlaygroundResourceURL(), "setting", "playground="+string(c.Playground))
}
