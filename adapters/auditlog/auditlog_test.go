package auditlog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/auditlog"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

func record(t *testing.T, level slog.Level, e application.AuditEvent) (map[string]any, bool) {
	t.Helper()
	var out bytes.Buffer
	auditlog.New(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: level}))).Audit(t.Context(), e)
	if out.Len() == 0 {
		return nil, false
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("audit record %q: %v", out.String(), err)
	}
	return r, true
}

// The schema operators rely on: message audit, audit=true, event, and the
// fields the event sets, exp in seconds since the epoch.
func TestAuditRecordShape(t *testing.T) {
	exp := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r, ok := record(t, slog.LevelInfo, application.AuditEvent{
		Kind: application.AuditTokenIssued, ClientID: "c1", Scope: "country.read",
		Audience: []string{"https://api.example.com"}, Format: domain.FormatJWT, JTI: "j1", ExpiresAt: exp, KID: "k1",
	})
	if !ok {
		t.Fatal("no record at info level")
	}
	want := map[string]any{
		"level": "INFO", "msg": "audit", "audit": true, "event": "token_issued", "client_id": "c1",
		"scope": "country.read", "aud": []any{"https://api.example.com"}, "format": "jwt", "jti": "j1",
		"exp": float64(exp.Unix()), "kid": "k1",
	}
	delete(r, "time")
	got, _ := json.Marshal(r)
	exp2, _ := json.Marshal(want)
	if !bytes.Equal(got, exp2) {
		t.Errorf("record %s\nwant   %s", got, exp2)
	}

	r, _ = record(t, slog.LevelInfo, application.AuditEvent{Kind: application.AuditKeyRemoved, KID: "k1"})
	delete(r, "time")
	if got, _ := json.Marshal(r); string(got) != `{"audit":true,"event":"key_removed","kid":"k1","level":"INFO","msg":"audit"}` {
		t.Errorf("key event %s, want only the fields it sets", got)
	}

	if _, ok := record(t, slog.LevelWarn, application.AuditEvent{Kind: application.AuditKeyRemoved, KID: "k1"}); ok {
		t.Error("an audit record was written below the logger's level")
	}
}

// The client events carry their own fields, and never a secret.
func TestAuditClientEvents(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		e    application.AuditEvent
		want string
	}{
		{application.AuditEvent{Kind: application.AuditClientChanged, ClientID: "c1", Changed: []string{"scopes"}},
			`{"audit":true,"changed":["scopes"],"client_id":"c1","event":"client_changed","level":"INFO","msg":"audit"}`},
		{application.AuditEvent{Kind: application.AuditSecretExpired, ClientID: "c1", SecretID: "s1", ExpiresAt: at},
			`{"audit":true,"client_id":"c1","event":"secret_expired","exp":1796126400,"level":"INFO","msg":"audit","secret_id":"s1"}`},
		{application.AuditEvent{Kind: application.AuditClientTokensRevoked, ClientID: "c1", IssuedBefore: at},
			`{"audit":true,"client_id":"c1","event":"client_tokens_revoked","issued_before":1796126400,"level":"INFO","msg":"audit"}`},
		{application.AuditEvent{Kind: application.AuditFederatedIssuerChanged, Issuer: "https://k8s.example"},
			`{"audit":true,"event":"federated_issuer_changed","issuer":"https://k8s.example","level":"INFO","msg":"audit"}`},
	} {
		r, _ := record(t, slog.LevelInfo, c.e)
		delete(r, "time")
		if got, _ := json.Marshal(r); string(got) != c.want {
			t.Errorf("%s: record %s\nwant %s", c.e.Kind, got, c.want)
		}
	}
}
