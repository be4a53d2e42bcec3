package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/singleflight"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// PermissionIntegrations lets a client manage its integrations and subscriptions, read the
// webhooks its integrations received, replay them and send messages.
const PermissionIntegrations = "integrations"

// Routes of the integrations resource.
const (
	IntegrationsBase  = IntegrationBase + "/integrations"
	WebhooksBase      = IntegrationBase + "/webhooks"
	SubscriptionsBase = IntegrationBase + "/subscriptions"
)

// Limits of the integrations resource.
const (
	// maxIntegrationBody caps an integration's create, update or validate body.
	maxIntegrationBody = 64 << 10
	maxNameLength      = 200
	// checkWait is how long the health and validate routes wait for IntegrationCheck.
	checkWait = 20 * time.Second
	// startTimeout bounds a workflow start made for a platform's webhook, which wants its
	// answer within seconds.
	startTimeout = 10 * time.Second
	// maxCachedIntegrations bounds the webhook route's cache of active integrations (unknown
	// ids are kept apart, see maxAbsentIntegrations).
	maxCachedIntegrations = 10_000
)

// Memo labels of the runs this file starts.
const (
	labelCheck   = "integration_check"
	labelWebhook = "webhook"
	labelReplay  = "webhook_replay"
	labelMessage = "send_message"
)

// IntegrationStore is what the integrations, webhooks and subscriptions routes read and write.
type IntegrationStore interface {
	CreateIntegration(ctx context.Context, r schema.IntegrationRow) (schema.IntegrationRow, error)
	GetIntegration(ctx context.Context, id string) (schema.IntegrationRow, error)
	ListIntegrations(ctx context.Context, clientID string, page schema.Page) ([]schema.IntegrationRow, error)
	UpdateIntegration(ctx context.Context, id string, change func(*schema.IntegrationRow) error) (schema.IntegrationRow, error)
	DeleteIntegration(ctx context.Context, id string) error
	GetWebhookEvent(ctx context.Context, id string) (schema.WebhookEventRow, error)
	RecordWebhookEvent(ctx context.Context, r schema.WebhookEventRow) (schema.WebhookEventRow, bool, error)
	ListWebhookEvents(ctx context.Context, f schema.WebhookEventFilter, page schema.Page) ([]schema.WebhookEventRow, error)
	EventsOfWebhook(ctx context.Context, webhookEventID string) ([]schema.EventRow, error)
	CreateSubscription(ctx context.Context, r schema.SubscriptionRow) (schema.SubscriptionRow, error)
	GetSubscription(ctx context.Context, id string) (schema.SubscriptionRow, error)
	ListSubscriptions(ctx context.Context, clientID string, page schema.Page) ([]schema.SubscriptionRow, error)
	UpdateSubscription(ctx context.Context, id string, change func(*schema.SubscriptionRow) error) (schema.SubscriptionRow, error)
	DeleteSubscription(ctx context.Context, id string) error
	DeliveriesOf(ctx context.Context, eventIDs []string) ([]schema.DeliveryRow, error)
	DeliveryAttempts(ctx context.Context, eventID, subscriptionID string) ([]schema.DeliveryAttemptRow, error)

	// Sites, site integrations and the content store.
	CreateSite(ctx context.Context, r schema.SiteRow) (schema.SiteRow, error)
	GetSite(ctx context.Context, id string) (schema.SiteRow, error)
	ListSites(ctx context.Context, clientID string, page schema.Page) ([]schema.SiteRow, error)
	UpdateSite(ctx context.Context, id string, change func(*schema.SiteRow) error) (schema.SiteRow, error)
	DeleteSite(ctx context.Context, id string) error
	SiteIntegration(ctx context.Context, clientID, siteID, platform string) (schema.IntegrationRow, error)
	CreateContent(ctx context.Context, r schema.ContentRow) (schema.ContentRow, error)
	GetContent(ctx context.Context, id string) (schema.ContentRow, error)
	UpdateContent(ctx context.Context, id string, change func(*schema.ContentRow) error) (schema.ContentRow, error)
	ListContents(ctx context.Context, integrationID string, page schema.Page) ([]schema.ContentRow, error)
}

