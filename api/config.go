// Package api is Switchyard's HTTP face: the Gin router, client and admin authentication, the
// mediator proxy, the admin API, status endpoints and the OpenAPI document. It starts and reads
// workflows; it never calls a provider itself.
package api

import (
	"fmt"
	"strings"
	"time"
)

// Mediator modes (MEDIATOR_MODE).
const (
	ModeHybrid  = "hybrid"
	ModePureESB = "pure_esb"
)

// Environment is what the hub runs as (APP_ENV).
type Environment string

// Environments (APP_ENV).
const (
	EnvProduction  Environment = "production"
	EnvDevelopment Environment = "development"
)

// MinAdminTokenLength is the shortest ADMIN_TOKEN the API takes in production: the token opens
// the admin API and the codec server (decrypted payloads, card data included).
const MinAdminTokenLength = 32

// Decode reads APP_ENV; empty is production, so clearing the variable never relaxes a check.
func (e *Environment) Decode(value string) error {
	switch v := Environment(strings.ToLower(strings.TrimSpace(value))); v {
	case "", EnvProduction:
		*e = EnvProduction
	case EnvDevelopment:
		*e = v
	default:
		return fmt.Errorf("APP_ENV=%q: want production or development", value)
	}
	return nil
}

// Config is the API's environment.
type Config struct {
	// Addr is where the API listens.
	Addr string `envconfig:"API_ADDR" default:":8080"`
	// AdminToken guards /api/v1/admin; the admin API answers 403 while it is empty.
	AdminToken string `envconfig:"ADMIN_TOKEN"`
	// Environment is APP_ENV: production (the default, also when set empty) or development
	// (what `switchyard dev` runs as). In production the API refuses an ADMIN_TOKEN shorter than
	// MinAdminTokenLength. A Config built in code (tests) may leave it empty: no environment
	// rules apply then.
	Environment Environment `envconfig:"APP_ENV" default:"production"`
	// MediatorMode selects how requests are routed: hybrid (channels, relaying through the
	// National ESB where a channel has registrations) or pure_esb (every request relayed
	// through the ESB for its X-Organization, no channel matching).
	MediatorMode string `envconfig:"MEDIATOR_MODE" default:"hybrid"`
	// ForwardTimeout is how long a sync request waits before answering 202, and the default
	// upstream timeout of channels without one.
	ForwardTimeout Seconds `envconfig:"MEDIATOR_FORWARD_TIMEOUT" default:"30"`
	// IntegrationTimeout is how long a sync integration request waits before answering 202.
	IntegrationTimeout time.Duration `envconfig:"INTEGRATION_TIMEOUT" default:"30s"`
	// BatchWait is how long a batch (POST /api/v1/integration/batch) waits for its outcome
	// before answering 202; unset (zero), INTEGRATION_TIMEOUT, the typed routes' wait.
	BatchWait time.Duration `envconfig:"BATCH_SYNC_WAIT"`
	// NotificationEmitWait is how long POST /api/notification/emit/ waits for the Notify run's
	// outcome before answering 202 with the emit's status URL. Zero (a Config built in code) is
	// the default, 5s.
	NotificationEmitWait time.Duration `envconfig:"NOTIFICATION_EMIT_WAIT" default:"5s"`
	// ConnectorRateLimitPerMinute limits each client on the connectors' routes when it has no
	// rate_limit_per_minute of its own (0: no limit there, and no X-RateLimit headers).
	ConnectorRateLimitPerMinute int `envconfig:"CONNECTOR_RATE_LIMIT_PER_MINUTE" default:"1000"`
	// MaxRequestBodyBytes rejects larger request bodies with 413 before anything is stored.
	MaxRequestBodyBytes int64 `envconfig:"MAX_REQUEST_BODY_BYTES" default:"1048576"`
	// ConfigCacheTTL is how long clients and channels are cached between database reads.
	ConfigCacheTTL time.Duration `envconfig:"CONFIG_CACHE_TTL" default:"5s"`
	// TrustedProxies may set X-Forwarded-For (CIDRs or IPs); none by default, so the client IP
	// checked against allowed_ips is the connection's.
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES"`
	// ShutdownTimeout bounds how long in-flight requests may finish on shutdown.
	ShutdownTimeout time.Duration `envconfig:"API_SHUTDOWN_TIMEOUT" default:"30s"`
	// CodecCORSOrigins may call the codec server (/codec) from a browser: the Temporal Web UI's
	// origin, e.g. https://temporal-ui.example.com (`switchyard dev` adds its own UI's).
	CodecCORSOrigins []string `envconfig:"CODEC_CORS_ORIGINS"`
	// CodecMaxBodyBytes caps a codec request (payloads are base64 in it); 8 MiB when unset.
	CodecMaxBodyBytes int64 `envconfig:"CODEC_MAX_BODY_BYTES" default:"8388608"`
	// CodecTrustLoopback lets codec requests without credentials from a loopback peer through:
	// for `switchyard dev` only, whose Web UI cannot send the admin token. Other commands refuse
	// it (behind a reverse proxy on the same host every request comes from loopback).
	CodecTrustLoopback bool `envconfig:"CODEC_TRUST_LOOPBACK" default:"false"`
	// ReadTimeout bounds reading a request, headers and body; a client sending slower is cut
	// off (408 once the body has started). Zero turns it off.
	ReadTimeout time.Duration `envconfig:"API_READ_TIMEOUT" default:"15s"`
	// WriteTimeout bounds answering a request once it has been read. It must stay above the
	// sync waits (MEDIATOR_FORWARD_TIMEOUT, INTEGRATION_TIMEOUT) by writeTimeoutMargin, or a
	// sync request's 202 could not be written. Zero turns it off.
	WriteTimeout time.Duration `envconfig:"API_WRITE_TIMEOUT" default:"60s"`
	// IdleTimeout closes keep-alive connections that carry no request for this long. Zero
	// turns it off.
	IdleTimeout time.Duration `envconfig:"API_IDLE_TIMEOUT" default:"120s"`
	// AuthFailureLimit is how many failed authentications a client id may have per
	// AuthFailureWindow (they come back evenly over it) before attempts that need a bcrypt check
	// answer 429 TOO_MANY_FAILURES. Counted across instances; zero turns it off.
	AuthFailureLimit int `envconfig:"AUTH_FAILURE_LIMIT" default:"10"`
	// AuthFailureIPLimit is the same allowance per source address (an IPv6 /64); zero turns it off.
	AuthFailureIPLimit int `envconfig:"AUTH_FAILURE_IP_LIMIT" default:"50"`
	// AuthFailureWindow is the period of the authentication failure limits.
	AuthFailureWindow time.Duration `envconfig:"AUTH_FAILURE_WINDOW" default:"1m"`
	// WebhookFailureIPLimit is how many inbound webhooks a source address (an IPv6 /64) may have
	// refused as an unknown integration (404) or a bad signature (401) per AuthFailureWindow
	// before its webhooks answer 429 TOO_MANY_FAILURES, before any lookup. Counted across
	// instances; zero turns it off.
	WebhookFailureIPLimit int `envconfig:"WEBHOOK_FAILURE_IP_LIMIT" default:"100"`
	// WebhookMaxBody caps the body of a platform's inbound webhook (413 above it), whatever
	// MAX_REQUEST_BODY_BYTES is; at most MaxRequestBodyCeiling, as the body travels in workflow
	// history. Zero (a Config built in code) is the default, 1 MiB.
	WebhookMaxBody int64 `envconfig:"WEBHOOK_MAX_BODY" default:"1048576"`
}

