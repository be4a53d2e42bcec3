package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// SyncStore is the part of schema.Store the sync family's activities use.
type SyncStore interface {
	GetIntegration(ctx context.Context, id string) (schema.IntegrationRow, error)
	StartSyncRun(ctx context.Context, r schema.SyncRunRow) (schema.SyncRunRow, error)
	GetSyncRun(ctx context.Context, id string) (schema.SyncRunRow, error)
	ActiveSyncRun(ctx context.Context, integrationID string) (schema.SyncRunRow, error)
	SetSyncRunStatus(ctx context.Context, id, status string) error
	FinishSyncRun(ctx context.Context, id, status string, counts schema.SyncCounts, errText string) (schema.SyncRunRow, error)
	ApplyContentPage(ctx context.Context, integrationID, clientID string, page schema.ContentPage) (schema.SyncCounts, error)
	SweepCandidates(ctx context.Context, integrationID, runID, contentType string, limit int) ([]schema.SweepCandidate, error)
	SweepDeleted(ctx context.Context, integrationID, runID, contentType string) (int, error)
	UpsertContent(ctx context.Context, integrationID, clientID, runID string, item schema.ContentItem) (string, schema.ContentRow, error)
	MarkContentDeleted(ctx context.Context, integrationID, runID, contentType, externalID string) (bool, error)
	DirtyContents(ctx context.Context, integrationID string, limit int) ([]schema.ContentRow, error)
	MarkPushed(ctx context.Context, contentID, runID string, item schema.ContentItem, pushedHash string) error
	GetContent(ctx context.Context, id string) (schema.ContentRow, error)
	RecordSyncEvent(ctx context.Context, r schema.SyncEventRow) error
	RecordSyncFailure(ctx context.Context, r schema.SyncEventRow) error
	SetSiteStructure(ctx context.Context, integrationID, runID string, structure json.RawMessage) (schema.IntegrationRow, error)
}

// SiteClientFactory builds the client of a site integration; in production it is
// platform.NewSiteClient over the tenants' transport (nothing inside the hub's network unless
// WEBHOOK_ALLOW_PRIVATE_TARGETS) with SITE_TIMEOUT.
type SiteClientFactory func(in platform.Integration, cfg platform.SiteConfig) (platform.SiteClient, error)

// Sites is what the sync family needs: its tables, the vault that opens site credentials and
// the factory of site clients.
type Sites struct {
	Store  SyncStore
	Vault  *platform.Vault
	Client SiteClientFactory
}

// Sync event types and actions (sync_events.event_type, .action): the store's, and the
// workflow's own.
const (
	SyncEventSync           = schema.SyncEventSync
	SyncEventContent        = schema.SyncEventContent
	SyncEventMetadata       = schema.SyncEventMetadata
	SyncEventTestConnection = schema.SyncEventTestConnection

	SyncActionStarted          = schema.SyncActionStarted
	SyncActionCompleted        = schema.SyncActionCompleted
	SyncActionFailed           = schema.SyncActionFailed
	SyncActionPaused           = schema.SyncActionPaused
	SyncActionResumed          = schema.SyncActionResumed
	SyncActionCanceled         = schema.SyncActionCanceled
	SyncActionPushed           = schema.SyncActionPushed
	SyncActionDeleted          = schema.SyncActionDeleted
	SyncActionStructureUpdated = schema.SyncActionStructureUpdated
	SyncActionTested           = schema.SyncActionTested
	// SyncActionEscalated: a sync ran out of retries and waits for an operator.
	SyncActionEscalated = "escalated"
)

// Actions of a one-item sync: the store's (added, updated, unchanged, deleted) and pushed.
const (
	ContentAdded     = schema.SyncActionAdded
	ContentUpdated   = schema.SyncActionUpdated
	ContentUnchanged = schema.SyncActionUnchanged
	ContentDeleted   = schema.SyncActionDeleted
	ContentPushed    = schema.SyncActionPushed
)

