package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// contentTypePattern is what a content type (post, page, product, a custom post type) looks
// like, as platform.SiteConfig.Validate takes it: it goes into a site's URL paths.
var contentTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// labelTestConnection labels the checks test_connection starts.
const labelTestConnection = "test_connection"

// ConfigSpec is an integration's config as clients send it: the messaging and webhook
// platforms' settings (platform.Config), or a site platform's (the settable fields of
// platform.SiteConfig). Each platform refuses the other kind's.
type ConfigSpec struct {
	platform.Config
	// ContentTypes are the types a sync pulls (default: the platform's).
	ContentTypes []string `json:"content_types"`
	// PageSize is how many items one page asks for (WordPress 1..100, others 1..250).
	PageSize *int `json:"page_size"`
	// EscalateOnFailure makes a failing sync wait for an operator.
	EscalateOnFailure *bool `json:"escalate_on_failure"`
}

// integrationSpec is an integration a request describes: the platform's part and, for a site
// platform, its site, sync flag and settings.
type integrationSpec struct {
	platform.Integration
	siteID      string
	syncEnabled bool
	site        platform.SiteConfig
}

// storedSpec is the spec of a stored integration, opened.
func storedSpec(in platform.Integration, row schema.IntegrationRow) integrationSpec {
	spec := integrationSpec{Integration: in, syncEnabled: row.SyncEnabled}
	if row.SiteID != nil {
		spec.siteID = *row.SiteID
	}
	if in.Platform.Site() {
		spec.site, spec.Integration.Config = siteConfigOf(row), platform.Config{}
	}
	return spec
}

// siteConfigOf reads a site integration's settings from its config document.
func siteConfigOf(row schema.IntegrationRow) platform.SiteConfig {
	var cfg platform.SiteConfig
	if len(row.Config) > 0 {
		_ = json.Unmarshal(row.Config, &cfg)
	}
	return cfg
}

// applySite takes the site fields a request gives (nil: not given).
func (in *integrationSpec) applySite(siteID *string, syncEnabled *bool, problems map[string]string) {
	if !in.Platform.Site() {
		if siteID != nil {
			problems["site_id"] = "only for site platforms (" + siteNamesList() + ")"
		}
		if syncEnabled != nil {
			problems["sync_enabled"] = "only for site platforms (" + siteNamesList() + ")"
		}
		return
	}
	if siteID != nil {
		in.siteID = *siteID
	}
	if syncEnabled != nil {
		in.syncEnabled = *syncEnabled
	}
}

// applyConfig replaces the settings with the ones a request gives (nil: kept). A site
// integration keeps the structure its site reported.
func (in *integrationSpec) applyConfig(cs *ConfigSpec, problems map[string]string) {
	if cs == nil {
		return
	}
	if !in.Platform.Site() {
		in.Config = cs.Config
		if cs.ContentTypes != nil {
			problems["config.content_types"] = "only for site platforms"
		}
		if cs.PageSize != nil {
			problems["config.page_size"] = "only for site platforms"
		}
		if cs.EscalateOnFailure != nil {
			problems["config.escalate_on_failure"] = "only for site platforms"
		}
		return
	}
	for _, key := range settingsGiven(cs.Config) {
		problems["config."+key] = "not a setting of site platforms"
	}
	in.site.ContentTypes, in.site.PageSize, in.site.EscalateOnFailure = cs.ContentTypes, 0, false
	if cs.PageSize != nil {
		in.site.PageSize = *cs.PageSize
	}
	if cs.EscalateOnFailure != nil {
		in.site.EscalateOnFailure = *cs.EscalateOnFailure
	}
	siteConfigProblems(in.Platform, in.site, problems)
}

