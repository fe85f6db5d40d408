package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fixtures are wrk 4.1.0's real output with the harness's done hook,
// captured against sigil. wrk-token.txt: the token endpoint, every answer
// 200. wrk-401.txt: the token endpoint with a wrong secret, every answer
// 401. wrk-closed.txt: a server that closes every connection at once,
// so no request gets an answer.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestParseWrkReadsTheSummaryOfASuccessfulRun(t *testing.T) {
	got, err := parseWrk(readFixture(t, "wrk-token.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests == 0 || got.Errors() != 0 || got.OK() != got.Requests {
		t.Errorf("requests %d, ok %d, errors %d: want every request ok", got.Requests, got.OK(), got.Errors())
	}
	if got.Duration < time.Second || got.Duration > 2*time.Second {
		t.Errorf("Duration = %v, want about the 1s the fixture ran", got.Duration)
	}
	if got.P50 <= 0 || got.P99 < got.P50 {
		t.Errorf("p50 %v, p99 %v: want 0 < p50 <= p99", got.P50, got.P99)
	}
}

func TestParseWrkCountsErrorAnswersAsErrors(t *testing.T) {
	got, err := parseWrk(readFixture(t, "wrk-401.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests == 0 || got.OK() != 0 || got.Errors() != got.Requests {
		t.Errorf("requests %d, ok %d, errors %d: want every answer an error", got.Requests, got.OK(), got.Errors())
	}
}

func TestParseWrkCountsRequestsWithoutAnAnswer(t *testing.T) {
	got, err := parseWrk(readFixture(t, "wrk-closed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.OK() != 0 || got.NoAnswer == 0 {
		t.Errorf("ok %d, without answer %d: want none ok and some without an answer", got.OK(), got.NoAnswer)
	}
}

func TestParseWrkFailsWithoutTheSummaryLine(t *testing.T) {
	for _, out := range []string{
		"Running 1s test @ http://127.0.0.1:1/\n  1 threads and 1 connections\n",
		summaryTag + " requests=5 duration_us=1000\n", // fields missing
		summaryTag + " requests=five duration_us=1000 status_errors=0 connect=0 read=0 write=0 timeout=0 p50_us=1 p99_us=1\n",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("parseWrk(%q) = nil error, want one", out)
		}
	}
}

func TestWrkScriptQuotesValuesAndRefusesWhatItCannotQuote(t *testing.T) {
	r := request{
		Method: "POST",
		URL:    "http://127.0.0.1:1/t",
		Header: map[string]string{"Authorization": `Basic a"b\c`},
		Body:   "grant_type=client_credentials",
	}
	script, err := r.wrkScript()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`wrk.method = "POST"`,
		`wrk.body = "grant_type=client_credentials"`,
		`wrk.headers["Authorization"] = "Basic a\"b\\c"`,
		`wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"`,
		"done = function(summary, latency, requests)",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %s:\n%s", want, script)
		}
	}
	r.Body = "a\nb"
	if _, err := r.wrkScript(); err == nil {
		t.Error("a newline in the body was accepted; want an error")
	}
}

// TestWrkRunsTheScriptAndReportsWhatTheServerSaw checks the script
// against wrk itself when the machine has it: wrk must accept the Lua,
// send the method, headers and body, and print the summary line.
func TestWrkRunsTheScriptAndReportsWhatTheServerSaw(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (go tool task bench installs it)")
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("X-A") != "b" || string(body) != "k=v" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "not the scenario's request", http.StatusBadRequest)
			return
		}
		served.Add(1)
	}))
	defer srv.Close()
	r := request{Method: http.MethodPost, URL: srv.URL, Header: map[string]string{"X-A": "b"}, Body: "k=v"}
	res, err := runWrk(t.Context(), wrk, r, load{Threads: 1, Connections: 2}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() == 0 || res.Errors() != 0 || int64(res.OK()) > served.Load() {
		t.Errorf("wrk: ok %d, errors %d; server served %d", res.OK(), res.Errors(), served.Load())
	}
}