// SyncCounts are a sync run's counts, as the content store keeps them.
type SyncCounts = schema.SyncCounts

// SyncPolicy is how the worker runs a sync's steps, resolved once per run in a local activity so
// a replay keeps the settings the run started with.
type SyncPolicy struct {
	// Retry is a chunk's or an item's retry policy (SYNC_MAX_ATTEMPTS,
	// SYNC_RETRY_INITIAL_INTERVAL, doubling up to a minute).
	Retry transaction.RetryPolicy
	// HeartbeatTimeout is SYNC_HEARTBEAT_TIMEOUT.
	HeartbeatTimeout time.Duration
	// ChunkTimeout bounds one attempt of a chunk.
	ChunkTimeout time.Duration
	// ChunkPages is SYNC_CHUNK_PAGES; a push chunk takes ChunkPages*PushItemsPerPage items.
	ChunkPages int
	// ContinueAsNewChunks is SYNC_CONTINUE_AS_NEW_CHUNKS.
	ContinueAsNewChunks int
	// ItemTimeout bounds one attempt of a one-item step (SITE_TIMEOUT and the time to record it).
	ItemTimeout time.Duration
}

// Sync policy defaults, for a Config left zero (tests) and the fixed parts.
const (
	syncChunkTimeout       = 30 * time.Minute
	syncMaxRetryInterval   = time.Minute
	defaultSiteTimeout     = 30 * time.Second
	defaultSyncHeartbeat   = 20 * time.Second
	defaultSyncMaxAttempts = 5
	defaultSyncChunkPages  = 50
	defaultSyncChunksOfRun = 10
	// maxSyncChunkPages bounds SYNC_CHUNK_PAGES: one attempt must finish in ChunkTimeout.
	maxSyncChunkPages = 1000
	// PushItemsPerPage is how many pushed items count as one page of a chunk.
	PushItemsPerPage = 100
)

// validateSync rejects sync settings the workers cannot honour.
func (c Config) validateSync() error {
	switch {
	case c.SiteTimeout <= 0:
		return errors.New("SITE_TIMEOUT must be positive")
	case c.SyncHeartbeatTimeout <= 0 || c.SyncHeartbeatTimeout < c.SiteTimeout/4:
		return errors.New("SYNC_HEARTBEAT_TIMEOUT must be positive and at least a quarter of SITE_TIMEOUT " +
			"(a chunk heartbeats while it waits for a page)")
	case c.SyncMaxAttempts < 1:
		return errors.New("SYNC_MAX_ATTEMPTS must be at least 1")
	case c.SyncRetryInitialInterval <= 0:
		return errors.New("SYNC_RETRY_INITIAL_INTERVAL must be positive")
	case c.SyncChunkPages < 1 || c.SyncChunkPages > maxSyncChunkPages:
		return fmt.Errorf("SYNC_CHUNK_PAGES must be 1 to %d", maxSyncChunkPages)
	case c.SyncContinueAsNewChunks < 1:
		return errors.New("SYNC_CONTINUE_AS_NEW_CHUNKS must be at least 1")
	}
	return nil
}

// syncPolicy is the worker's SyncPolicy; zero settings take their defaults.
func (c Config) syncPolicy() SyncPolicy {
	orDefault := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	orDefaultInt := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	return SyncPolicy{
		Retry: transaction.RetryPolicy{MaxAttempts: orDefaultInt(c.SyncMaxAttempts, defaultSyncMaxAttempts),
			InitialInterval: orDefault(c.SyncRetryInitialInterval, time.Second), BackoffCoefficient: 2,
			MaxInterval: syncMaxRetryInterval},
		HeartbeatTimeout:    orDefault(c.SyncHeartbeatTimeout, defaultSyncHeartbeat),
		ChunkTimeout:        syncChunkTimeout,
		ChunkPages:          min(orDefaultInt(c.SyncChunkPages, defaultSyncChunkPages), maxSyncChunkPages),
		ContinueAsNewChunks: orDefaultInt(c.SyncContinueAsNewChunks, defaultSyncChunksOfRun),
		ItemTimeout:         orDefault(c.SiteTimeout, defaultSiteTimeout) + 5*time.Second,
	}
}

