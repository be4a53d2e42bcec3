package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// SyncStore is what the sync routes read (and, for a run whose workflow is gone, write).
type SyncStore interface {
	StartSyncRun(ctx context.Context, r schema.SyncRunRow) (schema.SyncRunRow, error)
	ActiveSyncRun(ctx context.Context, integrationID string) (schema.SyncRunRow, error)
	ListSyncRuns(ctx context.Context, integrationID string, page schema.Page) ([]schema.SyncRunRow, error)
	FinishSyncRun(ctx context.Context, id, status string, counts schema.SyncCounts, errText string) (schema.SyncRunRow, error)
	ListSyncEvents(ctx context.Context, integrationID string, page schema.Page) ([]schema.SyncEventRow, error)
	IntegrationSyncHealth(ctx context.Context, integrationID string) (schema.SyncHealth, error)
	GetContent(ctx context.Context, id string) (schema.ContentRow, error)
}

// Error codes of the sync routes.
const (
	// CodeSyncRunning: the integration already has a sync running (or paused).
	CodeSyncRunning = transaction.ErrorCodeSyncRunning
	// CodeNoSyncRunning: a pause, resume or cancel found no sync to signal.
	CodeNoSyncRunning = "NO_SYNC_RUNNING"
	// CodeSyncDisabled: the integration's sync_enabled is false.
	CodeSyncDisabled = "SYNC_DISABLED"
	// CodeSyncFailed: a one-item or structure sync could not be completed.
	CodeSyncFailed = "SYNC_FAILED"
)

// Limits of the sync routes.
const (
	maxSyncBody        = 16 << 10
	maxStructureBody   = 64 << 10
	maxSyncFilters     = 20
	maxFilterKey       = 64
	maxFilterValue     = 1024
	maxSignalNote      = 1000
	maxExternalID      = 200
	maxContentTypeName = 64
	// syncWait is how long update_site_structure and sync_wordpress_content wait for their run.
	syncWait = 20 * time.Second
	// progressWait bounds the progress query: a run no worker takes answers none.
	progressWait = 2 * time.Second
)

// Memo labels of the sync runs the API starts.
const (
	labelSync          = "sync"
	labelSyncStructure = "sync_structure"
	labelSyncContent   = "sync_content"
)

