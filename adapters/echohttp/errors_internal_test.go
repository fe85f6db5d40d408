package echohttp

import (
	"net/http"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

// TestOAuthErrorStatus checks the status and challenge of each OAuth error
// code by where it arose, including codes that no use case behind these
// endpoints returns yet (unsupported_token_type, invalid_client_metadata).
func TestOAuthErrorStatus(t *testing.T) {
	tests := []struct {
		name      string
		code      domain.ErrorCode
		at        endpoint
		basic     bool
		status    int
		challenge string
	}{
		{"invalid_target at the token endpoint", domain.CodeInvalidTarget, tokenEndpoint, false, http.StatusBadRequest, ""},
		{"unsupported_token_type at revocation", domain.CodeUnsupportedTokenType, revocationEndpoint, false, http.StatusBadRequest, ""},
		{"invalid_client_metadata anywhere", domain.CodeInvalidClientMetadata, anyEndpoint, false, http.StatusBadRequest, ""},
		{"unauthorized_client at revocation", domain.CodeUnauthorizedClient, revocationEndpoint, false, http.StatusBadRequest, ""},
		{"unauthorized_client at the token endpoint", domain.CodeUnauthorizedClient, tokenEndpoint, false, http.StatusBadRequest, ""},
		{"unauthorized_client at introspection is forbidden", domain.CodeUnauthorizedClient, introspectionEndpoint, false, http.StatusForbidden, ""},
		{"invalid_client with basic gets a basic challenge", domain.CodeInvalidClient, revocationEndpoint, true, http.StatusUnauthorized, basicChallenge},
		{"invalid_client from the body gets no challenge", domain.CodeInvalidClient, revocationEndpoint, false, http.StatusUnauthorized, ""},
		{"invalid_request with basic gets no challenge", domain.CodeInvalidRequest, revocationEndpoint, true, http.StatusBadRequest, ""},
		// At a protected resource these are the server's own failure.
		{"invalid_target at a resource is the server's", domain.CodeInvalidTarget, protectedResource, false, http.StatusInternalServerError, ""},
		{"unsupported_token_type at a resource is the server's", domain.CodeUnsupportedTokenType, protectedResource, false, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := respond(failedAt(tt.at, tt.basic, &domain.Error{Code: tt.code, Description: "d"}))
			if r.status != tt.status || r.challenge != tt.challenge {
				t.Errorf("at %d (basic %v): status %d, challenge %q; want %d, %q", tt.at, tt.basic, r.status, r.challenge, tt.status, tt.challenge)
			}
		})
	}
}
