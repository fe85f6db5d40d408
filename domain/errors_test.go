package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func TestErrorWith(t *testing.T) {
	described := domain.ErrInvalidScope.With("scope x is not allowed")

	if described.Code != domain.CodeInvalidScope {
		t.Errorf("With changed the code to %q", described.Code)
	}
	if described.Description != "scope x is not allowed" {
		t.Errorf("With set description %q", described.Description)
	}
	if described == domain.ErrInvalidScope {
		t.Fatalf("With returned the sentinel itself")
	}
	if domain.ErrInvalidScope.Description != "" {
		t.Errorf("With mutated the sentinel: its description is now %q", domain.ErrInvalidScope.Description)
	}
	// A second description derived from the first leaves the first alone.
	again := described.With("other")
	if described.Description != "scope x is not allowed" || again.Description != "other" {
		t.Errorf("With on a described error: original %q, copy %q", described.Description, again.Description)
	}
	scoped := (&domain.Error{Code: domain.CodeInsufficientScope, Scope: "country.read"}).With("needs country.read")
	if scoped.Scope != "country.read" {
		t.Errorf("With dropped Scope: %q", scoped.Scope)
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"sentinel is itself", domain.ErrInvalidClient, domain.ErrInvalidClient, true},
		{"described matches its sentinel", domain.ErrInvalidClient.With("bad secret"), domain.ErrInvalidClient, true},
		{"sentinel matches a described target", domain.ErrInvalidClient, domain.ErrInvalidClient.With("x"), true},
		{"two descriptions, one code", domain.ErrInvalidToken.With("a"), domain.ErrInvalidToken.With("b"), true},
		{"wrapped once", fmt.Errorf("issue token: %w", domain.ErrInvalidScope.With("x")), domain.ErrInvalidScope, true},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.ErrUnauthorizedClient.With("x"))), domain.ErrUnauthorizedClient, true},
		{"joined", errors.Join(errors.New("other"), domain.ErrInvalidGrant), domain.ErrInvalidGrant, true},
		{"struct literal with the code", &domain.Error{Code: domain.CodeInsufficientScope, Scope: "country.read"}, domain.ErrInsufficientScope, true},
		{"other code", domain.ErrInvalidClient.With("x"), domain.ErrInvalidRequest, false},
		{"wrapped other code", fmt.Errorf("x: %w", domain.ErrInvalidToken), domain.ErrInsufficientScope, false},
		{"plain error target", domain.ErrInvalidClient, domain.ErrNotFound, false},
		{"plain error is not an OAuth error", fmt.Errorf("find: %w", domain.ErrNotFound), domain.ErrInvalidClient, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorAsThroughWrapping(t *testing.T) {
	err := fmt.Errorf("issue token: %w", domain.ErrInvalidScope.With("scope x is not allowed"))
	var oerr *domain.Error
	if !errors.As(err, &oerr) {
		t.Fatalf("errors.As found no *domain.Error in %v", err)
	}
	if oerr.Code != domain.CodeInvalidScope || oerr.Description != "scope x is not allowed" {
		t.Errorf("errors.As gave %+v", oerr)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *domain.Error
		want string
	}{
		{domain.ErrInvalidClient, "invalid_client"},
		{domain.ErrInvalidClient.With("client authentication failed"), "invalid_client: client authentication failed"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSentinelCodes(t *testing.T) {
	// Each sentinel carries the RFC code it is named for; a copy-paste slip
	// here would answer clients with the wrong error.
	tests := []struct {
		err  *domain.Error
		code domain.ErrorCode
		wire string
	}{
		{domain.ErrInvalidRequest, domain.CodeInvalidRequest, "invalid_request"},
		{domain.ErrInvalidClient, domain.CodeInvalidClient, "invalid_client"},
		{domain.ErrInvalidGrant, domain.CodeInvalidGrant, "invalid_grant"},
		{domain.ErrUnauthorizedClient, domain.CodeUnauthorizedClient, "unauthorized_client"},
		{domain.ErrUnsupportedGrantType, domain.CodeUnsupportedGrantType, "unsupported_grant_type"},
		{domain.ErrInvalidScope, domain.CodeInvalidScope, "invalid_scope"},
		{domain.ErrInvalidToken, domain.CodeInvalidToken, "invalid_token"},
		{domain.ErrInsufficientScope, domain.CodeInsufficientScope, "insufficient_scope"},
		{domain.ErrInvalidTarget, domain.CodeInvalidTarget, "invalid_target"},
		{domain.ErrInvalidClientMetadata, domain.CodeInvalidClientMetadata, "invalid_client_metadata"},
	}
	for _, tt := range tests {
		if tt.err.Code != tt.code || string(tt.code) != tt.wire {
			t.Errorf("sentinel has code %q, want %q", tt.err.Code, tt.wire)
		}
	}
	if string(domain.CodeServerError) != "server_error" {
		t.Errorf("CodeServerError = %q", domain.CodeServerError)
	}
	if string(domain.CodeUnsupportedTokenType) != "unsupported_token_type" {
		t.Errorf("CodeUnsupportedTokenType = %q", domain.CodeUnsupportedTokenType)
	}
}

func TestErrorBecauseKeepsTheAnswer(t *testing.T) {
	base := domain.ErrInvalidClient.With("client authentication failed")
	e := base.Because("wrong secret")
	if e.Code != base.Code || e.Description != base.Description || e.Error() != base.Error() {
		t.Fatalf("Because changed what is sent: %+v, want %+v", e, base)
	}
	if base.Reason != "" {
		t.Fatalf("Because changed its receiver: %+v", base)
	}
	if got := e.LogReason(); got != "wrong secret" {
		t.Fatalf("LogReason = %q, want the reason", got)
	}
	if got := base.LogReason(); got != "client authentication failed" {
		t.Fatalf("LogReason without a reason = %q, want the description", got)
	}
	if !errors.Is(e, domain.ErrInvalidClient) {
		t.Fatal("an error with a reason is no longer invalid_client")
	}
}
