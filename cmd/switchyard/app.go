package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
)

// stack is a process's connections: PostgreSQL, Temporal and the metrics registry, and the
// provider stack once the process runs a worker.
type stack struct {
	store     *schema.Store
	temporal  client.Client
	codec     *worker.Codec // encrypts every payload the process sends to Temporal
	converter converter.DataConverter
	registry  *prometheus.Registry
	providers *provider.Set
	pool      *iso.Pool // nil when no card switch is configured
	// vault seals and opens integrations' credentials and subscriptions' secrets.
	vault   *platform.Vault
	closers []func()
}

// openStack connects to PostgreSQL and Temporal, with the SDK's metrics in a Prometheus
// registry and the payload codec (it refuses to start without PAYLOAD_KEYS), and makes sure the
// namespace has Switchyard's search attributes.
func openStack(ctx context.Context, e env, logger *slog.Logger) (*stack, error) {
	st := &stack{registry: prometheus.NewRegistry()}
	st.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if st.codec, err = worker.NewCodec(e.Payload); err != nil {
		return nil, err
	}
	st.converter = st.codec.DataConverter()
	if st.vault, err = platform.NewVaultFromConfig(e.Secrets, e.Payload.Keys, e.Payload.KeyID); err != nil {
		return nil, err
	}
	if st.store, err = schema.Open(ctx, e.DB); err != nil {
		return nil, err
	}
	st.closers = append(st.closers, func() { st.store.Close() })
	if e.ISO.Configured() {
		if st.pool, err = iso.NewPool(e.ISO, st.store, iso.NewMetrics(st.registry), logger); err != nil {
			st.close()
			return nil, err
		}
		if err := st.pool.Connect(ctx); err != nil {
			st.close()
			return nil, fmt.Errorf("connecting to the card switch: %w", err)
		}
		st.closers = append(st.closers, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = st.pool.Close(ctx)
		})
	}
	metrics, closer := worker.NewMetricsHandler(st.registry, st.registry)
	st.closers = append(st.closers, func() { closer.Close() })
	if st.temporal, err = worker.Dial(ctx, e.Temporal, logger, metrics, st.converter); err != nil {
		st.close()
		return nil, err
	}
	st.closers = append(st.closers, st.temporal.Close)
	if err := worker.EnsureSearchAttributes(ctx, st.temporal, e.Temporal.Namespace); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// workerProviders builds the provider stack the first time a worker needs it: a process that
// runs no worker (an API with API_EMBEDDED_WORKER=false) never loads issuers' configuration or
// secrets.
func (st *stack) workerProviders(e env) (*provider.Set, error) {
	if st.providers != nil {
		return st.providers, nil
	}
	set, err := newProviderSet(e, st, st.registry)
	if err != nil {
		return nil, err
	}
	st.providers = set
	return set, nil
}