// integrationParts are the Server's collaborators for integrations and webhooks.
type integrationParts struct {
	// vault seals credentials and signing secrets; nil when none is configured, and then the
	// routes that need it answer 503.
	vault *platform.Vault
	// inbound caches integrations, credentials opened, for the webhook route.
	inbound *integrationCache
	// rejected counts webhooks refused before anything was started.
	rejected *prometheus.CounterVec
	// failures limits the source addresses whose public requests (platforms' webhooks, sites'
	// callbacks and connection tests) fail too often; nil when WEBHOOK_FAILURE_IP_LIMIT is 0.
	failures *webhookFailures
}

func newIntegrationParts(cfg Config, deps Deps) (integrationParts, error) {
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_webhook_rejected_total",
		Help: "Inbound webhooks refused before anything was started, by platform and reason.",
	}, []string{"platform", "reason"})
	if err := deps.Registry.Register(rejected); err != nil {
		return integrationParts{}, err
	}
	return integrationParts{vault: deps.Vault, rejected: rejected,
		inbound: newIntegrationCache(deps.Store, deps.Vault, cfg.ConfigCacheTTL)}, nil
}

// errNoVault answers the routes that seal or open secrets when the process has no keys.
var errNoVault = newError(http.StatusServiceUnavailable, CodeUnavailable,
	"integrations are not available: no secret keys are configured")

// errNoIntegration answers an unknown id and another client's alike, so ids do not leak.
var errNoIntegration = newError(http.StatusNotFound, CodeNotFound, "no such integration")

// both registers a route with and without its trailing slash.
func both(r gin.IRouter, method, path string, handlers ...gin.HandlerFunc) {
	path = strings.TrimSuffix(path, "/")
	r.Handle(method, path, handlers...)
	r.Handle(method, path+"/", handlers...)
}

// registerIntegrations wires integrations, webhooks, subscriptions and message sends.
func (s *Server) registerIntegrations(r gin.IRouter) {
	auth := []gin.HandlerFunc{s.requireClient, s.requirePermission(PermissionIntegrations)}
	with := func(h gin.HandlerFunc) []gin.HandlerFunc { return append(append([]gin.HandlerFunc{}, auth...), h) }
	s.hub.failures = newWebhookFailures(s.cfg, s.limiter.buckets, s.logger, s.hub.inbound.atWork)

	both(r, http.MethodGet, IntegrationsBase, with(s.listIntegrations)...)
	both(r, http.MethodPost, IntegrationsBase, with(s.createIntegration)...)
	both(r, http.MethodPost, IntegrationsBase+"/validate", with(s.validateIntegration)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id", with(s.getIntegration)...)
	both(r, http.MethodPatch, IntegrationsBase+"/:id", with(s.updateIntegration)...)
	both(r, http.MethodDelete, IntegrationsBase+"/:id", with(s.deleteIntegration)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/status", with(s.integrationStatus)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/health", with(s.integrationHealth)...)
	both(r, http.MethodPost, IntegrationsBase+"/:id/messages", with(s.sendMessage)...)
	s.registerSyncs(r, with)
	s.registerSiteIntegrations(r, with)

	s.registerWebhooks(r, with)
	s.registerSubscriptions(r, with)
}

// registerAdminIntegrations lets operators read every client's integrations.
func (s *Server) registerAdminIntegrations(g *gin.RouterGroup) {
	both(g, http.MethodGet, "/integrations", s.adminListIntegrations)
	both(g, http.MethodGet, "/integrations/:id", s.adminGetIntegration)
}

// --- requests and views ----------------------------------------------------------------

// IntegrationRequest creates (every field but config and is_active required) or updates
// (absent fields kept) an integration.
type IntegrationRequest struct {
	Name        *string          `json:"name"`
	Platform    *string          `json:"platform"`
	Credentials *CredentialsSpec `json:"credentials"`
	Config      *ConfigSpec      `json:"config"`
	IsActive    *bool            `json:"is_active"`
	// SiteID is the client's site a site integration (wordpress, shopify, custom) syncs with:
	// required for those platforms, refused for the others, and never changed.
	SiteID *string `json:"site_id"`
	// SyncEnabled lets a site integration sync (default true); site platforms only.
	SyncEnabled *bool `json:"sync_enabled"`
}

// CredentialsSpec is an integration's credentials as clients send them: the platform's fields
// as strings, and "rotated", further signing secrets each with an optional expiry.
type CredentialsSpec struct {
	Fields map[string]string
	// Rotated is nil when the request does not name it.
	Rotated *[]platform.RotatedSecret
}

// UnmarshalJSON reads {"<field>": "<value>", ..., "rotated": [{"secret", "expires_at"}]}.
func (cs *CredentialsSpec) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fieldError("credentials", "must be an object of strings (and rotated)")
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	cs.Fields = map[string]string{}
	for _, name := range names {
		value := raw[name]
		if name == "rotated" {
			var rotated []platform.RotatedSecret
			if err := decodeStrict(value, &rotated); err != nil && string(value) != "null" {
				return fieldError("credentials.rotated", "must be an array of {secret, expires_at (RFC 3339)}")
			}
			cs.Rotated = &rotated
			continue
		}
		var v string
		if err := json.Unmarshal(value, &v); err != nil {
			return fieldError("credentials."+name, "must be a string")
		}
		cs.Fields[name] = v
	}
	return nil
}

