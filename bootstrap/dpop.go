package bootstrap

import (
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
)

// memoryReplayIDs bounds the DPoP proof ids a resource node without Redis
// remembers: about 100 bytes each, so 100 MB at most; at a minute's
// window, 16,000 proofs a second.
const memoryReplayIDs = 1_000_000

// newDPoPProofs reads DPoP proofs with the fixed allow-list of
// josekit.DefaultDPoPAlgorithms.
func newDPoPProofs() (*josekit.DPoPProofs, error) { return josekit.NewDPoPProofs(nil) }

// dpopAlgorithmNames is that allow-list, for the metadata.
func dpopAlgorithmNames() []string {
	out := make([]string, len(josekit.DefaultDPoPAlgorithms))
	for i, a := range josekit.DefaultDPoPAlgorithms {
		out[i] = string(a)
	}
	return out
}

// authDPoP makes the token endpoint accept DPoP proofs made for its URL
// (RFC 9449 §5), their ids kept in the replay guard every auth node
// shares (Redis, or the database), as client assertions' are.
var authDPoP = fx.Options(
	fx.Provide(fx.Private, newDPoPProofs),
	fx.Invoke(func(h *application.IssueToken, proofs *josekit.DPoPProofs, replays application.ReplayGuard, clock application.Clock, c Config) {
		h.BindDPoP(application.NewDPoPCheck(proofs, replays, clock, c.DPoPProofWindow), c.Issuer()+echohttp.TokenPath)
	}),
)

// resourceDPoP makes the protected resource accept DPoP-bound tokens
// (RFC 9449 §7). Proof ids go to Redis when it is configured, so that
// every resource node sharing it refuses a replay; without Redis each
// node remembers them in memory, and a proof replayed to another node
// is caught there only by its iat window and htu. The database is not
// used: a resource node's database may be its own, for the countries, and
// a write per request would put it on the hot path.
var resourceDPoP = fx.Options(
	fx.Provide(fx.Private, newDPoPProofs),
	fx.Invoke(func(h *application.AuthorizeBearer, proofs *josekit.DPoPProofs, replays application.ReplayGuard, clock application.Clock, c Config) {
		guard := replays
		if c.RedisAddr == "" {
			guard = application.NewMemoryReplayGuard(clock, memoryReplayIDs)
		}
		h.CheckDPoP(application.NewDPoPCheck(proofs, guard, clock, c.DPoPProofWindow))
	}),
)
