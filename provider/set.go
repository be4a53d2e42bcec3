package provider

import (
	"context"
	"fmt"
	"sort"
)

// Caller makes one attempt of an operation against one issuer.
type Caller interface {
	Call(ctx context.Context, op Operation, req any, correlationID string) (Response, Attempt, error)
	Config() Config
	BreakerState() string
}

// Set holds a caller per issuer: an HTTP client, or the mailer for e-mail.
type Set struct {
	callers   map[string]Caller
	overrides map[string]Caller // by operation key
}

// NewSet builds the callers of every configured issuer.
func NewSet(configs map[string]Config, metrics *Metrics) (*Set, error) {
	s := &Set{callers: map[string]Caller{}, overrides: map[string]Caller{}}
	for issuer, cfg := range configs {
		var c Caller
		var err error
		if issuer == IssuerEmail {
			c, err = NewMailer(cfg, metrics)
		} else {
			c, err = NewClient(cfg, metrics)
		}
		if err != nil {
			return nil, err
		}
		s.callers[issuer] = c
	}
	return s, nil
}

// Caller returns the issuer's caller.
func (s *Set) Caller(issuer string) (Caller, error) {
	c, ok := s.callers[issuer]
	if !ok {
		return nil, fmt.Errorf("unknown issuer %q", issuer)
	}
	return c, nil
}

// Add registers the caller of an issuer the Set did not build (the card switch's).
func (s *Set) Add(issuer string, c Caller) { s.callers[issuer] = c }

// Override routes one operation to another caller (CBS_TRANSPORT=iso8583 sends the CBS
// balance through the card switch).
func (s *Set) Override(opKey string, c Caller) { s.overrides[opKey] = c }

// For returns the caller that serves an operation.
func (s *Set) For(op Operation) (Caller, error) {
	if c, ok := s.overrides[op.Key]; ok {
		return c, nil
	}
	return s.Caller(op.Issuer)
}

// Breakers reports each issuer's circuit breaker state (for /ready).
func (s *Set) Breakers() map[string]string {
	out := map[string]string{}
	names := make([]string, 0, len(s.callers))
	for name := range s.callers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out[name] = s.callers[name].BreakerState()
	}
	return out
}
