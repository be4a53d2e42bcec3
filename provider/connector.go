package provider

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/switchyard-hub/switchyard/transaction"
)

// ConnectorSettings are what an enterprise connector has beyond an issuer's configuration
// (seed 003's ConnectorConfig).
type ConnectorSettings struct {
	APIVersion string
	// AuthType is {PREFIX}_AUTH_TYPE as configured (oauth2 stays oauth2 here; Config.Auth.Type
	// is AuthOAuth2).
	AuthType      string
	TenantID      string
	EnterpriseID  string
	Region        string
	WebhookSecret string
	// EntityTypes are the ERP's record types the hub serves (ERP_ENTITY_TYPES); nil for payments.
	EntityTypes []string
}

// Headers a connector sends on every request when its setting is given.
const (
	HeaderTenantID     = "X-Tenant-ID"
	HeaderEnterpriseID = "X-Enterprise-ID"
	HeaderRegion       = "X-Region"
)

// authOAuth2Short is the connectors' short name of AuthOAuth2 ({PREFIX}_AUTH_TYPE=oauth2).
const authOAuth2Short = "oauth2"

// Bounds of a connector's settings.
const (
	maxConnectorRetries     = 10
	maxConnectorConnections = 10000
	maxConnectorTimeout     = 10 * time.Minute
	maxConnectorBackoff     = 10 * time.Minute
	maxConnectorRate        = 100000 // requests per second
	maxConnectorBurst       = 100000
	maxConnectorSecret      = 4096 // bytes of an API key, password or secret
	maxConnectorLabel       = 128  // bytes of a tenant, enterprise or region
	maxEntityTypes          = 50
)

// defaultConnectorAuth is each connector's auth type when {PREFIX}_AUTH_TYPE is not set.
var defaultConnectorAuth = map[string]string{IssuerPayments: AuthBearer, IssuerERP: AuthAPIKey}

// DefaultERPEntityTypes are the ERP's record types unless ERP_ENTITY_TYPES says otherwise.
var DefaultERPEntityTypes = []string{"customer", "invoice", "product"}

// IsConnector reports whether name is an enterprise connector (payments, erp).
func IsConnector(name string) bool { return slices.Contains(Connectors, name) }

// connectorEnv is a connector's environment, read with its prefix (PAYMENTS_BASE_URL, ...): the
// names come from the fields (split_words), never an envconfig tag, whose name envconfig would
// also read unprefixed (a bare API_KEY or TIMEOUT must not configure a connector).
// Numbers and durations are read as text so a bad value is refused with its variable's name and
// its bounds.
type connectorEnv struct {
	BaseURL            string `split_words:"true"`
	APIKey             string `split_words:"true"`
	APIVersion         string `split_words:"true" default:"v1"`
	Timeout            string `split_words:"true" default:"30s"`
	MaxConnections     string `split_words:"true" default:"100"`
	MaxRetries         string `split_words:"true" default:"3"`
	RetryBackoff       string `split_words:"true" default:"1s"`
	RateLimit          string `split_words:"true" default:"0"`
	BurstLimit         string `split_words:"true"` // max(1, ceil(RATE_LIMIT)) when empty
	AuthType           string `split_words:"true"` // defaultConnectorAuth when empty
	AuthConfig         string `split_words:"true"`
	WebhookSecret      string `split_words:"true"`
	TenantID           string `split_words:"true"`
	EnterpriseID       string `split_words:"true"`
	Region             string `split_words:"true"`
	Simulate           bool   `split_words:"true"`
	StrictTLS          bool   `split_words:"true" default:"true"`
	CAFile             string `split_words:"true"`
	URIMap             string `split_words:"true"`
	BreakerFailures    string `split_words:"true" default:"5"`
	BreakerOpenTimeout string `split_words:"true" default:"30s"`
}

// erpEnv is what only the ERP connector reads.
type erpEnv struct {
	EntityTypes string `split_words:"true" default:"customer,invoice,product"`
}

