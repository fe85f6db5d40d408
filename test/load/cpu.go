package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// Linux fixes it at 100 on every architecture Go supports; reading it
// with sysconf would need cgo.
const clockTicks = 100

// cpuTime is the CPU time (user plus system) a process has used so far,
// from fields 14 and 15 of /proc/<pid>/stat (proc(5)). pid 0 means this
// process.
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// or parentheses itself: count fields from the last ')'.
	s := string(raw)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("cpu time: unexpected %s", path)
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state), so field n is fields[n-3].
	if len(fields) < 13 {
		return 0, fmt.Errorf("cpu time: short %s", path)
	}
	utime, err1 := strconv.ParseInt(fields[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(fields[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: bad utime or stime in %s", path)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// cores turns CPU time used over a wall-clock span into cores used.
func cores(used, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return used.Seconds() / wall.Seconds()
}

// peakRSS is a process's peak resident memory, VmHWM in
// /proc/<pid>/status (proc(5)), in bytes.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: VmHWM %q", rest)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM")
}

// resetPeakRSS starts a process's VmHWM afresh from its current RSS.
func resetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}
