package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

// benchScaleOut measures the hub with its workers out of the API process
// (API_EMBEDDED_WORKER=false): proxied transactions completed per second with one `switchyard
// worker` process, then with two, and the worker's resident memory with a thousand
// transactions in flight at once.
func benchScaleOut(ctx context.Context, w io.Writer, e env, logger *slog.Logger, batch int) error {
	e.Process.EmbeddedWorker = false
	hub, err := startLocalHub(ctx, e, logger)
	if err != nil {
		return err
	}
	if _, err := benchFixtures(ctx, hub); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	submit := func(ctx context.Context, n, c int, header ...string) ([]string, error) {
		return submitAsync(ctx, client, hub.apiURL+"/bench/ping?async=true", n, c, header...)
	}

	var workers []*benchWorker
	defer func() {
		for _, wk := range workers {
			wk.stop()
		}
	}()
	completed := map[int]float64{}
	for n := 1; n <= 2; n++ {
		wk, err := startBenchWorker(ctx, self, hub.env)
		if err != nil {
			return err
		}
		workers = append(workers, wk)
		// Warm-up: every worker has taken work before the clock starts.
		ids, err := submit(ctx, 64, 32)
		if err != nil {
			return err
		}
		if err := waitFinal(ctx, hub.st.store, ids); err != nil {
			return err
		}
		start := time.Now()
		if ids, err = submit(ctx, batch, 32); err != nil {
			return err
		}
		if err := waitFinal(ctx, hub.st.store, ids); err != nil {
			return err
		}
		completed[n] = float64(len(ids)) / time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "measured scale-out: %d worker(s) completed %d async transactions at %.0f/s\n",
			n, len(ids), completed[n])
	}

	// A thousand transactions in flight on one worker: the upstream holds each for a while.
	for _, wk := range workers[1:] {
		wk.stop()
	}
	workers = workers[:1]
	const inFlight, hold = 1000, 8 * time.Second
	base := workers[0].rss()
	var peak atomic.Int64
	sampling, stopSampling := context.WithCancel(ctx)
	var sampled sync.WaitGroup
	sampled.Go(func() {
		for sampling.Err() == nil {
			peak.Store(max(peak.Load(), workers[0].rss()))
			time.Sleep(50 * time.Millisecond)
		}
	})
	ids, err := submit(ctx, inFlight, 64, "X-Sim-Latency", hold.String())
	if err != nil {
		stopSampling()
		return err
	}
	done, err := countFinished(ctx, hub.st.store, ids)
	if err != nil {
		stopSampling()
		return err
	}
	running := len(ids) - done
	err = waitFinal(ctx, hub.st.store, ids)
	stopSampling()
	sampled.Wait()
	if err != nil {
		return err
	}

	fmt.Fprintln(w, "\nScale-out (API_EMBEDDED_WORKER=false, `switchyard worker` processes on the proxy queue, async proxied transactions completed):")
	fmt.Fprintf(w, "  1 worker:  %.0f transactions/s\n", completed[1])
	fmt.Fprintf(w, "  2 workers: %.0f transactions/s = %.2fx one worker (the machine's cores are shared by both workers, the API, Temporal and PostgreSQL)\n",
		completed[2], completed[2]/completed[1])
	fmt.Fprintf(w, "  worker RSS: %d MB idle, %d MB at peak with %d transactions submitted, %d of them still in flight %s after the last submit (goal <= 200 MB: %s)\n",
		base>>20, peak.Load()>>20, inFlight, running, "as the upstream holds each "+hold.String(),
		map[bool]string{true: "met", false: "NOT met"}[peak.Load() <= 200<<20])
	return nil
}

// submitAsync sends n async proxied requests from c goroutines and returns their correlation ids.
func submitAsync(ctx context.Context, client *http.Client, url string, n, c int, header ...string) ([]string, error) {
	var mu sync.Mutex
	var ids []string
	var next atomic.Int64
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header.Set("X-Client-Id", benchClient)
				req.Header.Set("X-Client-Secret", benchSecret)
				for i := 0; i+1 < len(header); i += 2 {
					req.Header.Set(header[i], header[i+1])
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("%s answered %d", url, resp.StatusCode)
					return
				}
				mu.Lock()
				ids = append(ids, resp.Header.Get("X-Correlation-ID"))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	return ids, <-errs
}

// waitFinal waits until every transaction in ids is logged with a final status.
func waitFinal(ctx context.Context, store *schema.Store, ids []string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		done, err := countFinished(ctx, store, ids)
		if err != nil {
			return err
		}
		if done == len(ids) {
			return nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("the scale-out batch did not finish within 5 minutes")
}

// countFinished is how many of ids are logged with a final status.
func countFinished(ctx context.Context, store *schema.Store, ids []string) (int, error) {
	var done int
	err := store.DB().GetContext(ctx, &done, `SELECT count(*) FROM transactions WHERE correlation_id = ANY($1::uuid[])
		AND status IN ('successful', 'failed', 'resolved')`, "{"+strings.Join(ids, ",")+"}")
	return done, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// benchWorker is a `switchyard worker` process serving the proxy queue.
type benchWorker struct {
	cmd *exec.Cmd
}

func startBenchWorker(ctx context.Context, self string, e env) (*benchWorker, error) {
	wk := &benchWorker{}
	wk.cmd = exec.CommandContext(ctx, self, "worker")
	wk.cmd.Env = append(os.Environ(),
		"DATABASE_URL="+e.DB.URL,
		"TEMPORAL_ADDRESS="+e.Temporal.Address,
		"TEMPORAL_NAMESPACE="+e.Temporal.Namespace,
		"PAYLOAD_KEYS="+e.Payload.Keys,
		"PAYLOAD_KEY_ID="+e.Payload.KeyID,
		"WORKER_TASK_QUEUES="+workflows.TaskQueueProxy,
		"WORKER_METRICS_ADDR=127.0.0.1:0",
		"WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES=1000",
		"LOG_LEVEL=info",
	)
	out, logs := io.Pipe()
	wk.cmd.Stdout, wk.cmd.Stderr = logs, logs
	if err := wk.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = wk.cmd.Wait(); logs.Close() }()
	// The worker says it runs once its pollers are up; its errors are shown.
	ready := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(out)
		var once sync.Once
		for scanner.Scan() {
			line := scanner.Text()
			if strings.Contains(line, "Worker running") {
				once.Do(func() { close(ready) })
			}
			if strings.Contains(line, `"level":"ERROR"`) {
				fmt.Fprintln(os.Stderr, "worker:", line)
			}
		}
	}()
	select {
	case <-ready:
		return wk, nil
	case <-time.After(30 * time.Second):
		wk.stop()
		return nil, errors.New("the benchmark's worker did not start within 30s")
	}
}

// rss is the worker's resident memory in bytes.
func (wk *benchWorker) rss() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(wk.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stop interrupts the worker (it drains) and kills it when it has not exited within 10s.
func (wk *benchWorker) stop() {
	if wk.cmd.Process == nil {
		return
	}
	_ = wk.cmd.Process.Signal(os.Interrupt)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if wk.cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = wk.cmd.Process.Kill()
}
