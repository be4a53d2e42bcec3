// Package activities holds the side effects of Switchyard's workflows: calls to upstreams and
// providers, and writes to PostgreSQL. It is the one place that turns Go errors into Temporal
// application errors (see classify).
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
)

// Config sizes what activities keep and accept.
type Config struct {
	// TransactionBodyMaxLength caps the request and response bodies written to the transaction log.
	TransactionBodyMaxLength int `envconfig:"TRANSACTION_BODY_MAX_LENGTH" default:"65536"`
	// MaxUpstreamResponseBytes caps an upstream answer's body; a larger one fails the forward.
	// At most MaxUpstreamResponseCeiling: the answer travels in workflow history, base64 and
	// encrypted, under Temporal's 2 MB payload limit.
	MaxUpstreamResponseBytes int64 `envconfig:"MAX_UPSTREAM_RESPONSE_BYTES" default:"1048576"`
	// DefaultTimeout applies to channels without a timeout of their own: the API's
	// MEDIATOR_FORWARD_TIMEOUT, read once and handed over where the process is wired.
	DefaultTimeout time.Duration `ignored:"true"`
	// MaxIdleConnsPerHost bounds the keep-alive pool towards each upstream.
	MaxIdleConnsPerHost int `envconfig:"UPSTREAM_MAX_IDLE_CONNS_PER_HOST" default:"64"`
	// RedactNamePatterns: a header or query parameter whose name contains one of these
	// (case-insensitively) is written to the transaction log as transaction.Redacted; upstreams
	// still get the real value. Left nil, DefaultRedactNamePatterns apply. Authorization,
	// cookies and the hub's client secret are redacted whatever the list says.
	RedactNamePatterns []string `envconfig:"REDACT_NAME_PATTERNS" default:"key,token,secret,auth,signature,password,session,cookie"`

	// DeliveryTimeout bounds one POST of an event to a subscription.
	DeliveryTimeout time.Duration `envconfig:"DELIVERY_TIMEOUT" default:"10s"`
	// DeliveryRetryBudget bounds all attempts of one delivery; after it the delivery fails.
	DeliveryRetryBudget time.Duration `envconfig:"DELIVERY_RETRY_BUDGET" default:"24h"`
	// DeliveryRetryInitialInterval and DeliveryRetryMaxInterval shape the exponential backoff
	// between attempts (a subscriber's Retry-After overrides it).
	DeliveryRetryInitialInterval time.Duration `envconfig:"DELIVERY_RETRY_INITIAL_INTERVAL" default:"1s"`
	DeliveryRetryMaxInterval     time.Duration `envconfig:"DELIVERY_RETRY_MAX_INTERVAL" default:"1h"`
	// DeliveryDisableAfter disables a subscription after this many failed deliveries in a row
	// (0: never).
	DeliveryDisableAfter int `envconfig:"DELIVERY_DISABLE_AFTER" default:"20"`
	// MessageMaxAttempts bounds the attempts of one message send (the seed's 3).
	MessageMaxAttempts int `envconfig:"MESSAGE_MAX_ATTEMPTS" default:"3"`
	// MessageRetryInitialInterval is the first backoff between send attempts (doubling).
	MessageRetryInitialInterval time.Duration `envconfig:"MESSAGE_RETRY_INITIAL_INTERVAL" default:"1s"`
	// MessageSendBudget bounds all attempts of one send, waits for the platform's retry-after
	// included.
	MessageSendBudget time.Duration `envconfig:"MESSAGE_SEND_BUDGET" default:"10m"`
	// MessageTimeout bounds one call to a messaging platform's API.
	MessageTimeout time.Duration `envconfig:"MESSAGE_TIMEOUT" default:"15s"`
	// OrderedQueueIdle is how long an ordered integration's inbox, or one conversation's delivery
	// queue, waits for another event before its workflow ends (the next event starts it again).
	OrderedQueueIdle time.Duration `envconfig:"ORDERED_QUEUE_IDLE" default:"1m"`
	// WebhookAllowPrivateTargets lets subscriptions' URLs and messaging APIs' base URLs (chosen
	// by tenants) reach addresses inside the hub's network: loopback, private, link-local.
	// Off in production; `switchyard dev`, the tests and the benchmark turn it on (their
	// simulators and subscribers are on loopback).
	WebhookAllowPrivateTargets bool `envconfig:"WEBHOOK_ALLOW_PRIVATE_TARGETS" default:"false"`
	// PlatformMaxResponseBytes caps a messaging platform's answer.
	PlatformMaxResponseBytes int64 `envconfig:"PLATFORM_MAX_RESPONSE_BYTES" default:"1048576"`

	// SiteTimeout bounds one call to a site (a page, an item, a push, a connection test).
	SiteTimeout time.Duration `envconfig:"SITE_TIMEOUT" default:"30s"`
	// SyncHeartbeatTimeout is how long a sync chunk may go without a heartbeat before Temporal
	// gives its attempt up and retries it (from the last page it applied) on another worker.
	SyncHeartbeatTimeout time.Duration `envconfig:"SYNC_HEARTBEAT_TIMEOUT" default:"20s"`
	// SyncMaxAttempts bounds the attempts of one sync chunk or one item; a chunk that runs out
	// of them fails the sync (or escalates it, with the integration's escalate_on_failure).
	SyncMaxAttempts int `envconfig:"SYNC_MAX_ATTEMPTS" default:"5"`
	// SyncRetryInitialInterval is the first backoff between attempts (doubling, at most a
	// minute; a site's Retry-After overrides it).
	SyncRetryInitialInterval time.Duration `envconfig:"SYNC_RETRY_INITIAL_INTERVAL" default:"1s"`
	// SyncChunkPages is how many pages one sync activity applies before it reports back.
	SyncChunkPages int `envconfig:"SYNC_CHUNK_PAGES" default:"50"`
	// SyncFetchAhead makes a pull fetch the next page while it writes one: faster (about 1.5×
	// against the simulator), but a worker that dies mid-page makes its successor fetch two
	// pages again instead of one.
	SyncFetchAhead bool `envconfig:"SYNC_FETCH_AHEAD" default:"false"`
	// SyncContinueAsNewChunks is how many chunks one run of a sync takes before it continues as
	// new (its history stays small; the checkpoint is in the database).
	SyncContinueAsNewChunks int `envconfig:"SYNC_CONTINUE_AS_NEW_CHUNKS" default:"10"`

	// Notification is the notification family's transports and pace (NOTIFICATION_*).
	Notification NotificationConfig
	// ESB is how proxied transactions relay through the National ESB (GOVESB_*, ESB_*, keys).
	ESB provider.ESBConfig
}

