package main

import (
	"os"
	"testing"
	"time"
)

// The fixtures are hey v0.1.5's real output, captured against sigil.
// hey-healthz.txt: GET /healthz, every answer 200. hey-token.txt: the
// token endpoint with client_secret_basic, 200s. hey-401.txt: the token
// endpoint with hey's -a flag, which hey drops, so every answer is 401.
// hey-refused.txt: a closed port, no answer at all, only errors.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestParseHeyReadsTheSummaryOfASuccessfulRun(t *testing.T) {
	got, err := parseHey(readFixture(t, "hey-healthz.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3002600 * time.Microsecond; got.Total != want {
		t.Errorf("Total = %v, want %v", got.Total, want)
	}
	if got.RPS != 19892.3385 {
		t.Errorf("RPS = %v, want 19892.3385", got.RPS)
	}
	if want := 1300 * time.Microsecond; got.Latency[50] != want {
		t.Errorf("p50 = %v, want %v", got.Latency[50], want)
	}
	if want := 7 * time.Millisecond; got.Latency[99] != want {
		t.Errorf("p99 = %v, want %v", got.Latency[99], want)
	}
	if len(got.Latency) != 7 {
		t.Errorf("percentiles = %v, want the 7 hey prints", got.Latency)
	}
	if got.OK() != 59728 || got.Errors() != 0 {
		t.Errorf("OK, Errors = %d, %d; want 59728, 0", got.OK(), got.Errors())
	}
}

func TestParseHeyReadsSlowLatenciesInSeconds(t *testing.T) {
	got, err := parseHey(readFixture(t, "hey-token.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 652400 * time.Microsecond; got.Latency[50] != want {
		t.Errorf("p50 = %v, want %v", got.Latency[50], want)
	}
	if got.OK() != 123 || got.Errors() != 0 {
		t.Errorf("OK, Errors = %d, %d; want 123, 0", got.OK(), got.Errors())
	}
}

func TestParseHeyCountsNon2xxAnswersAsErrors(t *testing.T) {
	got, err := parseHey(readFixture(t, "hey-401.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status[401] != 49001 {
		t.Errorf("Status = %v, want 49001 answers of 401", got.Status)
	}
	if got.OK() != 0 || got.Errors() != 49001 {
		t.Errorf("OK, Errors = %d, %d; want 0, 49001", got.OK(), got.Errors())
	}
}

func TestParseHeyCountsRequestsWithoutAnswerAsErrors(t *testing.T) {
	got, err := parseHey(readFixture(t, "hey-refused.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Failures != 20 || got.Errors() != 20 || got.OK() != 0 {
		t.Errorf("Failures, Errors, OK = %d, %d, %d; want 20, 20, 0", got.Failures, got.Errors(), got.OK())
	}
	if got.Latency[50] != 0 {
		t.Errorf("p50 = %v with no answer, want 0", got.Latency[50])
	}
}

func TestParseHeyRefusesOutputWithoutSummary(t *testing.T) {
	for _, out := range []string{"", "hey: some usage error\n", "\nSummary:\n  Total:\tsoon secs\n"} {
		if _, err := parseHey(out); err == nil {
			t.Errorf("parseHey(%q) succeeded, want an error", out)
		}
	}
}
