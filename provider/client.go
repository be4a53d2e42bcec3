package provider

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Kinds of CallError.
const (
	KindUnreachable   = "unreachable"    // nothing was sent
	KindFailed        = "failed"         // the connection broke after sending
	KindTimeout       = "timeout"        // no answer within the issuer's timeout
	KindStatus        = "status"         // 429 or 5xx: the provider is there but not serving
	KindBreakerOpen   = "breaker_open"   // the circuit breaker refused the call: nothing was sent
	KindRejected      = "rejected"       // required auth headers missing: refused before sending
	KindMisconfigured = "misconfigured"  // the configuration cannot produce a request
	KindNotConfigured = "not_configured" // the issuer has no base URL (or SMTP server)
	KindAuthRejected  = "auth_rejected"  // the provider or its token endpoint refused our credentials
	KindTooLarge      = "too_large"      // the answer exceeded PROVIDER_MAX_RESPONSE_BYTES: refused, not retried
)

// CallError is an attempt that produced no usable answer.
type CallError struct {
	Kind       string
	Status     int           // the provider's status, for KindStatus and KindAuthRejected
	RetryAfter time.Duration // from Retry-After, for KindStatus
	Reason     string
}

func (e *CallError) Error() string { return e.Reason }

// Response is a provider's answer: a 2xx, or a 4xx that is a result (not found, invalid ...).
type Response struct {
	Status int
	Body   []byte
	// ProviderCode is the provider's own error code of a 4xx answer, when it gives one.
	ProviderCode string
	// Detail is a 4xx answer's error object, when the provider gives one.
	Detail *ErrorDetail
}