// webhookMaxBody is WEBHOOK_MAX_BODY, or its default when unset.
func (c Config) webhookMaxBody() int64 {
	if c.WebhookMaxBody > 0 {
		return c.WebhookMaxBody
	}
	return MaxRequestBodyCeiling
}

// writeTimeoutMargin is what API_WRITE_TIMEOUT keeps above the sync waits: time to
// authenticate, start the workflow and write the answer.
const writeTimeoutMargin = 5 * time.Second

// Request limits: a body (MAX_REQUEST_BODY_BYTES at most this) and headers (MaxHeaderBytes)
// together stay under Temporal's payload limit once base64-encoded and encrypted.
const (
	MaxRequestBodyCeiling = 1 << 20
	MaxHeaderBytes        = 64 << 10
)

// Validate rejects settings the API cannot run with.
func (c Config) Validate() error {
	switch c.MediatorMode {
	case ModeHybrid, ModePureESB:
	default:
		return fmt.Errorf("MEDIATOR_MODE=%q is not a mode: use hybrid or pure_esb", c.MediatorMode)
	}
	switch c.Environment {
	case EnvProduction:
		if n := len(c.AdminToken); n > 0 && n < MinAdminTokenLength {
			return fmt.Errorf("ADMIN_TOKEN has %d characters: in production (APP_ENV) it needs at least %d, e.g. "+
				"$(openssl rand -hex 32); leave it empty to turn the admin API off", n, MinAdminTokenLength)
		}
	case EnvDevelopment, "":
	default:
		return fmt.Errorf("APP_ENV=%q: want production or development", c.Environment)
	}
	if c.MaxRequestBodyBytes <= 0 || c.MaxRequestBodyBytes > MaxRequestBodyCeiling {
		return fmt.Errorf("MAX_REQUEST_BODY_BYTES must be 1 to %d: a request travels in workflow history",
			MaxRequestBodyCeiling)
	}
	if c.WebhookMaxBody < 0 || c.WebhookMaxBody > MaxRequestBodyCeiling {
		return fmt.Errorf("WEBHOOK_MAX_BODY must be 1 to %d: a webhook travels in workflow history", MaxRequestBodyCeiling)
	}
	if c.ForwardTimeout.Duration() <= 0 {
		return fmt.Errorf("MEDIATOR_FORWARD_TIMEOUT must be positive")
	}
	if c.IntegrationTimeout <= 0 {
		return fmt.Errorf("INTEGRATION_TIMEOUT must be positive")
	}
	if c.BatchWait < 0 {
		return fmt.Errorf("BATCH_SYNC_WAIT must not be negative")
	}
	if c.ConnectorRateLimitPerMinute < 0 {
		return fmt.Errorf("CONNECTOR_RATE_LIMIT_PER_MINUTE=%d must not be negative", c.ConnectorRateLimitPerMinute)
	}
	if c.NotificationEmitWait < 0 {
		return fmt.Errorf("NOTIFICATION_EMIT_WAIT must not be negative")
	}
	if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return fmt.Errorf("API_READ_TIMEOUT, API_WRITE_TIMEOUT and API_IDLE_TIMEOUT must not be negative")
	}
	if c.AuthFailureLimit < 0 || c.AuthFailureIPLimit < 0 || c.WebhookFailureIPLimit < 0 {
		return fmt.Errorf("AUTH_FAILURE_LIMIT, AUTH_FAILURE_IP_LIMIT and WEBHOOK_FAILURE_IP_LIMIT must not be negative")
	}
	if (c.AuthFailureLimit > 0 || c.AuthFailureIPLimit > 0 || c.WebhookFailureIPLimit > 0) && c.AuthFailureWindow < time.Second {
		return fmt.Errorf("AUTH_FAILURE_WINDOW=%s must be at least 1s", c.AuthFailureWindow)
	}
	if wait := max(c.ForwardTimeout.Duration(), c.IntegrationTimeout, c.BatchWait, c.NotificationEmitWait); c.WriteTimeout > 0 && c.WriteTimeout < wait+writeTimeoutMargin {
		return fmt.Errorf("API_WRITE_TIMEOUT=%s must be at least %s above the longest sync wait (MEDIATOR_FORWARD_TIMEOUT, INTEGRATION_TIMEOUT, BATCH_SYNC_WAIT, NOTIFICATION_EMIT_WAIT: %s)",
			c.WriteTimeout, writeTimeoutMargin, wait)
	}
	return nil
}
