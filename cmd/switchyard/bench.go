package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/google/uuid"
	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/localpg"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/worker"
)

// The benchmark's own client, mediator and channel.
const (
	benchClient          = "bench-client"
	benchSecret          = "bench-secret-0001"
	benchFloorQueue      = "bench-floor"
	benchFloorClearQueue = "bench-floor-clear"
	benchFloorPrefix     = "bench-floor-"
)

// benchFloorPayload is what the floor workflow carries in and out: a request's worth of JSON,
// so the floor pays the payload codec as every real request does.
var benchFloorPayload = strings.Repeat(`{"field":"value"}`, 60)

// runBench measures, in one run on one Temporal server: a direct call to the upstream
// simulator, the bare Temporal floor (an eager-start workflow with one local activity), and the
// proxy in sync and async mode against the same simulator at 0 ms latency; at each
// concurrency. It prints percentiles, throughput and the ratios against the floor.
func runBench(ctx context.Context, e env, _ *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs at each concurrency")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured load before each scenario")
	levels := fs.String("concurrency", "1,32", "comma-separated concurrency levels")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (API, worker and load) to this file")
	syncPosts := fs.Int("sync-posts", 10_000, "posts of the simulated WordPress site the sync benchmark pulls")
	syncOnly := fs.Bool("sync-only", false, "measure only the site sync")
	scaleOut := fs.Bool("scale-out", false, "measure only the scale-out: transactions completed with one and two `switchyard worker` processes, and a worker's memory with 1 000 in flight")
	scaleBatch := fs.Int("scale-batch", 2000, "async transactions per scale-out measurement")
	only := fs.String("scenarios", "", "measure only the scenarios whose name matches this regular expression (the floor always runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var concurrency []int
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-concurrency: %q is not a positive number", s)
		}
		concurrency = append(concurrency, n)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var meter cpuMeter
	stopServices, err := benchServices(ctx, &e, &meter)
	if err != nil {
		return err
	}
	defer stopServices()
	caDir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(caDir)
	setDevProviderDefaults(caDir)
	allowLoopbackTargets(&e)
	if _, set := os.LookupEnv("CONNECTOR_RATE_LIMIT_PER_MINUTE"); !set {
		// The benchmark's client has no rate limit on any route: the connectors' per-client
		// default (1000 a minute) would refuse the load rather than measure it.
		e.API.ConnectorRateLimitPerMinute = 0
	}
	if e.Payload.Keys == "" {
		// A throwaway key, like the throwaway server: the benchmark's histories are not kept.
		if e.Payload.Keys, err = seal.GenerateKey("bench"); err != nil {
			return err
		}
		e.Payload.KeyID = ""
	}
	e.API.Addr = "127.0.0.1:0"
	e.API.ConfigCacheTTL = time.Minute
	if *scaleOut {
		if err := benchScaleOut(ctx, os.Stdout, e, quiet, *scaleBatch); err != nil {
			return err
		}
		cancel()
		return nil
	}
	e.Process.EmbeddedWorker = true
	e.Sites.WordPressPosts = *syncPosts
	hub, err := startLocalHub(ctx, e, quiet)
	if err != nil {
		return err
	}
	account, err := benchFixtures(ctx, hub)
	if err != nil {
		return err
	}
	if *syncOnly {
		if err := benchSync(ctx, os.Stdout, hub); err != nil {
			return err
		}
		cancel()
		return hub.wait()
	}
	cbs, err := hub.st.providers.Caller(provider.IssuerCBS)
	if err != nil {
		return err
	}
	balanceOp, _ := provider.Lookup(provider.OpAccountBalance)
	pair, err := benchTransferPair(ctx, hub.st.store)
	if err != nil {
		return err
	}
	var flip atomic.Int64
	// The floor runs twice: through the hub's client (payloads encrypted) and through a client
	// without the codec, so the difference is the codec's cost.
	plain, err := worker.Dial(ctx, hub.env.Temporal, quiet, nil, nil)
	if err != nil {
		return err
	}
	defer plain.Close()
	for queue, c := range map[string]client.Client{benchFloorQueue: hub.st.temporal, benchFloorClearQueue: plain} {
		floor := sdkworker.New(c, queue, sdkworker.Options{})
		floor.RegisterWorkflowWithOptions(benchFloorWorkflow, workflow.RegisterOptions{Name: "BenchFloor"})
		floor.RegisterActivity(benchEcho)
		if err := floor.Start(); err != nil {
			return err
		}
		defer floor.Stop()
	}
	var seq sync.Mutex
	n := 0
	floorRun := func(c client.Client, queue string) func(context.Context) error {
		return func(ctx context.Context) error {
			seq.Lock()
			n++
			id := benchFloorPrefix + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			seq.Unlock()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue,
				EnableEagerStart: true}, "BenchFloor", benchFloorPayload)
			if err != nil {
				return err
			}
			var out string
			return run.Get(ctx, &out)
		}
	}

	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	call := func(method, url, body string, want int, header ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("%s answered %d", url, resp.StatusCode)
			}
			return nil
		}
	}
	get := func(url string, want int, header ...string) func(context.Context) error {
		return call(http.MethodGet, url, "", want, header...)
	}
	// The payment simulator's events would load the hub's webhook ingestion as well: the charge
	// scenario measures charges.
	if err := call(http.MethodPut, hub.simURL+"/_sim/payments/webhook_endpoint", `{"url":""}`,
		http.StatusNoContent, "Content-Type", "application/json")(ctx); err != nil {
		return fmt.Errorf("turning the payment simulator's webhooks off: %w", err)
	}
	hooks, stopHooks, err := newBenchWebhooks(ctx, hub, httpClient)
	if err != nil {
		return err
	}
	defer stopHooks()
	notify, err := newBenchNotify(ctx, hub, httpClient)
	if err != nil {
		return err
	}
	// The start-only floor is what a webhook's answer waits for: an eager start, no result.
	startOnly := func(ctx context.Context) error {
		seq.Lock()
		n++
		id := benchFloorPrefix + "start-" + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		seq.Unlock()
		_, err := hub.st.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: benchFloorQueue,
			EnableEagerStart: true}, "BenchFloor", benchFloorPayload)
		return err
	}
	scenarios := []scenario{
		{"direct upstream", get(hub.simURL+"/bench/ping", http.StatusOK)},
		{"direct provider", func(ctx context.Context) error {
			resp, _, err := cbs.Call(ctx, balanceOp, &provider.AccountRequest{AccountNumber: account}, "bench")
			if err == nil && resp.Status != http.StatusOK {
				err = fmt.Errorf("the CBS simulator answered %d", resp.Status)
			}
			return err
		}},
		{"temporal floor", floorRun(hub.st.temporal, benchFloorQueue)},
		{"floor, no codec", floorRun(plain, benchFloorClearQueue)},
		{"proxy sync", get(hub.apiURL+"/bench/ping", http.StatusOK, "X-Client-Id", benchClient, "X-Client-Secret", benchSecret)},
		{"proxy async", get(hub.apiURL+"/bench/ping?async=true", http.StatusAccepted, "X-Client-Id", benchClient,
			"X-Client-Secret", benchSecret)},
		{"balance operation", call(http.MethodPost, hub.apiURL+"/api/v1/integration/account/balance",
			`{"account_number":"`+account+`"}`, http.StatusOK, "Content-Type", "application/json",
			"X-Client-Id", benchClient, "X-Client-Secret", benchSecret)},
		{"iso transfer", func(ctx context.Context) error {
			from, to := pair[0], pair[1]
			if flip.Add(1)%2 == 0 {
				from, to = to, from
			}
			return call(http.MethodPost, hub.apiURL+"/api/v1/iso/transfer",
				`{"from_account":"`+from+`","to_account":"`+to+`","amount":"1.00"}`, http.StatusOK,
				"Content-Type", "application/json", "X-Client-Id", benchClient, "X-Client-Secret", benchSecret)(ctx)
		}},
		// A charge as payment clients send one: keyed (the key names the run and goes to the
		// provider), so its log row is written before the provider is called.
		{"payment charge", func(ctx context.Context) error {
			return call(http.MethodPost, hub.apiURL+"/api/v1/connectors/payments/charges",
				`{"amount":100,"currency":"usd","source":"tok_visa"}`, http.StatusOK, "Content-Type", "application/json",
				"Idempotency-Key", uuid.NewString(), "X-Client-Id", benchClient, "X-Client-Secret", benchSecret)(ctx)
		}},
		{"floor, start only", startOnly},
		{"webhook accept", hooks.accept},
		{"webhook delivered", hooks.delivered},
		{"notification emit", notify.accept},
		{"notification delivered", notify.delivered},
	}

	var pick *regexp.Regexp
	if *only != "" {
		if pick, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-scenarios: %w", err)
		}
		scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool {
			return sc.name != "temporal floor" && !pick.MatchString(sc.name)
		})
	}
	names := make([]string, len(scenarios))
	for i, sc := range scenarios {
		names[i] = sc.name
	}
	results := map[string]map[int]benchResult{}
	cpu := map[string]map[int]cpuSample{}
	for _, c := range concurrency {
		for _, sc := range scenarios {
			meter.settle(ctx, 20*time.Second)
			if _, err := measure(ctx, sc.call, c, *warmup); err != nil {
				return fmt.Errorf("%s warm-up: %w", sc.name, err)
			}
			before := meter.sample()
			r, err := measure(ctx, sc.call, c, *duration)
			if err != nil {
				return fmt.Errorf("%s at c=%d: %w", sc.name, c, err)
			}
			if results[sc.name] == nil {
				results[sc.name], cpu[sc.name] = map[int]benchResult{}, map[int]cpuSample{}
			}
			results[sc.name][c] = r
			cpu[sc.name][c] = meter.sample().perRequest(before, r.requests)
			fmt.Fprintf(os.Stderr, "measured %-16s c=%-3d %s\n", sc.name, c, r)
		}
	}
	printBench(os.Stdout, names, concurrency, results)
	printCPU(os.Stdout, names, concurrency, cpu)
	if pick == nil || pick.MatchString("site sync") {
		if err := benchSync(ctx, os.Stdout, hub); err != nil {
			return err
		}
	}
	cancel()
	return hub.wait()
}

