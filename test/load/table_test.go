package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleRows() []row {
	return []row{
		{Scenario: "token, JWT RS256", Reference: rawRS256, Ceiling: ceiling, Target: 0.90,
			Result: measurement{RPS: 1520, P50: 18 * time.Millisecond, P99: 61 * time.Millisecond, CPU: 1.71, LoadCPU: 0.08}},
		{Scenario: "token, opaque in Redis", Reference: ceiling, Target: 0.45,
			Result: measurement{RPS: 36.6, P50: 790 * time.Millisecond, P99: 2 * time.Second, CPU: 1.56}},
		{Scenario: "resource GET, JWT", Reference: ceiling, Target: 0.60,
			Result: measurement{RPS: 12000, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Errors: 3, CPU: 1.1}},
		{Scenario: "resource GET, opaque", Reference: ceiling, Target: 0.55,
			Failure: "probe GET http://x/ms-system/country/code/AUS: 503 {\"error\":\"a|b\"}\nmore"},
		{Scenario: ceiling, Result: measurement{RPS: 18703, P50: 1400 * time.Microsecond, P99: 7800 * time.Microsecond, CPU: 0.84}},
		{Scenario: rawRS256, Result: measurement{RPS: 1600, CPU: 1.98}},
	}
}

// line returns the table line of a scenario, split into trimmed cells.
func line(t *testing.T, table, scenario string) []string {
	t.Helper()
	for l := range strings.Lines(table) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), " | ")
		if strings.TrimSpace(cells[0]) == scenario {
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no line for %q in\n%s", scenario, table)
	return nil
}

func TestFormatTableComparesEachRowWithItsReferenceFromTheSameRun(t *testing.T) {
	table := formatTable(sampleRows())
	want := map[string][]string{
		// 1520 / 1600 + 1520 / 18703 = 0.95 + 0.081 ≥ 0.90
		"token, JWT RS256": {"token, JWT RS256", "1520", "18 ms", "61 ms", "0", "1.71", "0.08", rawRS256 + " + " + ceiling, "1.03", "≥ 0.90",
			"pass (0.95 of the raw rate + 0.081 of the ceiling)"},
		// 36.6 / 18703 is far below: three decimals so it does not read 0.00
		"token, opaque in Redis": {"token, opaque in Redis", "36.6", "790 ms", "2000 ms", "0", "1.56", "—", ceiling, "0.002", "≥ 0.45", "FAIL"},
		// 12000 / 18703 = 0.64 meets 0.60, but errors fail the row
		"resource GET, JWT": {"resource GET, JWT", "12000", "2.0 ms", "9.0 ms", "3", "1.10", "—", ceiling, "0.64", "≥ 0.60", "FAIL"},
		// references have no ratio, target or verdict
		ceiling:  {ceiling, "18703", "1.4 ms", "7.8 ms", "0", "0.84", "—", "—", "—", "—", ""},
		rawRS256: {rawRS256, "1600", "—", "—", "0", "1.98", "—", "—", "—", "—", ""},
	}
	for scenario, cells := range want {
		got := line(t, table, scenario)
		if strings.Join(got, " | ") != strings.Join(cells, " | ") {
			t.Errorf("line of %q:\n got %q\nwant %q", scenario, got, cells)
		}
	}
}

func TestFormatTableShowsWhyAScenarioCouldNotRunOnOneLine(t *testing.T) {
	table := formatTable(sampleRows())
	got := line(t, table, "resource GET, opaque")
	if len(got) != 11 {
		t.Fatalf("line has %d cells, want 11: %q", len(got), got)
	}
	if !strings.HasPrefix(got[10], "could not run: probe GET") || !strings.Contains(got[10], `a\|b`) {
		t.Errorf("result cell = %q, want the failure with its | escaped", got[10])
	}
	if n := strings.Count(table, "\n"); n != 2+len(sampleRows()) {
		t.Errorf("table has %d lines, want header, separator and one per row:\n%s", n, table)
	}
}

func TestFormatTableHasNoRatioWhenTheReferenceDidNotRun(t *testing.T) {
	for _, failed := range []int{4, 5} { // the ceiling, the raw signing rate
		rows := sampleRows()
		rows[failed].Failure = "interrupted"
		got := line(t, formatTable(rows), "token, JWT RS256")
		if got[8] != "—" || got[10] != "" {
			t.Errorf("%s did not run: ratio, result = %q, %q; want —, empty", rows[failed].Scenario, got[8], got[10])
		}
	}
}

// A server whose token costs one signature and one trivial request, and
// nothing else, issues 1/(1/S + 1/H) tokens a second: its signing row
// must read 1 whether the signature dominates (RSA), is as dear as the
// request, or is the cheaper part, which is what lets one target hold on
// machines whose cryptography is faster or slower than their HTTP.
func TestASigningRowReadsOneForAServerThatOnlySignsAndAnswers(t *testing.T) {
	for _, c := range []struct{ raw, ceiling float64 }{{2300, 43000}, {40000, 40000}, {90000, 68000}} {
		r := row{Scenario: "token", Reference: "raw", Ceiling: "ceiling", Target: 0.9,
			Result: measurement{RPS: 1 / (1/c.raw + 1/c.ceiling)}}
		rows := []row{r, {Scenario: "raw", Result: measurement{RPS: c.raw}}, {Scenario: "ceiling", Result: measurement{RPS: c.ceiling}}}
		if v, ok := ratio(r, rows); !ok || math.Abs(v-1) > 1e-9 {
			t.Errorf("raw %.0f/s, ceiling %.0f/s: ratio %v, %v; want 1", c.raw, c.ceiling, v, ok)
		}
	}
}