// filterKey and contentTypeName are what a filter's name and a content type may look like.
var (
	filterKey       = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	contentTypeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// registerSyncs wires the sync routes of site integrations.
func (s *Server) registerSyncs(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	both(r, http.MethodPost, IntegrationsBase+"/:id/sync", with(s.startSync)...)
	for _, signal := range []string{workflows.SignalPause, workflows.SignalResume, workflows.SignalCancel} {
		both(r, http.MethodPost, IntegrationsBase+"/:id/sync/"+signal, with(s.signalSync(signal))...)
	}
	both(r, http.MethodGet, IntegrationsBase+"/:id/sync_status", with(s.syncStatus)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/sync_runs", with(s.listSyncRuns)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/sync_events", with(s.listSyncEvents)...)
	both(r, http.MethodPost, IntegrationsBase+"/:id/update_site_structure", with(s.updateSiteStructure)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/content_types", with(s.contentTypes)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/debug_status", with(s.debugStatus)...)
	both(r, http.MethodPost, IntegrationsBase+"/:id/sync_wordpress_content", with(s.syncWordPressContent)...)
	both(r, http.MethodPut, IntegrationsBase+"/:id/schedule", with(s.putSchedule)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/schedule", with(s.getSchedule)...)
	both(r, http.MethodDelete, IntegrationsBase+"/:id/schedule", with(s.deleteSchedule)...)
}

// siteIntegration reads the caller's integration named by :id and refuses one that is not a
// site's (WordPress, Shopify, custom): only those sync.
func (s *Server) siteIntegration(c *gin.Context) (schema.IntegrationRow, error) {
	row, err := s.ownIntegration(c)
	if err != nil {
		return row, err
	}
	if !platform.Name(row.Platform).Site() {
		return row, &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: "platform " + row.Platform + " does not sync: only site integrations (" + siteNamesList() + ") do",
			Details: map[string]any{"field": "platform"}}
	}
	return row, nil
}

// erpAllowed lets only clients holding the erp permission near the ERP connector's
// integration (every route that names an integration of the client's: ownIntegration): it
// syncs with the hub's ERP, under the hub's ERP_* credentials.
func erpAllowed(c *gin.Context, row schema.IntegrationRow) error {
	if platform.Name(row.Platform) != platform.ERP {
		return nil
	}
	return currentClient(c).require(provider.IssuerERP)
}

// errERPPullOnly refuses a sync of the ERP connector's integration that would write to the ERP:
// its records change through the connector's routes (durable, logged operations).
var errERPPullOnly = fieldError("direction", "the ERP connector's integration only pulls ("+
	platform.DirectionFromExternal+"): change ERP records through "+ConnectorsBase+"/erp/…")

// syncRoute is the path of an integration's sync route named name (for memos and links).
func syncRoute(integrationID, name string) string {
	return IntegrationsBase + "/" + integrationID + "/" + name
}

// syncStatusURL is where a sync's progress is read.
func syncStatusURL(integrationID string) string { return syncRoute(integrationID, "sync_status") + "/" }

// --- views ---------------------------------------------------------------------------------

// syncProgressView is where a run stands: from the run itself (source workflow) or, when it
// does not answer, from its row (source database).
type syncProgressView struct {
	Status         string     `json:"status"`
	Phase          string     `json:"phase,omitempty"`
	ContentType    string     `json:"content_type,omitempty"`
	Pages          int        `json:"pages"`
	Items          int        `json:"items"`
	Added          int        `json:"added"`
	Updated        int        `json:"updated"`
	Deleted        int        `json:"deleted"`
	Unchanged      int        `json:"unchanged"`
	Pushed         int        `json:"pushed"`
	Failed         int        `json:"failed"`
	ItemsPerSecond float64    `json:"items_per_second"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	Error          string     `json:"error,omitempty"`
	ErrorCode      string     `json:"error_code,omitempty"`
	// Note is an operator's or client's, when one paused, canceled or resolved the run.
	Note   string `json:"note,omitempty"`
	Source string `json:"source"`
}

// syncRunView is one sync run as clients read it.
type syncRunView struct {
	SyncID     string          `json:"sync_id"`
	WorkflowID string          `json:"workflow_id"`
	Direction  string          `json:"direction"`
	Trigger    string          `json:"trigger"`
	Status     string          `json:"status"`
	Request    json.RawMessage `json:"request,omitempty"`
	schema.SyncCounts
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func newSyncRunView(r schema.SyncRunRow) syncRunView {
	v := syncRunView{SyncID: r.ID, WorkflowID: r.WorkflowID, Direction: r.Direction, Trigger: r.Trigger,
		Status: r.Status, SyncCounts: r.SyncCounts, Error: r.Error, StartedAt: r.StartedAt,
		UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
	if len(r.Request) > 0 && json.Valid(r.Request) {
		v.Request = r.Request
	}
	return v
}

// activeRunView is the run holding an integration's sync slot, with its progress.
type activeRunView struct {
	syncRunView
	Progress syncProgressView `json:"progress"`
}

// syncEventView is one line of the sync event log, with seed 004's SyncEvent fields.
type syncEventView struct {
	ID           int64           `json:"id"`
	SyncID       string          `json:"sync_id,omitempty"`
	EventType    string          `json:"event_type"`
	Action       string          `json:"action"`
	Success      bool            `json:"success"`
	ContentID    string          `json:"content_id,omitempty"`
	ExternalID   string          `json:"external_id,omitempty"`
	Details      json.RawMessage `json:"details"`
	ErrorMessage string          `json:"error_message,omitempty"`
	// Duration is in milliseconds.
	Duration  float64   `json:"duration"`
	CreatedAt time.Time `json:"created_at"`
}

func newSyncEventView(r schema.SyncEventRow) syncEventView {
	v := syncEventView{ID: r.ID, SyncID: r.SyncRunID, EventType: r.EventType, Action: r.Action, Success: r.Success,
		ContentID: r.ContentID, ExternalID: r.ExternalID, Details: json.RawMessage(`{}`), ErrorMessage: r.ErrorMessage,
		Duration: r.DurationMS, CreatedAt: r.CreatedAt}
	if len(r.Details) > 0 && json.Valid(r.Details) {
		v.Details = r.Details
	}
	return v
}

// --- starting a sync -------------------------------------------------------------------------

// SyncRequest asks for a sync of a site integration.
type SyncRequest struct {
	// Direction is metadata, both, to_external or from_external.
	Direction string `json:"direction"`
	// Since (RFC 3339) limits a pull to items modified after it.
	Since string `json:"since"`
	// Filters narrow a pull (content_types: comma-separated, status).
	Filters map[string]string `json:"filters"`
	// Reset ignores any checkpoint and compares every item (a full resync).
	Reset bool `json:"reset"`
}

// input checks the request and builds the sync's input, every problem named by field.
func (r SyncRequest) input(now time.Time) (workflows.SyncInput, error) {
	problems := map[string]string{}
	in := workflows.SyncInput{Direction: r.Direction, Reset: r.Reset}
	if msg := directionProblem(r.Direction, true); msg != "" {
		problems["direction"] = msg
	}
	if r.Since != "" {
		since, err := time.Parse(time.RFC3339, r.Since)
		switch {
		case err != nil:
			problems["since"] = "must be an RFC 3339 time such as 2025-01-31T12:00:00Z"
		case since.After(now.Add(time.Minute)):
			problems["since"] = "must not be in the future"
		default:
			since = since.UTC()
			in.Since = &since
		}
	}
	if len(r.Filters) > maxSyncFilters {
		problems["filters"] = "must have at most " + strconv.Itoa(maxSyncFilters) + " keys"
	}
	for k, v := range r.Filters {
		switch {
		case len(k) > maxFilterKey || !filterKey.MatchString(k):
			problems["filters"] = "keys must be lower-case names (a-z, 0-9, _) of at most " + strconv.Itoa(maxFilterKey) + " characters"
		case len(v) > maxFilterValue || !utf8.ValidString(v) || hasControl(v):
			problems["filters."+k] = "must be text of at most " + strconv.Itoa(maxFilterValue) + " characters"
		}
	}
	if len(problems) == 0 {
		// The sync's own rules (which filters exist, type names), checked before anything starts.
		if _, err := platform.ParseSyncFilters(r.Filters); err != nil && !mergeInvalid(problems, err) {
			problems["filters"] = err.Error()
		}
	}
	if len(problems) > 0 {
		return in, invalidFields(problems)
	}
	if len(r.Filters) > 0 {
		in.Filters = r.Filters
	}
	return in, nil
}

// directionProblem says what is wrong with a sync direction ("" when nothing).
func directionProblem(direction string, required bool) string {
	if direction == "" {
		if required {
			return "required: one of " + strings.Join(platform.Directions, ", ")
		}
		return ""
	}
	for _, d := range platform.Directions {
		if d == direction {
			return ""
		}
	}
	return "must be one of " + strings.Join(platform.Directions, ", ")
}

// hasControl reports whether text holds a control character.
func hasControl(text string) bool {
	for _, r := range text {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// decodeForSite reads the request's capped JSON body into a T and loads the route's site
// integration (the caller's own); false when it has answered an error.
func decodeForSite[T any](s *Server, c *gin.Context, maxBytes int64) (T, schema.IntegrationRow, bool) {
	var req T
	if err := decodeCapped(c, maxBytes, &req); err != nil {
		writeError(c, err)
		return req, schema.IntegrationRow{}, false
	}
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return req, row, false
	}
	return req, row, true
}

// syncStartedView answers a sync's start.
type syncStartedView struct {
	SyncID     string `json:"sync_id"`
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"`
	StatusURL  string `json:"status_url"`
}

// startSync starts a Sync workflow for the integration (ID sync:<integration id>): one at a
// time, so a second request while one runs (or is paused) answers 409 SYNC_RUNNING with the
// running one's status.
func (s *Server) startSync(c *gin.Context) {
	req, row, ok := decodeForSite[SyncRequest](s, c, maxSyncBody)
	if !ok {
		return
	}
	s.startSyncOf(c, row, req)
}

// startSyncOf starts the sync req asks for of the client's site integration row (startSync).
func (s *Server) startSyncOf(c *gin.Context, row schema.IntegrationRow, req SyncRequest) {
	in, err := req.input(time.Now())
	if err != nil {
		writeError(c, err)
		return
	}
	if platform.Name(row.Platform) == platform.ERP && in.Direction != platform.DirectionFromExternal {
		writeError(c, errERPPullOnly)
		return
	}
	if err := syncable(row); err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	if err := s.syncSlotFree(ctx, row.ID); err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	in.SyncID, in.IntegrationID, in.ClientID, in.Trigger = uuid.NewString(), row.ID, who.ID, workflows.TriggerAPI
	workflowID := workflows.SyncWorkflowID(row.ID)
	route := syncRoute(row.ID, "sync")
	params, _ := json.Marshal(req)
	opts := syncStartOptions(workflowID, who.ID, in.SyncID, transaction.Memo{Kind: transaction.KindSync, ClientID: who.ID,
		Label: labelSync, Method: http.MethodPost, Path: route,
		Fingerprint: transaction.Fingerprint(transaction.KindSync, http.MethodPost, route, params)})
	// A later sync takes the same ID once this one closed; a running one refuses it.
	opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	// The run's row takes the integration's slot before the workflow starts, so a pause or a
	// cancel sent right after this answer finds the run (SyncBegin adopts the row).
	request, _ := json.Marshal(map[string]any{"since": in.Since, "filters": in.Filters, "reset": in.Reset})
	_, err = s.store.StartSyncRun(ctx, schema.SyncRunRow{ID: in.SyncID, IntegrationID: row.ID, ClientID: who.ID,
		WorkflowID: workflowID, Direction: in.Direction, Trigger: in.Trigger, Status: transaction.SyncRunning,
		Request: request})
	if errors.Is(err, schema.ErrConflict) {
		writeError(c, s.syncRunning(ctx, row.ID, workflowID))
		return
	} else if err != nil {
		writeError(c, err)
		return
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowSync, in)
	if err != nil {
		// Nothing runs this row: free the slot again.
		if _, ferr := s.store.FinishSyncRun(context.WithoutCancel(ctx), in.SyncID, transaction.SyncCanceled,
			schema.SyncCounts{}, "the sync could not be started"); ferr != nil {
			s.logger.Error("Freeing the slot of a sync that did not start", "sync_id", in.SyncID, "error", ferr)
		}
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		writeError(c, s.syncRunning(ctx, row.ID, workflowID))
		return
	case err != nil:
		writeError(c, unavailable(c, workflowID, err))
		return
	}
	c.Header("Location", syncStatusURL(row.ID))
	writeData(c, http.StatusAccepted, syncStartedView{SyncID: in.SyncID, WorkflowID: workflowID,
		Status: transaction.SyncRunning, StatusURL: syncStatusURL(row.ID)})
}

// syncable refuses an integration that may not sync now: inactive, or with syncs turned off.
func syncable(row schema.IntegrationRow) error {
	switch {
	case !row.IsActive:
		return newError(http.StatusConflict, CodeConflict, "the integration is inactive; activate it (is_active) to sync")
	case !row.SyncEnabled:
		return newError(http.StatusConflict, CodeSyncDisabled, "syncs are turned off for this integration (sync_enabled is false)")
	}
	return nil
}

// syncStartOptions are the start options of a sync family run: the API's (eager, memo, a
// taken ID refused) with the sync's search attributes set from its start, so the Web UI
// filter SwitchyardKind="sync" finds it at once.
func syncStartOptions(workflowID, clientID, syncID string, memo transaction.Memo) client.StartWorkflowOptions {
	opts := startOptions(workflowID, workflows.TaskQueueSync, memo)
	opts.TypedSearchAttributes = syncSearchAttributes(clientID, syncID)
	return opts
}

// syncSearchAttributes are the search attributes a sync family run starts with.
func syncSearchAttributes(clientID, syncID string) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{workflows.KindKey.ValueSet(string(transaction.KindSync)),
		workflows.ClientKey.ValueSet(clientID)}
	if syncID != "" {
		updates = append(updates, workflows.CorrelationIDKey.ValueSet(syncID))
	}
	return temporal.NewSearchAttributes(updates...)
}