// SyncPolicies answers the worker's SyncPolicy (the one-item and structure workflows).
func (a *Activities) SyncPolicies(_ context.Context) (SyncPolicy, error) {
	return a.Config.syncPolicy(), nil
}

// SyncBeginInput starts, or continues, a sync run.
type SyncBeginInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	WorkflowID    string
	Direction     string
	Trigger       string
	Since         *time.Time        `json:",omitempty"`
	Filters       map[string]string `json:",omitempty"`
	Reset         bool
	// Continued: the run was started by an earlier run of the workflow; its row exists.
	Continued bool
}

// SyncPlan is what a sync run works from: the site's platform, the types a pull reads, whether
// it escalates, and the worker's policy. Busy is set (and nothing else) when another run holds
// the integration's one slot.
type SyncPlan struct {
	Platform string
	// ContentTypes are the types a content pull reads: filters' content_types, else the
	// config's, else the platform's.
	ContentTypes []string
	// Taxonomies are the types a metadata sync pulls (WordPress: category, tag).
	Taxonomies        []string
	EscalateOnFailure bool
	Policy            SyncPolicy
	Busy              *SyncBusy `json:",omitempty"`
	// Disabled is set (and nothing else) when a scheduled run finds the integration's syncs
	// turned off (sync_enabled false): the run records nothing and is skipped.
	Disabled bool `json:",omitempty"`
}

// SyncBusy is the run holding an integration's slot.
type SyncBusy struct {
	SyncID string
	Status string
}

// siteTaxonomies are the term types a metadata sync pulls, by platform.
var siteTaxonomies = map[platform.Name][]string{platform.WordPress: {platform.ContentCategory, platform.ContentTag}}

// Sync filter names (SyncInput.Filters).
const (
	FilterContentTypes = platform.SyncFilterContentTypes
	FilterStatus       = platform.SyncFilterStatus
)

// contentTypePattern is what names a content type (it goes into a site's URL paths).
var contentTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// triggerSchedule is workflows.TriggerSchedule: a run its integration's schedule started.
const triggerSchedule = "schedule"

// msgSyncDisabled is why a run of an integration whose syncs are turned off does nothing.
const msgSyncDisabled = "syncs are turned off for this integration (sync_enabled is false)"