func (cs *CredentialsSpec) credentials() platform.Credentials {
	c := platform.Credentials{Fields: cs.Fields}
	if cs.Rotated != nil {
		c.Rotated = *cs.Rotated
	}
	return c
}

// integrationView is an integration as clients read it: credentials masked, never in clear.
type integrationView struct {
	ID          string            `json:"id"`
	ClientID    string            `json:"client_id"`
	Name        string            `json:"name"`
	Platform    string            `json:"platform"`
	Credentials map[string]string `json:"credentials"`
	// Config is a platform.Config, or a site integration's platform.SiteConfig.
	Config   any  `json:"config"`
	IsActive bool `json:"is_active"`
	// WebhookPath is where the platform sends its webhooks (a WordPress site: its callbacks).
	WebhookPath  string   `json:"webhook_path"`
	Capabilities []string `json:"capabilities"`
	// A site integration's fields; nil for the other platforms.
	*siteIntegrationView
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// integrationView builds the view (a WordPress integration's api_key is added by
// integrationViewer). Credentials that cannot be opened (a retired key) show as an empty map;
// the row is still listed.
func (s *Server) integrationView(row schema.IntegrationRow) integrationView {
	v := integrationView{ID: row.ID, ClientID: row.ClientID, Name: row.Name, Platform: row.Platform,
		Credentials: map[string]string{}, IsActive: row.IsActive, WebhookPath: WebhooksBase + "/" + row.ID,
		Capabilities: nonNil(platform.Capabilities(platform.Name(row.Platform))),
		CreatedAt:    row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if platform.Name(row.Platform).Site() {
		v.Config, v.WebhookPath, v.siteIntegrationView = siteConfigOf(row), siteWebhookPath(row), newSiteIntegrationView(row)
	} else {
		var cfg platform.Config
		if len(row.Config) > 0 {
			_ = json.Unmarshal(row.Config, &cfg)
		}
		v.Config = cfg
	}
	if s.hub.vault == nil {
		return v
	}
	creds, err := s.hub.vault.OpenCredentials(row.Credentials)
	if err != nil {
		s.logger.Warn("Integration credentials cannot be opened", "integration_id", row.ID, "error", err.Error())
		return v
	}
	v.Credentials = creds.Masked()
	return v
}

// --- handlers ------------------------------------------------------------------------------

func (s *Server) listIntegrations(c *gin.Context) {
	who := currentClient(c)
	listed(c, func(p schema.Page) ([]schema.IntegrationRow, error) {
		return s.store.ListIntegrations(c.Request.Context(), who.ID, p)
	}, s.integrationViewer(c.Request.Context()))
}

func (s *Server) adminListIntegrations(c *gin.Context) {
	clientID := c.Query("client_id")
	if len(clientID) > maxClientIDLength {
		writeError(c, fieldError("client_id", "too long"))
		return
	}
	listed(c, func(p schema.Page) ([]schema.IntegrationRow, error) {
		return s.store.ListIntegrations(c.Request.Context(), clientID, p)
	}, s.integrationViewer(c.Request.Context()))
}

func (s *Server) adminGetIntegration(c *gin.Context) {
	row, err := s.anyIntegration(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, s.integrationViewer(c.Request.Context())(row))
}

func (s *Server) getIntegration(c *gin.Context) {
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, s.integrationViewer(c.Request.Context())(row))
}

// anyIntegration reads an integration by id; a malformed id is not found.
func (s *Server) anyIntegration(ctx context.Context, id string) (schema.IntegrationRow, error) {
	if _, err := uuid.Parse(id); err != nil {
		return schema.IntegrationRow{}, errNoIntegration
	}
	row, err := s.store.GetIntegration(ctx, id)
	if errors.Is(err, schema.ErrNotFound) {
		return row, errNoIntegration
	}
	return row, err
}

// ownIntegration reads the caller's integration named by :id; another client's is not found.
func (s *Server) ownIntegration(c *gin.Context) (schema.IntegrationRow, error) {
	row, err := s.anyIntegration(c.Request.Context(), c.Param("id"))
	if err != nil {
		return row, err
	}
	if row.ClientID != currentClient(c).ID {
		return schema.IntegrationRow{}, errNoIntegration
	}
	return row, erpAllowed(c, row)
}

// integrationRequest reads a create or update body; it fails without a vault to seal with.
func (s *Server) integrationRequest(c *gin.Context) (IntegrationRequest, error) {
	var req IntegrationRequest
	if s.hub.vault == nil {
		return req, errNoVault
	}
	return req, decodeCapped(c, maxIntegrationBody, &req)
}

func (s *Server) createIntegration(c *gin.Context) {
	req, err := s.integrationRequest(c)
	if err != nil {
		writeError(c, err)
		return
	}
	in, err := newIntegration(req)
	if err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	if err := s.checkSiteOf(c.Request.Context(), who.ID, &in); err != nil {
		writeError(c, err)
		return
	}
	row, err := s.sealIntegration(in)
	if err != nil {
		writeError(c, err)
		return
	}
	row.ID, row.ClientID = uuid.NewString(), who.ID
	created, err := s.store.CreateIntegration(c.Request.Context(), row)
	if err != nil {
		writeError(c, s.siteConflict(c.Request.Context(), row, err))
		return
	}
	s.hub.inbound.forget(created.ID)
	writeData(c, http.StatusCreated, s.integrationViewer(c.Request.Context())(created))
}

// newIntegration checks a create request and builds the integration it describes.
func newIntegration(req IntegrationRequest) (integrationSpec, error) {
	missing := map[string]string{}
	if req.Name == nil {
		missing["name"] = "required"
	}
	if req.Platform == nil {
		missing["platform"] = "required"
	}
	if req.Credentials == nil {
		missing["credentials"] = "required"
	}
	if len(missing) > 0 {
		return integrationSpec{}, invalidFields(missing)
	}
	in := integrationSpec{Integration: platform.Integration{Name: *req.Name, Platform: platform.Name(*req.Platform),
		Credentials: req.Credentials.credentials(), Active: true}}
	if req.IsActive != nil {
		in.Active = *req.IsActive
	}
	problems := map[string]string{}
	if in.Platform == platform.ERP {
		// The ERP connector's integration syncs with the hub's ERP (ERP_* settings), not a
		// tenant's: the connector makes it, for clients holding the erp permission.
		return integrationSpec{}, invalidFields(map[string]string{"platform": "erp integrations are the ERP " +
			"connector's: POST " + ConnectorsBase + "/erp/sync makes one"})
	}
	if in.Platform.Site() {
		in.syncEnabled = true
		if req.SiteID == nil || *req.SiteID == "" {
			problems["site_id"] = "required for site platforms (" + siteNamesList() + ")"
		}
	}
	in.applySite(req.SiteID, req.SyncEnabled, problems)
	in.applyConfig(req.Config, problems)
	return in, in.check(problems)
}

// checkIntegration validates the name and, through the platform, the platform, credentials
// and config.
func checkIntegration(in platform.Integration) error {
	return checkIntegrationWith(in, map[string]string{})
}

// checkIntegrationWith is checkIntegration adding problems found already.
func checkIntegrationWith(in platform.Integration, problems map[string]string) error {
	if p := nameProblem(in.Name); p != "" {
		problems["name"] = p
	}
	if _, err := platform.ParseName(string(in.Platform)); err != nil {
		mergeInvalid(problems, err)
	} else if err := in.Validate(); err != nil {
		if !mergeInvalid(problems, err) {
			return err
		}
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "required"
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLength:
		return "must be at most 200 characters"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// mergeInvalid adds a platform.InvalidError's fields to problems; false for another error.
func mergeInvalid(problems map[string]string, err error) bool {
	var invalid *platform.InvalidError
	if !errors.As(err, &invalid) {
		return false
	}
	for k, v := range invalid.Fields {
		problems[k] = v
	}
	return true
}

// invalidFields is a 400 naming every offending field, in the shape validationError uses.
func invalidFields(problems map[string]string) *Error {
	names := make([]string, 0, len(problems))
	for k := range problems {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + ": " + problems[k]
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation, Message: strings.Join(parts, "; "),
		Details: map[string]any{"field": names[0], "fields": problems}}
}

// sealIntegration is the row of an integration: credentials sealed, config as JSON (a site
// integration's platform.SiteConfig), and a site integration's fields.
func (s *Server) sealIntegration(in integrationSpec) (schema.IntegrationRow, error) {
	sealed, err := s.hub.vault.SealCredentials(in.Credentials)
	if err != nil {
		return schema.IntegrationRow{}, err
	}
	var doc any = in.Config
	if in.Platform.Site() {
		doc = in.site
	}
	cfg, err := json.Marshal(doc)
	if err != nil {
		return schema.IntegrationRow{}, err
	}
	row := schema.IntegrationRow{Name: in.Name, Platform: string(in.Platform), Credentials: sealed, Config: cfg,
		IsActive: in.Active}
	if in.Platform.Site() {
		siteID := in.siteID
		row.SiteID, row.PlatformType, row.SyncEnabled = &siteID, in.Platform.PlatformType(), in.syncEnabled
	}
	return row, nil
}

// updateIntegration merges: given credential fields replace those fields (the others are
// kept), rotated replaces the rotated secrets, config replaces the config, name and is_active
// replace theirs. The merged integration is validated as a new one is. A site integration's
// config keeps the structure its site reported; its site never changes.
func (s *Server) updateIntegration(c *gin.Context) {
	req, err := s.integrationRequest(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if req.Platform != nil {
		writeError(c, invalidFields(map[string]string{"platform": "cannot be changed; create another integration"}))
		return
	}
	current, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.takeStoredSiteKey(c.Request.Context(), current, req.Credentials); err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	row, err := s.store.UpdateIntegration(c.Request.Context(), c.Param("id"), func(row *schema.IntegrationRow) error {
		if row.ClientID != who.ID {
			return errNoIntegration
		}
		opened, err := s.hub.vault.Open(row.ID, row.Name, row.Platform, row.Credentials, row.Config, row.IsActive)
		if err != nil {
			return err
		}
		in := storedSpec(opened, *row)
		if req.Name != nil {
			in.Name = *req.Name
		}
		if req.Credentials != nil {
			fields := make(map[string]string, len(in.Credentials.Fields)+len(req.Credentials.Fields))
			for k, v := range in.Credentials.Fields {
				fields[k] = v
			}
			for k, v := range req.Credentials.Fields {
				fields[k] = v
			}
			in.Credentials.Fields = fields
			if req.Credentials.Rotated != nil {
				in.Credentials.Rotated = *req.Credentials.Rotated
			}
		}
		if req.IsActive != nil {
			in.Active = *req.IsActive
		}
		problems := map[string]string{}
		if req.SiteID != nil && (!in.Platform.Site() || *req.SiteID != in.siteID) {
			problems["site_id"] = "cannot be changed; create another integration"
		} else {
			in.applySite(nil, req.SyncEnabled, problems)
		}
		in.applyConfig(req.Config, problems)
		if err := in.check(problems); err != nil {
			return err
		}
		sealed, err := s.sealIntegration(in)
		if err != nil {
			return err
		}
		row.Name, row.Credentials, row.Config, row.IsActive = sealed.Name, sealed.Credentials, sealed.Config, sealed.IsActive
		row.SyncEnabled = sealed.SyncEnabled
		return nil
	})
	if err != nil {
		writeError(c, notFoundAs(err, "integration"))
		return
	}
	s.hub.inbound.forget(row.ID)
	writeData(c, http.StatusOK, s.integrationViewer(c.Request.Context())(row))
}

func (s *Server) deleteIntegration(c *gin.Context) {
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.store.DeleteIntegration(c.Request.Context(), row.ID); err != nil {
		writeError(c, notFoundAs(err, "integration"))
		return
	}
	s.hub.inbound.forget(row.ID)
	s.dropSyncSchedule(c, row)
	writeData(c, http.StatusOK, gin.H{"id": row.ID, "deleted": true})
}

// integrationStatusView is what an integration is and can do.
type integrationStatusView struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Platform     string   `json:"platform"`
	Version      string   `json:"version"`
	Status       string   `json:"status"`
	Capabilities []string `json:"capabilities"`
}

func (s *Server) integrationStatus(c *gin.Context) {
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	status := "inactive"
	if row.IsActive {
		status = "active"
	}
	writeData(c, http.StatusOK, integrationStatusView{ID: row.ID, Name: row.Name, Platform: row.Platform,
		Version: platform.Version, Status: status, Capabilities: nonNil(platform.Capabilities(platform.Name(row.Platform)))})
}

// healthView is the outcome of a real call with an integration's credentials.
type healthView struct {
	OK        bool           `json:"ok"`
	LatencyMS float64        `json:"latency_ms"`
	Details   map[string]any `json:"details,omitempty"`
	Error     string         `json:"error,omitempty"`
}

func newHealthView(h platform.Health) healthView {
	return healthView{OK: h.OK, LatencyMS: h.LatencyMS, Details: h.Details, Error: h.Error}
}

// integrationHealth runs IntegrationCheck for the integration and answers its outcome; a
// failed check (ok false) is still a 200.
func (s *Server) integrationHealth(c *gin.Context) {
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	id := "check:" + row.ID + ":" + uuid.NewString()
	health, err := s.runCheck(c, id, workflows.CheckInput{IntegrationID: row.ID},
		transaction.Memo{ClientID: who.ID, Label: labelCheck, Method: http.MethodGet, Path: IntegrationsBase + "/" + row.ID + "/health"})
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newHealthView(health))
}

// ValidateRequest asks whether credentials and config are right for a platform.
type ValidateRequest struct {
	Platform    string           `json:"platform"`
	Credentials *CredentialsSpec `json:"credentials"`
	Config      *ConfigSpec      `json:"config"`
}

// validateView answers a validation: the format problems, or for messaging platforms the
// outcome of a real call.
type validateView struct {
	Valid  bool              `json:"valid"`
	Errors map[string]string `json:"errors,omitempty"`
	Health *healthView       `json:"health,omitempty"`
}

// validateIntegration checks formats; for messaging and site platforms it then proves the
// credentials with IntegrationCheck, which gets them sealed (never in clear in history).
func (s *Server) validateIntegration(c *gin.Context) {
	if s.hub.vault == nil {
		writeError(c, errNoVault)
		return
	}
	var req ValidateRequest
	if err := decodeCapped(c, maxIntegrationBody, &req); err != nil {
		writeError(c, err)
		return
	}
	spec := integrationSpec{Integration: platform.Integration{Name: "validate", Platform: platform.Name(req.Platform),
		Active: true}}
	if req.Credentials != nil {
		spec.Credentials = req.Credentials.credentials()
	}
	problems := map[string]string{}
	spec.applyConfig(req.Config, problems)
	in := spec.Integration
	if err := spec.check(problems); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeValidation {
			problems, _ := e.Details["fields"].(map[string]string)
			writeData(c, http.StatusOK, validateView{Valid: false, Errors: problems})
			return
		}
		writeError(c, err)
		return
	}
	if !in.Platform.Messaging() && !in.Platform.Site() {
		writeData(c, http.StatusOK, validateView{Valid: true})
		return
	}
	sealed, err := s.hub.vault.SealCredentials(in.Credentials)
	if err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	health, err := s.runCheck(c, "check:validate:"+uuid.NewString(),
		workflows.CheckInput{Platform: string(in.Platform), SealedCredentials: sealed, Config: in.Config},
		transaction.Memo{ClientID: who.ID, Label: labelCheck, Method: http.MethodPost, Path: IntegrationsBase + "/validate"})
	if err != nil {
		writeError(c, err)
		return
	}
	view := newHealthView(health)
	writeData(c, http.StatusOK, validateView{Valid: health.OK, Health: &view})
}

// runCheck starts IntegrationCheck and waits for its outcome: 504 CHECK_TIMEOUT when it takes
// longer than checkWait, 502 CHECK_FAILED when the run fails.
func (s *Server) runCheck(c *gin.Context, workflowID string, in workflows.CheckInput, memo transaction.Memo) (platform.Health, error) {
	run, err := s.startRun(c.Request.Context(), workflowID, workflows.TaskQueueWebhook, workflows.WorkflowIntegrationCheck,
		in, memo)
	if err != nil {
		return platform.Health{}, unavailable(c, workflowID, err)
	}
	wait := checkWait
	if s.cfg.WriteTimeout > 0 && s.cfg.WriteTimeout-writeTimeoutMargin < wait {
		wait = max(s.cfg.WriteTimeout-writeTimeoutMargin, time.Second)
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), wait)
	defer cancel()
	var health platform.Health
	err = run.Get(ctx, &health)
	switch {
	case err == nil:
		return health, nil
	case waitExpired(ctx, err):
		return health, &Error{Status: http.StatusGatewayTimeout, Code: CodeCheckTimeout,
			Message: "the integration check did not finish in time", Details: map[string]any{"workflow_id": workflowID}}
	}
	logger(c).Error("Integration check failed", "workflow_id", workflowID, "error", err.Error())
	return health, &Error{Status: http.StatusBadGateway, Code: CodeCheckFailed,
		Message: "the integration check could not be completed", Details: map[string]any{"workflow_id": workflowID}}
}