// syncSlotFree answers 409 SYNC_RUNNING when the integration has an active run. A run whose
// workflow is no longer running (terminated by an operator, say) never finished its row: it is
// ended as ERROR here, so it does not hold the slot for ever.
func (s *Server) syncSlotFree(ctx context.Context, integrationID string) error {
	run, err := s.store.ActiveSyncRun(ctx, integrationID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if !s.workflowGone(ctx, run) {
		return s.runningError(ctx, run)
	}
	s.logger.Warn("Ending a sync run whose workflow is gone", "integration_id", integrationID, "sync_id", run.ID,
		"workflow_id", run.WorkflowID)
	_, err = s.store.FinishSyncRun(ctx, run.ID, transaction.SyncError, run.SyncCounts,
		"the sync's workflow ended without finishing the run")
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	return nil
}

// startGrace is how long a sync run's row may wait for its workflow: the API records the row,
// then starts the workflow, and another request may look in between.
const startGrace = time.Minute

// workflowGone reports whether the run's workflow has ended without finishing the row: the
// execution Temporal describes under the run's workflow ID is closed (or unknown) and is this
// run's (it started with the row, or later), or the row has waited longer than startGrace for
// its workflow. An earlier sync's closed execution under the same ID is not this run's. False
// when Temporal cannot tell.
func (s *Server) workflowGone(ctx context.Context, run schema.SyncRunRow) bool {
	waited := time.Since(run.StartedAt) > startGrace
	d, err := s.temporal.DescribeWorkflowExecution(ctx, run.WorkflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return waited
	case err != nil:
		return false
	}
	info := d.GetWorkflowExecutionInfo()
	status := info.GetStatus()
	if status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING || status == enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return false
	}
	// The API starts a sync with its sync id as SwitchyardCorrelationId: that names the
	// execution's run. Without it (a scheduled run: its workflow ID is its own), the start time.
	var syncID string
	if p := info.GetSearchAttributes().GetIndexedFields()[workflows.CorrelationIDKey.GetName()]; p != nil &&
		converter.GetDefaultDataConverter().FromPayload(p, &syncID) == nil && syncID != "" {
		return syncID == run.ID || waited
	}
	ours := info.GetStartTime() != nil && !info.GetStartTime().AsTime().Before(run.StartedAt.Add(-5*time.Second))
	return ours || waited
}