// benchServices provides PostgreSQL and Temporal: the ones in DATABASE_URL and
// TEMPORAL_ADDRESS when set, else a throwaway cluster and an in-memory dev server.
func benchServices(ctx context.Context, e *env, meter *cpuMeter) (func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if e.DB.URL == "" {
		dir, err := os.MkdirTemp("", "switchyard-bench-pg-")
		if err != nil {
			return stop, err
		}
		cluster, err := localpg.New(dir)
		if err != nil {
			return stop, err
		}
		if err := cluster.Start(ctx); err != nil {
			return stop, err
		}
		stops = append(stops, func() { _ = cluster.Remove() })
		meter.pgDir = cluster.Dir
		if err := cluster.CreateDatabase(ctx, "bench", ""); err != nil {
			stop()
			return func() {}, err
		}
		e.DB.URL = cluster.URL("bench")
	}
	if _, set := os.LookupEnv("TEMPORAL_ADDRESS"); !set {
		server, err := worker.StartDevServer(ctx, worker.DevServerOptions{Namespace: e.Temporal.Namespace})
		if err != nil {
			stop()
			return func() {}, err
		}
		stops = append(stops, func() { _ = server.Stop() })
		e.Temporal.Address = server.FrontendHostPort()
		_, meter.temporalPort, _ = net.SplitHostPort(e.Temporal.Address)
	}
	return stop, nil
}

