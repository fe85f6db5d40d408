// Command load is Sigil's load harness (issues 5 and 10), run by `go tool
// task bench`. It builds sigil, starts it as a user would (both roles,
// SQLite in a new directory, opaque tokens in Redis, the demo clients),
// drives each scenario with wrk for a fixed time (the TLS rows, whose
// client certificates wrk cannot present, with a Go driver of its own:
// driver.go), and prints one markdown
// table of requests/s, latency, errors, CPU and the ratio of each scenario
// to its reference measured in the same run, then a table of what work
// costs as it grows (bytes per stored token, first requests of new
// clients); both also go to bench-results/. It measures and reports: a
// ratio below its target does not fail the run, only a scenario or figure
// that cannot run or a Sigil that does not start does.
//
//	go run ./test/load [-duration 8s] [-warmup 2s] [-t 1] [-c 128] [-run REGEXP] [-tokens N] [-postgres-dsn DSN]
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	Duration  time.Duration
	Warmup    time.Duration
	Load      load
	RedisAddr string
	Sigil     string // a prebuilt sigil binary; empty builds one
	OutDir    string // a relative path is taken from the module root
	Run       *regexp.Regexp
	// Tokens is how many opaque tokens the storage figures store; 0
	// leaves the figures out.
	Tokens      int
	PostgresDSN string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.DurationVar(&o.Duration, "duration", 8*time.Second, "measured load per scenario")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "load before each measurement, not counted")
	// Chosen on 2 cores (README, "Performance"): the settings under which
	// the HTTP ceiling, the reference of most rows, is highest.
	fs.IntVar(&o.Load.Threads, "t", 1, "wrk threads")
	fs.IntVar(&o.Load.Connections, "c", 128, "wrk connections, kept alive (the Go driver's workers, one connection each, for the TLS rows)")
	fs.StringVar(&o.RedisAddr, "redis-addr", "127.0.0.1:6379", "Redis for opaque tokens")
	fs.StringVar(&o.Sigil, "sigil", "", "use this sigil binary instead of building one")
	fs.StringVar(&o.OutDir, "out", "bench-results", "directory of the result files (relative to the module root)")
	fs.IntVar(&o.Tokens, "tokens", 1_000_000, "opaque tokens stored for the bytes-per-token figures; 0 leaves them out")
	fs.StringVar(&o.PostgresDSN, "postgres-dsn", postgresDSN(), "PostgreSQL of the bytes-per-token figure (a schema of its own, dropped afterwards)")
	run := fs.String("run", "", "only the scenarios and figures whose name matches this regular expression")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	var err error
	if o.Run, err = regexp.Compile(*run); err != nil {
		return options{}, fmt.Errorf("-run: %w", err)
	}
	return o, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		if err := serveCeiling(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", ceilingCommand, err)
			os.Exit(1)
		}
		return
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the whole run: prepare, measure every scenario, report.
func bench(ctx context.Context, o options) error {
	started := time.Now()
	wrkThreads, dpopRowSeconds = max(1, o.Load.Threads), (o.Warmup + o.Duration + 2*time.Second).Seconds()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if err := checkRedis(ctx, o.RedisAddr); err != nil {
		return err
	}
	wrk, err := wrkPath()
	if err != nil {
		return err
	}
	bin := o.Sigil
	if bin == "" {
		tmp, err := os.MkdirTemp("", "sigil-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		logf("building sigil (CGO_ENABLED=0)")
		if bin, err = buildSigil(ctx, root, tmp); err != nil {
			return err
		}
	}

	var rows []row
	for _, sc := range scenarios {
		if o.Run.MatchString(sc.Name) {
			rows = append(rows, row{Scenario: sc.Name, Reference: sc.Reference, Ceiling: sc.Ceiling, ByCPU: sc.ByCPU, Target: sc.Target, MaxRSS: sc.MaxRSS})
		}
	}
	storage := o.Tokens > 0 && (o.Run.MatchString(redisFigure) || o.Run.MatchString(postgresFigure))
	if len(rows) == 0 && !storage {
		return errors.New("-run matches no scenario and no figure")
	}
	result := func(name string) *row {
		for i := range rows {
			if rows[i].Scenario == name {
				return &rows[i]
			}
		}
		return nil
	}

	// Every key the sigils of this run write to Redis is under one prefix,
	// removed once they are done (before the storage figures, which
	// measure Redis's memory) or when the run stops early.
	prefix := fmt.Sprintf("sigil-bench:%d-%d:", os.Getpid(), time.Now().UnixNano())
	cleaned := false
	cleanUp := func() {
		if cleaned {
			return
		}
		cleaned = true
		// go-redis/redis_rate writes the rate limits' keys under "rate:"
		// before the prefix.
		for _, p := range []string{prefix, "rate:" + prefix} {
			if n, err := deletePrefix(context.WithoutCancel(ctx), o.RedisAddr, p); err != nil {
				logf("%v", err)
			} else {
				logf("removed %d Redis keys under %s", n, p)
			}
		}
	}
	defer cleanUp()
	var figures []figure
	for _, nd := range nodes {
		var todo []scenario
		for _, sc := range scenarios {
			if sc.Node == nd.Name && result(sc.Name) != nil {
				todo = append(todo, sc)
			}
		}
		if len(todo) == 0 {
			continue
		}
		nc := nodeConfig{
			Name: strings.ToLower(nd.Name), KeyAlgorithm: nd.KeyAlgorithm,
			RedisAddr: o.RedisAddr, RedisPrefix: prefix + strings.ToLower(nd.Name) + ":",
			NoMetrics: nd.NoMetrics, Tracing: nd.Tracing,
		}
		switch {
		case nd.Clients:
			figures = append(figures, runClientsNode(ctx, o, bin, wrk, nc, todo, result)...)
		case nd.MTLS:
			runMTLSNode(ctx, o, bin, wrk, nc, todo, result)
		default:
			runNode(ctx, o, bin, wrk, nc, todo, result)
		}
	}
	cleanUp()
	if storage {
		figures = append(figures, storageFigures(ctx, o)...)
	}

	report := formatReport(o, root, wrk, rows, figures, time.Since(started))
	fmt.Print("\n" + report)
	out := o.OutDir
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	path, err := writeReport(out, started, report)
	if err != nil {
		return err
	}
	logf("table written to %s and latest.md", path)
	failed := 0
	for _, r := range rows {
		if r.Failure != "" {
			failed++
		}
	}
	for _, f := range figures {
		if f.Failure != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scenarios and figures could not run", failed, len(rows)+len(figures))
	}
	return nil
}

// runNode starts one sigil, runs the scenarios it serves, and stops it.
// A sigil that does not start, or a scenario that cannot run, is recorded
// in the rows concerned and the run goes on, so the table shows the rest.
//
// The HTTP ceiling, the one row without a reference, runs first; then the
// others in table order. A raw signing rate is measured in two halves,
// just before and just after the token row compared with it, so that on
// a machine whose speed drifts (other work on the same cores, a CPU
// clocking up or down) the reference is taken across the same span as
// the row.
func runNode(ctx context.Context, o options, bin, wrk string, nc nodeConfig, todo []scenario, result func(string) *row) {
	logf("starting sigil --key-algorithm %s", nc.KeyAlgorithm)
	s, err := startSigil(ctx, bin, nc)
	if err != nil {
		logf("%v", err)
		for _, sc := range todo {
			record(result(sc.Name), measurement{}, fmt.Errorf("sigil --key-algorithm %s did not start", nc.KeyAlgorithm))
		}
		return
	}
	defer s.stop()
	raws := map[string]scenario{}
	for _, sc := range todo {
		if sc.Raw != nil {
			raws[sc.Name] = sc
		}
	}
	bracketed := map[string]bool{}
	for _, sc := range todo {
		if _, ok := raws[sc.Reference]; ok && sc.Ceiling != "" {
			bracketed[sc.Reference] = true
		}
	}
	rank := func(sc scenario) int {
		switch {
		case sc.Raw == nil && sc.Reference == "":
			return 0
		case sc.Raw != nil:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(todo, func(a, b scenario) int { return cmp.Compare(rank(a), rank(b)) })

	t, tokenErr := fetchTokens(ctx, s)
	for _, sc := range todo {
		switch {
		case sc.Raw != nil:
			if !bracketed[sc.Name] {
				logf("%s: %s", sc.Name, o.Duration)
				m, err := signRate(sc.Raw, o.Warmup, o.Duration)
				record(result(sc.Name), m, err)
			}
		case tokenErr != nil:
			record(result(sc.Name), measurement{}, tokenErr)
		default:
			raw := raws[sc.Reference]
			isBracketed := sc.Ceiling != "" && bracketed[sc.Reference]
			var rr *rawRun
			var rawErr error
			// Half the row's measured time in all: signing in a loop
			// needs no longer to settle, and the run stays short.
			half := o.Duration / 4
			if isBracketed {
				logf("%s: %s, then %s after %s", raw.Name, half, half, sc.Name)
				if rr, rawErr = newRawRun(raw.Raw); rawErr == nil {
					rawErr = rr.measure(min(o.Warmup, time.Second), half)
				}
			}
			m, err := runOne(ctx, o, wrk, sc, s, t)
			record(result(sc.Name), m, err)
			if isBracketed {
				if rawErr == nil {
					rawErr = rr.measure(0, half)
				}
				var rm measurement
				if rawErr == nil {
					rm = rr.result()
				}
				record(result(raw.Name), rm, rawErr)
			}
		}
	}
}

// runOne measures one wrk scenario on s.
func runOne(ctx context.Context, o options, wrk string, sc scenario, s *sigil, t tokens) (measurement, error) {
	logf("%s: %s warm-up, %s measured, %d connections", sc.Name, o.Warmup, o.Duration, o.Load.Connections)
	if sc.Flood != nil {
		return runUnderAttack(ctx, o, wrk, sc.Request(s, t), sc.Flood(s), s.Pid())
	}
	return runScenario(ctx, o, wrk, sc.Request(s, t), s.Pid())
}

// runScenario checks that the request succeeds once, warms up, and
// measures.
func runScenario(ctx context.Context, o options, wrk string, r request, pid int) (measurement, error) {
	if err := probe(ctx, r); err != nil {
		return measurement{}, err
	}
	run := loaderOf(ctx, wrk, r, o.Load)
	if o.Warmup > 0 {
		if _, err := run(o.Warmup); err != nil {
			return measurement{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	return measure(run, o.Duration, pid)
}

// runUnderAttack runs r as runScenario does while a second wrk sends
// flood at full speed from before the warm-up to after the measurement,
// and reports the flood's rate and the peak resident memory of pid
// during the attack.
func runUnderAttack(ctx context.Context, o options, wrk string, r, flood request, pid int) (measurement, error) {
	// The same request without the attack first, on the same sigil, as
	// the ratio's reference (see measurement.CalmRPS).
	calm, err := runScenario(ctx, o, wrk, r, pid)
	if err != nil {
		return measurement{}, err
	}
	// Count the peak from here: writing 5 to clear_refs resets VmHWM.
	if err := resetPeakRSS(pid); err != nil {
		logf("peak RSS counts from sigil's start: %v", err)
	}
	type result struct {
		w   wrkResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := runWrk(ctx, wrk, flood, o.Load, o.Warmup+o.Duration+2*time.Second)
		done <- result{w, err}
	}()
	// Let the flood reach full speed first.
	time.Sleep(time.Second)
	m, err := runScenario(ctx, o, wrk, r, pid)
	f := <-done
	if err != nil {
		return measurement{}, err
	}
	if f.err != nil {
		return measurement{}, fmt.Errorf("flood: %w", f.err)
	}
	if f.w.Duration > 0 {
		m.FloodRPS = float64(f.w.Requests) / f.w.Duration.Seconds()
	}
	if m.PeakRSS, err = peakRSS(pid); err != nil {
		return measurement{}, err
	}
	m.CalmRPS = calm.RPS
	return m, nil
}

// record stores a scenario's outcome in its row.
func record(r *row, m measurement, err error) {
	if err != nil {
		r.Failure = err.Error()
		logf("%s: could not run: %v", r.Scenario, err)
		return
	}
	r.Result = m
	logf("%s: %s/s, %d errors", r.Scenario, formatRate(m.RPS), m.Errors)
}

// formatReport is the result file: how the numbers were made, the
// tables, and how to read them.
func formatReport(o options, root, wrk string, rows []row, figures []figure, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Sigil load run, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s/%s, %d cores (GOMAXPROCS %d), %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel())
	sigil := "built from " + revision(root) + " with " + runtime.Version() + ", CGO_ENABLED=0"
	if o.Sigil != "" {
		sigil = "prebuilt " + o.Sigil
	}
	fmt.Fprintf(&b, "- sigil: %s; one `sigil serve --role all` per signing algorithm and one for the clients rows, "+
		"SQLite in a new directory, opaque tokens in Redis at %s, demo clients, --log-level warn\n", sigil, o.RedisAddr)
	fmt.Fprintf(&b, "- load: %s, %d thread(s), %d keep-alive connections, loopback; "+
		"%s warm-up, then %s measured per scenario; the TLS rows (client certificates, which wrk cannot present) "+
		"with the harness's Go driver instead, %d workers with a keep-alive HTTP/1.1 connection each\n\n",
		wrkVersion(wrk), o.Load.Threads, o.Load.Connections, o.Warmup, o.Duration, o.Load.Connections)
	if len(rows) > 0 {
		b.WriteString(formatTable(rows))
		b.WriteString("\n- requests/s counts successful answers per second of load (signatures/s for the raw signing rows); " +
			"errors are answers with a status of 400 or more (with the Go driver, any but 2xx) plus requests without an answer.\n")
		b.WriteString("- CPU is the sigil process's utime+stime over the load (/proc/<pid>/stat), in cores; " +
			"for the raw signing rows, the harness's own; for the TLS ceiling, its server's. " +
			"load CPU is the load generator's (wrk, or the Go driver in the harness), on the same cores.\n")
		b.WriteString("- ratio is requests/s over the reference row's, both from this run; " +
			"result is pass when the ratio meets the target with no errors.\n")
		b.WriteString("- a signing row's ratio is R/S + R/H, its rate R over the raw signing rate S plus R over its sigil's ceiling H: " +
			"R over the 1/(1/S + 1/H) a server could reach if a token cost one signature and one trivial request. " +
			"The raw rate is measured in two halves, just before and just after the row.\n")
		b.WriteString("- by CPU per answer is the same ratio counted in the CPU the sigil process (the harness, for a raw rate) spent per answer: " +
			"the reference's over the row's. It holds when other work on the machine takes some of the cores during one row and not the other.\n")
	}
	if len(figures) > 0 {
		b.WriteString("\n## Cost as work grows\n\n")
		b.WriteString(formatFigures(figures))
	}
	fmt.Fprintf(&b, "\n- whole run: %s.\n", took.Round(time.Second))
	return b.String()
}

// moduleRoot is the directory of the main module's go.mod, so the
// harness works from any directory inside the repository.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the harness inside the sigil module")
	}
	return filepath.Dir(gomod), nil
}

// revision names the source tree measured: the commit, "-dirty" with
// uncommitted changes to tracked files. --no-optional-locks keeps git
// from rewriting the index while others work in the tree.
func revision(root string) string {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"--no-optional-locks", "-C", root}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "--short", "HEAD")
	if err != nil {
		return "an unknown revision"
	}
	if changes, err := git("status", "--porcelain", "--untracked-files=no"); err != nil || changes != "" {
		rev += "-dirty"
	}
	return rev
}

// cpuModel is the processor's name from /proc/cpuinfo.
func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// logStart is when the harness started, for the times in its log.
var logStart = time.Now()

// logf reports progress on stderr, so stdout carries only the table. Each
// line starts with the time since the start, in seconds.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %4.0fs "+format+"\n", append([]any{time.Since(logStart).Seconds()}, args...)...)
}
