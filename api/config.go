// Package api is Switchyard's HTTP face: the Gin router, client and admin authentication, the
// mediator proxy, the admin API, status endpoints and the OpenAPI document. It starts and reads
// workflows; it never calls a provider itself.
package api

import (
	"fmt"
	"time"
)

// Mediator modes (MEDIATOR_MODE).
const (
	ModeHybrid  = "hybrid"
	ModePureESB = "pure_esb"
)

// Config is the API's environment.
type Config struct {
	// Addr is where the API listens.
	Addr string `envconfig:"API_ADDR" default:":8080"`
	// AdminToken guards /api/v1/admin; the admin API answers 403 while it is empty.
	AdminToken string `envconfig:"ADMIN_TOKEN"`
	// MediatorMode selects how requests are routed; only hybrid is available.
	MediatorMode string `envconfig:"MEDIATOR_MODE" default:"hybrid"`
	// ForwardTimeout is how long a sync request waits before answering 202, and the default
	// upstream timeout of channels without one.
	ForwardTimeout Seconds `envconfig:"MEDIATOR_FORWARD_TIMEOUT" default:"30"`
	// IntegrationTimeout is how long a sync integration request waits before answering 202.
	IntegrationTimeout time.Duration `envconfig:"INTEGRATION_TIMEOUT" default:"30s"`
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
}

// writeTimeoutMargin is what API_WRITE_TIMEOUT keeps above the sync waits: time to
// authenticate, start the workflow and write the answer.
const writeTimeoutMargin = 5 * time.Second

// Validate rejects settings the API cannot run with.
func (c Config) Validate() error {
	switch c.MediatorMode {
	case ModeHybrid:
	case ModePureESB:
		return fmt.Errorf("MEDIATOR_MODE=%s: the ESB relay is not available in this release; use MEDIATOR_MODE=hybrid",
			ModePureESB)
	default:
		return fmt.Errorf("MEDIATOR_MODE=%q is not a mode: use hybrid", c.MediatorMode)
	}
	if c.MaxRequestBodyBytes <= 0 {
		return fmt.Errorf("MAX_REQUEST_BODY_BYTES must be positive")
	}
	if c.ForwardTimeout.Duration() <= 0 {
		return fmt.Errorf("MEDIATOR_FORWARD_TIMEOUT must be positive")
	}
	if c.IntegrationTimeout <= 0 {
		return fmt.Errorf("INTEGRATION_TIMEOUT must be positive")
	}
	if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return fmt.Errorf("API_READ_TIMEOUT, API_WRITE_TIMEOUT and API_IDLE_TIMEOUT must not be negative")
	}
	if wait := max(c.ForwardTimeout.Duration(), c.IntegrationTimeout); c.WriteTimeout > 0 && c.WriteTimeout < wait+writeTimeoutMargin {
		return fmt.Errorf("API_WRITE_TIMEOUT=%s must be at least %s above the longest sync wait (MEDIATOR_FORWARD_TIMEOUT, INTEGRATION_TIMEOUT: %s)",
			c.WriteTimeout, writeTimeoutMargin, wait)
	}
	return nil
}