// benchFixtures writes the benchmark's client (allowed to query balances) and a /bench/**
// channel to the simulator, and returns an account of the simulated core banking system.
func benchFixtures(ctx context.Context, hub *localHub) (string, error) {
	store := hub.st.store
	hash, err := api.HashSecret(benchSecret)
	if err != nil {
		return "", err
	}
	if _, err := store.CreateClient(ctx, schema.ClientRow{ClientID: benchClient, Name: "Benchmark", SecretHash: hash,
		Permissions: []string{provider.OpAccountBalance, api.PermissionISOTransfer, api.PermissionNotifications,
			provider.IssuerPayments},
		IsActive: true}); err != nil &&
		!errors.Is(err, schema.ErrConflict) {
		return "", err
	}
	if _, err := store.CreateMediator(ctx, schema.MediatorRow{URN: "urn:switchyard:bench", Name: "Benchmark upstream",
		EndpointURL: hub.simURL, IsOnline: true}); err != nil && !errors.Is(err, schema.ErrConflict) {
		return "", err
	}
	_, err = store.CreateChannel(ctx, schema.ChannelRow{Name: "Benchmark", PathPattern: "/bench/**",
		Methods: []string{"GET", "POST"}, Kind: schema.ChannelKindHTTP, ChannelType: "http",
		MediatorURN: "urn:switchyard:bench", RetryMaxAttempts: 3, RetryInitialIntervalMS: 1000,
		RetryBackoffCoefficient: 2, RetryMaxIntervalMS: 10000, IsActive: true})
	if err != nil && !errors.Is(err, schema.ErrConflict) {
		return "", err
	}
	var account string
	err = store.DB().GetContext(ctx, &account, `SELECT account_number FROM sim_accounts WHERE bank_code = $1
		ORDER BY account_number LIMIT 1`, sim.HomeBank)
	return account, err
}

