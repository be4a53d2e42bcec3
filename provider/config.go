// Package provider is the HTTP provider stack: issuer configuration from the environment, auth
// (bearer, basic, OAuth2 client credentials, HMAC, API key), TLS, URI maps, a circuit breaker per
// issuer, XML or JSON answers, an SMTP sender, the enterprise connectors (payments, ERP) and the
// catalogue of typed operations. It makes one attempt per call: retries belong to Temporal.
package provider

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Auth types ({PREFIX}_AUTH_TYPE).
const (
	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2_client_credentials"
	AuthHMAC   = "hmac"
	// AuthAPIKey sends the key in a header of its own (X-API-Key unless configured).
	AuthAPIKey = "api_key"
)

// Response formats ({PREFIX}_RESPONSE_FORMAT).
const (
	FormatJSON = "json"
	FormatXML  = "xml"
)

// Route is an operation's method and path template: "GET /accounts/{account_number}/balance".
// Placeholders take the typed request's JSON fields and the issuer's variables.
type Route struct {
	Method string
	Path   string
}

func parseRoute(s string) (Route, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(s), " ")
	method = strings.ToUpper(method)
	if !ok || !strings.HasPrefix(path, "/") {
		return Route{}, fmt.Errorf("%q: want \"METHOD /path\"", s)
	}
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		return Route{}, fmt.Errorf("%q: unknown method %s", s, method)
	}
	return Route{Method: method, Path: path}, nil
}

// Auth is how the hub authenticates to an issuer. Its secrets come from the environment and
// stay in the worker's memory: never logged, never in workflow history.
type Auth struct {
	Type          string
	Token         string // bearer, api_key
	APIKeyHeader  string // api_key: the header carrying Token (HeaderAPIKey when empty)
	Username      string // basic
	Password      string // basic
	TokenURL      string // oauth2
	ClientID      string // oauth2
	ClientSecret  string // oauth2
	Scopes        []string
	HMACKeyID     string // hmac: sent as X-API-Key
	HMACSecret    string // hmac
	TokenLifetime time.Duration
}

// SMTP configures the e-mail issuer.
type SMTP struct {
	Addr     string // host:port
	Username string
	Password string
	// TLS is none, starttls (upgrade a plain connection) or tls (implicit TLS).
	TLS  string
	From string
}

// Config is one issuer's configuration.
type Config struct {
	Issuer              string
	Prefix              string
	BaseURL             string
	Headers             map[string]string
	Timeout             time.Duration
	StrictTLS           bool
	CAFile              string
	RequiredAuthHeaders []string
	RejectUnauthorized  bool
	URIMap              map[string]Route
	Auth                Auth
	ResponseFormat      string
	Simulate            bool
	Retry               transaction.RetryPolicy // applied by Temporal
	BreakerFailures     uint32
	BreakerOpenTimeout  time.Duration
	// Vars are template variables from the environment ({PREFIX}_VARS, plus PUSH_PROJECT_ID
	// as project_id).
	Vars map[string]string
	SMTP SMTP
	// Transport is http, or iso8583 to serve the issuer's balance through the card switch
	// (CBS_TRANSPORT=iso8583).
	Transport string
	// MaxResponseBytes caps the provider's answer, and the typed response made from it
	// (PROVIDER_MAX_RESPONSE_BYTES, every issuer; DefaultMaxResponseBytes when zero).
	MaxResponseBytes int64
	// MaxConnections caps the client's connections to the provider's host (0: no cap).
	MaxConnections int
	// RateLimit is the requests per second the hub sends the provider, across every worker (0:
	// no limit); BurstLimit how many may go at once.
	RateLimit  float64
	BurstLimit int
	// Connector holds an enterprise connector's own settings; nil for the other issuers.
	Connector *ConnectorSettings
}

// Limits of a provider's answer. The answer travels in the workflow's history twice (the
// attempt's result and the workflow's), each one payload, all in one workflow task: Temporal
// refuses a payload over 2 MB and a request over 4 MB by default, and a workflow task it
// refuses fails again on every retry, calling the provider each time. So answers stay well
// below: 1 MiB unless configured, never above MaxResponseBytesCeiling.
const (
	DefaultMaxResponseBytes = 1 << 20
	MaxResponseBytesCeiling = 3 << 19 // 1.5 MiB
)