// LoadConnector reads an enterprise connector's configuration from the environment variables
// with its prefix (PAYMENTS_, ERP_) into the Config every issuer has, so the provider stack
// serves its operations: seed 003's ConnectorConfig, with MAX_RETRIES and RETRY_BACKOFF as the
// retry policy Temporal applies (the client never loops). With {PREFIX}_SIMULATE=true the
// connector points at the simulator (SIM_URL/<connector>) unless a base URL is given. Errors
// name the variable and never carry a secret.
func LoadConnector(issuer string, sim SimConfig) (Config, error) {
	if !IsConnector(issuer) {
		return Config{}, fmt.Errorf("%q is not a connector: want one of %s", issuer, strings.Join(Connectors, ", "))
	}
	prefix := Prefix(issuer)
	var e connectorEnv
	if err := envconfig.Process(prefix, &e); err != nil {
		return Config{}, err
	}
	limits, err := loadLimits()
	if err != nil {
		return Config{}, err
	}
	p := envParser{prefix: prefix}
	timeout := p.duration("TIMEOUT", e.Timeout, maxConnectorTimeout)
	maxConns := p.integer("MAX_CONNECTIONS", e.MaxConnections, 1, maxConnectorConnections)
	retries := p.integer("MAX_RETRIES", e.MaxRetries, 0, maxConnectorRetries)
	backoff := p.duration("RETRY_BACKOFF", e.RetryBackoff, maxConnectorBackoff)
	rate := p.rate("RATE_LIMIT", e.RateLimit)
	burst := max(1, int(math.Ceil(rate)))
	if strings.TrimSpace(e.BurstLimit) != "" {
		burst = p.integer("BURST_LIMIT", e.BurstLimit, 1, maxConnectorBurst)
	}
	breakerFailures := p.integer("BREAKER_FAILURES", e.BreakerFailures, 1, 1000)
	breakerOpen := p.duration("BREAKER_OPEN_TIMEOUT", e.BreakerOpenTimeout, time.Hour)
	if p.err != nil {
		return Config{}, p.err
	}

	settings := &ConnectorSettings{APIVersion: strings.TrimSpace(e.APIVersion), TenantID: e.TenantID,
		EnterpriseID: e.EnterpriseID, Region: e.Region, WebhookSecret: e.WebhookSecret}
	if !apiVersionPattern.MatchString(settings.APIVersion) {
		return Config{}, fmt.Errorf("%s_API_VERSION=%q: want a path segment such as v1 (letters, digits, . _ -; at most 32)",
			prefix, settings.APIVersion)
	}
	headers := map[string]string{}
	for _, h := range []struct{ name, header, value string }{
		{"TENANT_ID", HeaderTenantID, e.TenantID},
		{"ENTERPRISE_ID", HeaderEnterpriseID, e.EnterpriseID},
		{"REGION", HeaderRegion, e.Region},
	} {
		if h.value == "" {
			continue
		}
		if len(h.value) > maxConnectorLabel || !printableASCII(h.value) {
			return Config{}, fmt.Errorf("%s_%s must be at most %d printable ASCII characters (it is sent as %s)",
				prefix, h.name, maxConnectorLabel, h.header)
		}
		headers[h.header] = h.value
	}
	if len(e.WebhookSecret) > maxConnectorSecret {
		return Config{}, fmt.Errorf("%s_WEBHOOK_SECRET must be at most %d bytes", prefix, maxConnectorSecret)
	}
	if issuer == IssuerERP {
		var erp erpEnv
		if err := envconfig.Process(prefix, &erp); err != nil {
			return Config{}, err
		}
		if settings.EntityTypes, err = parseEntityTypes(prefix, erp.EntityTypes); err != nil {
			return Config{}, err
		}
	}

	cfg := Config{
		Issuer: issuer, Prefix: prefix, BaseURL: strings.TrimRight(strings.TrimSpace(e.BaseURL), "/"), Headers: headers,
		Timeout: timeout, StrictTLS: e.StrictTLS, CAFile: e.CAFile, RejectUnauthorized: true, ResponseFormat: FormatJSON,
		Simulate: e.Simulate, BreakerFailures: uint32(breakerFailures), BreakerOpenTimeout: breakerOpen,
		Vars: map[string]string{"api_version": settings.APIVersion}, Transport: "http", MaxResponseBytes: limits.MaxResponseBytes,
		Retry: transaction.RetryPolicy{MaxAttempts: retries + 1, InitialInterval: backoff, BackoffCoefficient: 2,
			MaxInterval: 10 * backoff},
		MaxConnections: maxConns, RateLimit: rate, BurstLimit: burst, Connector: settings,
	}
	authType := strings.ToLower(strings.TrimSpace(e.AuthType))
	if authType == "" {
		authType = defaultConnectorAuth[issuer]
	}
	settings.AuthType = authType
	if cfg.Auth, err = connectorAuth(prefix, authType, e.APIKey, e.AuthConfig); err != nil {
		return Config{}, err
	}
	cfg.simulated(sim)
	if cfg.Auth.Type == AuthOAuth2 && cfg.Auth.TokenURL == "" {
		return Config{}, fmt.Errorf("%s_AUTH_TYPE=%s needs token_url in %s_AUTH_CONFIG", prefix, authType, prefix)
	}
	if cfg.URIMap, err = uriMap(issuer, prefix, e.URIMap); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

var (
	apiVersionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
	// headerNamePattern is an HTTP header name (RFC 9110 token), at most 64 characters.
	headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
)

// reservedHeaders are set by the client itself: an API key header may not take their place.
var reservedHeaders = []string{"Accept", "Content-Type", "Content-Length", "Host", "Idempotency-Key",
	"X-Correlation-ID", HeaderTenantID, HeaderEnterpriseID, HeaderRegion}

// authConfigKeys are the AUTH_CONFIG keys each auth type takes.
var authConfigKeys = map[string][]string{
	AuthBearer: nil,
	AuthBasic:  {"password"},
	AuthOAuth2: {"token_url", "client_id", "client_secret", "scopes"},
	AuthHMAC:   {"secret"},
	AuthAPIKey: {"header"},
}

// connectorAuth builds the Auth of a connector from its AUTH_TYPE, API_KEY and AUTH_CONFIG.
func connectorAuth(prefix, authType, apiKey, rawConfig string) (Auth, error) {
	typ := authType
	if typ == authOAuth2Short {
		typ = AuthOAuth2
	}
	allowed, ok := authConfigKeys[typ]
	if !ok {
		return Auth{}, fmt.Errorf("%s_AUTH_TYPE=%q: want bearer, basic, oauth2 (or oauth2_client_credentials), hmac or api_key",
			prefix, authType)
	}
	if len(apiKey) > maxConnectorSecret || strings.ContainsFunc(apiKey, isControl) {
		return Auth{}, fmt.Errorf("%s_API_KEY must be at most %d bytes without control characters", prefix, maxConnectorSecret)
	}
	ac, err := parseAuthConfig(prefix, rawConfig, allowed, authType)
	if err != nil {
		return Auth{}, err
	}
	a := Auth{Type: typ}
	switch typ {
	case AuthBearer:
		a.Token = apiKey
	case AuthBasic:
		a.Username = apiKey
		a.Password, err = ac.secret("password")
	case AuthOAuth2:
		if a.TokenURL, err = ac.text("token_url", 2048); err != nil {
			return Auth{}, err
		}
		if a.TokenURL != "" {
			if u, perr := url.Parse(a.TokenURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return Auth{}, fmt.Errorf("%s_AUTH_CONFIG token_url is not an http(s) URL", prefix)
			}
		}
		if a.ClientID, err = ac.secret("client_id"); err != nil {
			return Auth{}, err
		}
		if a.ClientID == "" {
			a.ClientID = apiKey // the API key identifies the client unless client_id does
		}
		if a.ClientID == "" {
			return Auth{}, fmt.Errorf("%s_AUTH_TYPE=%s needs client_id in %s_AUTH_CONFIG (or %s_API_KEY)",
				prefix, authType, prefix, prefix)
		}
		if a.ClientSecret, err = ac.secret("client_secret"); err != nil {
			return Auth{}, err
		}
		a.Scopes, err = ac.scopes()
	case AuthHMAC:
		a.HMACKeyID = apiKey
		if a.HMACSecret, err = ac.secret("secret"); err != nil {
			return Auth{}, err
		}
		if a.HMACSecret == "" {
			return Auth{}, fmt.Errorf("%s_AUTH_TYPE=hmac needs secret in %s_AUTH_CONFIG", prefix, prefix)
		}
	case AuthAPIKey:
		a.Token = apiKey
		if a.APIKeyHeader, err = ac.text("header", 64); err != nil {
			return Auth{}, err
		}
		if a.APIKeyHeader == "" {
			a.APIKeyHeader = HeaderAPIKey
		}
		if !headerNamePattern.MatchString(a.APIKeyHeader) || slices.ContainsFunc(reservedHeaders, func(h string) bool {
			return strings.EqualFold(h, a.APIKeyHeader)
		}) {
			return Auth{}, fmt.Errorf("%s_AUTH_CONFIG header %q cannot carry the API key: want a header name the hub "+
				"does not set itself", prefix, a.APIKeyHeader)
		}
	}
	if err != nil {
		return Auth{}, err
	}
	return a, nil
}

// authConfig is a parsed AUTH_CONFIG object.
type authConfig struct {
	prefix string
	values map[string]json.RawMessage
}

// parseAuthConfig reads AUTH_CONFIG, a JSON object holding only the keys allowed. Its text is
// never quoted back: it holds secrets.
func parseAuthConfig(prefix, raw string, allowed []string, authType string) (authConfig, error) {
	ac := authConfig{prefix: prefix, values: map[string]json.RawMessage{}}
	if strings.TrimSpace(raw) == "" {
		return ac, nil
	}
	if err := json.Unmarshal([]byte(raw), &ac.values); err != nil || ac.values == nil {
		return ac, fmt.Errorf("%s_AUTH_CONFIG must be a JSON object", prefix)
	}
	for k := range ac.values {
		if !slices.Contains(allowed, k) {
			want := "no keys"
			if len(allowed) > 0 {
				want = strings.Join(allowed, ", ")
			}
			return ac, fmt.Errorf("%s_AUTH_CONFIG: auth type %s takes %s, not %q", prefix, authType, want, truncateKey(k))
		}
	}
	return ac, nil
}

// text is a string value of at most limit bytes, "" when absent.
func (ac authConfig) text(key string, limit int) (string, error) {
	raw, ok := ac.values[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s_AUTH_CONFIG %s must be a string", ac.prefix, key)
	}
	if len(s) > limit || strings.ContainsFunc(s, isControl) {
		return "", fmt.Errorf("%s_AUTH_CONFIG %s must be at most %d bytes without control characters", ac.prefix, key, limit)
	}
	return s, nil
}

// secret is a string value that is a credential.
func (ac authConfig) secret(key string) (string, error) { return ac.text(key, maxConnectorSecret) }

// scopes reads scopes: a list of strings, or one string of scopes separated by spaces or commas.
func (ac authConfig) scopes() ([]string, error) {
	raw, ok := ac.values["scopes"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, fmt.Errorf("%s_AUTH_CONFIG scopes must be a list of strings", ac.prefix)
		}
		list = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	}
	if len(list) > 50 {
		return nil, fmt.Errorf("%s_AUTH_CONFIG scopes must be at most 50", ac.prefix)
	}
	for _, s := range list {
		if s == "" || len(s) > 256 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return nil, fmt.Errorf("%s_AUTH_CONFIG scopes must be words of printable ASCII (at most 256 each)", ac.prefix)
		}
	}
	return list, nil
}

