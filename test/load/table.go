package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	// Conn, for a row the Go driver loads over TLS, is the TLS version
	// and cipher suite its connections agreed on.
	Conn string
}

// row is one line of the table: a scenario, its reference and target,
// and what the run measured.
type row struct {
	Scenario  string
	Reference string // name of the row this one is compared with; empty for a reference
	// Ceiling, for a row that signs each answer, is the HTTP ceiling it is
	// compared with too; Reference is then the raw signing rate.
	Ceiling string
	// ByCPU adds the ratio counted in CPU to the result (see cpuRatio).
	ByCPU   bool
	Target  float64 // least acceptable ratio to the reference
	MaxRSS  int64   // peak resident memory allowed; zero for no target
	Result  measurement
	Failure string // why the scenario could not run; empty when it ran
}

// resultOf is what the row named name measured, if it ran.
func resultOf(name string, rows []row) (measurement, bool) {
	for _, ref := range rows {
		if ref.Scenario == name {
			if ref.Failure != "" || ref.Result.RPS == 0 {
				return measurement{}, false
			}
			return ref.Result, true
		}
	}
	return measurement{}, false
}

// rateOf is the requests/s of the row named name, if it ran.
func rateOf(name string, rows []row) (float64, bool) {
	m, ok := resultOf(name, rows)
	return m.RPS, ok
}

// cpuPerAnswer is the CPU time, in seconds, a row's process spent per
// answer (per signature for a raw signing row).
func cpuPerAnswer(m measurement) (float64, bool) {
	if m.RPS <= 0 || m.CPU <= 0 {
		return 0, false
	}
	return m.CPU / m.RPS, true
}

// cpuRatio is the row's ratio counted in CPU instead of time: the
// reference's CPU per answer over the row's, the raw signature's plus the
// ceiling's for a signing row. The ratio of rates holds when both rows get
// the same cores; on a machine shared with other work they may not, and
// then this one moves less. It counts the sigil process (the harness for
// a raw rate) alone, not wrk or Redis.
func cpuRatio(r row, rows []row) (float64, bool) {
	if r.Reference == "" || r.Failure != "" {
		return 0, false
	}
	own, ok := cpuPerAnswer(r.Result)
	if !ok {
		return 0, false
	}
	ref, ok := resultOf(r.Reference, rows)
	if !ok {
		return 0, false
	}
	cost, ok := cpuPerAnswer(ref)
	if !ok {
		return 0, false
	}
	if r.Ceiling != "" {
		ceil, ok := resultOf(r.Ceiling, rows)
		if !ok {
			return 0, false
		}
		c, ok := cpuPerAnswer(ceil)
		if !ok {
			return 0, false
		}
		cost += c
	}
	return cost / own, true
}

// ratio is the row's requests/s over its reference's, measured in the
// same run; ok is false when there is no reference or either side did not
// run.
//
// A row that signs each answer (Ceiling set) is compared with the most
// a server could answer if a token cost only what its two parts cost on
// these cores: one signature, at the raw rate S, and one trivial HTTP
// exchange, at the ceiling H. Those costs add, so that rate is
// 1/(1/S + 1/H), and the ratio R/S + R/H is the share of a token
// request's cost that is the signature and the exchange; what is left is
// Sigil's own work (authentication, claims, the response). Unlike R/S or
// R/H alone, or R/min(S, H), it does not move with the speed of the
// machine's cryptography relative to its HTTP handling: a server that
// did nothing else would read 1 on every machine. parts returns its two
// terms.
func ratio(r row, rows []row) (value float64, ok bool) {
	if r.Reference == "" || r.Failure != "" {
		return 0, false
	}
	if r.Result.CalmRPS > 0 {
		return r.Result.RPS / r.Result.CalmRPS, true
	}
	if r.Ceiling != "" {
		ofRaw, ofCeiling, ok := parts(r, rows)
		return ofRaw + ofCeiling, ok
	}
	ref, ok := rateOf(r.Reference, rows)
	if !ok {
		return 0, false
	}
	return r.Result.RPS / ref, true
}

// parts are the terms of a signing row's ratio: its requests/s over the
// raw signing rate and over the HTTP ceiling.
func parts(r row, rows []row) (ofRaw, ofCeiling float64, ok bool) {
	raw, ok1 := rateOf(r.Reference, rows)
	ceil, ok2 := rateOf(r.Ceiling, rows)
	if r.Ceiling == "" || !ok1 || !ok2 {
		return 0, 0, false
	}
	return r.Result.RPS / raw, r.Result.RPS / ceil, true
}

// formatTable renders rows as a markdown table. A row passes when its
// ratio meets its target and it had no errors (issue 5: every scenario
// with zero errors).
func formatTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| scenario | requests/s | p50 | p99 | errors | CPU (cores) | load CPU | reference | ratio | target | result |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |\n")
	for _, r := range rows {
		if r.Failure != "" {
			fmt.Fprintf(&b, "| %s | — | — | — | — | — | — | %s | — | %s | could not run: %s |\n",
				r.Scenario, referenceCell(r), formatTarget(r), escapeCell(r.Failure))
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
		var notes []string
		if ofRaw, ofCeiling, ok := parts(r, rows); ok {
			notes = append(notes, fmt.Sprintf("%s of the raw rate + %s of the ceiling", formatRatio(ofRaw), formatRatio(ofCeiling)))
		}
		if v, ok := cpuRatio(r, rows); ok && r.ByCPU {
			notes = append(notes, "by CPU per answer "+formatRatio(v))
		}
		if m.Conn != "" {
			notes = append(notes, m.Conn)
		}
		if len(notes) > 0 {
			verdict += " (" + strings.Join(notes, "; ") + ")"
		}
		if r.MaxRSS > 0 {
			calm := ""
			if m.CalmRPS > 0 {
				calm = fmt.Sprintf("%s/s just before the flood; ", formatRate(m.CalmRPS))
			}
			verdict += fmt.Sprintf(" (%sflood %s answers/s; peak RSS %d MiB, target < %d MiB)",
				calm, formatRate(m.FloodRPS), m.PeakRSS>>20, r.MaxRSS>>20)
		}
		verdict = strings.TrimSpace(verdict)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.2f | %s | %s | %s | %s | %s |\n",
			r.Scenario, formatRate(m.RPS), formatLatency(m.P50), formatLatency(m.P99), m.Errors,
			m.CPU, formatCores(m.LoadCPU), referenceCell(r), ratioCell, formatTarget(r), verdict)
	}
	return b.String()
}

// referenceCell names what a row is compared with.
func referenceCell(r row) string {
	if r.Ceiling != "" {
		return r.Reference + " + " + r.Ceiling
	}
	return orDash(r.Reference)
}

// figure is one line of the cost table: a figure the run measured that is
// not a rate.
type figure struct {
	Name    string
	Value   string
	How     string
	Failure string
}

// formatFigures renders the figures as a markdown table.
func formatFigures(figures []figure) string {
	var b strings.Builder
	b.WriteString("| figure | value | how it was measured |\n")
	b.WriteString("| --- | ---: | --- |\n")
	for _, f := range figures {
		if f.Failure != "" {
			fmt.Fprintf(&b, "| %s | — | could not run: %s |\n", f.Name, escapeCell(f.Failure))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f.Name, f.Value, escapeCell(f.How))
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

// formatCount writes n with thousands separators: 1,000,000.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
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