// syncRunning is the 409 of a start that found a run in the way: the active run's status when
// its row is there, else the workflow's ID.
func (s *Server) syncRunning(ctx context.Context, integrationID, workflowID string) error {
	run, err := s.store.ActiveSyncRun(ctx, integrationID)
	if err != nil {
		return &Error{Status: http.StatusConflict, Code: CodeSyncRunning, Message: "a sync of this integration is already running",
			Details: map[string]any{"workflow_id": workflowID, "status": transaction.SyncRunning,
				"status_url": syncStatusURL(integrationID)}}
	}
	return s.runningError(ctx, run)
}

func (s *Server) runningError(ctx context.Context, run schema.SyncRunRow) error {
	progress := s.runProgress(ctx, run)
	return &Error{Status: http.StatusConflict, Code: CodeSyncRunning,
		Message: "a sync of this integration is already " + strings.ToLower(progress.Status),
		Details: map[string]any{"sync_id": run.ID, "workflow_id": run.WorkflowID, "status": progress.Status,
			"progress": progress, "status_url": syncStatusURL(run.IntegrationID)}}
}

// runProgress asks the run for its progress, or reads it from the run's row when the run does
// not answer within progressWait.
func (s *Server) runProgress(ctx context.Context, run schema.SyncRunRow) syncProgressView {
	qctx, cancel := context.WithTimeout(ctx, progressWait)
	defer cancel()
	if v, err := s.temporal.QueryWorkflow(qctx, run.WorkflowID, "", workflows.QueryProgress); err == nil && v != nil {
		var p workflows.SyncProgress
		if err := v.Get(&p); err == nil {
			view := syncProgressView{Status: p.Status, Phase: p.Phase, ContentType: p.ContentType, Pages: p.Pages,
				Items: p.Items, Added: p.Added, Updated: p.Updated, Deleted: p.Deleted, Unchanged: p.Unchanged,
				Pushed: p.Pushed, Failed: p.Failed, ItemsPerSecond: p.ItemsPerSecond, Error: p.Error,
				ErrorCode: p.ErrorCode, Note: p.Note, Source: "workflow"}
			if view.Status == "" {
				view.Status = run.Status
			}
			if !p.StartedAt.IsZero() {
				view.StartedAt = &p.StartedAt
			}
			return view
		}
	}
	view := syncProgressView{Status: run.Status, Pages: run.Pages, Items: run.Items, Added: run.Added,
		Updated: run.Updated, Deleted: run.Deleted, Unchanged: run.Unchanged, Pushed: run.Pushed, Failed: run.Failed,
		Error: run.Error, Source: "database"}
	if !run.StartedAt.IsZero() {
		started := run.StartedAt
		view.StartedAt = &started
		end := time.Now()
		if run.FinishedAt != nil {
			end = *run.FinishedAt
		}
		if secs := end.Sub(started).Seconds(); secs > 0 {
			view.ItemsPerSecond = float64(run.Items) / secs
		}
	}
	return view
}