// benchTransferPair is two active accounts with funds; transfers go back and forth between
// them so the benchmark never drains one.
func benchTransferPair(ctx context.Context, store *schema.Store) ([2]string, error) {
	var accounts []string
	err := store.DB().SelectContext(ctx, &accounts, `SELECT account_number FROM sim_accounts WHERE bank_code = $1
		AND status = 'active' AND balance > 100000 ORDER BY account_number LIMIT 2`, sim.HomeBank)
	if err == nil && len(accounts) < 2 {
		err = errors.New("the simulator has no two funded accounts")
	}
	if err != nil {
		return [2]string{}, err
	}
	return [2]string{accounts[0], accounts[1]}, nil
}

// benchFloorWorkflow is the floor: the least a workflow-backed request can cost on this server,
// a request in, one local activity, an answer out.
func benchFloorWorkflow(ctx workflow.Context, in string) (string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteLocalActivity(ctx, benchEcho, in).Get(ctx, &out)
	return out, err
}

func benchEcho(_ context.Context, in string) (string, error) { return in, nil }

// scenario is one kind of request the benchmark measures.
type scenario struct {
	name string
	call func(context.Context) error
}

// benchResult is one scenario at one concurrency.
type benchResult struct {
	requests      int
	p50, p95, p99 time.Duration
	throughput    float64
}

func (r benchResult) String() string {
	return fmt.Sprintf("n=%d p50=%s p95=%s p99=%s %.0f req/s", r.requests, ms(r.p50), ms(r.p95), ms(r.p99), r.throughput)
}

// measure runs call from c goroutines for d and collects every latency. Any error stops it:
// a benchmark of failing requests measures nothing.
func measure(ctx context.Context, call func(context.Context) error, c int, d time.Duration) (benchResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	latencies := make([][]time.Duration, c)
	errs := make(chan error, c)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					if ctx.Err() == nil {
						errs <- err
						cancel()
					}
					return
				}
				latencies[i] = append(latencies[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return benchResult{}, err
	}
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return benchResult{}, errors.New("no request completed")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	return benchResult{requests: len(all), p50: pct(0.50), p95: pct(0.95), p99: pct(0.99),
		throughput: float64(len(all)) / elapsed.Seconds()}, nil
}

