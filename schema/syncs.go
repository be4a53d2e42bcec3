package schema

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// errNotBuilt marks store methods of the sync family not written yet.
var errNotBuilt = errors.New("not built yet")

// SiteRow is a client's site: what its plugin authenticates with (the api key, sealed).
type SiteRow struct {
	ID        string    `db:"id"`
	ClientID  string    `db:"client_id"`
	Name      string    `db:"name"`
	URL       string    `db:"url"`
	APIKey    string    `db:"api_key"` // sealed
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// SyncRunRow is one sync run with its checkpoint and counts.
type SyncRunRow struct {
	ID            string          `db:"id"`
	IntegrationID string          `db:"integration_id"`
	ClientID      string          `db:"client_id"`
	WorkflowID    string          `db:"workflow_id"`
	Direction     string          `db:"direction"`
	Trigger       string          `db:"trigger"`
	Status        string          `db:"status"`
	Request       json.RawMessage `db:"request"`
	Checkpoint    json.RawMessage `db:"checkpoint"`
	SyncCounts
	Error      string     `db:"error"`
	StartedAt  time.Time  `db:"started_at"`
	UpdatedAt  time.Time  `db:"updated_at"`
	FinishedAt *time.Time `db:"finished_at"`
}

// SyncCounts are a run's counts; ApplyContentPage adds a page's to the run's.
type SyncCounts struct {
	Pages     int `db:"pages" json:"pages"`
	Items     int `db:"items" json:"items"`
	Added     int `db:"added" json:"added"`
	Updated   int `db:"updated" json:"updated"`
	Deleted   int `db:"deleted" json:"deleted"`
	Unchanged int `db:"unchanged" json:"unchanged"`
	Pushed    int `db:"pushed" json:"pushed"`
	Failed    int `db:"failed" json:"failed"`
}

// ContentRow is one item of the hub's content store.
type ContentRow struct {
	ID                 string     `db:"id"`
	IntegrationID      string     `db:"integration_id"`
	ClientID           string     `db:"client_id"`
	ExternalID         string     `db:"external_id"`
	ContentType        string     `db:"content_type"`
	Title              string     `db:"title"`
	Body               string     `db:"body"`
	Status             string     `db:"status"`
	URL                string     `db:"url"`
	ContentHash        string     `db:"content_hash"`
	Dirty              bool       `db:"dirty"`
	SeenRun            string     `db:"seen_run"`
	ExternalModifiedAt *time.Time `db:"external_modified_at"`
	SyncedAt           *time.Time `db:"synced_at"`
	DeletedAt          *time.Time `db:"deleted_at"`
	CreatedAt          time.Time  `db:"created_at"`
	UpdatedAt          time.Time  `db:"updated_at"`
}

// SyncEventRow is one line of the sync event log (seed 004's SyncEvent).
type SyncEventRow struct {
	ID            int64           `db:"id"`
	IntegrationID string          `db:"integration_id"`
	ClientID      string          `db:"client_id"`
	SyncRunID     string          `db:"sync_run_id"`
	EventType     string          `db:"event_type"`
	Action        string          `db:"action"`
	Success       bool            `db:"success"`
	ContentID     string          `db:"content_id"`
	ExternalID    string          `db:"external_id"`
	Details       json.RawMessage `db:"details"`
	ErrorMessage  string          `db:"error_message"`
	DurationMS    float64         `db:"duration_ms"`
	CreatedAt     time.Time       `db:"created_at"`
}

// ContentItem is one item of a page a sync pulled, as the store compares it.
type ContentItem struct {
	ExternalID  string
	ContentType string
	Title       string
	Body        string
	Status      string
	URL         string
	Hash        string
	ModifiedAt  time.Time
}

// ContentPage is one page a sync applies: its items, and the checkpoint to store with them.
type ContentPage struct {
	RunID string
	// Seq is the page's number in the run, from 1: a page whose Seq the run already applied is
	// not applied again (a retried activity), and the stored counts are answered.
	Seq        int
	Items      []ContentItem
	Checkpoint json.RawMessage
}

// SyncHealth is what debug_status shows of an integration's syncs.
type SyncHealth struct {
	LastRuns []SyncRunRow
	// Events and Errors count the sync events of the last 24 hours, and the failed ones.
	Events int
	Errors int
	// LastSuccessAt is when a run last finished SUCCESS.
	LastSuccessAt *time.Time
	// Dirty counts content changed in the hub and not pushed yet.
	Dirty int
	// Contents counts the integration's live content.
	Contents int
}

// --- sites ----------------------------------------------------------------------------------

// CreateSite inserts a site; ErrReference when its client does not exist.
func (s *Store) CreateSite(ctx context.Context, r SiteRow) (SiteRow, error) { return SiteRow{}, errNotBuilt }

// GetSite reads one site by id.
func (s *Store) GetSite(ctx context.Context, id string) (SiteRow, error) { return SiteRow{}, errNotBuilt }

// ListSites pages through a client's sites, newest first; clientID "" lists every client's.
func (s *Store) ListSites(ctx context.Context, clientID string, page Page) ([]SiteRow, error) {
	return nil, errNotBuilt
}

// DeleteSite removes a site and, with it, its integrations.
func (s *Store) DeleteSite(ctx context.Context, id string) error { return errNotBuilt }

// SiteIntegration reads the integration of a client's site on a platform; ErrNotFound when none.
func (s *Store) SiteIntegration(ctx context.Context, clientID, siteID, platform string) (IntegrationRow, error) {
	return IntegrationRow{}, errNotBuilt
}

// --- sync runs ------------------------------------------------------------------------------

// StartSyncRun inserts a RUNNING run; ErrConflict when the integration has an active run
// (RUNNING or PAUSED) other than this one. Inserting a run that exists (same id) answers it.
// The integration's sync_status becomes RUNNING and its sync_error is cleared.
func (s *Store) StartSyncRun(ctx context.Context, r SyncRunRow) (SyncRunRow, error) {
	return SyncRunRow{}, errNotBuilt
}

// GetSyncRun reads one run.
func (s *Store) GetSyncRun(ctx context.Context, id string) (SyncRunRow, error) { return SyncRunRow{}, errNotBuilt }

// ActiveSyncRun reads the integration's RUNNING or PAUSED run; ErrNotFound when none.
func (s *Store) ActiveSyncRun(ctx context.Context, integrationID string) (SyncRunRow, error) {
	return SyncRunRow{}, errNotBuilt
}

// ListSyncRuns pages through an integration's runs, newest first.
func (s *Store) ListSyncRuns(ctx context.Context, integrationID string, page Page) ([]SyncRunRow, error) {
	return nil, errNotBuilt
}

// SetSyncRunStatus sets an active run's status (RUNNING, PAUSED), and the integration's.
func (s *Store) SetSyncRunStatus(ctx context.Context, id, status string) error { return errNotBuilt }

// FinishSyncRun ends a run (SUCCESS, ERROR, CANCELED) with its counts and error; the
// integration's sync_status, sync_error and (on SUCCESS) last_sync_at follow, except that a
// CANCELED run gives the integration back the status of its previous finished run.
func (s *Store) FinishSyncRun(ctx context.Context, id, status string, counts SyncCounts, errText string) (SyncRunRow, error) {
	return SyncRunRow{}, errNotBuilt
}

// --- contents ---------------------------------------------------------------------------------

// ApplyContentPage compares a pulled page with the content store by (integration, type,
// external id) and content hash, in one transaction: inserts the new items (added), updates
// the changed ones (updated; a hub-side edit not pushed yet is overwritten only when the
// site's item changed), marks the rest seen (unchanged), writes a sync event per added and
// updated item and one "page" event, adds the counts to the run and stores the checkpoint.
// A page whose Seq the run already applied changes nothing. It answers the run's counts.
func (s *Store) ApplyContentPage(ctx context.Context, integrationID, clientID string, page ContentPage) (SyncCounts, error) {
	return SyncCounts{}, errNotBuilt
}

// SweepDeleted marks deleted the live content of contentType a full pass of run runID did not
// see (deleted at the site), with a "deleted" sync event each, and adds them to the run's
// counts. Content created in the hub and not pushed yet (no external id) is kept.
func (s *Store) SweepDeleted(ctx context.Context, integrationID, runID, contentType string) (int, error) {
	return 0, errNotBuilt
}

// UpsertContent applies one pulled item outside a paged run (sync_wordpress_content, a status
// callback): it answers the action (added, updated, unchanged) and the row, with a sync event.
func (s *Store) UpsertContent(ctx context.Context, integrationID, clientID, runID string, item ContentItem) (string, ContentRow, error) {
	return "", ContentRow{}, errNotBuilt
}

// MarkContentDeleted marks one item deleted at the site (a 404 on a one-item pull), with a
// sync event; false when it was not live.
func (s *Store) MarkContentDeleted(ctx context.Context, integrationID, runID, contentType, externalID string) (bool, error) {
	return false, errNotBuilt
}

// DirtyContents lists up to limit items changed in the hub and not pushed, oldest first.
func (s *Store) DirtyContents(ctx context.Context, integrationID string, limit int) ([]ContentRow, error) {
	return nil, errNotBuilt
}

// MarkPushed records that the site now holds a content row as pushed (its external id, hash
// and modification time), clears dirty unless the row changed again since hash was taken,
// writes a "pushed" sync event and adds one to the run's pushed count.
func (s *Store) MarkPushed(ctx context.Context, contentID, runID string, item ContentItem, pushedHash string) error {
	return errNotBuilt
}

// CreateContent inserts content made in the hub (dirty, no external id).
func (s *Store) CreateContent(ctx context.Context, r ContentRow) (ContentRow, error) {
	return ContentRow{}, errNotBuilt
}

// GetContent reads one content row.
func (s *Store) GetContent(ctx context.Context, id string) (ContentRow, error) { return ContentRow{}, errNotBuilt }

// UpdateContent lets change edit a content row under a row lock; it is marked dirty when its
// hash changed.
func (s *Store) UpdateContent(ctx context.Context, id string, change func(*ContentRow) error) (ContentRow, error) {
	return ContentRow{}, errNotBuilt
}

// ListContents pages through an integration's live content, newest first.
func (s *Store) ListContents(ctx context.Context, integrationID string, page Page) ([]ContentRow, error) {
	return nil, errNotBuilt
}

// --- sync events ------------------------------------------------------------------------------

// RecordSyncEvent appends one sync event.
func (s *Store) RecordSyncEvent(ctx context.Context, r SyncEventRow) error { return errNotBuilt }

// ListSyncEvents pages through an integration's sync events, newest first.
func (s *Store) ListSyncEvents(ctx context.Context, integrationID string, page Page) ([]SyncEventRow, error) {
	return nil, errNotBuilt
}

// IntegrationSyncHealth gathers debug_status's numbers.
func (s *Store) IntegrationSyncHealth(ctx context.Context, integrationID string) (SyncHealth, error) {
	return SyncHealth{}, errNotBuilt
}

// SetSiteStructure stores a site's structure in the integration's config (config.structure)
// and records a "structure_updated" sync event.
func (s *Store) SetSiteStructure(ctx context.Context, integrationID, runID string, structure json.RawMessage) (IntegrationRow, error) {
	return IntegrationRow{}, errNotBuilt
}