// SyncBegin opens a sync run: it checks the integration is the client's, a site and active,
// and (unless Continued) that its syncs are turned on (sync_enabled), checks the filters
// (platform.ParseSyncFilters), resolves what the run pulls, and (unless Continued) records the
// run RUNNING with a "started" event, adopting the row the API inserted. Another active run of
// the integration is answered as Busy; a scheduled run of an integration whose syncs are
// turned off as Disabled, any other such run is refused.
func (a *Activities) SyncBegin(ctx context.Context, in SyncBeginInput) (SyncPlan, error) {
	if in.SyncID == "" || in.IntegrationID == "" || in.ClientID == "" {
		return SyncPlan{}, classify(&InvalidRequestError{Reason: "sync, integration and client are required"})
	}
	site, err := a.openSite(ctx, in.IntegrationID, in.ClientID)
	if err != nil {
		return SyncPlan{}, classifySite(err)
	}
	if !site.integration.Active {
		return SyncPlan{}, classify(&InvalidRequestError{Reason: "the integration is inactive"})
	}
	if !in.Continued && !site.row.SyncEnabled {
		// A schedule outlives a change of sync_enabled: its runs are skipped, not failed.
		if in.Trigger == triggerSchedule {
			return SyncPlan{Disabled: true}, nil
		}
		return SyncPlan{}, classify(&InvalidRequestError{Reason: msgSyncDisabled})
	}
	types, err := platform.ParseSyncFilters(in.Filters)
	if err != nil {
		return SyncPlan{}, classify(&InvalidRequestError{Reason: filterProblem(err)})
	}
	plan := SyncPlan{Platform: string(site.integration.Platform), EscalateOnFailure: site.config.EscalateOnFailure,
		Taxonomies: slices.Clone(siteTaxonomies[site.integration.Platform]), Policy: a.Config.syncPolicy(),
		ContentTypes: types}
	if len(plan.ContentTypes) == 0 {
		plan.ContentTypes = site.client.ContentTypes()
	}
	if in.Continued {
		return plan, nil
	}
	request, err := json.Marshal(map[string]any{"since": in.Since, "filters": in.Filters, "reset": in.Reset})
	if err != nil {
		return SyncPlan{}, classify(&InvalidRequestError{Reason: "sync request: " + err.Error()})
	}
	st := a.Sites.Store
	run, err := st.StartSyncRun(ctx, schema.SyncRunRow{ID: in.SyncID, IntegrationID: in.IntegrationID,
		ClientID: in.ClientID, WorkflowID: in.WorkflowID, Direction: in.Direction, Trigger: in.Trigger,
		Status: transaction.SyncRunning, Request: request})
	if errors.Is(err, schema.ErrConflict) {
		active, aerr := st.ActiveSyncRun(ctx, in.IntegrationID)
		switch {
		case errors.Is(aerr, schema.ErrNotFound):
			// It finished in between: the slot is free again, and the start is retried.
			return SyncPlan{}, classify(err)
		case aerr != nil:
			return SyncPlan{}, classify(aerr)
		}
		return SyncPlan{Busy: &SyncBusy{SyncID: active.ID, Status: active.Status}}, nil
	}
	if err != nil {
		return SyncPlan{}, classifyStore(err)
	}
	if !transaction.SyncActive(run.Status) {
		return SyncPlan{}, classify(&InvalidRequestError{Reason: "sync run " + in.SyncID + " has already finished"})
	}
	details := map[string]any{"direction": in.Direction, "trigger": in.Trigger, "reset": in.Reset,
		"content_types": plan.ContentTypes}
	if in.Since != nil {
		details["since"] = in.Since
	}
	return plan, classify(a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: in.IntegrationID,
		ClientID: in.ClientID, SyncRunID: in.SyncID, EventType: SyncEventSync, Action: SyncActionStarted, Success: true}, details))
}

// filterProblem is what a filters error says, without the settings prefix.
func filterProblem(err error) string {
	var invalid *platform.InvalidError
	if !errors.As(err, &invalid) {
		return err.Error()
	}
	parts := make([]string, 0, len(invalid.Fields))
	for k, v := range invalid.Fields {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// SyncStatusInput pauses or resumes a sync run.
type SyncStatusInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	Status        string // transaction.SyncPaused or transaction.SyncRunning
	Note          string
	By            string
}

// SetSyncStatus records a run paused or resumed, with a sync event.
func (a *Activities) SetSyncStatus(ctx context.Context, in SyncStatusInput) error {
	action := SyncActionResumed
	switch in.Status {
	case transaction.SyncPaused:
		action = SyncActionPaused
	case transaction.SyncRunning:
	default:
		return classify(&InvalidRequestError{Reason: "a run is set RUNNING or PAUSED, not " + in.Status})
	}
	if err := a.Sites.Store.SetSyncRunStatus(ctx, in.SyncID, in.Status); err != nil {
		return classifyStore(err)
	}
	return classify(a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: in.IntegrationID, ClientID: in.ClientID,
		SyncRunID: in.SyncID, EventType: SyncEventSync, Action: action, Success: true}, operatorDetails(in.Note, in.By)))
}