func printBench(w io.Writer, names []string, concurrency []int, results map[string]map[int]benchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tc\trequests\tp50\tp95\tp99\treq/s\t")
	for _, name := range names {
		for _, c := range concurrency {
			r := results[name][c]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%.0f\t\n", name, c, r.requests, ms(r.p50), ms(r.p95), ms(r.p99), r.throughput)
		}
	}
	tw.Flush()
	// have reports whether every named scenario ran (-scenarios may leave some out).
	have := func(names ...string) bool {
		for _, n := range names {
			if results[n] == nil {
				return false
			}
		}
		return true
	}
	// goal marks a throughput ratio against its goal.
	goal := func(pct, want float64) string {
		if pct >= want {
			return fmt.Sprintf("(goal >= %.0f%%: met)", want)
		}
		return fmt.Sprintf("(goal >= %.0f%%: NOT met)", want)
	}
	fmt.Fprintln(w, "\nRatios against the bare Temporal floor measured in this run (added latency = p50 minus the direct call's p50):")
	for _, pair := range [][3]string{{"proxy sync", "direct upstream", "80"}, {"balance operation", "direct provider", "80"}} {
		if !have(pair[0], pair[1]) {
			continue
		}
		want, _ := strconv.ParseFloat(pair[2], 64)
		for _, c := range concurrency {
			floor, got, direct := results["temporal floor"][c], results[pair[0]][c], results[pair[1]][c]
			added := got.p50 - direct.p50
			pct := 100 * got.throughput / floor.throughput
			fmt.Fprintf(w, "  c=%-3d %-17s added p50 %s = %.2fx the floor p50 (%s); throughput %.0f req/s = %.0f%% of the floor's %.0f %s\n",
				c, pair[0], ms(added), float64(added)/float64(floor.p50), ms(floor.p50), got.throughput,
				pct, floor.throughput, goal(pct, want))
		}
	}
	for _, c := range concurrency {
		if !have("iso transfer") {
			break
		}
		floor, tr := results["temporal floor"][c], results["iso transfer"][c]
		pct := 100 * tr.throughput / floor.throughput
		fmt.Fprintf(w, "  c=%-3d iso transfer p50 %s p99 %s = %.2fx the floor p50; throughput %.0f req/s = %.0f%% of the floor's %s\n",
			c, ms(tr.p50), ms(tr.p99), float64(tr.p50)/float64(floor.p50), tr.throughput, pct, goal(pct, 60))
	}
	for _, c := range concurrency {
		if !have("payment charge") {
			break
		}
		floor, charge := results["temporal floor"][c], results["payment charge"][c]
		fmt.Fprintf(w, "  c=%-3d payment charge p50 %s p99 %s = %.2fx the floor p50; %.0f charges/s = %.0f%% of the floor's %.0f\n",
			c, ms(charge.p50), ms(charge.p99), float64(charge.p50)/float64(floor.p50), charge.throughput,
			100*charge.throughput/floor.throughput, floor.throughput)
	}
	for _, c := range concurrency {
		if !have("floor, no codec") {
			break
		}
		floor, plain := results["temporal floor"][c], results["floor, no codec"][c]
		fmt.Fprintf(w, "  c=%-3d payload codec: the floor p50 %s with it, %s without (%+.2fms); throughput %.0f%% of the codec-free floor's\n",
			c, ms(floor.p50), ms(plain.p50), float64((floor.p50-plain.p50).Microseconds())/1000,
			100*floor.throughput/plain.throughput)
	}
	for _, c := range concurrency {
		if !have("proxy async") {
			break
		}
		floor, async := results["temporal floor"][c], results["proxy async"][c]
		pct := 100 * async.throughput / floor.throughput
		fmt.Fprintf(w, "  c=%-3d proxy async 202 p50 %s = %.2fx the floor p50; throughput %.0f req/s = %.0f%% of the floor's %s\n",
			c, ms(async.p50), float64(async.p50)/float64(floor.p50), async.throughput, pct, goal(pct, 90))
	}
	for _, c := range concurrency {
		if !have("floor, start only", "webhook accept", "webhook delivered") {
			break
		}
		starts, accept, floor := results["floor, start only"][c], results["webhook accept"][c], results["temporal floor"][c]
		delivered := results["webhook delivered"][c]
		fmt.Fprintf(w, "  c=%-3d webhook accept p50 %s = %.2fx the start-only floor's %s; throughput %.0f req/s = %.0f%% of its %.0f\n",
			c, ms(accept.p50), float64(accept.p50)/float64(starts.p50), ms(starts.p50), accept.throughput,
			100*accept.throughput/starts.throughput, starts.throughput)
		fmt.Fprintf(w, "  c=%-3d webhook delivered (POST to the subscriber's 2xx) p50 %s = %.2fx the floor p50; %.0f deliveries/s\n",
			c, ms(delivered.p50), float64(delivered.p50)/float64(floor.p50), delivered.throughput)
	}
	for _, c := range concurrency {
		if !have("notification emit", "notification delivered") {
			break
		}
		floor, emit, delivered := results["temporal floor"][c], results["notification emit"][c], results["notification delivered"][c]
		fmt.Fprintf(w, "  c=%-3d notification emit (answered: planned, queued, delivery started) p50 %s = %.2fx the floor p50; %.0f emits/s = %.0f%% of the floor's\n",
			c, ms(emit.p50), float64(emit.p50)/float64(floor.p50), emit.throughput, 100*emit.throughput/floor.throughput)
		fmt.Fprintf(w, "  c=%-3d notification delivered (emit to the in-app message) p50 %s = %.2fx the floor p50; %.0f messages/s = %.0f%% of the floor's\n",
			c, ms(delivered.p50), float64(delivered.p50)/float64(floor.p50), delivered.throughput,
			100*delivered.throughput/floor.throughput)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
