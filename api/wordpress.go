package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/enums/v1"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// WordPressCallbacksBase is where a WordPress site's plugin calls the hub.
const WordPressCallbacksBase = WebhooksBase + "/wordpress"

// Limits of the WordPress callbacks.
const (
	maxCallbackBody = 64 << 10
	// maxStructureEntries bounds the post types, taxonomies and plugins a site reports.
	maxStructureEntries = 200
	maxCallbackName     = 100
	maxPostStatus       = 32
	// callbackHashLength is how much of the body's SHA-256 (hex) names a callback's run.
	callbackHashLength = 32
)

// Memo labels of the runs the callbacks start.
const (
	labelWordPressStatus   = "wordpress_status"
	labelWordPressMetadata = "wordpress_metadata"
)

// APIKeyHeader carries a site's api key on its callbacks (or Authorization: Bearer <key>).
const APIKeyHeader = "X-Api-Key"

// postIDPattern is a WordPress post id: a positive integer.
var postIDPattern = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

// structureNamePattern is a post type, taxonomy or plugin name as WordPress registers them.
var structureNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,100}$`)

// registerWordPress wires the public callbacks a WordPress site's plugin makes, authenticated
// by the site's api key; addresses that fail too often are refused first.
func (s *Server) registerWordPress(r gin.IRouter) {
	both(r, http.MethodPost, WordPressCallbacksBase+"/status", s.hub.failures.guard(s.wordPressStatus)...)
	both(r, http.MethodPost, WordPressCallbacksBase+"/metadata", s.hub.failures.guard(s.wordPressMetadata)...)
}

// WordPressStatusRequest is a post's status change at the site.
type WordPressStatusRequest struct {
	SiteID string `json:"site_id"`
	// PostID is the site's id of the post, a number or a string of digits.
	PostID json.RawMessage `json:"post_id"`
	// PostType defaults to post.
	PostType   string `json:"post_type"`
	PostStatus string `json:"post_status"`
}

// WordPressMetadataRequest is what a site tells of itself: its post types, taxonomies (each a
// list of names, or an object keyed by name) and plugin flags.
type WordPressMetadataRequest struct {
	SiteID     string          `json:"site_id"`
	PostTypes  json.RawMessage `json:"post_types"`
	Taxonomies json.RawMessage `json:"taxonomies"`
	Plugins    map[string]bool `json:"plugins"`
	// Timestamp is when the site described itself: RFC 3339 or Unix seconds; now when absent.
	Timestamp json.RawMessage `json:"timestamp"`
}

// callbackAccepted answers a callback once Temporal took the work.
type callbackAccepted struct {
	Success    bool   `json:"success"`
	Accepted   bool   `json:"accepted"`
	Duplicate  bool   `json:"duplicate,omitempty"`
	WorkflowID string `json:"workflow_id"`
}

// wordPressStatus starts a one-item pull (SyncContent) of the post the site reports changed.
func (s *Server) wordPressStatus(c *gin.Context) {
	body, site, ok := s.wordPressCallback(c)
	if !ok {
		return
	}
	var req WordPressStatusRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(c, jsonError(err))
		return
	}
	problems := map[string]string{}
	postID := postIDOf(req.PostID)
	if postID == "" {
		problems["post_id"] = "required: the post's id, a positive integer"
	}
	if req.PostType == "" {
		req.PostType = "post"
	}
	if !contentTypePattern.MatchString(req.PostType) {
		problems["post_type"] = "a post type such as post or page (letters, digits, _ and -, at most 64)"
	}
	if len(req.PostStatus) > maxPostStatus || !utf8.ValidString(req.PostStatus) {
		problems["post_status"] = "at most 32 characters"
	}
	if len(problems) > 0 {
		writeError(c, invalidFields(problems))
		return
	}
	in, err := s.siteWordPressIntegration(c.Request.Context(), site)
	if err != nil {
		writeError(c, err)
		return
	}
	if !in.SyncEnabled {
		writeError(c, newError(http.StatusConflict, CodeConflict, "syncing is disabled for the site's WordPress integration (sync_enabled false)"))
		return
	}
	workflowID := "sync:" + in.ID + ":content:" + bodyHash(body)
	s.startCallback(c, workflowID, workflows.WorkflowSyncContent, workflows.SyncContentInput{SyncID: uuid.NewString(),
		IntegrationID: in.ID, ClientID: in.ClientID, ContentType: req.PostType, ExternalID: postID,
		Trigger: workflows.TriggerCallback}, in.ClientID, labelWordPressStatus, "/status")
}

// wordPressMetadata starts SyncStructure with the structure the site reports.
func (s *Server) wordPressMetadata(c *gin.Context) {
	body, site, ok := s.wordPressCallback(c)
	if !ok {
		return
	}
	var req WordPressMetadataRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(c, jsonError(err))
		return
	}
	problems := map[string]string{}
	structure := platform.SiteStructure{PostTypes: namesOf(req.PostTypes, "post_types", problems),
		Taxonomies: namesOf(req.Taxonomies, "taxonomies", problems), Timestamp: timestampOf(req.Timestamp, problems)}
	if len(req.Plugins) > maxStructureEntries {
		problems["plugins"] = "at most 200 plugins"
	}
	for name := range req.Plugins {
		if !structureNamePattern.MatchString(name) {
			problems["plugins"] = "names of at most 100 characters (letters, digits, _ . : / -)"
		}
	}
	if len(req.Plugins) > 0 {
		structure.Plugins = req.Plugins
	}
	if len(problems) > 0 {
		writeError(c, invalidFields(problems))
		return
	}
	in, err := s.siteWordPressIntegration(c.Request.Context(), site)
	if err != nil {
		writeError(c, err)
		return
	}
	workflowID := "sync:" + in.ID + ":structure:" + bodyHash(body)
	s.startCallback(c, workflowID, workflows.WorkflowSyncStructure, workflows.SyncStructureInput{SyncID: uuid.NewString(),
		IntegrationID: in.ID, ClientID: in.ClientID, Structure: &structure, Trigger: workflows.TriggerCallback},
		in.ClientID, labelWordPressMetadata, "/metadata")
}

// wordPressCallback reads a callback's body (at most 64 KiB) and authenticates it: the site
// named by site_id, with its api key in X-Api-Key or Authorization: Bearer. A refused key or
// unknown site is a failure the address's limit counts. ok is false once answered.
func (s *Server) wordPressCallback(c *gin.Context) (body []byte, site schema.SiteRow, ok bool) {
	body, err := readCapped(c, maxCallbackBody)
	if err != nil {
		writeError(c, err)
		return nil, site, false
	}
	var ref struct {
		SiteID any `json:"site_id"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(c, newError(http.StatusBadRequest, CodeMalformedJSON, "request body must be a JSON object"))
		return nil, site, false
	}
	if err := json.Unmarshal(body, &ref); err != nil {
		writeError(c, jsonError(err))
		return nil, site, false
	}
	key := presentedKey(c.Request.Header)
	siteID, _ := ref.SiteID.(string)
	switch {
	case key == "":
		failedWebhook(c)
		writeError(c, &Error{Status: http.StatusUnauthorized, Code: CodeAuthRequired,
			Message: "the site's api key is required (" + APIKeyHeader + " or Authorization: Bearer)"})
		return nil, site, false
	case siteID == "":
		writeError(c, fieldError("site_id", "required: the site's id"))
		return nil, site, false
	}
	site, err = s.siteByKey(c.Request.Context(), siteID, key)
	if err != nil {
		if errors.Is(err, errBadSiteKey) {
			failedWebhook(c)
		}
		writeError(c, err)
		return nil, site, false
	}
	return body, site, true
}