// --- signals -----------------------------------------------------------------------------------

// SignalRequest optionally says why a sync is paused, resumed or canceled.
type SignalRequest struct {
	Note string `json:"note"`
}

// readSignalRequest reads a signal route's optional body: empty, or {"note": ...} with a note
// of at most maxSignalNote characters of text.
func readSignalRequest(c *gin.Context) (SignalRequest, error) {
	var req SignalRequest
	body, err := readCapped(c, maxSyncBody)
	if err != nil {
		return req, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeStrict(body, &req); err != nil {
			return req, err
		}
	}
	if utf8.RuneCountInString(req.Note) > maxSignalNote || !utf8.ValidString(req.Note) || hasControl(req.Note) {
		return req, fieldError("note", "must be text of at most "+strconv.Itoa(maxSignalNote)+" characters")
	}
	return req, nil
}

// signalSync sends pause, resume or cancel to the integration's active run.
func (s *Server) signalSync(signal string) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, err := readSignalRequest(c)
		if err != nil {
			writeError(c, err)
			return
		}
		row, err := s.siteIntegration(c)
		if err != nil {
			writeError(c, err)
			return
		}
		ctx := c.Request.Context()
		run, err := s.store.ActiveSyncRun(ctx, row.ID)
		if errors.Is(err, schema.ErrNotFound) {
			writeError(c, errNoSyncRunning)
			return
		}
		if err != nil {
			writeError(c, err)
			return
		}
		who := currentClient(c)
		err = s.temporal.SignalWorkflow(ctx, run.WorkflowID, "", signal, workflows.OperatorSignal{Note: req.Note, By: who.ID})
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			writeError(c, errNoSyncRunning)
			return
		case err != nil:
			writeError(c, unavailable(c, run.WorkflowID, err))
			return
		}
		writeData(c, http.StatusAccepted, gin.H{"sync_id": run.ID, "workflow_id": run.WorkflowID, "signal": signal,
			"status_url": syncStatusURL(row.ID)})
	}
}

// errNoSyncRunning answers a signal when no sync is running.
var errNoSyncRunning = newError(http.StatusConflict, CodeNoSyncRunning, "no sync of this integration is running")

// --- status, runs, events --------------------------------------------------------------------

// syncStatusView is an integration's sync state: its fields, the active run with its
// progress, the last finished run and the schedule.
type syncStatusView struct {
	IntegrationID string            `json:"integration_id"`
	SyncEnabled   bool              `json:"sync_enabled"`
	SyncStatus    string            `json:"sync_status"`
	LastSyncAt    *time.Time        `json:"last_sync_at"`
	SyncError     string            `json:"sync_error"`
	Active        *activeRunView    `json:"active"`
	LastRun       *syncRunView      `json:"last_run"`
	Schedule      *scheduleView     `json:"schedule"`
	Links         map[string]string `json:"links"`
}