// ErrorDetail is a provider's error object ({"error": {...}}): Stripe's type, code,
// decline_code, param and message; an ERP's code, message and fields.
type ErrorDetail struct {
	Type        string `json:"type,omitempty"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Param       string `json:"param,omitempty"`
	Message     string `json:"message,omitempty"`
	// Charge is the charge a card decline made (Stripe's error.charge).
	Charge string `json:"charge,omitempty"`
	// Fields are a validation error's problems by field.
	Fields map[string]string `json:"fields,omitempty"`
}

// Attempt is what the audit records about one call: never credentials, tokens or full account
// numbers.
type Attempt struct {
	Method  string
	Host    string
	Path    string // with long digit runs masked
	Status  int
	Outcome string
	Latency time.Duration
}

// Client calls one issuer, one attempt per call.
type Client struct {
	cfg     Config
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[Response]
	tokens  *tokenCache
	metrics *Metrics
	now     func() time.Time
}

// NewClient builds an issuer's client: its transport (NewTransport), circuit breaker and token
// cache.
func NewClient(cfg Config, metrics *Metrics) (*Client, error) {
	transport, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	httpClient := &http.Client{Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c := &Client{cfg: cfg, http: httpClient, metrics: metrics, now: time.Now}
	if cfg.Auth.Type == AuthOAuth2 {
		c.tokens = newTokenCache(cfg.Auth, httpClient)
	}
	c.breaker = gobreaker.NewCircuitBreaker[Response](gobreaker.Settings{
		Name:        cfg.Issuer,
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= cfg.BreakerFailures },
		// Only unavailability trips the breaker; a refusal of ours, a provider's 4xx or an answer
		// refused for its size does not.
		IsSuccessful: func(err error) bool {
			var ce *CallError
			return err == nil || (errors.As(err, &ce) && (ce.Kind == KindRejected || ce.Kind == KindMisconfigured ||
				ce.Kind == KindAuthRejected || ce.Kind == KindTooLarge))
		},
		OnStateChange: func(name string, _, to gobreaker.State) { metrics.breakerState(name, to) },
	})
	metrics.breakerState(cfg.Issuer, gobreaker.StateClosed)
	return c, nil
}

// maxIdleConnsPerHost is how many idle connections to the provider a transport keeps, unless
// MaxConnections is lower.
const maxIdleConnsPerHost = 64

// NewTransport is the HTTP transport of an issuer's calls: http.DefaultTransport's settings
// (proxy from the environment, dial and handshake timeouts), TLS 1.2 at least verified unless
// {PREFIX}_STRICT_TLS=false, the roots of {PREFIX}_CA_FILE when given, at most MaxConnections
// connections to the provider's host (no cap when zero) and up to 64 idle ones kept. Anything
// else that calls the same provider (the ERP sync) uses it for the same TLS and connection
// settings.
func NewTransport(cfg Config) (*http.Transport, error) {
	tlsConfig, err := tlsConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxIdleConnsPerHost = maxIdleConnsPerHost
	if cfg.MaxConnections > 0 {
		transport.MaxConnsPerHost = cfg.MaxConnections
		transport.MaxIdleConnsPerHost = min(maxIdleConnsPerHost, cfg.MaxConnections)
	}
	return transport, nil
}

func tlsConfigFor(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !cfg.StrictTLS} //nolint:gosec // off only by {PREFIX}_STRICT_TLS=false
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s_CA_FILE: %w", cfg.Prefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s_CA_FILE holds no PEM certificate", cfg.Prefix)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Config returns the issuer's configuration.
func (c *Client) Config() Config { return c.cfg }

// BreakerState is the circuit breaker's state: closed, half-open or open.
func (c *Client) BreakerState() string { return c.breaker.State().String() }

// Call makes one attempt of op with the typed request req. A 2xx or a 4xx answer is a
// Response; anything else is a *CallError. The attempt is described for the audit either way.
func (c *Client) Call(ctx context.Context, op Operation, req any, correlationID string) (Response, Attempt, error) {
	start := c.now()
	attempt := Attempt{Method: "?", Host: hostOf(c.cfg.BaseURL)}
	finish := func(resp Response, err error) (Response, Attempt, error) {
		attempt.Latency = c.now().Sub(start)
		attempt.Outcome = outcomeOf(resp, err)
		if err == nil {
			attempt.Status = resp.Status
		} else if ce := (*CallError)(nil); errors.As(err, &ce) && ce.Status != 0 {
			attempt.Status = ce.Status
		}
		c.metrics.observe(c.cfg.Issuer, op.Key, attempt.Outcome, attempt.Latency)
		return resp, attempt, err
	}
	if !c.cfg.Configured() {
		return finish(Response{}, &CallError{Kind: KindNotConfigured,
			Reason: fmt.Sprintf("issuer %s is not configured: set %s_BASE_URL or %s_SIMULATE=true", c.cfg.Issuer,
				c.cfg.Prefix, c.cfg.Prefix)})
	}
	route, ok := c.cfg.URIMap[op.Key]
	if !ok {
		return finish(Response{}, &CallError{Kind: KindMisconfigured,
			Reason: fmt.Sprintf("%s_URI_MAP has no %s", c.cfg.Prefix, op.Key)})
	}
	target, err := c.target(route, req)
	if err != nil {
		return finish(Response{}, err)
	}
	attempt.Method, attempt.Path = route.Method, MaskDigits(target.RequestURI())
	var body []byte
	contentType := "application/json"
	if op.Form {
		contentType = "application/x-www-form-urlencoded"
	}
	if HasBody(route.Method) {
		if op.ProviderBody != nil {
			body, err = op.ProviderBody(req, c.cfg)
		} else {
			body, err = json.Marshal(req)
		}
		if err != nil {
			return finish(Response{}, &CallError{Kind: KindMisconfigured, Reason: "encoding the request: " + err.Error()})
		}
	}
	resp, err := c.breaker.Execute(func() (Response, error) {
		return c.send(ctx, route.Method, target, contentType, body, correlationID)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		err = &CallError{Kind: KindBreakerOpen, Reason: fmt.Sprintf("circuit breaker for %s is open", c.cfg.Issuer)}
	}
	return finish(resp, err)
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// target expands the route's path template with the request's fields and the issuer's
// variables: path values are path-escaped, query values query-escaped, and empty query
// parameters dropped.
func (c *Client) target(route Route, req any) (*url.URL, error) {
	fields := map[string]string{}
	if b, err := json.Marshal(req); err == nil {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k, v := range m {
			switch v := v.(type) {
			case string:
				fields[k] = v
			case float64:
				fields[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				fields[k] = strconv.FormatBool(v)
			}
		}
	}
	for k, v := range c.cfg.Vars {
		fields[k] = v
	}
	var missing error
	expand := func(s string, escape func(string) string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			v, ok := fields[m[1:len(m)-1]]
			if !ok && missing == nil {
				missing = &CallError{Kind: KindMisconfigured, Reason: fmt.Sprintf("%s_URI_MAP: no value for %s", c.cfg.Prefix, m)}
			}
			return escape(v)
		})
	}
	rawPath, rawQuery, _ := strings.Cut(route.Path, "?")
	path := expand(rawPath, url.PathEscape)
	q := url.Values{}
	if rawQuery != "" {
		for _, pair := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			value := placeholder.ReplaceAllStringFunc(v, func(m string) string { return fields[m[1:len(m)-1]] })
			if value != "" {
				q.Set(k, value)
			}
		}
	}
	if missing != nil {
		return nil, missing
	}
	u, err := url.Parse(c.cfg.BaseURL + path)
	if err != nil {
		return nil, &CallError{Kind: KindMisconfigured, Reason: "building the provider URL: " + err.Error()}
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// send makes the HTTP exchange. A 401 with OAuth2 renews the token and sends once more.
func (c *Client) send(ctx context.Context, method string, target *url.URL, contentType string, body []byte,
	correlationID string) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.exchange(ctx, method, target, contentType, body, correlationID, false)
	if err == nil && resp.Status == http.StatusUnauthorized && c.tokens != nil {
		resp, err = c.exchange(ctx, method, target, contentType, body, correlationID, true)
	}
	if err == nil && (resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden) {
		return Response{}, &CallError{Kind: KindAuthRejected, Status: resp.Status,
			Reason: fmt.Sprintf("%s refused the hub's credentials (%d)", c.cfg.Issuer, resp.Status)}
	}
	return resp, err
}

func (c *Client) exchange(ctx context.Context, method string, target *url.URL, contentType string, body []byte,
	correlationID string, renew bool) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target.String(), bytes.NewReader(body))
	if err != nil {
		return Response{}, &CallError{Kind: KindMisconfigured, Reason: "building the request: " + err.Error()}
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.ResponseFormat == FormatXML {
		req.Header.Set("Accept", "application/xml")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Correlation-ID", correlationID)
	req.Header.Set("Idempotency-Key", correlationID)
	if err := c.authorize(ctx, req, body, renew); err != nil {
		return Response{}, err
	}
	for _, h := range c.cfg.RequiredAuthHeaders {
		if req.Header.Get(h) == "" && c.cfg.RejectUnauthorized {
			return Response{}, &CallError{Kind: KindRejected,
				Reason: fmt.Sprintf("required auth header %s is missing: check %s_AUTH_* (%s_REJECT_UNAUTHORIZED)", h, c.cfg.Prefix, c.cfg.Prefix)}
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	unavailable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	limit := c.cfg.ResponseLimit()
	var b []byte
	if resp.ContentLength <= limit || unavailable {
		// One byte past the limit tells a body of exactly the limit from a larger one.
		if b, err = io.ReadAll(io.LimitReader(resp.Body, limit+1)); err != nil {
			return Response{}, transportError(ctx, err)
		}
	}
	switch {
	case unavailable:
		return Response{}, &CallError{Kind: KindStatus, Status: resp.StatusCode,
			RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), c.now()),
			Reason:     fmt.Sprintf("%s answered %d", c.cfg.Issuer, resp.StatusCode)}
	case resp.ContentLength > limit || int64(len(b)) > limit:
		return Response{}, TooLarge(c.cfg, resp.StatusCode)
	case resp.StatusCode >= 400:
		return Response{Status: resp.StatusCode, Body: b, ProviderCode: providerCode(b), Detail: errorDetail(b)}, nil
	}
	return Response{Status: resp.StatusCode, Body: b}, nil
}

func (c *Client) authorize(ctx context.Context, req *http.Request, body []byte, renew bool) error {
	a := c.cfg.Auth
	switch a.Type {
	case AuthBearer:
		if a.Token != "" {
			req.Header.Set("Authorization", "Bearer "+a.Token)
		}
	case AuthBasic:
		if a.Username != "" {
			req.SetBasicAuth(a.Username, a.Password)
		}
	case AuthOAuth2:
		tok, err := c.tokens.token(ctx, renew)
		if err != nil {
			var te *TokenError
			if errors.As(err, &te) && te.Rejected() {
				return &CallError{Kind: KindAuthRejected, Reason: c.cfg.Issuer + ": " + te.Error()}
			}
			return &CallError{Kind: KindUnreachable, Reason: c.cfg.Issuer + ": " + err.Error()}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case AuthHMAC:
		if a.HMACSecret != "" {
			signHMAC(req, body, a.HMACKeyID, a.HMACSecret, c.now())
		}
	case AuthAPIKey:
		if a.Token != "" {
			req.Header.Set(cmp.Or(a.APIKeyHeader, HeaderAPIKey), a.Token)
		}
	}
	return nil
}

// TooLarge is the error of an answer over the issuer's ResponseLimit (status: the provider's).
func TooLarge(cfg Config, status int) *CallError {
	return &CallError{Kind: KindTooLarge, Status: status, Reason: fmt.Sprintf(
		"%s answered more than %d bytes (PROVIDER_MAX_RESPONSE_BYTES): refused, and not asked again", cfg.Issuer,
		cfg.ResponseLimit())}
}

// transportError sorts a failed exchange; its message never carries the URL.
func transportError(ctx context.Context, err error) error {
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial", errors.Is(err, syscall.ECONNREFUSED):
		return &CallError{Kind: KindUnreachable, Reason: "provider unreachable"}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &CallError{Kind: KindTimeout, Reason: "provider did not answer in time"}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &CallError{Kind: KindTimeout, Reason: "provider did not answer in time"}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return &CallError{Kind: KindFailed, Reason: "provider connection failed: " + err.Error()}
}

// providerCode finds a provider's error code in a JSON answer: error.code, code or error_code.
func providerCode(body []byte) string {
	var v struct {
		Error     json.RawMessage `json:"error"`
		Code      string          `json:"code"`
		ErrorCode string          `json:"error_code"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var nested struct {
		Code string `json:"code"`
	}
	if len(v.Error) > 0 && json.Unmarshal(v.Error, &nested) == nil && nested.Code != "" {
		return nested.Code
	}
	if v.Code != "" {
		return v.Code
	}
	return v.ErrorCode
}