// presentedKey is the api key a request carries: X-Api-Key, else a bearer token.
func presentedKey(h http.Header) string {
	if key := strings.TrimSpace(h.Get(APIKeyHeader)); key != "" {
		return key
	}
	scheme, token, found := strings.Cut(h.Get("Authorization"), " ")
	if found && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// siteWordPressIntegration is the site's active WordPress integration; 404 when it has none.
func (s *Server) siteWordPressIntegration(ctx context.Context, site schema.SiteRow) (schema.IntegrationRow, error) {
	row, err := s.store.SiteIntegration(ctx, site.ClientID, site.ID, string(platform.WordPress))
	switch {
	case errors.Is(err, schema.ErrNotFound), err == nil && !row.IsActive:
		return schema.IntegrationRow{}, newError(http.StatusNotFound, CodeNotFound, "the site has no active WordPress integration")
	case err != nil:
		return schema.IntegrationRow{}, err
	}
	return row, nil
}

// startCallback starts a callback's work under its ID (the body's hash) and answers 202 once
// Temporal took it. A repeat while the first one runs (the plugin retrying) is refused by the
// start and answered 200 duplicate; the same body after it finished (the same post saved again)
// is new work: the post may have changed although its callback did not.
func (s *Server) startCallback(c *gin.Context, workflowID, workflowType string, input any, owner, label, route string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), startTimeout)
	defer cancel()
	memo := transaction.Memo{Kind: transaction.KindSync, ClientID: owner, Label: label, Method: http.MethodPost,
		Path: WordPressCallbacksBase + route}
	opts := startOptions(workflowID, workflows.TaskQueueSync, memo)
	opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	_, err := s.temporal.ExecuteWorkflow(ctx, opts, workflowType, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		c.JSON(http.StatusOK, callbackAccepted{Success: true, Accepted: true, Duplicate: true, WorkflowID: workflowID})
	case err != nil:
		writeError(c, unavailable(c, workflowID, err))
	default:
		c.JSON(http.StatusAccepted, callbackAccepted{Success: true, Accepted: true, WorkflowID: workflowID})
	}
}