func (s *Server) syncStatus(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	view := syncStatusView{IntegrationID: row.ID, SyncEnabled: row.SyncEnabled, SyncStatus: row.SyncStatus,
		LastSyncAt: row.LastSyncAt, SyncError: row.SyncError,
		Links: map[string]string{"runs": syncRoute(row.ID, "sync_runs") + "/", "events": syncRoute(row.ID, "sync_events") + "/",
			"schedule": syncRoute(row.ID, "schedule") + "/"}}
	if view.Active, err = s.activeRun(ctx, row.ID); err != nil {
		writeError(c, err)
		return
	}
	runs, err := s.store.ListSyncRuns(ctx, row.ID, schema.Page{Limit: 2})
	if err != nil {
		writeError(c, err)
		return
	}
	for _, r := range runs {
		if !transaction.SyncActive(r.Status) {
			v := newSyncRunView(r)
			view.LastRun = &v
			break
		}
	}
	view.Schedule = s.scheduleIfAny(c, row.ID)
	writeData(c, http.StatusOK, view)
}

// activeRun is the integration's active run with its progress; nil when none.
func (s *Server) activeRun(ctx context.Context, integrationID string) (*activeRunView, error) {
	run, err := s.store.ActiveSyncRun(ctx, integrationID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	v := activeRunView{syncRunView: newSyncRunView(run), Progress: s.runProgress(ctx, run)}
	v.Status = v.Progress.Status
	return &v, nil
}

func (s *Server) listSyncRuns(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.SyncRunRow, error) {
		return s.store.ListSyncRuns(c.Request.Context(), row.ID, p)
	}, newSyncRunView)
}

func (s *Server) listSyncEvents(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.SyncEventRow, error) {
		return s.store.ListSyncEvents(c.Request.Context(), row.ID, p)
	}, newSyncEventView)
}

// --- structure and content types --------------------------------------------------------------

// StructureRequest is what a site tells the hub of itself, as the WordPress metadata callback
// does: post types and taxonomies (each a list of names, or an object keyed by name), plugin
// flags and when it described itself (RFC 3339, or Unix seconds; now when absent).
type StructureRequest struct {
	PostTypes  json.RawMessage `json:"post_types"`
	Taxonomies json.RawMessage `json:"taxonomies"`
	Plugins    map[string]bool `json:"plugins"`
	Timestamp  json.RawMessage `json:"timestamp"`
}

// structure checks the request and builds the site structure, every problem named by field.
func (r StructureRequest) structure() (platform.SiteStructure, error) {
	problems := map[string]string{}
	st := platform.SiteStructure{PostTypes: namesOf(r.PostTypes, "post_types", problems),
		Taxonomies: namesOf(r.Taxonomies, "taxonomies", problems), Timestamp: timestampOf(r.Timestamp, problems)}
	if len(r.Plugins) > maxStructureEntries {
		problems["plugins"] = "at most " + strconv.Itoa(maxStructureEntries) + " plugins"
	}
	for name := range r.Plugins {
		if !structureNamePattern.MatchString(name) {
			problems["plugins"] = "names of at most 100 characters (letters, digits, _ . : / -)"
		}
	}
	if len(r.Plugins) > 0 {
		st.Plugins = r.Plugins
	}
	if len(problems) > 0 {
		return st, invalidFields(problems)
	}
	return st, nil
}

// contentTypesView is a site integration's content types and the structure it last told.
type contentTypesView struct {
	IntegrationID string                  `json:"integration_id"`
	ContentTypes  []string                `json:"content_types"`
	Structure     *platform.SiteStructure `json:"structure"`
}

func (s *Server) contentTypesOf(row schema.IntegrationRow) contentTypesView {
	var cfg platform.SiteConfig
	if len(row.Config) > 0 {
		_ = json.Unmarshal(row.Config, &cfg)
	}
	return contentTypesView{IntegrationID: row.ID, ContentTypes: nonNil(cfg.ContentTypes), Structure: cfg.Structure}
}