func TestASigningRowPassesOnlyWhenItsTwoSharesTogetherMeetTheTarget(t *testing.T) {
	rows := []row{
		{Scenario: "token, JWT ES256", Reference: "raw", Ceiling: "ceiling", Target: 0.70, ByCPU: true,
			Result: measurement{RPS: 20000, CPU: 1.5}},
		{Scenario: "slow", Reference: "raw", Ceiling: "ceiling", Target: 0.70,
			Result: measurement{RPS: 10000, CPU: 1.5}},
		{Scenario: "raw", Result: measurement{RPS: 50000, CPU: 2}},
		{Scenario: "ceiling", Result: measurement{RPS: 40000, CPU: 0.8}},
	}
	table := formatTable(rows)
	// 0.40 of the raw rate and 0.50 of the ceiling: each alone is below
	// 0.70, together 0.90. By CPU: (2/50000 + 0.8/40000) / (1.5/20000) = 0.80.
	if got := line(t, table, "token, JWT ES256"); got[8] != "0.90" ||
		got[10] != "pass (0.40 of the raw rate + 0.50 of the ceiling; by CPU per answer 0.80)" {
		t.Errorf("ratio, result = %q, %q", got[8], got[10])
	}
	// 0.20 + 0.25 = 0.45; no CPU note unless asked for.
	if got := line(t, table, "slow"); got[8] != "0.45" || got[10] != "FAIL (0.20 of the raw rate + 0.25 of the ceiling)" {
		t.Errorf("ratio, result = %q, %q", got[8], got[10])
	}
}

// On a machine where other work takes half the cores during one row, the
// rates say the row is half as fast; the CPU per answer says it costs the
// same.
func TestTheRatioByCPUSeesThroughCoresTakenByOtherWork(t *testing.T) {
	rows := []row{
		{Scenario: "many", Reference: "one", ByCPU: true, Target: 0.80, Result: measurement{RPS: 5000, CPU: 0.5}},
		{Scenario: "one", Result: measurement{RPS: 10000, CPU: 1.0}},
	}
	if got := line(t, formatTable(rows), "many"); got[8] != "0.50" || got[10] != "FAIL (by CPU per answer 1.00)" {
		t.Errorf("ratio, result = %q, %q; want 0.50 and FAIL with 1.00 by CPU", got[8], got[10])
	}
	rows[1].Result.CPU = 0
	if got := line(t, formatTable(rows), "many"); got[10] != "FAIL" {
		t.Errorf("without the reference's CPU: result %q, want FAIL without a CPU note", got[10])
	}
}

func TestFormatFiguresShowsValuesAndWhyAFigureCouldNotRun(t *testing.T) {
	table := formatFigures([]figure{
		{Name: redisFigure, Value: "369 B", How: "1,000,000 tokens | sampled"},
		{Name: postgresFigure, Failure: "connect: refused\nretry"},
	})
	want := "| figure | value | how it was measured |\n| --- | ---: | --- |\n" +
		"| " + redisFigure + " | 369 B | 1,000,000 tokens \\| sampled |\n" +
		"| " + postgresFigure + " | — | could not run: connect: refused retry |\n"
	if table != want {
		t.Errorf("figures:\n%s\nwant:\n%s", table, want)
	}
}

func TestWriteReportWritesTheTimestampedFileAndLatest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench-results")
	at := time.Date(2026, 11, 22, 20, 9, 5, 0, time.UTC)
	path, err := writeReport(dir, at, "| a |\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "bench-20261122T200905Z.md"); path != want {
		t.Errorf("path = %s, want %s", path, want)
	}
	for _, p := range []string{path, filepath.Join(dir, "latest.md")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "| a |\n" {
			t.Errorf("%s = %q, %v", p, b, err)
		}
	}
}

func TestFormatTableJudgesARowUnderAttackByItsPeakMemoryToo(t *testing.T) {
	rows := sampleRows()
	attack := row{Scenario: "token under attack, JWT RS256", Reference: "token, JWT RS256", Target: 0.80, MaxRSS: 256 << 20,
		Result: measurement{RPS: 1400, P50: 20 * time.Millisecond, P99: 70 * time.Millisecond, CPU: 1.8, FloodRPS: 240, PeakRSS: 200 << 20}}
	heavy := attack
	heavy.Scenario = "token under attack, opaque in Redis"
	heavy.Result.PeakRSS = 300 << 20
	rows = append(rows, attack, heavy)
	table := formatTable(rows)
	// 1400 / 1520 = 0.92 ≥ 0.80
	if got := line(t, table, attack.Scenario); got[8] != "0.92" || got[10] != "pass (flood 240 answers/s; peak RSS 200 MiB, target < 256 MiB)" {
		t.Errorf("ratio, result = %q, %q", got[8], got[10])
	}
	if got := line(t, table, heavy.Scenario); !strings.HasPrefix(got[10], "FAIL (flood 240 answers/s; peak RSS 300 MiB") {
		t.Errorf("a row over its memory target: result %q, want FAIL", got[10])
	}
	// Measured just before the flood, the calm rate is the reference.
	paired := attack
	paired.Result.CalmRPS = 2000
	if got := line(t, formatTable(append(sampleRows(), paired)), paired.Scenario); got[8] != "0.70" ||
		!strings.HasPrefix(got[10], "FAIL (2000/s just before the flood; flood 240") {
		t.Errorf("ratio to the calm rate: %q, %q; want 0.70 and FAIL", got[8], got[10])
	}
}

func TestWrkScriptCarriesAFloodsRequestFunction(t *testing.T) {
	script, err := floodRequest(&sigil{AuthURL: "http://127.0.0.1:1/ms-auth-server"}).wrkScript()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(script, "request = function()") || !strings.Contains(script, "X-Forwarded-For") || !strings.Contains(script, "done = function") {
		t.Errorf("flood script lacks its request function or the done hook:\n%s", script)
	}
}