// erpRouteNames are the ERP connector's routes beside its entity types (…/erp/sync,
// …/erp/batch_sync, …/erp/status): no entity type takes their names.
var erpRouteNames = []string{"sync", "batch_sync", "status"}

// parseEntityTypes reads ERP_ENTITY_TYPES: a comma-separated list of entity type names, none of
// them a route's.
func parseEntityTypes(prefix, raw string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(raw, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			continue
		case !ValidERPEntityType(t):
			return nil, fmt.Errorf("%s_ENTITY_TYPES: %q is not an entity type name (want %s)", prefix, t,
				erpEntityTypePattern.String())
		case slices.Contains(erpRouteNames, t):
			return nil, fmt.Errorf("%s_ENTITY_TYPES: %q names a route of the ERP connector (%s), not an entity type",
				prefix, t, strings.Join(erpRouteNames, ", "))
		case slices.Contains(out, t):
			return nil, fmt.Errorf("%s_ENTITY_TYPES names %s twice", prefix, t)
		}
		out = append(out, t)
	}
	if len(out) == 0 || len(out) > maxEntityTypes {
		return nil, fmt.Errorf("%s_ENTITY_TYPES must name 1 to %d entity types", prefix, maxEntityTypes)
	}
	return out, nil
}

// envParser reads numbers and durations, keeping the first error.
type envParser struct {
	prefix string
	err    error
}