// updateSiteStructure records the structure a site pushed, through a SyncStructure run, and
// answers the integration's content types once it is stored.
func (s *Server) updateSiteStructure(c *gin.Context) {
	req, row, ok := decodeForSite[StructureRequest](s, c, maxStructureBody)
	if !ok {
		return
	}
	st, err := req.structure()
	if err != nil {
		writeError(c, err)
		return
	}
	if !row.IsActive {
		writeError(c, newError(http.StatusConflict, CodeConflict, "the integration is inactive"))
		return
	}
	who := currentClient(c)
	syncID := uuid.NewString()
	workflowID := workflows.SyncWorkflowID(row.ID) + ":structure:" + syncID
	in := workflows.SyncStructureInput{SyncID: syncID, IntegrationID: row.ID, ClientID: who.ID, Structure: &st,
		Trigger: workflows.TriggerAPI}
	var res workflows.SyncStructureResult
	err = s.runSyncPart(c, workflowID, workflows.WorkflowSyncStructure, in, transaction.Memo{Kind: transaction.KindSync,
		ClientID: who.ID, Label: labelSyncStructure, Method: http.MethodPost, Path: syncRoute(row.ID, "update_site_structure")},
		syncID, &res)
	if err != nil {
		writeSyncPartError(c, err, syncID, workflowID)
		return
	}
	if res.Error != "" {
		writeSyncResultError(c, res.ErrorCode, res.Error, map[string]any{"sync_id": syncID, "workflow_id": workflowID})
		return
	}
	fresh, err := s.store.GetIntegration(c.Request.Context(), row.ID)
	if err != nil {
		writeError(c, notFoundAs(err, "integration"))
		return
	}
	view := s.contentTypesOf(fresh)
	if view.Structure == nil {
		view.Structure = &res.Structure
	}
	writeData(c, http.StatusOK, gin.H{"sync_id": syncID, "workflow_id": workflowID,
		"content_types": view.ContentTypes, "structure": view.Structure})
}

// writeSyncResultError answers a one-item or structure run that ended with an error: 502 with
// its error code (SITE_REJECTED, SITE_UNAVAILABLE, ...).
func writeSyncResultError(c *gin.Context, code, message string, details map[string]any) {
	if code == "" {
		code = CodeSyncFailed
	}
	writeError(c, &Error{Status: http.StatusBadGateway, Code: code, Message: message, Details: details})
}

func (s *Server) contentTypes(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, s.contentTypesOf(row))
}

// errSyncPartPending ends runSyncPart's wait: the run goes on, the caller answers 202.
var errSyncPartPending = errors.New("the run did not finish within its wait")

// runSyncPart starts a one-item or structure run and waits for it (syncWait at most, within
// the write timeout), its result into result (nil: ignored). errSyncPartPending when it takes
// longer.
func (s *Server) runSyncPart(c *gin.Context, workflowID, workflowType string, input any, memo transaction.Memo,
	syncID string, result any) error {
	ctx := c.Request.Context()
	run, err := s.temporal.ExecuteWorkflow(ctx, syncStartOptions(workflowID, memo.ClientID, syncID, memo), workflowType, input)
	if err != nil {
		return unavailable(c, workflowID, err)
	}
	wait := syncWait
	if s.cfg.WriteTimeout > 0 && s.cfg.WriteTimeout-writeTimeoutMargin < wait {
		wait = max(s.cfg.WriteTimeout-writeTimeoutMargin, time.Second)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err = run.Get(wctx, result)
	switch {
	case err == nil:
		return nil
	case waitExpired(wctx, err):
		return errSyncPartPending
	}
	logger(c).Error("Sync run failed", "workflow_id", workflowID, "error", err.Error())
	return &Error{Status: http.StatusBadGateway, Code: CodeSyncFailed, Message: "the sync could not be completed"}
}

// writeSyncPartError answers a run that is still going (202) or failed.
func writeSyncPartError(c *gin.Context, err error, syncID, workflowID string) {
	if errors.Is(err, errSyncPartPending) {
		writeData(c, http.StatusAccepted, gin.H{"sync_id": syncID, "workflow_id": workflowID,
			"status": transaction.SyncRunning})
		return
	}
	var e *Error
	if errors.As(err, &e) && e.Details == nil {
		e.Details = map[string]any{"sync_id": syncID, "workflow_id": workflowID}
	}
	writeError(c, err)
}

// --- one item ---------------------------------------------------------------------------------

// ContentSyncRequest names one item to sync: the hub's content id, or the site's external id
// with its content type.
type ContentSyncRequest struct {
	ContentID   string `json:"content_id"`
	ExternalID  string `json:"external_id"`
	ContentType string `json:"content_type"`
}

// syncWordPressContent syncs one item of a WordPress integration through a SyncContent run:
// an item the site has (external id, or a hub content row that has one) is pulled; a hub
// content row the site never saw is pushed.
func (s *Server) syncWordPressContent(c *gin.Context) {
	req, row, ok := decodeForSite[ContentSyncRequest](s, c, maxSyncBody)
	if !ok {
		return
	}
	if platform.Name(row.Platform) != platform.WordPress {
		writeError(c, &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: "platform " + row.Platform + ": sync_wordpress_content is for wordpress integrations",
			Details: map[string]any{"field": "platform"}})
		return
	}
	who := currentClient(c)
	in := workflows.SyncContentInput{SyncID: uuid.NewString(), IntegrationID: row.ID, ClientID: who.ID,
		Trigger: workflows.TriggerAPI}
	if err := s.contentTarget(c.Request.Context(), row.ID, req, &in); err != nil {
		writeError(c, err)
		return
	}
	if err := syncable(row); err != nil {
		writeError(c, err)
		return
	}
	workflowID := workflows.SyncWorkflowID(row.ID) + ":content:" + in.SyncID
	var res workflows.SyncContentResult
	err := s.runSyncPart(c, workflowID, workflows.WorkflowSyncContent, in, transaction.Memo{Kind: transaction.KindSync,
		ClientID: who.ID, Label: labelSyncContent, Method: http.MethodPost, Path: syncRoute(row.ID, "sync_wordpress_content")},
		in.SyncID, &res)
	if err != nil {
		writeSyncPartError(c, err, in.SyncID, workflowID)
		return
	}
	if res.Error != "" {
		writeSyncResultError(c, res.ErrorCode, res.Error, map[string]any{"sync_id": in.SyncID, "workflow_id": workflowID,
			"content_id": res.ContentID})
		return
	}
	writeData(c, http.StatusOK, gin.H{"sync_id": in.SyncID, "workflow_id": workflowID, "action": res.Action,
		"content_id": res.ContentID})
}