// settingsGiven names the messaging and webhook settings a config sets.
func settingsGiven(cfg platform.Config) []string {
	b, _ := json.Marshal(cfg)
	var set map[string]any
	_ = json.Unmarshal(b, &set)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// siteConfigProblems checks a site integration's settings with its platform.
func siteConfigProblems(n platform.Name, cfg platform.SiteConfig, problems map[string]string) {
	if err := cfg.Validate(n); err != nil {
		mergeInvalid(problems, err)
	}
}

// check validates the whole integration, adding problems found already.
func (in integrationSpec) check(problems map[string]string) error {
	if in.Platform.Site() && len(in.siteID) > maxSiteIDLength {
		problems["site_id"] = "not a site id"
	}
	return checkIntegrationWith(in.Integration, problems)
}

func siteNamesList() string { return platform.SiteNamesList() }

// siteIntegrationView is what a site integration shows beyond every integration's fields.
type siteIntegrationView struct {
	SiteID string `json:"site_id"`
	// PlatformType is cms (wordpress), ecommerce (shopify) or custom.
	PlatformType string `json:"platform_type"`
	SyncEnabled  bool   `json:"sync_enabled"`
	// SyncStatus is "" (never synced), RUNNING, PAUSED, SUCCESS or ERROR.
	SyncStatus string     `json:"sync_status"`
	LastSyncAt *time.Time `json:"last_sync_at"`
	SyncError  string     `json:"sync_error"`
	// APIKey is a WordPress integration's site key, the one its plugin presents.
	APIKey string `json:"api_key,omitempty"`
}

func newSiteIntegrationView(row schema.IntegrationRow) *siteIntegrationView {
	v := &siteIntegrationView{PlatformType: row.PlatformType, SyncEnabled: row.SyncEnabled, SyncStatus: row.SyncStatus,
		LastSyncAt: row.LastSyncAt, SyncError: row.SyncError}
	if row.SiteID != nil {
		v.SiteID = *row.SiteID
	}
	if v.PlatformType == "" {
		v.PlatformType = platform.Name(row.Platform).PlatformType()
	}
	return v
}

// siteWebhookPath is where a site integration's site calls the hub: a WordPress site's
// callbacks; nothing for the others.
func siteWebhookPath(row schema.IntegrationRow) string {
	if platform.Name(row.Platform) == platform.WordPress {
		return WordPressCallbacksBase + "/"
	}
	return ""
}

// integrationViewer builds views as integrationView does and shows a WordPress integration's
// site key to its owner, as the seed does; a listing reads each site once.
func (s *Server) integrationViewer(ctx context.Context) func(schema.IntegrationRow) integrationView {
	keys := map[string]string{}
	return func(row schema.IntegrationRow) integrationView {
		v := s.integrationView(row)
		if v.siteIntegrationView == nil || platform.Name(row.Platform) != platform.WordPress || v.SiteID == "" {
			return v
		}
		key, ok := keys[v.SiteID]
		if !ok {
			key = s.siteKeyOf(ctx, v.SiteID)
			keys[v.SiteID] = key
		}
		v.APIKey = key
		return v
	}
}

// checkSiteOf refuses a site integration whose site is not the client's, and takes a
// WordPress api_key credential out (see takeSiteKey).
func (s *Server) checkSiteOf(ctx context.Context, clientID string, in *integrationSpec) error {
	if !in.Platform.Site() {
		return nil
	}
	site, err := s.ownSite(ctx, clientID, in.siteID)
	if err != nil {
		return err
	}
	return s.takeSiteKey(site, in.Platform, in.Credentials.Fields)
}

// takeSiteKey removes a WordPress integration's api_key credential from fields: the
// integration always uses its site's key (rotated with the site), so a given one must be that
// key, and is not stored twice. (A custom site's api_key is its own credential, kept.)
func (s *Server) takeSiteKey(site schema.SiteRow, name platform.Name, fields map[string]string) error {
	given, ok := fields[platform.FieldAPIKey]
	if !ok || name != platform.WordPress {
		return nil
	}
	delete(fields, platform.FieldAPIKey)
	if given == "" {
		return nil
	}
	match, err := s.siteKeyMatches(site, given)
	switch {
	case err != nil:
		return err
	case !match:
		return invalidFields(map[string]string{"credentials." + platform.FieldAPIKey: "must be the site's api key, or left out: the integration uses its site's"})
	}
	return nil
}

// takeStoredSiteKey is takeSiteKey for an update of a stored WordPress integration.
func (s *Server) takeStoredSiteKey(ctx context.Context, row schema.IntegrationRow, creds *CredentialsSpec) error {
	if creds == nil || platform.Name(row.Platform) != platform.WordPress || row.SiteID == nil {
		return nil
	}
	if _, given := creds.Fields[platform.FieldAPIKey]; !given {
		return nil
	}
	site, err := s.store.GetSite(ctx, *row.SiteID)
	if err != nil {
		return err
	}
	return s.takeSiteKey(site, platform.WordPress, creds.Fields)
}

// siteConflict explains a refused insert of a site integration: the site has one on that
// platform already (409, naming it), or the site is gone.
func (s *Server) siteConflict(ctx context.Context, row schema.IntegrationRow, err error) error {
	if row.SiteID == nil {
		return err
	}
	switch {
	case errors.Is(err, schema.ErrReference):
		return errNoSite
	case !errors.Is(err, schema.ErrConflict):
		return err
	}
	e := &Error{Status: http.StatusConflict, Code: CodeConflict,
		Message: "the site already has a " + row.Platform + " integration",
		Details: map[string]any{"site_id": *row.SiteID, "platform": row.Platform}}
	if existing, err := s.store.SiteIntegration(ctx, row.ClientID, *row.SiteID, row.Platform); err == nil {
		e.Details["integration_id"] = existing.ID
	}
	return e
}

// registerSiteIntegrations wires sites, connection tests, the content store and the WordPress
// callbacks.
func (s *Server) registerSiteIntegrations(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	// Public: a site's plugin proves itself with the site's api key.
	both(r, http.MethodPost, IntegrationsBase+"/test_connection", s.hub.failures.guard(s.testConnectionCollection)...)
	both(r, http.MethodPost, IntegrationsBase+"/:id/test_connection", with(s.testConnection)...)
	s.registerContents(r, with)
	s.registerSites(r, with)
	s.registerWordPress(r)
}

// --- connection tests ----------------------------------------------------------------------

// ConnectionTest is the seed's answer to a connection test: whether the site (or platform)
// took the credentials, why not, and what the call found.
type ConnectionTest struct {
	Success bool           `json:"success"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	// IntegrationID names the integration tested.
	IntegrationID string `json:"integration_id,omitempty"`
}

// newConnectionTest reads an IntegrationCheck's outcome as a connection test.
func newConnectionTest(h platform.Health, integrationID string) ConnectionTest {
	t := ConnectionTest{Success: h.OK, Details: map[string]any{"latency_ms": h.LatencyMS}, IntegrationID: integrationID}
	for k, v := range h.Details {
		if k == "message" {
			t.Message, _ = v.(string)
			continue
		}
		t.Details[k] = v
	}
	switch {
	case !h.OK && h.Error != "":
		t.Message = h.Error
	case t.Message != "":
	case h.OK:
		t.Message = "Connection successful"
	default:
		t.Message = "Connection failed"
	}
	return t
}

// testConnection proves an integration's credentials with a real call (IntegrationCheck) and
// answers {success, message, details}: 200 whether the call succeeded or not.
func (s *Server) testConnection(c *gin.Context) {
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	path := IntegrationsBase + "/" + row.ID + "/test_connection"
	health, err := s.runCheck(c, "check:"+row.ID+":"+uuid.NewString(), workflows.CheckInput{IntegrationID: row.ID},
		transaction.Memo{ClientID: row.ClientID, Label: labelTestConnection, Method: http.MethodPost, Path: path})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newConnectionTest(health, row.ID))
}

// TestConnectionRequest is a site plugin's onboarding call: the site and its api key, and the
// WordPress credentials to link it with.
type TestConnectionRequest struct {
	SiteID              string `json:"site_id"`
	APIKey              string `json:"api_key"`
	SiteURL             string `json:"site_url"`
	Username            string `json:"username"`
	ApplicationPassword string `json:"application_password"`
}

// testConnectionCollection is the seed's plugin onboarding, without client credentials: the
// site's api key proves the caller. It tests the site's WordPress integration, creating it
// from the request's credentials when the site has none, and deleting the one it created when
// the test fails (400). An existing integration is only tested, never changed or deleted.
func (s *Server) testConnectionCollection(c *gin.Context) {
	if s.hub.vault == nil {
		writeError(c, errNoVault)
		return
	}
	var req TestConnectionRequest
	if err := decodeCapped(c, maxIntegrationBody, &req); err != nil {
		writeError(c, err)
		return
	}
	missing := map[string]string{}
	if req.SiteID == "" {
		missing["site_id"] = "required"
	}
	if req.APIKey == "" {
		missing["api_key"] = "required"
	}
	if len(missing) > 0 {
		writeError(c, invalidFields(missing))
		return
	}
	ctx := c.Request.Context()
	site, err := s.siteByKey(ctx, req.SiteID, req.APIKey)
	if err != nil {
		if errors.Is(err, errBadSiteKey) {
			failedWebhook(c)
		}
		writeError(c, err)
		return
	}
	row, existed, err := s.siteWordPress(ctx, site, req)
	if err != nil {
		writeError(c, err)
		return
	}
	path := IntegrationsBase + "/test_connection"
	health, err := s.runCheck(c, "check:"+row.ID+":"+uuid.NewString(), workflows.CheckInput{IntegrationID: row.ID},
		transaction.Memo{ClientID: site.ClientID, Label: labelTestConnection, Method: http.MethodPost, Path: path})
	if !existed && (err != nil || !health.OK) {
		// Nothing half-written: the integration this request made goes, whatever the client does.
		if derr := s.store.DeleteIntegration(context.WithoutCancel(ctx), row.ID); derr != nil && !errors.Is(derr, schema.ErrNotFound) {
			logger(c).Error("Deleting the integration of a failed connection test failed", "integration_id", row.ID,
				"error", derr.Error())
			writeError(c, derr)
			return
		}
		s.hub.inbound.forget(row.ID)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	result := newConnectionTest(health, row.ID)
	if !health.OK {
		// A public route: a failed test counts against the caller's address like a bad key,
		// and the answer names no address or answer of the site (a site_url pointing inside a
		// network must not become a probe). The reason goes to the hub's log (and, for an
		// integration that stays, to its sync events).
		failedWebhook(c)
		logger(c).Warn("A site's connection test failed", "site_id", site.ID, "integration_id", row.ID,
			"kept", existed, "reason", health.Error)
		result = ConnectionTest{Success: false, Details: map[string]any{},
			Message: "the site did not accept the connection test: check site_url, username and application_password"}
		if status, ok := health.Details["status"]; ok {
			result.Details["status"] = status
		}
		if existed {
			result.IntegrationID = row.ID
		}
		c.JSON(http.StatusBadRequest, result)
		return
	}
	c.JSON(http.StatusOK, result)
}

// siteWordPress is the site's WordPress integration: the one it has (existed), or one made
// from the request's credentials.
func (s *Server) siteWordPress(ctx context.Context, site schema.SiteRow, req TestConnectionRequest) (schema.IntegrationRow, bool, error) {
	row, err := s.store.SiteIntegration(ctx, site.ClientID, site.ID, string(platform.WordPress))
	if err == nil {
		return row, true, nil
	}
	if !errors.Is(err, schema.ErrNotFound) {
		return row, false, err
	}
	siteID := site.ID
	in := integrationSpec{Integration: platform.Integration{Name: wordPressName(site.Name), Platform: platform.WordPress,
		Credentials: platform.Credentials{Fields: map[string]string{platform.FieldSiteURL: req.SiteURL,
			platform.FieldUsername: req.Username, platform.FieldApplicationPassword: req.ApplicationPassword}},
		Active: true}, siteID: siteID, syncEnabled: true}
	if err := in.check(map[string]string{}); err != nil {
		return row, false, err
	}
	sealed, err := s.sealIntegration(in)
	if err != nil {
		return row, false, err
	}
	sealed.ID, sealed.ClientID = uuid.NewString(), site.ClientID
	created, err := s.store.CreateIntegration(ctx, sealed)
	if errors.Is(err, schema.ErrConflict) {
		// Another onboarding call made it first: test that one, as an existing integration.
		row, err = s.store.SiteIntegration(ctx, site.ClientID, site.ID, string(platform.WordPress))
		return row, true, err
	}
	if err != nil {
		return row, false, s.siteConflict(ctx, sealed, err)
	}
	s.hub.inbound.forget(created.ID)
	return created, false, nil
}

// wordPressName names an integration made by onboarding: "WordPress <site name>", within the
// name limit.
func wordPressName(site string) string {
	name := []rune("WordPress " + site)
	if len(name) > maxNameLength {
		name = name[:maxNameLength]
	}
	return string(name)
}
