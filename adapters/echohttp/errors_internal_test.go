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
		code      domain.ErrorCode
		at        endpoint
		basic     bool
		status    int
		challenge string
	}{
		{domain.CodeInvalidTarget, tokenEndpoint, false, http.StatusBadRequest, ""},
		{domain.CodeUnsupportedTokenType, revocationEndpoint, false, http.StatusBadRequest, ""},
		{domain.CodeInvalidClientMetadata, anyEndpoint, false, http.StatusBadRequest, ""},
		{domain.CodeUnauthorizedClient, revocationEndpoint, false, http.StatusBadRequest, ""},
		{domain.CodeUnauthorizedClient, tokenEndpoint, false, http.StatusBadRequest, ""},
		{domain.CodeUnauthorizedClient, introspectionEndpoint, false, http.StatusForbidden, ""},
		{domain.CodeInvalidClient, revocationEndpoint, true, http.StatusUnauthorized, basicChallenge},
		{domain.CodeInvalidClient, revocationEndpoint, false, http.StatusUnauthorized, ""},
		{domain.CodeInvalidRequest, revocationEndpoint, true, http.StatusBadRequest, ""},
		// At a protected resource these are the server's own failure.
		{domain.CodeInvalidTarget, protectedResource, false, http.StatusInternalServerError, ""},
		{domain.CodeUnsupportedTokenType, protectedResource, false, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			r := respond(failedAt(tt.at, tt.basic, &domain.Error{Code: tt.code, Description: "d"}))
			if r.status != tt.status || r.challenge != tt.challenge {
				t.Errorf("at %d (basic %v): status %d, challenge %q; want %d, %q", tt.at, tt.basic, r.status, r.challenge, tt.status, tt.challenge)
			}
		})
	}
}
