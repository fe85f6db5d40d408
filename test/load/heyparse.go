package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// heyResult is what one run of hey reports in its summary.
type heyResult struct {
	Total    time.Duration         // how long the load lasted
	RPS      float64               // hey's Requests/sec: answers and failures alike
	Latency  map[int]time.Duration // percentile (10, 25, 50, 75, 90, 95, 99) to latency
	Status   map[int]int           // HTTP status code to number of answers
	Failures int                   // requests that got no HTTP answer (hey's error distribution)
}

// OK is the number of 2xx answers.
func (h heyResult) OK() int {
	n := 0
	for code, count := range h.Status {
		if code >= 200 && code < 300 {
			n += count
		}
	}
	return n
}

// Errors counts every request that did not succeed: non-2xx answers and
// requests without an answer.
func (h heyResult) Errors() int {
	n := h.Failures
	for code, count := range h.Status {
		if code < 200 || code >= 300 {
			n += count
		}
	}
	return n
}

// parseHey reads hey's default summary output (requester/print.go of
// github.com/rakyll/hey): the Total and Requests/sec lines, the latency
// percentiles, the status code distribution and the error distribution.
// The histogram and the per-phase details are not needed.
func parseHey(out string) (heyResult, error) {
	r := heyResult{Latency: map[int]time.Duration{}, Status: map[int]int{}}
	var section string
	var sawTotal, sawRPS bool
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		// Section headers start at the left margin and end with a colon.
		if !strings.HasPrefix(sc.Text(), " ") && strings.HasSuffix(line, ":") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		var err error
		switch section {
		case "Summary":
			key, val, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			switch key {
			case "Total":
				r.Total, err = parseSeconds(val)
				sawTotal = true
			case "Requests/sec":
				r.RPS, err = strconv.ParseFloat(val, 64)
				sawRPS = true
			}
		case "Latency distribution":
			// "50%% in 0.0013 secs": hey prints its template's %% verbatim.
			pct, lat, ok := strings.Cut(line, " in ")
			if !ok {
				return heyResult{}, fmt.Errorf("latency line %q", line)
			}
			var p int
			p, err = strconv.Atoi(strings.TrimRight(pct, "%"))
			if err == nil {
				r.Latency[p], err = parseSeconds(lat)
			}
		case "Status code distribution":
			// "[200]	59728 responses"
			var code, count int
			if _, err = fmt.Sscanf(line, "[%d] %d responses", &code, &count); err == nil {
				r.Status[code] += count
			}
		case "Error distribution":
			// "[20]	Get "http://...": dial tcp ...: connection refused"
			var count int
			if _, err = fmt.Sscanf(line, "[%d]", &count); err == nil {
				r.Failures += count
			}
		}
		if err != nil {
			return heyResult{}, fmt.Errorf("hey output, %s: %q: %w", section, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return heyResult{}, err
	}
	if !sawTotal || !sawRPS {
		return heyResult{}, fmt.Errorf("hey output has no summary")
	}
	return r, nil
}

// parseSeconds reads hey's "0.0013 secs".
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "secs"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(time.Second)), nil
}