// SyncFinishInput ends a sync run.
type SyncFinishInput struct {
	SyncID        string
	IntegrationID string
	ClientID      string
	// Status is SUCCESS, ERROR or CANCELED.
	Status     string
	Counts     schema.SyncCounts
	Error      string
	ErrorCode  string
	DurationMS float64
	// Note and By are an operator's, when one resolved, aborted or canceled the run.
	Note string
	By   string
}

// FinishSync records a run's end (the integration's sync_status, sync_error and last_sync_at
// follow) with a "completed", "failed" or "canceled" sync event carrying the counts. A run
// without a row (refused before it was recorded) gets its event only; a run that finished
// already keeps its row as it stands.
func (a *Activities) FinishSync(ctx context.Context, in SyncFinishInput) error {
	action := map[string]string{transaction.SyncSuccess: SyncActionCompleted, transaction.SyncError: SyncActionFailed,
		transaction.SyncCanceled: SyncActionCanceled}[in.Status]
	if action == "" {
		return classify(&InvalidRequestError{Reason: "a run ends SUCCESS, ERROR or CANCELED, not " + in.Status})
	}
	_, err := a.Sites.Store.FinishSyncRun(ctx, in.SyncID, in.Status, in.Counts, in.Error)
	// A run refused before its row was recorded (a scheduled run of an inactive integration)
	// has no row to end: its event is all there is to record.
	missing := errors.Is(err, schema.ErrNotFound)
	if err != nil && !missing {
		return classifyStore(err)
	}
	details := operatorDetails(in.Note, in.By)
	details["counts"] = in.Counts
	if in.ErrorCode != "" {
		details["error_code"] = in.ErrorCode
	}
	err = a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: in.IntegrationID, ClientID: in.ClientID,
		SyncRunID: in.SyncID, EventType: SyncEventSync, Action: action, Success: in.Status == transaction.SyncSuccess,
		ErrorMessage: in.Error, DurationMS: in.DurationMS}, details)
	if missing && errors.Is(err, schema.ErrReference) {
		// Neither the run nor its integration exists (deleted meanwhile): nothing is left to end.
		return nil
	}
	return classify(err)
}

// SyncEventInput is one line of the sync event log.
type SyncEventInput struct {
	IntegrationID string
	ClientID      string
	SyncID        string
	EventType     string
	Action        string
	Success       bool
	ContentID     string
	ExternalID    string
	Details       map[string]any `json:",omitempty"`
	Error         string
	DurationMS    float64
}

// RecordSyncEvent appends a line to the sync event log.
func (a *Activities) RecordSyncEvent(ctx context.Context, in SyncEventInput) error {
	return classify(a.recordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: in.IntegrationID, ClientID: in.ClientID,
		SyncRunID: in.SyncID, EventType: in.EventType, Action: in.Action, Success: in.Success, ContentID: in.ContentID,
		ExternalID: in.ExternalID, ErrorMessage: in.Error, DurationMS: in.DurationMS}, in.Details))
}

// maxSyncEventError bounds the error text a sync event keeps.
const maxSyncEventError = 1000

func (a *Activities) recordSyncEvent(ctx context.Context, row schema.SyncEventRow, details map[string]any) error {
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return &InvalidRequestError{Reason: "sync event details: " + err.Error()}
		}
		row.Details = b
	}
	row.ErrorMessage = truncateText(row.ErrorMessage, maxSyncEventError)
	return a.Sites.Store.RecordSyncEvent(ctx, row)
}

// operatorDetails are the details of an operator's action (empty when there was none).
func operatorDetails(note, by string) map[string]any {
	d := map[string]any{}
	if note != "" {
		d["note"] = truncateText(note, 500)
	}
	if by != "" {
		d["by"] = truncateText(by, 200)
	}
	return d
}

// site is a site integration opened for a call: its row, credentials, config and client.
type site struct {
	row         schema.IntegrationRow
	integration platform.Integration
	config      platform.SiteConfig
	client      platform.SiteClient
}