// errorDetail reads a provider's error object, {"error": {...}}; nil when there is none.
func errorDetail(body []byte) *ErrorDetail {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return nil
	}
	var e struct {
		ErrorDetail
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if json.Unmarshal(v.Error, &e) != nil {
		return nil
	}
	d := e.ErrorDetail
	d.Fields = nil
	for k, raw := range e.Fields {
		if d.Fields == nil {
			d.Fields = map[string]string{}
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // not a string: its JSON text
		}
		d.Fields[k] = s
	}
	if d.Type == "" && d.Code == "" && d.DeclineCode == "" && d.Param == "" && d.Message == "" && d.Charge == "" &&
		len(d.Fields) == 0 {
		return nil
	}
	return &d
}

func outcomeOf(resp Response, err error) string {
	var ce *CallError
	switch {
	case err == nil && resp.Status >= 400:
		return "client_error"
	case err == nil:
		return "ok"
	case errors.As(err, &ce):
		switch ce.Kind {
		case KindStatus:
			return "retryable"
		case KindMisconfigured, KindNotConfigured, KindRejected:
			return "rejected"
		}
		return ce.Kind
	}
	return "failed"
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date); zero when absent or invalid.
// Values are capped at one hour so a misbehaving peer cannot park work for days.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

var digitRun = regexp.MustCompile(`[0-9]{8,}`)

// MaskDigits hides all but the last four digits of every run of eight or more digits: account
// and card numbers never reach logs or the audit in full.
func MaskDigits(s string) string {
	return digitRun.ReplaceAllStringFunc(s, func(run string) string {
		return strings.Repeat("*", len(run)-4) + run[len(run)-4:]
	})
}