// bodyHash names a callback by its body: the first 32 hex characters of its SHA-256.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])[:callbackHashLength]
}

// postIDOf reads a post id given as a number or a string of digits; "" when it is neither.
func postIDOf(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) == 0 || dec.Decode(&v) != nil {
		return ""
	}
	var id string
	switch t := v.(type) {
	case json.Number:
		id = t.String()
	case string:
		id = strings.TrimSpace(t)
	}
	if !postIDPattern.MatchString(id) {
		return ""
	}
	return id
}

// namesOf reads a list of names, or an object keyed by name (WordPress's own shape for post
// types and taxonomies), sorted.
func namesOf(raw json.RawMessage, field string, problems map[string]string) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return []string{}
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		var keyed map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keyed); err != nil {
			problems[field] = "a list of names, or an object keyed by name"
			return nil
		}
		for name := range keyed {
			names = append(names, name)
		}
		sort.Strings(names)
	}
	if len(names) > maxStructureEntries {
		problems[field] = "at most 200 names"
		return nil
	}
	for _, name := range names {
		if !structureNamePattern.MatchString(name) {
			problems[field] = "names of at most 100 characters (letters, digits, _ . : / -)"
			return nil
		}
	}
	return names
}

// timestampOf reads when the site described itself: RFC 3339 or Unix seconds; now when absent.
func timestampOf(raw json.RawMessage, problems map[string]string) time.Time {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Now().UTC()
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		if t, err := time.Parse(time.RFC3339, text); err == nil {
			return t.UTC()
		}
		if secs, err := strconv.ParseInt(text, 10, 64); err == nil && secs > 0 {
			return time.Unix(secs, 0).UTC()
		}
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err == nil && secs > 0 && secs < 1e11 {
		return time.Unix(int64(secs), 0).UTC()
	}
	problems["timestamp"] = "an RFC 3339 time or Unix seconds"
	return time.Time{}
}
