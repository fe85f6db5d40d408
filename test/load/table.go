package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// measurement is what one scenario measured. Latencies are zero when
// the scenario has none (the raw signing rate).
type measurement struct {
	RPS      float64 // successful requests per second
	P50, P99 time.Duration
	Errors   int     // error answers plus requests without an answer
	CPU      float64 // cores the measured process used on average
	LoadCPU  float64 // cores the load generator used; zero when there is none
	// For a row under attack: the flood's answers per second (whatever
	// their status) and the sigil process's peak resident memory.
	FloodRPS float64
	PeakRSS  int64
	// CalmRPS, for a row under attack, is the same request's rate on the
	// same sigil measured just before the flood began. The ratio is taken
	// to it rather than to the reference row, measured a minute earlier:
	// on a shared machine the rate drifts by more than the attack costs.
	CalmRPS float64
}

// row is one line of the table: a scenario, its reference and target,
// and what the run measured.
type row struct {
	Scenario  string
	Reference string  // name of the row this one is compared with; empty for a reference
	Target    float64 // least acceptable ratio to the reference
	MaxRSS    int64   // peak resident memory allowed; zero for no target
	Result    measurement
	Failure   string // why the scenario could not run; empty when it ran
}

// ratio is the row's requests/s over its reference's, measured in the
// same run; ok is false when there is no reference or either side did not run.
func ratio(r row, rows []row) (value float64, ok bool) {
	if r.Reference == "" || r.Failure != "" {
		return 0, false
	}
	if r.Result.CalmRPS > 0 {
		return r.Result.RPS / r.Result.CalmRPS, true
	}
	for _, ref := range rows {
		if ref.Scenario == r.Reference {
			if ref.Failure != "" || ref.Result.RPS == 0 {
				return 0, false
			}
			return r.Result.RPS / ref.Result.RPS, true
		}
	}
	return 0, false
}

// formatTable renders rows as a markdown table. A row passes when its
// ratio meets its target and it had no errors (issue 5: every scenario
// with zero errors).
func formatTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| scenario | requests/s | p50 | p99 | errors | CPU (cores) | wrk CPU | reference | ratio | target | result |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |\n")
	for _, r := range rows {
		if r.Failure != "" {
			fmt.Fprintf(&b, "| %s | — | — | — | — | — | — | %s | — | %s | could not run: %s |\n",
				r.Scenario, orDash(r.Reference), formatTarget(r), escapeCell(r.Failure))
			continue
		}
		m := r.Result
		ratioCell, verdict := "—", ""
		if v, ok := ratio(r, rows); ok {
			ratioCell = formatRatio(v)
			verdict = "pass"
			if v < r.Target || m.Errors > 0 || (r.MaxRSS > 0 && m.PeakRSS >= r.MaxRSS) {
				verdict = "FAIL"
			}
		} else if r.Reference == "" && m.Errors > 0 {
			verdict = "FAIL"
		}
		if r.MaxRSS > 0 {
			calm := ""
			if m.CalmRPS > 0 {
				calm = fmt.Sprintf("%s/s just before the flood; ", formatRate(m.CalmRPS))
			}
			verdict += fmt.Sprintf(" (%sflood %s answers/s; peak RSS %d MiB, target < %d MiB)",
				calm, formatRate(m.FloodRPS), m.PeakRSS>>20, r.MaxRSS>>20)
			verdict = strings.TrimSpace(verdict)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.2f | %s | %s | %s | %s | %s |\n",
			r.Scenario, formatRate(m.RPS), formatLatency(m.P50), formatLatency(m.P99), m.Errors,
			m.CPU, formatCores(m.LoadCPU), orDash(r.Reference), ratioCell, formatTarget(r), verdict)
	}
	return b.String()
}

// formatRatio keeps two significant digits of a small ratio, so that a
// scenario far below its target does not read 0.00.
func formatRatio(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func formatRate(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatCores(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// formatLatency prints milliseconds, to 0.1 ms below 10 ms.
func formatLatency(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func formatTarget(r row) string {
	if r.Reference == "" {
		return "—"
	}
	return fmt.Sprintf("≥ %.2f", r.Target)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// escapeCell keeps a free text on one table line and out of the columns.
func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// writeReport writes the report to dir as bench-<timestamp>.md and as
// latest.md, and returns the first path.
func writeReport(dir string, at time.Time, report string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results directory: %w", err)
	}
	path := filepath.Join(dir, "bench-"+at.UTC().Format("20060102T150405Z")+".md")
	for _, p := range []string{path, filepath.Join(dir, "latest.md")} {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			return "", fmt.Errorf("write results: %w", err)
		}
	}
	return path, nil
}
