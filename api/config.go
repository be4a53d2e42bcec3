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
}

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
	return nil
}