// Upstream answer limits: a body (MAX_UPSTREAM_RESPONSE_BYTES at most this) and headers
// together stay under Temporal's payload limit once base64-encoded and encrypted.
const (
	MaxUpstreamResponseCeiling = 1 << 20
	maxUpstreamHeaderBytes     = 64 << 10
)

// Validate rejects limits the hub cannot honour.
func (c Config) Validate() error {
	if c.DeliveryTimeout <= 0 || c.DeliveryRetryBudget <= 0 || c.MessageTimeout <= 0 || c.MessageMaxAttempts < 1 ||
		c.MessageSendBudget < c.MessageTimeout {
		return errors.New("DELIVERY_TIMEOUT, DELIVERY_RETRY_BUDGET and MESSAGE_TIMEOUT must be positive, MESSAGE_MAX_ATTEMPTS " +
			"at least 1 and MESSAGE_SEND_BUDGET at least MESSAGE_TIMEOUT")
	}
	if err := c.Notification.Validate(); err != nil {
		return err
	}
	if err := c.ESB.Validate(); err != nil {
		return err
	}
	if err := c.validateSync(); err != nil {
		return err
	}
	if c.MaxUpstreamResponseBytes <= 0 || c.MaxUpstreamResponseBytes > MaxUpstreamResponseCeiling {
		return fmt.Errorf("MAX_UPSTREAM_RESPONSE_BYTES must be 1 to %d: answers travel in workflow history",
			MaxUpstreamResponseCeiling)
	}
	return nil
}

// Store is the part of schema.Store the activities write through.
type Store interface {
	InsertTransaction(ctx context.Context, t schema.TransactionRow) (schema.TransactionRow, bool, error)
	InsertFinishedTransaction(ctx context.Context, t schema.TransactionRow, o schema.TransactionOutcome) error
	UpdateTransaction(ctx context.Context, o schema.TransactionOutcome) error
	GetRoute(ctx context.Context, channelID string) (schema.RouteRow, error)
	InsertProviderAudit(ctx context.Context, r schema.ProviderAuditRow) error
	TransferReferences(ctx context.Context, correlationID, terminalID string) (schema.TransferReferences, error)
	RerunStore
}

// Doer sends HTTP requests; *http.Client satisfies it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Activities carries the dependencies every activity needs. Register one value with the worker.
type Activities struct {
	Store     Store
	HTTP      Doer
	Providers ProviderSet
	ISO       ISO
	// Messaging serves the webhook family: inbound webhooks, deliveries, sends.
	Messaging Messaging
	// Sites serves the sync family: site integrations, syncs, their content store.
	Sites Sites
	// Notifications serves the notification family: emits, deliveries, escalations.
	Notifications Notifications
	// Reruns serves rerun tasks and channels' auto-retry.
	Reruns Reruns
	// Connectors serves the enterprise connectors' operations: rate limits toward their
	// providers, sealed card data.
	Connectors Connectors
	// ESB relays proxied transactions through the National ESB; it holds the worker's token.
	ESB    *provider.ESB
	Config Config
}

// New builds Activities with an HTTP client tuned for forwarding: no client-level timeout (each
// call has its own deadline), no redirects followed (the client sees the upstream's answer), and
// no retries (Temporal owns them). providers may be nil where no operation runs.
func New(store Store, providers ProviderSet, cfg Config) *Activities {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 0
	transport.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	transport.IdleConnTimeout = 90 * time.Second
	transport.MaxResponseHeaderBytes = maxUpstreamHeaderBytes
	httpClient := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Activities{
		Store:     store,
		Providers: providers,
		HTTP:      httpClient,
		ESB:       provider.NewESB(cfg.ESB, httpClient, cfg.MaxUpstreamResponseBytes),
		Config:    cfg,
	}
}