// newProviderSet builds every issuer's caller, the card switch's (iso) included; with
// CBS_TRANSPORT=iso8583 the CBS balance goes through the switch too.
func newProviderSet(e env, st *stack, reg prometheus.Registerer) (*provider.Set, error) {
	configs, err := provider.LoadAll(e.SimURLs)
	if err != nil {
		return nil, err
	}
	set, err := provider.NewSet(configs, provider.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	isoIssuer := provider.Config{Issuer: provider.IssuerISO, Prefix: "ISO", Timeout: e.ISO.SendTimeout,
		Retry: transaction.RetryPolicy{MaxAttempts: e.ISO.MaxAttempts, InitialInterval: e.ISO.RetryInitialInterval,
			BackoffCoefficient: 2, MaxInterval: e.ISO.RetryMaxInterval}}
	set.Add(provider.IssuerISO, &activities.ISOCaller{ISO: st.isoDeps(), Issuer: isoIssuer})
	if cbs := configs[provider.IssuerCBS]; cbs.Transport == "iso8583" {
		if st.pool == nil {
			return nil, errors.New("CBS_TRANSPORT=iso8583 needs a card switch: set ISO_HOSTS or ISO_SIMULATE=true")
		}
		set.Override(provider.OpAccountBalance, &activities.ISOCaller{ISO: st.isoDeps(), Issuer: cbs})
	}
	return set, nil
}

// isoDeps is what the ISO activities need; without a configured switch its pool is nil.
func (st *stack) isoDeps() activities.ISO {
	if st.pool == nil {
		return activities.ISO{STANs: st.store, RRNs: st.store}
	}
	return activities.ISO{Pool: st.pool, STANs: st.store, RRNs: st.store}
}

func (st *stack) close() {
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
}

// serveAPI runs the API on l until ctx ends, with workers on every task queue in the same process when
// API_EMBEDDED_WORKER is on (eager start needs one). On shutdown the API stops accepting and
// finishes in-flight requests, then the worker drains.
func serveAPI(ctx context.Context, st *stack, e env, logger *slog.Logger, l net.Listener) error {
	connectors, err := connectorInfos(e)
	if err != nil {
		return err
	}
	deps := api.Deps{Store: st.store, Temporal: st.temporal, Logger: logger, Registry: st.registry, Gatherer: st.registry,
		Converter: st.converter, Codec: st.codec, Vault: st.vault, Connectors: connectors}
	if st.pool != nil {
		isoCfg := e.ISO
		deps.ISO = &isoCfg
		deps.Details = map[string]func() any{"iso": func() any { return st.pool.Health() }}
	}
	if simulating(st, e) {
		deps.SimulatorReports = sim.NewStore(st.store.DB())
	}
	if e.Process.EmbeddedWorker {
		// The API's own workers take most of their work eagerly, at the start, not from a poll:
		// extra pollers would only cost the server (about 15 % of a proxied request's CPU there).
		e.Worker.PollerAutoscaling = false
		stop, err := startWorkers(st, e, worker.Queues)
		if err != nil {
			return fmt.Errorf("starting the API's workers: %w", err)
		}
		defer stop()
		deps.Providers = st.providers
	}
	srv, err := api.New(e.API, deps)
	if err != nil {
		return err
	}
	logger.Info("API listening", "addr", l.Addr().String(), "embedded_worker", e.Process.EmbeddedWorker)
	return serveWith(ctx, l, apiServer(e.API, srv.Handler()), e.API.ShutdownTimeout)
}

// simulating reports whether the core banking system is the simulator's (CBS_SIMULATE, or
// ISO_SIMULATE: the switch simulator posts to the same accounts), so its reports mean something.
func simulating(st *stack, e env) bool {
	if e.ISO.Simulate {
		return true
	}
	cbs, err := st.providers.Caller(provider.IssuerCBS)
	return err == nil && cbs.Config().Simulate
}

func runAPI(ctx context.Context, e env, logger *slog.Logger) error {
	if err := e.API.Validate(); err != nil {
		return err
	}
	if e.API.CodecTrustLoopback {
		return errors.New("CODEC_TRUST_LOOPBACK is for `switchyard dev` only: behind a reverse proxy on the same host " +
			"every request comes from loopback; give the codec server's callers the admin token")
	}
	st, err := openStack(ctx, e, logger)
	if err != nil {
		return err
	}
	defer st.close()
	l, err := net.Listen("tcp", e.API.Addr)
	if err != nil {
		return fmt.Errorf("API listening on %s: %w", e.API.Addr, err)
	}
	return serveAPI(ctx, st, e, logger, l)
}

// runWorker runs a standalone worker on the WORKER_TASK_QUEUES queues, with /metrics and /health on
// WORKER_METRICS_ADDR. Stopping it lets running activities finish (WORKER_STOP_TIMEOUT).
func runWorker(ctx context.Context, e env, logger *slog.Logger) error {
	st, err := openStack(ctx, e, logger)
	if err != nil {
		return err
	}
	defer st.close()
	stop, err := startWorkers(st, e, e.Worker.TaskQueues)
	if err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	defer stop()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(st.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	logger.Info("Worker running", "task_queues", e.Worker.TaskQueues, "metrics_addr", e.Process.WorkerMetricsAddr)
	return serveHTTP(ctx, e.Process.WorkerMetricsAddr, mux)
}

// startWorkers runs a worker per task queue; stop drains them.
func startWorkers(st *stack, e env, queues []string) (stop func(), err error) {
	providers, err := st.workerProviders(e)
	if err != nil {
		return nil, err
	}
	acts, err := st.newActivities(e, providers)
	if err != nil {
		return nil, err
	}
	workers, err := worker.New(st.temporal, queues, acts, e.Worker)
	if err != nil {
		return nil, err
	}
	var started []interface{ Stop() }
	stop = func() {
		for _, w := range started {
			w.Stop()
		}
	}
	for _, w := range workers {
		if err := w.Start(); err != nil {
			stop()
			return nil, err
		}
		started = append(started, w)
	}
	return stop, nil
}

func runMigrate(ctx context.Context, e env, logger *slog.Logger) error {
	store, err := schema.Open(ctx, e.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := schema.Migrate(ctx, store.DB().DB)
	if err != nil {
		return err
	}
	logger.Info("Database migrated", "applied", applied)
	return nil
}

func runSeed(ctx context.Context, e env, logger *slog.Logger, reset bool) error {
	store, err := schema.Open(ctx, e.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := api.Seed(ctx, store, e.Seed, reset)
	if err != nil {
		return err
	}
	logger.Info("Demo data seeded", "clients", sum.Clients, "mediators", sum.Mediators, "channels", sum.Channels,
		"reset", reset)
	if err := seedIntegrations(ctx, store, e, logger); err != nil {
		return err
	}
	nsum, err := api.SeedNotifications(ctx, store, e.Seed, reset)
	if err != nil {
		return err
	}
	logger.Info("Demo notification data seeded", "events", nsum.Events, "rules", nsum.Rules,
		"templates", nsum.Templates, "recipients", nsum.Recipients, "preferences", nsum.Preferences)
	// The simulators' data lives in their own tables, which their migrations create.
	if _, err := sim.Migrate(ctx, store.DB().DB); err != nil {
		return err
	}
	simStore := sim.NewStore(store.DB())
	has, err := simStore.HasData(ctx)
	if err != nil {
		return err
	}
	if reset || !has {
		data := sim.GenerateData(simDataSeed, simCustomers, time.Now())
		if err := simStore.Replace(ctx, data); err != nil {
			return err
		}
		logger.Info("Simulator data generated", "customers", len(data.Customers), "accounts", len(data.Accounts),
			"transactions", len(data.Transactions), "billers", len(data.Billers))
	}
	return nil
}

// The simulators' data set: always the same customers and accounts.
const (
	simDataSeed  = 8583
	simCustomers = 60
)

// runSim serves the simulators: HTTP on SIM_ADDR (upstream and providers), SMTP on
// SIM_SMTP_ADDR. The provider simulators read their data from the database.
func runSim(ctx context.Context, e env, logger *slog.Logger) error {
	store, err := schema.Open(ctx, e.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := sim.Migrate(ctx, store.DB().DB); err != nil {
		return err
	}
	sims, err := newSimulators(store, e, logger)
	if err != nil {
		return err
	}
	httpL, err := net.Listen("tcp", e.Sim.Addr)
	if err != nil {
		return fmt.Errorf("simulators on %s: %w (set SIM_ADDR)", e.Sim.Addr, err)
	}
	smtpL, err := net.Listen("tcp", e.SimURLs.SMTPAddr)
	if err != nil {
		httpL.Close()
		return fmt.Errorf("SMTP sink on %s: %w (set SIM_SMTP_ADDR)", e.SimURLs.SMTPAddr, err)
	}
	isoL, err := net.Listen("tcp", e.ISO.SimAddr)
	if err != nil {
		httpL.Close()
		smtpL.Close()
		return fmt.Errorf("switch simulator on %s: %w (set SIM_ISO_ADDR)", e.ISO.SimAddr, err)
	}
	logger.Info("Simulators listening", "http", e.Sim.Addr, "smtp", e.SimURLs.SMTPAddr, "iso8583", e.ISO.SimAddr)
	return serveSimulators(ctx, sims, simListeners{http: httpL, smtp: smtpL, iso: isoL})
}

// newSimulators builds the simulators for the issuers configured in the environment, over the
// simulators' tables in store's database (migrated by sim.Migrate).
func newSimulators(store *schema.Store, e env, logger *slog.Logger) (*sim.Simulators, error) {
	configs, err := provider.LoadAll(e.SimURLs)
	if err != nil {
		return nil, err
	}
	return sim.New(sim.NewStore(store.DB()), sim.Options{Upstream: e.Sim, Issuers: configs, ISO: e.ISO, Switch: e.Switch,
		Messaging: e.Messaging, Payments: e.Payments, Sites: e.Sites, ESB: e.ESBSim, Logger: logger})
}

// simListeners are where the simulators serve: HTTP, SMTP and ISO 8583.
type simListeners struct{ http, smtp, iso net.Listener }

// serveSimulators serves the simulators until ctx ends.
func serveSimulators(ctx context.Context, sims *sim.Simulators, l simListeners) error {
	errs := make(chan error, 2)
	go func() { errs <- sims.Mail.Serve(l.smtp) }()
	go func() { errs <- sims.Switch.Serve(l.iso) }()
	err := serveOn(ctx, l.http, sims.Handler(), 5*time.Second)
	sims.Mail.Close()
	sims.Switch.Close()
	return errors.Join(err, <-errs, <-errs)
}

// serveHTTP serves h on addr until ctx ends.
func serveHTTP(ctx context.Context, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return serveOn(ctx, l, h, 10*time.Second)
}

// headerTimeout is how long any of the hub's servers waits for a request's headers.
const headerTimeout = 10 * time.Second

// apiServer is the API's HTTP server: a client has API_READ_TIMEOUT to send a request (its
// headers within headerTimeout), API_WRITE_TIMEOUT to take the answer, and a keep-alive
// connection is closed after API_IDLE_TIMEOUT without a request. A slow client holds a
// connection for a bounded time, never forever.
func apiServer(c api.Config, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: headerTimeout, ReadTimeout: c.ReadTimeout,
		WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout, MaxHeaderBytes: api.MaxHeaderBytes}
	if c.ReadTimeout > 0 {
		srv.ReadHeaderTimeout = min(headerTimeout, c.ReadTimeout)
	}
	return srv
}

// serveOn serves h on l until ctx ends, then stops accepting and gives in-flight requests up
// to grace to finish. It is for the hub's internal servers (simulators, worker metrics): headers
// must arrive within headerTimeout and idle connections close, but answers may take as long as
// a simulated latency asks.
func serveOn(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration) error {
	return serveWith(ctx, l, &http.Server{Handler: h, ReadHeaderTimeout: headerTimeout, IdleTimeout: 2 * time.Minute}, grace)
}

// serveWith serves srv on l until ctx ends, then stops accepting and gives in-flight requests up
// to grace to finish.
func serveWith(ctx context.Context, l net.Listener, srv *http.Server, grace time.Duration) error {
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(l) }()
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if e := <-errs; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

// newActivities builds the activities this process's workers run: the provider stack, the ISO
// pool, the webhook family's store, vault, platforms' client and Temporal client, and the sync
// family's site clients.
func (st *stack) newActivities(e env, providers *provider.Set) (*activities.Activities, error) {
	acts := activities.New(st.store, providers, e.Activities)
	acts.ISO = st.isoDeps()
	// Tenants choose these addresses: no client-level timeout (each call has its own deadline),
	// and nothing inside the hub's network unless WEBHOOK_ALLOW_PRIVATE_TARGETS.
	tenants := platform.Transport(e.Activities.WebhookAllowPrivateTargets, e.Activities.MaxIdleConnsPerHost)
	acts.Messaging = activities.Messaging{Store: st.store, Vault: st.vault, Temporal: st.temporal,
		Platforms: platform.NewSender(&http.Client{Transport: tenants}, e.Activities.PlatformMaxResponseBytes),
		Deliveries: &http.Client{Transport: tenants,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// Sites are tenants' addresses too.
	sites := &http.Client{Transport: tenants, Timeout: e.Activities.SiteTimeout} // redirects: see NewSiteClient
	acts.Connectors = activities.Connectors{Buckets: st.store}
	if st.vault != nil {
		acts.Connectors.Vault = st.vault
	}
	acts.Sites = activities.Sites{Store: st.store, Vault: st.vault, Client: siteClients(sites, providers, acts.Connectors)}
	// The notification family's transports: NOTIFICATION_* when set, else the hub's issuers.
	var issuers activities.IssuerCallers
	if providers != nil { // a worker without the provider stack sends only in-app messages
		issuers = providers
	}
	transports, err := activities.NewNotificationTransports(e.Activities.Notification, issuers,
		provider.NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		return nil, fmt.Errorf("notification transports: %w", err)
	}
	acts.Notifications = activities.Notifications{Store: st.store, Transports: transports, Temporal: st.temporal}
	return acts, nil
}
