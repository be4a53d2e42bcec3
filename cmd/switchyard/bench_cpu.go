package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on every Linux build
// this runs on).
const clockTicks = 100

// cpuMeter reads how much CPU the processes of the benchmark's stack have used: this process
// (API, worker and load), the Temporal dev server and PostgreSQL. On a machine where the load
// saturates the cores, throughput is the cores divided by the CPU a request costs, so the split
// says where a request's time goes.
type cpuMeter struct {
	temporalPort string // the dev server's frontend port; empty when it is not ours
	pgDir        string // the PostgreSQL cluster's directory; empty when it is not ours
}

// cpuSample is the CPU time used so far by each part of the stack.
type cpuSample map[string]time.Duration

// Parts of the stack, in the order they print.
var cpuParts = []string{"hub", "temporal", "postgres"}

func (m cpuMeter) sample() cpuSample {
	s := cpuSample{"hub": procCPU(os.Getpid())}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	postmasters := map[int]bool{}
	type proc struct{ pid, ppid int }
	var candidates []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(cmd, "\x00")), "\x00")
		switch {
		case m.temporalPort != "" && isDevServer(args, m.temporalPort):
			s["temporal"] += procCPU(pid)
		case m.pgDir != "" && strings.Contains(string(cmd), m.pgDir):
			postmasters[pid] = true
			s["postgres"] += procCPU(pid)
		default:
			candidates = append(candidates, proc{pid, procParent(pid)})
		}
	}
	for _, p := range candidates {
		if postmasters[p.ppid] {
			s["postgres"] += procCPU(p.pid) // a backend serving one of the hub's connections
		}
	}
	return s
}

// settle waits until the stack is quiet: less than a tenth of a core busy over a quarter
// second, outside this process (the dev server's visibility writes and timers, PostgreSQL's
// background work trail a burst of load), for at most limit. Each scenario then starts on a
// quiet stack and pays for its own work, not for the one before.
func (m cpuMeter) settle(ctx context.Context, limit time.Duration) {
	const window = 250 * time.Millisecond
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		before := m.sample()
		time.Sleep(window)
		after := m.sample()
		busy := after["temporal"] - before["temporal"] + after["postgres"] - before["postgres"]
		if busy < window/10 {
			return
		}
	}
}

// isDevServer reports whether args start a Temporal dev server listening on port.
func isDevServer(args []string, port string) bool {
	dev, onPort := false, false
	for i, a := range args {
		dev = dev || a == "start-dev"
		onPort = onPort || (a == "--port" && i+1 < len(args) && args[i+1] == port)
	}
	return dev && onPort
}

// procStat reads the fields of /proc/<pid>/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procCPU is the user and system CPU time pid has used, its own and its waited-for children's.
func procCPU(pid int) time.Duration {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

func procParent(pid int) int {
	f := procStat(pid)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// perRequest is the CPU each part used per request between two samples.
func (s cpuSample) perRequest(before cpuSample, requests int) cpuSample {
	out := cpuSample{}
	for k, v := range s {
		out[k] = (v - before[k]) / time.Duration(max(requests, 1))
	}
	return out
}

// printCPU prints the CPU a request cost in each part of the stack, per scenario and concurrency.
func printCPU(w io.Writer, names []string, concurrency []int, cpu map[string]map[int]cpuSample) {
	fmt.Fprintln(w, "\nCPU per request (ms) by process: the hub (API, worker and this load), the Temporal dev server, PostgreSQL:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\tc\t")
	for _, p := range cpuParts {
		fmt.Fprint(tw, p+"\t")
	}
	fmt.Fprintln(tw, "total\t")
	for _, name := range names {
		for _, c := range concurrency {
			s, ok := cpu[name][c]
			if !ok {
				continue
			}
			var total time.Duration
			fmt.Fprintf(tw, "%s\t%d\t", name, c)
			for _, p := range cpuParts {
				total += s[p]
				fmt.Fprintf(tw, "%.2f\t", float64(s[p].Microseconds())/1000)
			}
			fmt.Fprintf(tw, "%.2f\t\n", float64(total.Microseconds())/1000)
		}
	}
	tw.Flush()
}