// startRun starts a workflow under an ID of its own (not a transaction's), eagerly, refusing a
// taken ID: the caller decides what a repeat means.
func (s *Server) startRun(ctx context.Context, workflowID, taskQueue, workflowType string, input any,
	memo transaction.Memo) (client.WorkflowRun, error) {
	return s.temporal.ExecuteWorkflow(ctx, startOptions(workflowID, taskQueue, memo), workflowType, input)
}

// unavailable is the answer when a workflow could not be started: Temporal did not take it.
func unavailable(c *gin.Context, workflowID string, err error) *Error {
	logger(c).Error("Starting a workflow failed", "workflow_id", workflowID, "error", err.Error())
	return newError(http.StatusServiceUnavailable, CodeUnavailable, "the workflow service is unavailable; retry later")
}

// decodeCapped reads a JSON body of at most maxBytes strictly into v.
func decodeCapped(c *gin.Context, maxBytes int64, v any) error {
	body, err := readCapped(c, maxBytes)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// readCapped reads the body, refusing more than maxBytes (413) whatever the global cap is.
func readCapped(c *gin.Context, maxBytes int64) ([]byte, error) {
	if c.Request.ContentLength > maxBytes {
		return nil, bodyTooLarge(maxBytes)
	}
	if c.Request.Body != nil && c.Request.Body != http.NoBody {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
	}
	return readBody(c, maxBytes)
}

// --- the webhook route's integration cache ---------------------------------------------------

// inboundIntegration is an integration ready to verify webhooks: credentials opened.
type inboundIntegration struct {
	platform.Integration
	owner string
}

type cachedIntegration struct {
	in       inboundIntegration
	found    bool
	loadedAt time.Time
}

// maxAbsentIntegrations bounds the webhook route's memory of unknown and inactive ids.
const maxAbsentIntegrations = 10_000

// integrationCache holds integrations for the config TTL, credentials opened once per load.
// Unknown and inactive ids are remembered as absent for the TTL too, so a repeated one is
// answered 404 without a database read. The two are kept apart, each bounded: a flood of
// unknown ids can only evict other absent ids, never an integration at work. Changes made
// through this instance forget the id at once, absent or not.
type integrationCache struct {
	store IntegrationStore
	vault *platform.Vault
	ttl   time.Duration

	mu sync.RWMutex
	// entries are the active integrations, at most maxCachedIntegrations.
	entries map[string]cachedIntegration
	// absent are the unknown and inactive ids, with when they were found absent; at most
	// maxAbsentIntegrations.
	absent map[string]time.Time
	// gen counts forgets: a load that raced one is not kept (see routeCache.gen).
	gen   uint64
	loads singleflight.Group
}

func newIntegrationCache(store IntegrationStore, vault *platform.Vault, ttl time.Duration) *integrationCache {
	return &integrationCache{store: store, vault: vault, ttl: ttl, entries: map[string]cachedIntegration{},
		absent: map[string]time.Time{}}
}

// get returns the active integration id names; errNoIntegration for an unknown or inactive one.
func (ic *integrationCache) get(ctx context.Context, id string) (inboundIntegration, error) {
	if _, err := uuid.Parse(id); err != nil {
		return inboundIntegration{}, errNoIntegration
	}
	if ic.vault == nil {
		return inboundIntegration{}, errNoVault
	}
	ic.mu.RLock()
	e, ok := ic.entries[id]
	absentSince, absent := ic.absent[id]
	gen := ic.gen
	ic.mu.RUnlock()
	switch {
	case ok && time.Since(e.loadedAt) < ic.ttl:
	case absent && time.Since(absentSince) < ic.ttl:
		return inboundIntegration{}, errNoIntegration
	default:
		v, err := sharedLoad(ctx, &ic.loads, id+"\x00"+strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
			return ic.load(ctx, id, gen)
		})
		if err != nil {
			return inboundIntegration{}, err
		}
		e = v.(cachedIntegration)
	}
	if !e.found || !e.in.Active {
		return inboundIntegration{}, errNoIntegration
	}
	return e.in, nil
}