func (p *envParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

// integer reads a whole number from lo to hi.
func (p *envParser) integer(name, raw string, lo, hi int) int {
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < lo || n > hi {
		p.fail("%s_%s must be %d to %d (got %q)", p.prefix, name, lo, hi, raw)
	}
	return n
}

// duration reads a positive duration of at most hi: a Go duration (30s, 1m30s) or a number of
// seconds (30, 0.5), as seed 003 writes them.
func (p *envParser) duration(name, raw string, hi time.Duration) time.Duration {
	s := strings.TrimSpace(raw)
	d, err := time.ParseDuration(s)
	if err != nil {
		if secs, ferr := strconv.ParseFloat(s, 64); ferr == nil && !math.IsNaN(secs) && !math.IsInf(secs, 0) &&
			math.Abs(secs) <= hi.Seconds()+1 {
			d, err = time.Duration(secs*float64(time.Second)), nil
		}
	}
	if err != nil || d <= 0 || d > hi {
		p.fail("%s_%s must be a duration above 0 and at most %s, such as 30s or 1.5 (seconds) (got %q)",
			p.prefix, name, hi, raw)
	}
	return d
}

// rate reads requests per second: 0 (no limit) to maxConnectorRate.
func (p *envParser) rate(name, raw string) float64 {
	r, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || math.IsNaN(r) || r < 0 || r > maxConnectorRate {
		p.fail("%s_%s must be 0 (no limit) to %d requests per second (got %q)", p.prefix, name, maxConnectorRate, raw)
	}
	return r
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func printableASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}

// truncateKey shortens an AUTH_CONFIG key for an error message.
func truncateKey(k string) string {
	if len(k) > 40 {
		return k[:40] + "…"
	}
	return k
}
