package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestPrometheusScrapesTheManagementListener: a real Prometheus (Debian's
// package, which .ci/tools installs) scrapes a node's admin-addr, and the
// exposition passes promtool's checks; the counts it stores are the
// requests the node answered.
func TestPrometheusScrapesTheManagementListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and a Prometheus server")
	}
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: bash .ci/tools installs it", tool)
		}
	}
	// One client gets a label of its own, the next counts as "other".
	n := startNode(t, func(c *bootstrap.Config) { c.MetricsClientLimit = 1 })
	metricsURL := "http://" + n.Config.AdminAddr + "/metrics"
	var jwt string
	for range 3 {
		jwt = n.token(t, jwtClient[0], jwtClient[1], "country.read")
	}
	// The second use of a JWT is a hit of the resource role's cache.
	for range 2 {
		if r := get(t, n.ResourceURL+"/country/code/AUS", jwt); r.Status != http.StatusOK {
			t.Fatalf("a country with a token: %d", r.Status)
		}
	}
	if r := get(t, n.ResourceURL+"/country/code/AUS", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("a country without a token: %d", r.Status)
	}
	// An opaque token: the resource role introspects it over HTTP.
	opaque := n.token(t, opaqueClient[0], opaqueClient[1], "country.read")
	if r := get(t, n.ResourceURL+"/country/code/AUS", opaque); r.Status != http.StatusOK {
		t.Fatalf("a country with an opaque token: %d", r.Status)
	}
	// Refusals, counted by why.
	for _, secret := range []string{"not-the-secret", "not-the-secret-either"} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {jwtClient[0]}, "client_secret": {secret}}
		if r := postForm(t, n.AuthURL+"/oauth2/token", form, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("a wrong secret: %d", r.Status)
		}
	}
	// The public listeners do not serve the metrics.
	if r := get(t, n.AuthURL+"/metrics", ""); r.Status != http.StatusNotFound {
		t.Errorf("the auth listener answers /metrics with %d", r.Status)
	}

	scrape := get(t, metricsURL, "")
	if scrape.Status != http.StatusOK || !bytes.Contains(scrape.Body, []byte("go_build_info")) {
		t.Fatalf("GET %s: %d\n%s", metricsURL, scrape.Status, scrape.Body)
	}
	for _, line := range []string{
		`sigil_signing_keys{algorithm="RS256",state="active"} 1`,
		`sigil_signing_keys{algorithm="RS256",state="published"} 0`,
		"sigil_signing_key_next_rotation_timestamp_seconds ",
		`sigil_cache_lookups_total{cache="jwt",result="hit"} 1`,
		`sigil_cache_lookups_total{cache="jwt",result="miss"} 1`,
		`sigil_cache_lookups_total{cache="credential",result="hit"} 3`,
		`sigil_hashes_total{result="match"} 2`,
		`sigil_hashes_total{result="mismatch"} 2`,
		`sigil_tokens_issued_total{algorithm="RS256",format="jwt"} 3`,
		"sigil_hash_slots 1",
		`sigil_client_auth_failures_total{reason="wrong secret"} 2`,
		`sigil_tokens_issued_by_client_total{client_id="service-client-jwt"} 3`,
		`sigil_tokens_issued_by_client_total{client_id="other"} 1`,
		`sigil_upstream_requests_total{call="jwks",outcome="success"} 1`,
		`sigil_upstream_requests_total{call="introspection",outcome="success"} 1`,
		`sigil_upstream_request_duration_seconds_count{call="introspection"} 1`,
		`sigil_store_call_duration_seconds_count{operation="query",store="database"} `,
		`go_sql_open_connections{db_name="sqlite"} `,
	} {
		if !bytes.Contains(scrape.Body, []byte("\n"+line)) {
			t.Errorf("the scrape has no line %q", line)
		}
	}
	check := exec.Command("promtool", "check", "metrics")
	check.Stdin = bytes.NewReader(scrape.Body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(
		"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sigil\n    static_configs:\n      - targets: [%q]\n",
		n.Config.AdminAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	web := "127.0.0.1:" + strconv.Itoa(freePort(t))
	prom := exec.Command("prometheus", "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	var promLog bytes.Buffer
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Process.Kill(); _ = prom.Wait() })

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var answer struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&answer) != nil || len(answer.Data.Result) != 1 {
			return 0, false
		}
		s, _ := answer.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	want := map[string]float64{
		`up{job="sigil"}`:                    1,
		`sigil_signing_keys{state="active"}`: 1,
		`sigil_http_requests_total{role="auth",route="/ms-auth-server/oauth2/token",method="POST",code="200"}`: 4,
		`sigil_http_requests_total{role="resource",route="/ms-system/country/code/:code",code="401"}`:          1,
		`sigil_http_request_duration_seconds_count{role="auth",route="/ms-auth-server/oauth2/token"}`:          6,
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, v := range want {
		for {
			got, ok := query(q)
			if ok && got == v {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus has %s = %v (%v), want %v\n%s", q, got, ok, v, strings.TrimSpace(promLog.String()))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
