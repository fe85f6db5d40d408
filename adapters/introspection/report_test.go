package introspection_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/application"
)

// everyCall watches every request and keeps what it hears.
type everyCall struct{ calls []application.UpstreamCall }

func (r *everyCall) Watched(context.Context) bool { return true }
func (r *everyCall) Report(_ context.Context, c application.UpstreamCall) {
	r.calls = append(r.calls, c)
}

// The playground hears of each introspection call as it went, without
// the token or the client's secret.
func TestIntrospectionCallIsReportedWithoutTokenOrSecret(t *testing.T) {
	s := newServer(t)
	c := newClient(s, clientSecret)
	rep := &everyCall{}
	c.ReportTo(rep)
	if _, err := c.IntrospectToken(context.Background(), "active"); err != nil {
		t.Fatal(err)
	}
	if len(rep.calls) != 1 {
		t.Fatalf("%d calls reported, want 1", len(rep.calls))
	}
	call := rep.calls[0]
	if call.Kind != "introspection" || call.Method != "POST" || call.URL != s.URL || call.Status != 200 ||
		!strings.Contains(call.ResponseBody, `"active":true`) {
		t.Errorf("reported %+v", call)
	}
	all := call.RequestBody + call.ResponseBody
	for _, v := range call.RequestHeaders {
		all += v
	}
	if strings.Contains(call.RequestBody, "active") || strings.Contains(all, clientSecret) || strings.Contains(call.RequestHeaders["Authorization"], "Basic cm") {
		t.Errorf("the report carries the token or the credentials: %+v", call)
	}
}
