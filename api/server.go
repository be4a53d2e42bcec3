package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
)

// Store is the part of schema.Store the API uses.
type Store interface {
	ClientStore
	RouteStore
	Buckets
	IntegrationStore
	SyncStore
	NotificationStore
	ESBStore
	RerunStore
	ConnectorStore
	Ping(ctx context.Context) error
	CreateClient(ctx context.Context, c schema.ClientRow) (schema.ClientRow, error)
	ListClients(ctx context.Context, page schema.Page) ([]schema.ClientRow, error)
	UpdateClient(ctx context.Context, id string, change func(*schema.ClientRow) error) (schema.ClientRow, error)
	CreateMediator(ctx context.Context, m schema.MediatorRow) (schema.MediatorRow, error)
	GetMediator(ctx context.Context, urn string) (schema.MediatorRow, error)
	ListMediators(ctx context.Context, page schema.Page) ([]schema.MediatorRow, error)
	UpdateMediator(ctx context.Context, urn string, change func(*schema.MediatorRow) error) (schema.MediatorRow, error)
	CreateChannel(ctx context.Context, c schema.ChannelRow) (schema.ChannelRow, error)
	GetChannel(ctx context.Context, id string) (schema.ChannelRow, error)
	ListChannels(ctx context.Context, page schema.Page) ([]schema.ChannelRow, error)
	UpdateChannel(ctx context.Context, id string, change func(*schema.ChannelRow) error) (schema.ChannelRow, error)
	GetTransaction(ctx context.Context, id string) (schema.TransactionRow, error)
	ListProviderAudit(ctx context.Context, correlationID string, page schema.Page) ([]schema.ProviderAuditRow, error)
	ListTransactions(ctx context.Context, f schema.TransactionFilter, page schema.Page) ([]schema.TransactionRow, error)
}

// Deps are the API's collaborators.
type Deps struct {
	Store    Store
	Temporal client.Client
	Logger   *slog.Logger
	// Registry receives the HTTP metrics; Gatherer serves /metrics (usually the same registry).
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Providers is the provider stack of this process's embedded worker (its breakers show in
	// /ready); nil when the API runs no worker.
	Providers Providers
	// ISO is the card switch configuration; nil when no switch is configured.
	ISO *iso.Config
	// Details adds named sections to /ready (the ISO pool's health, say).
	Details map[string]func() any
	// Converter is the data converter of the hub's Temporal clients (it decodes memos); the
	// SDK's default when nil.
	Converter converter.DataConverter
	// Codec is the payload codec the codec server (/codec) runs; without one it is not served.
	Codec converter.PayloadCodec
	// SimulatorReports serves the simulator report download; nil when simulation is off.
	SimulatorReports SimulatorReports
	// Vault seals integrations' credentials and subscriptions' signing secrets (SECRET_KEYS);
	// without one the integration and subscription routes that need it answer 503.
	Vault *platform.Vault
	// Connectors are the enterprise connectors' configurations, without their secrets (the
	// status route, ERP_ENTITY_TYPES); a connector missing here shows as not initialized.
	Connectors map[string]ConnectorInfo
}

// Server is the Gin application.
type Server struct {
	cfg       Config
	store     Store
	temporal  client.Client
	converter converter.DataConverter
	logger    *slog.Logger
	auth      *clientAuth
	routes    *routeCache
	esb       *esbCache // ESB registrations, cached like routes
	limiter   *rateLimiter
	engine    *gin.Engine
	providers Providers
	validate  *validator.Validate
	iso       *iso.Config
	details   map[string]func() any
	reports   SimulatorReports // nil when simulation is off
	hub       integrationParts // integrations, webhooks, subscriptions
	// connectors are the connectors' configurations, without secrets.
	connectors map[string]ConnectorInfo
}

// New builds the router. It fails on invalid config (an unknown MEDIATOR_MODE, say).
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	metrics, err := newHTTPMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	if deps.Converter == nil {
		deps.Converter = converter.GetDefaultDataConverter()
	}
	shared := newSharedBuckets(deps.Store, deps.Logger) // rate and failure limits, shared across instances
	s := &Server{
		cfg:        cfg,
		store:      deps.Store,
		temporal:   deps.Temporal,
		converter:  deps.Converter,
		logger:     deps.Logger,
		auth:       newClientAuth(deps.Store, cfg.ConfigCacheTTL),
		routes:     newRouteCache(deps.Store, cfg.ConfigCacheTTL, deps.Logger),
		esb:        newESBCache(deps.Store, cfg.ConfigCacheTTL, deps.Logger),
		limiter:    newRateLimiter(shared),
		providers:  deps.Providers,
		validate:   provider.NewValidator(),
		iso:        deps.ISO,
		details:    deps.Details,
		reports:    deps.SimulatorReports,
		connectors: deps.Connectors,
	}

	s.auth.failures = newFailureLimits(cfg, shared, deps.Logger)
	if s.hub, err = newIntegrationParts(cfg, deps); err != nil {
		return nil, err
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	r.Use(requestID(deps.Logger), metrics.observe, recovery(), webhookBodyLimit(cfg, bodyLimit(cfg)))

	r.GET("/health", s.health)
	r.GET("/ready", s.ready)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{})))
	if err := s.registerDocs(r); err != nil {
		return nil, err
	}

	admin := r.Group("/api/v1/admin", adminAuth(cfg.AdminToken))
	s.registerAdmin(admin)
	s.registerAdminIntegrations(admin)
	s.registerAdminNotifications(admin)
	s.registerAdminESB(admin)

	s.registerIntegration(r)
	s.registerIntegrations(r)
	s.registerBatch(r)
	s.registerConnectors(r)
	s.registerNotifications(r)
	if deps.Codec != nil {
		s.registerCodec(r, deps.Codec)
	}

	tx := r.Group("/transactions", s.requireClient)
	for _, p := range []string{"/:id", "/:id/"} {
		tx.GET(p, s.transactionStatus)
	}
	for _, p := range []string{"/:id/rerun", "/:id/rerun/"} {
		tx.POST(p, s.rerun)
	}

	r.NoRoute(s.proxy)
	r.NoMethod(func(c *gin.Context) {
		writeError(c, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route"))
	})
	s.engine = r
	return s, nil
}

// Handler is the HTTP handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// reserved reports whether path belongs to the hub itself; such paths are never proxied.
func reserved(path string) bool {
	switch path {
	case "/health", "/ready", "/metrics", "/api", "/transactions", CodecPath:
		return true
	}
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/transactions/") ||
		strings.HasPrefix(path, CodecPath+"/")
}

// requireClient authenticates the caller and applies its rate limit.
func (s *Server) requireClient(c *gin.Context) {
	client, err := s.authorize(c)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(clientKey, client)
	c.Next()
}

const clientKey = "switchyard.client"

// authorize authenticates the caller and takes a token from its rate limit.
func (s *Server) authorize(c *gin.Context) (Client, error) {
	client, err := s.auth.authenticate(c)
	if err != nil {
		return Client{}, err
	}
	if err := s.limiter.allow(c, client); err != nil {
		return Client{}, err
	}
	return client, nil
}

func currentClient(c *gin.Context) Client {
	v, _ := c.Get(clientKey)
	client, _ := v.(Client)
	return client
}