// atWork reports, without a read, whether id is an integration this cache holds as active.
func (ic *integrationCache) atWork(id string) bool {
	ic.mu.RLock()
	defer ic.mu.RUnlock()
	e, ok := ic.entries[id]
	return ok && e.found && e.in.Active
}

func (ic *integrationCache) load(ctx context.Context, id string, gen uint64) (cachedIntegration, error) {
	e := cachedIntegration{loadedAt: time.Now()}
	row, err := ic.store.GetIntegration(ctx, id)
	switch {
	case errors.Is(err, schema.ErrNotFound):
	case err != nil:
		return e, err
	case platform.Name(row.Platform).Site():
		// A site integration receives no platform webhooks: as absent as an unknown id.
	default:
		in, err := ic.vault.Open(row.ID, row.Name, row.Platform, row.Credentials, row.Config, row.IsActive)
		if err != nil {
			return e, err
		}
		e.in, e.found = inboundIntegration{Integration: in, owner: row.ClientID}, true
	}
	ic.mu.Lock()
	if ic.gen == gen {
		if e.found && e.in.Active {
			delete(ic.absent, id)
			makeRoom(ic.entries, maxCachedIntegrations, func(c cachedIntegration) time.Time { return c.loadedAt }, e.loadedAt, ic.ttl)
			ic.entries[id] = e
		} else {
			delete(ic.entries, id)
			makeRoom(ic.absent, maxAbsentIntegrations, func(at time.Time) time.Time { return at }, e.loadedAt, ic.ttl)
			ic.absent[id] = e.loadedAt
		}
	}
	ic.mu.Unlock()
	return e, nil
}

// makeRoom readies m, holding at most limit entries, for one more: when it is full it drops
// the entries older than ttl and, if that is not an eighth of them, arbitrary others up to an
// eighth, so a full map is swept once per limit/8 inserts rather than on every one.
func makeRoom[V any](m map[string]V, limit int, loadedAt func(V) time.Time, now time.Time, ttl time.Duration) {
	if len(m) < limit {
		return
	}
	for k, v := range m {
		if now.Sub(loadedAt(v)) >= ttl {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) <= limit-max(1, limit/8) {
			break
		}
		delete(m, k)
	}
}

// forget drops an integration this instance created, changed or deleted, and its id's
// absence, so the change applies to the webhook route at once.
func (ic *integrationCache) forget(id string) {
	ic.mu.Lock()
	delete(ic.entries, id)
	delete(ic.absent, id)
	ic.gen++
	ic.mu.Unlock()
}
