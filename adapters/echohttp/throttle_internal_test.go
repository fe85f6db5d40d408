package echohttp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/domain"
)

func TestThrottledRequestsAreAskedToComeBack(t *testing.T) {
	tests := []struct {
		reason     domain.ThrottleReason
		after      time.Duration
		status     int
		retryAfter string
	}{
		{domain.ThrottledFailures, 5500 * time.Millisecond, http.StatusTooManyRequests, "6"},
		{domain.ThrottledRate, 10 * time.Millisecond, http.StatusTooManyRequests, "1"},
		{domain.ThrottledBusy, time.Second, http.StatusServiceUnavailable, "1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.reason), func(t *testing.T) {
			err := failedAt(tokenEndpoint, true, fmt.Errorf("authenticate: %w", &domain.Throttled{Reason: tt.reason, RetryAfter: tt.after}))
			e := echo.New()
			s := &server{log: slog.New(slog.DiscardHandler)}
			rec := httptest.NewRecorder()
			s.handleError(err, e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec))
			if rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retryAfter {
				t.Errorf("status %d, Retry-After %q; want %d, %q", rec.Code, rec.Header().Get("Retry-After"), tt.status, tt.retryAfter)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != "temporarily_unavailable" {
				t.Errorf("body %s, want error temporarily_unavailable", rec.Body)
			}
			// Not invalid_client, and so no Basic challenge: the
			// credentials were never looked at.
			if rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("challenge %q on a throttled request", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestClientAddressTrustsOnlyConfiguredProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     string
		want    string
	}{
		{"no proxy configured: the header is ignored", nil, "192.0.2.7:4000", "203.0.113.9", "192.0.2.7"},
		{"no proxy configured, even from loopback", nil, "127.0.0.1:4000", "203.0.113.9", "127.0.0.1"},
		{"through a trusted proxy", proxies, "10.1.2.3:4000", "203.0.113.9", "203.0.113.9"},
		{"the rightmost untrusted hop wins, not what the client wrote", proxies, "10.1.2.3:4000", "198.51.100.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"},
		{"a peer that is no proxy", proxies, "192.0.2.7:4000", "203.0.113.9", "192.0.2.7"},
		{"loopback is no proxy unless configured", proxies, "127.0.0.1:4000", "203.0.113.9", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = ipExtractor(tt.trusted)
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", tt.xff)
			req.Header.Set("X-Real-IP", "198.51.100.200")
			if got := clientAddress(e.NewContext(req, httptest.NewRecorder())); got.String() != tt.want {
				t.Errorf("address %s, want %s", got, tt.want)
			}
		})
	}
}