// contentTarget checks which item a one-item sync is about and sets it on in.
func (s *Server) contentTarget(ctx context.Context, integrationID string, req ContentSyncRequest, in *workflows.SyncContentInput) error {
	switch {
	case req.ContentID != "" && (req.ExternalID != "" || req.ContentType != ""):
		return fieldError("content_id", "give content_id, or external_id with content_type, not both")
	case req.ContentID != "":
		if !validContentID(req.ContentID) {
			return errNoContent
		}
		content, err := s.store.GetContent(ctx, req.ContentID)
		if errors.Is(err, schema.ErrNotFound) || (err == nil && content.IntegrationID != integrationID) {
			return errNoContent
		}
		if err != nil {
			return err
		}
		in.ContentType = content.ContentType
		if content.ExternalID != "" {
			in.ExternalID = content.ExternalID
			return nil
		}
		in.ContentID = content.ID
		return nil
	}
	problems := map[string]string{}
	switch {
	case req.ExternalID == "":
		problems["external_id"] = "required (or content_id)"
	case len(req.ExternalID) > maxExternalID || hasControl(req.ExternalID) || !utf8.ValidString(req.ExternalID):
		problems["external_id"] = "must be at most " + strconv.Itoa(maxExternalID) + " characters"
	}
	switch {
	case req.ContentType == "":
		problems["content_type"] = "required with external_id"
	case len(req.ContentType) > maxContentTypeName || !contentTypeName.MatchString(req.ContentType):
		problems["content_type"] = "must be a type name (a-z, 0-9, _ and -) of at most " + strconv.Itoa(maxContentTypeName) + " characters"
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	in.ExternalID, in.ContentType = req.ExternalID, req.ContentType
	return nil
}

// errNoContent answers a content id that is unknown or another integration's.
var errNoContent = newError(http.StatusNotFound, CodeNotFound, "no such content in this integration")

// --- debug status -----------------------------------------------------------------------------

// debugStatusView is an integration's sync health: recent runs, the error rate and lag, the
// content waiting to be pushed, the schedule and the active run.
type debugStatusView struct {
	IntegrationID string         `json:"integration_id"`
	SyncEnabled   bool           `json:"sync_enabled"`
	SyncStatus    string         `json:"sync_status"`
	SyncError     string         `json:"sync_error"`
	LastSyncAt    *time.Time     `json:"last_sync_at"`
	LastRuns      []syncRunView  `json:"last_runs"`
	Events24h     int            `json:"events_24h"`
	Errors24h     int            `json:"errors_24h"`
	ErrorRate     float64        `json:"error_rate"`
	LastSuccessAt *time.Time     `json:"last_success_at"`
	LagSeconds    *float64       `json:"lag_seconds"`
	Dirty         int            `json:"dirty"`
	Contents      int            `json:"contents"`
	Active        *activeRunView `json:"active"`
	Schedule      *scheduleView  `json:"schedule"`
}

func (s *Server) debugStatus(c *gin.Context) {
	row, err := s.siteIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	health, err := s.store.IntegrationSyncHealth(ctx, row.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	view := debugStatusView{IntegrationID: row.ID, SyncEnabled: row.SyncEnabled, SyncStatus: row.SyncStatus,
		SyncError: row.SyncError, LastSyncAt: row.LastSyncAt, LastRuns: make([]syncRunView, 0, len(health.LastRuns)),
		Events24h: health.Events, Errors24h: health.Errors, LastSuccessAt: health.LastSuccessAt, Dirty: health.Dirty,
		Contents: health.Contents}
	for _, r := range health.LastRuns {
		view.LastRuns = append(view.LastRuns, newSyncRunView(r))
	}
	if health.Events > 0 {
		view.ErrorRate = float64(health.Errors) / float64(health.Events)
	}
	if health.LastSuccessAt != nil {
		lag := max(time.Since(*health.LastSuccessAt).Seconds(), 0)
		view.LagSeconds = &lag
	}
	if view.Active, err = s.activeRun(ctx, row.ID); err != nil {
		writeError(c, err)
		return
	}
	view.Schedule = s.scheduleIfAny(c, row.ID)
	writeData(c, http.StatusOK, view)
}
