package domain

import "slices"

// Profile is a security profile a client, or the whole server, follows.
type Profile string

// ProfileFAPI2 is the FAPI 2.0 Security Profile (final, 2025), as it
// applies to a client_credentials server: sender-constrained tokens only
// (§5.3.2.1 item 8, §5.3.3.1), private_key_jwt or mutual TLS only
// (§5.3.2.1 item 4), and PS256, ES256 or EdDSA only (§5.4.1).
const ProfileFAPI2 Profile = "fapi2"

// FAPI2Algorithms are the signing algorithms FAPI 2.0 §5.4.1 allows.
var FAPI2Algorithms = []Algorithm{PS256, ES256, EdDSA}

// FAPI2AuthMethods are the client authentication methods FAPI 2.0
// §5.3.2.1 item 4 allows.
var FAPI2AuthMethods = []AuthMethod{AuthPrivateKeyJWT, AuthTLSClientAuth, AuthSelfSignedTLSClientAuth}

// FAPI2 reports whether the client follows FAPI 2.0.
func (c Client) FAPI2() bool { return c.Profile == ProfileFAPI2 }

// UnderProfile is c as a server following p treats it: a server-wide
// FAPI 2.0 profile makes every client a FAPI 2.0 client.
func (c Client) UnderProfile(p Profile) Client {
	if p == ProfileFAPI2 {
		c.Profile = ProfileFAPI2
	}
	return c
}

// FAPI2Algorithm reports whether FAPI 2.0 allows a.
func FAPI2Algorithm(a Algorithm) bool { return slices.Contains(FAPI2Algorithms, a) }

// Refusals of the FAPI 2.0 profile, safe to show the client.
var (
	ErrFAPI2SenderConstrained = ErrInvalidRequest.With("FAPI 2.0: the token must be sender-constrained: send a DPoP proof or present a TLS client certificate")
	ErrFAPI2Algorithm         = ErrInvalidClient.With("FAPI 2.0: the client assertion must be signed with PS256, ES256 or EdDSA")
	ErrFAPI2ProofAlgorithm    = ErrInvalidDPoPProof.With("FAPI 2.0: the DPoP proof must be signed with PS256, ES256 or EdDSA")
	ErrFAPI2BearerToken       = ErrInvalidToken.With("FAPI 2.0: only sender-constrained tokens are accepted here")
)

func (c Client) validateProfile() error {
	switch c.Profile {
	case "":
		return nil
	case ProfileFAPI2:
		for _, m := range c.AuthMethods {
			if !slices.Contains(FAPI2AuthMethods, m) {
				return ErrInvalidClientMetadata.With("a fapi2 client may authenticate only with private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not " + string(m))
			}
		}
		return nil
	}
	return ErrInvalidClientMetadata.With("profile must be empty or fapi2")
}