// ResponseLimit is the largest answer the hub takes from the issuer.
func (c Config) ResponseLimit() int64 {
	if c.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return c.MaxResponseBytes
}

// limitsEnv is what applies to every issuer alike, read without a prefix: its tag is the
// variable's whole name, so there is no other name envconfig could read it under.
type limitsEnv struct {
	MaxResponseBytes int64 `envconfig:"PROVIDER_MAX_RESPONSE_BYTES" default:"1048576"`
}

// Configured reports whether the issuer has somewhere to send calls.
func (c Config) Configured() bool {
	if c.Issuer == IssuerEmail {
		return c.SMTP.Addr != ""
	}
	return c.BaseURL != ""
}

// fromEnv is the environment of one issuer, read with its prefix (CBS_BASE_URL, ...): the
// names come from the fields (split_words), never an envconfig tag, whose name envconfig would
// also read unprefixed (a bare AUTH_TOKEN or BASE_URL must not configure every issuer). The
// fields are named so their words are the variables' (Oauth for OAUTH, Smtp before TLS).
type fromEnv struct {
	BaseURL              string            `split_words:"true"`
	DefaultHeaders       map[string]string `split_words:"true"`
	Timeout              time.Duration     `split_words:"true" default:"10s"`
	StrictTLS            bool              `split_words:"true" default:"true"`
	CAFile               string            `split_words:"true"`
	RequiredAuthHeaders  []string          `split_words:"true"`
	RejectUnauthorized   bool              `split_words:"true" default:"true"`
	URIMap               string            `split_words:"true"`
	AuthType             string            `split_words:"true" default:"none"`
	AuthToken            string            `split_words:"true"`
	AuthUsername         string            `split_words:"true"`
	AuthPassword         string            `split_words:"true"`
	OauthTokenURL        string            `split_words:"true"`
	OauthClientID        string            `split_words:"true"`
	OauthClientSecret    string            `split_words:"true"`
	OauthScopes          []string          `split_words:"true"`
	HMACKeyID            string            `split_words:"true"`
	HMACSecret           string            `split_words:"true"`
	ResponseFormat       string            `split_words:"true" default:"json"`
	Simulate             bool              `split_words:"true"`
	MaxAttempts          int               `split_words:"true" default:"3"`
	RetryInitialInterval time.Duration     `split_words:"true" default:"500ms"`
	RetryMaxInterval     time.Duration     `split_words:"true" default:"5s"`
	BreakerFailures      uint32            `split_words:"true" default:"5"`
	BreakerOpenTimeout   time.Duration     `split_words:"true" default:"30s"`
	Vars                 map[string]string `split_words:"true"`
	ProjectID            string            `split_words:"true"`
	SMTPHost             string            `split_words:"true"`
	SMTPPort             int               `split_words:"true" default:"587"`
	SMTPUsername         string            `split_words:"true"`
	SMTPPassword         string            `split_words:"true"`
	SmtpTLS              string            `split_words:"true" default:"starttls"`
	From                 string            `split_words:"true" default:"Switchyard <no-reply@switchyard.local>"`
	Transport            string            `split_words:"true" default:"http"`
}

// SimConfig says where the provider simulators are, for issuers with {PREFIX}_SIMULATE=true.
type SimConfig struct {
	URL      string `envconfig:"SIM_URL" default:"http://127.0.0.1:8090"`
	SMTPAddr string `envconfig:"SIM_SMTP_ADDR" default:"127.0.0.1:2525"`
}

// Prefix returns the environment prefix of an issuer: CBS, BILL, ...
func Prefix(issuer string) string { return strings.ToUpper(issuer) }

// Issuers lists every issuer.
var Issuers = []string{IssuerCBS, IssuerBill, IssuerSMS, IssuerEmail, IssuerPush}

// LoadAll reads every issuer's configuration, and every connector's, from the environment.
func LoadAll(sim SimConfig) (map[string]Config, error) {
	out := map[string]Config{}
	for _, issuer := range Issuers {
		cfg, err := Load(issuer, sim)
		if err != nil {
			return nil, err
		}
		out[issuer] = cfg
	}
	for _, connector := range Connectors {
		cfg, err := LoadConnector(connector, sim)
		if err != nil {
			return nil, err
		}
		out[connector] = cfg
	}
	return out, nil
}