// openSite reads a site integration, checks it is clientID's (any client's when clientID is
// ""), and builds its client. Another client's integration is ErrNotFound.
func (a *Activities) openSite(ctx context.Context, integrationID, clientID string) (site, error) {
	s := a.Sites
	if s.Store == nil || s.Vault == nil || s.Client == nil {
		return site{}, &InvalidRequestError{Reason: "this worker serves no site integrations"}
	}
	row, err := s.Store.GetIntegration(ctx, integrationID)
	if err != nil {
		return site{}, err
	}
	if clientID != "" && row.ClientID != clientID {
		return site{}, fmt.Errorf("integration %s: %w", integrationID, schema.ErrNotFound)
	}
	if !platform.Name(row.Platform).Site() {
		return site{}, &InvalidRequestError{Reason: "the integration is not a site (" + platform.SiteNamesList() + ")"}
	}
	in, err := s.Vault.Open(row.ID, row.Name, row.Platform, row.Credentials, row.Config, row.IsActive)
	if err != nil {
		return site{}, &InvalidRequestError{Reason: err.Error()}
	}
	var cfg platform.SiteConfig
	if len(row.Config) > 0 {
		if err := json.Unmarshal(row.Config, &cfg); err != nil {
			return site{}, &InvalidRequestError{Reason: "integration config: " + err.Error()}
		}
	}
	client, err := s.Client(in, cfg)
	if err != nil {
		return site{}, &InvalidRequestError{Reason: err.Error()}
	}
	return site{row: row, integration: in, config: cfg, client: client}, nil
}

// classifySite maps a site's failure onto the retry contract: a 429, 5xx or transport failure
// is SiteUnavailable (retried, after the site's Retry-After); a refusal, a missing item or an
// address inside the hub's network is SiteRejected (final). Other errors go through classify.
func classifySite(err error, details ...any) error {
	if err == nil {
		return nil
	}
	opts := temporal.ApplicationErrorOptions{Details: details}
	var apiErr *platform.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, platform.ErrPrivateAddress):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeSiteRejected, opts)
	case errors.Is(err, platform.ErrSiteItemNotFound):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeSiteRejected, opts)
	case errors.Is(err, context.DeadlineExceeded):
		return temporal.NewApplicationErrorWithOptions("the site did not answer in time", transaction.ErrTypeSiteUnavailable, opts)
	case errors.As(err, &apiErr) && apiErr.Temporary:
		opts.NextRetryDelay = apiErr.RetryAfter
		return temporal.NewApplicationErrorWithOptions(apiErr.Error(), transaction.ErrTypeSiteUnavailable, opts)
	case errors.As(err, &apiErr):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(apiErr.Error(), transaction.ErrTypeSiteRejected, opts)
	}
	return classify(err, details...)
}

// classifyStore maps the content store's refusals: an item it cannot keep is invalid, and a run
// that is no longer active (finished or freed elsewhere) cannot take more pages; neither is
// retried. Other errors go through classify.
func classifyStore(err error) error {
	switch {
	case errors.Is(err, schema.ErrInvalidContent):
		return classify(&InvalidRequestError{Reason: err.Error()})
	case errors.Is(err, schema.ErrConflict):
		return classify(&InvalidRequestError{Reason: "the sync run is no longer active: " + err.Error()})
	}
	return classify(err)
}

// temporarySite reports whether a site's failure is worth another attempt.
func temporarySite(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var apiErr *platform.APIError
	return errors.As(err, &apiErr) && apiErr.Temporary
}

// contentItem is a site's item as the content store compares it.
func contentItem(it platform.SiteItem) schema.ContentItem {
	return schema.ContentItem{ExternalID: it.ExternalID, ContentType: it.Type, Title: it.Title, Body: it.Body,
		Status: it.Status, URL: it.URL, Hash: it.Hash(), ModifiedAt: it.ModifiedAt}
}