// Load reads one issuer's configuration from the environment variables with its prefix. With
// {PREFIX}_SIMULATE=true the issuer points at the simulator (SIM_URL/<issuer>, SIM_SMTP_ADDR)
// unless a base URL is given; everything else, auth included, applies unchanged. A connector's
// configuration is LoadConnector's.
func Load(issuer string, sim SimConfig) (Config, error) {
	if IsConnector(issuer) {
		return LoadConnector(issuer, sim)
	}
	prefix := Prefix(issuer)
	var e fromEnv
	if err := envconfig.Process(prefix, &e); err != nil {
		return Config{}, err
	}
	limits, err := loadLimits()
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Issuer: issuer, Prefix: prefix, BaseURL: strings.TrimRight(e.BaseURL, "/"), Headers: e.DefaultHeaders,
		Timeout: e.Timeout, StrictTLS: e.StrictTLS, CAFile: e.CAFile, RequiredAuthHeaders: e.RequiredAuthHeaders,
		RejectUnauthorized: e.RejectUnauthorized, ResponseFormat: e.ResponseFormat,
		Simulate: e.Simulate, BreakerFailures: e.BreakerFailures, BreakerOpenTimeout: e.BreakerOpenTimeout,
		Vars: map[string]string{}, Transport: e.Transport, MaxResponseBytes: limits.MaxResponseBytes,
		Auth: Auth{Type: e.AuthType, Token: e.AuthToken, Username: e.AuthUsername, Password: e.AuthPassword,
			TokenURL: e.OauthTokenURL, ClientID: e.OauthClientID, ClientSecret: e.OauthClientSecret,
			Scopes: e.OauthScopes, HMACKeyID: e.HMACKeyID, HMACSecret: e.HMACSecret},
		Retry: transaction.RetryPolicy{MaxAttempts: e.MaxAttempts, InitialInterval: e.RetryInitialInterval, BackoffCoefficient: 2,
			MaxInterval: e.RetryMaxInterval},
	}
	cfg.simulated(sim)
	if cfg.URIMap, err = uriMap(issuer, prefix, e.URIMap); err != nil {
		return Config{}, err
	}
	for k, v := range e.Vars {
		cfg.Vars[k] = v
	}
	if e.ProjectID != "" {
		cfg.Vars["project_id"] = e.ProjectID
	}
	if issuer == IssuerEmail {
		cfg.SMTP = SMTP{Username: e.SMTPUsername, Password: e.SMTPPassword, TLS: e.SmtpTLS, From: e.From}
		if e.SMTPHost != "" {
			cfg.SMTP.Addr = fmt.Sprintf("%s:%d", e.SMTPHost, e.SMTPPort)
		} else if cfg.Simulate {
			cfg.SMTP.Addr = sim.SMTPAddr
		}
	}
	if err := cfg.validateIssuerAuth(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

func loadLimits() (limitsEnv, error) {
	var limits limitsEnv
	err := envconfig.Process("", &limits)
	return limits, err
}

// uriMap is an issuer's default routes with {PREFIX}_URI_MAP's entries over them.
func uriMap(issuer, prefix, raw string) (map[string]Route, error) {
	out := map[string]Route{}
	for k, v := range defaultRoutes[issuer] {
		out[k] = v
	}
	if raw == "" {
		return out, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("%s_URI_MAP must be a JSON object of \"operation\": \"METHOD /path\": %w", prefix, err)
	}
	for k, v := range m {
		r, err := parseRoute(v)
		if err != nil {
			return nil, fmt.Errorf("%s_URI_MAP[%s]: %w", prefix, k, err)
		}
		out[k] = r
	}
	return out, nil
}

// validateIssuerAuth checks the auth types an issuer takes ({PREFIX}_AUTH_TYPE).
func (c Config) validateIssuerAuth() error {
	switch c.Auth.Type {
	case AuthNone, AuthBearer, AuthBasic, AuthHMAC:
	case AuthOAuth2:
		if c.Auth.TokenURL == "" {
			return fmt.Errorf("%s_AUTH_TYPE=%s needs %s_OAUTH_TOKEN_URL", c.Prefix, AuthOAuth2, c.Prefix)
		}
	default:
		return fmt.Errorf("%s_AUTH_TYPE=%q: want none, bearer, basic, oauth2_client_credentials or hmac", c.Prefix, c.Auth.Type)
	}
	return nil
}

// validate checks what every issuer and connector shares.
// simulated points an issuer with {PREFIX}_SIMULATE=true at the simulators: its base URL
// (SIM_URL/<issuer>) and an OAuth2 token URL, where the configuration gives none.
func (c *Config) simulated(sim SimConfig) {
	if !c.Simulate {
		return
	}
	if c.BaseURL == "" {
		c.BaseURL = strings.TrimRight(sim.URL, "/") + "/" + c.Issuer
	}
	if c.Auth.Type == AuthOAuth2 && c.Auth.TokenURL == "" {
		c.Auth.TokenURL = strings.TrimRight(sim.URL, "/") + "/oauth/token"
	}
}

func (c Config) validate() error {
	if c.ResponseFormat != FormatJSON && c.ResponseFormat != FormatXML {
		return fmt.Errorf("%s_RESPONSE_FORMAT=%q: want json or xml", c.Prefix, c.ResponseFormat)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil {
			return fmt.Errorf("%s_BASE_URL is not an http(s) URL", c.Prefix)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Redacted: a password in the URL stays out of the message.
			return fmt.Errorf("%s_BASE_URL=%q is not an http(s) URL", c.Prefix, u.Redacted())
		}
	}
	if c.Transport != "http" && c.Transport != "iso8583" {
		return fmt.Errorf("%s_TRANSPORT=%q: want http or iso8583", c.Prefix, c.Transport)
	}
	if c.Retry.MaxAttempts < 1 {
		return fmt.Errorf("%s_MAX_ATTEMPTS must be at least 1", c.Prefix)
	}
	if c.MaxResponseBytes < 1 || c.MaxResponseBytes > MaxResponseBytesCeiling {
		return fmt.Errorf("PROVIDER_MAX_RESPONSE_BYTES=%d: want 1 to %d (an answer travels in Temporal payloads, "+
			"refused over 2 MB)", c.MaxResponseBytes, MaxResponseBytesCeiling)
	}
	switch c.SMTP.TLS {
	case "", "none", "starttls", "tls":
	default:
		return fmt.Errorf("%s_SMTP_TLS=%q: want none, starttls or tls", c.Prefix, c.SMTP.TLS)
	}
	return nil
}

// defaultRoutes are the uri maps of the simulators' APIs; {PREFIX}_URI_MAP overrides entries.
var defaultRoutes = map[string]map[string]Route{
	IssuerCBS: {
		OpCustomerSearch:       {"POST", "/customers/search"},
		OpAccountSearch:        {"POST", "/accounts/search"},
		OpAccountDetails:       {"GET", "/accounts/{account_number}"},
		OpMiniStatement:        {"GET", "/accounts/{account_number}/statement?limit={limit}"},
		OpAccountBalance:       {"GET", "/accounts/{account_number}/balance"},
		OpMNOValidate:          {"POST", "/mno/validate"},
		OpBankDictionary:       {"GET", "/banks"},
		OpInterbankAccountName: {"POST", "/interbank/name-lookup"},
	},
	IssuerBill: {
		OpBillerCategory: {"GET", "/categories"},
		OpBillerFetch:    {"GET", "/billers?category={category}"},
		OpBillerPackage:  {"GET", "/billers/{biller_id}/packages"},
	},
	IssuerSMS:  {OpSendSMS: {"POST", "/messages"}},
	IssuerPush: {OpSendPush: {"POST", "/v1/projects/{project_id}/messages:send"}},
	IssuerPayments: {
		OpPaymentChargeCreate:          {"POST", "/{api_version}/charges"},
		OpPaymentChargeGet:             {"GET", "/{api_version}/charges/{charge_id}"},
		OpPaymentRefundCreate:          {"POST", "/{api_version}/refunds"},
		OpPaymentMethodCreate:          {"POST", "/{api_version}/payment_methods"},
		OpPaymentSubscriptionCreate:    {"POST", "/{api_version}/subscriptions"},
		OpPaymentSubscriptionCancel:    {"POST", "/{api_version}/subscriptions/{subscription_id}"},
		OpPaymentSubscriptionCancelNow: {"DELETE", "/{api_version}/subscriptions/{subscription_id}"},
	},
	IssuerERP: {
		OpERPEntityCreate: {"POST", "/{api_version}/{entity_type}s"},
		OpERPEntityUpdate: {"PUT", "/{api_version}/{entity_type}s/{id}"},
		OpERPEntityDelete: {"DELETE", "/{api_version}/{entity_type}s/{id}"},
	},
}
