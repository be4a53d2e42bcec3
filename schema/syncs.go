package schema

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/switchyard-hub/switchyard/transaction"
)

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
	ID            string `db:"id"`
	IntegrationID string `db:"integration_id"`
	ClientID      string `db:"client_id"`
	ExternalID    string `db:"external_id"`
	ContentType   string `db:"content_type"`
	Title         string `db:"title"`
	Body          string `db:"body"`
	Status        string `db:"status"`
	URL           string `db:"url"`
	// ContentHash is the hash of the hub's version (type, title, body, status): the caller
	// computes it, with platform.SiteItem.Hash, whenever it writes those fields.
	ContentHash string `db:"content_hash"`
	// SiteHash is the same hash of the item as the site last held it (pulled, or answered to a
	// push); a pull compares the site's item with it, not with the hub's version.
	SiteHash           string     `db:"site_hash"`
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

// Event types of the sync event log (sync_events.event_type).
const (
	SyncEventSync           = "sync"
	SyncEventContent        = "content"
	SyncEventMetadata       = "metadata"
	SyncEventTestConnection = "test_connection"
	SyncEventWebhook        = "webhook"
)

// Actions of the sync event log (sync_events.action); added, updated, unchanged and deleted
// are also the actions UpsertContent answers.
const (
	SyncActionStarted          = "started"
	SyncActionPage             = "page"
	SyncActionAdded            = "added"
	SyncActionUpdated          = "updated"
	SyncActionUnchanged        = "unchanged"
	SyncActionDeleted          = "deleted"
	SyncActionPushed           = "pushed"
	SyncActionCompleted        = "completed"
	SyncActionFailed           = "failed"
	SyncActionPaused           = "paused"
	SyncActionResumed          = "resumed"
	SyncActionCanceled         = "canceled"
	SyncActionStructureUpdated = "structure_updated"
	SyncActionTested           = "tested"
)

// Sizes the content store accepts.
const (
	// MaxContentPageItems is the most items ApplyContentPage takes at once.
	MaxContentPageItems = 1000
	// MaxContentBodyBytes caps one item's body.
	MaxContentBodyBytes = 16 << 20
	// MaxContentTitleBytes caps one item's title.
	MaxContentTitleBytes = 64 << 10
	// MaxSiteStructureBytes caps a site's structure document.
	MaxSiteStructureBytes = 256 << 10
	// maxKeyBytes caps external ids, content types, hashes and URLs.
	maxKeyBytes = 8 << 10
	// maxErrorBytes caps stored error texts (longer ones are cut on a character boundary).
	maxErrorBytes = 4 << 10
)

// ErrInvalidContent means an item handed to the content store is malformed (no external id,
// type or hash, or too large). The caller's bug or the site's data, never retried.
var ErrInvalidContent = errors.New("invalid content item")

// ContentItem is one item of a page a sync pulled, as the store compares it.
type ContentItem struct {
	ExternalID  string
	ContentType string
	Title       string
	Body        string
	Status      string
	URL         string
	// Hash is platform.SiteItem.Hash of the item: required.
	Hash       string
	ModifiedAt time.Time
}

// ContentPage is one page a sync applies: its items, and the checkpoint to store with them.
type ContentPage struct {
	RunID string
	// Seq is the page's number in the run, from 1: a page whose Seq the run already applied is
	// not applied again (a retried activity), and the stored counts are answered.
	Seq        int
	Items      []ContentItem
	Checkpoint json.RawMessage
	// Failed counts the page's items the caller could not hand to the store (too large, no
	// id): added to the run's failed count with the page, so once.
	Failed int
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

const (
	siteColumns    = `id, client_id, name, url, api_key, created_at, updated_at`
	countColumns   = `pages, items, added, updated, deleted, unchanged, pushed, failed`
	syncRunColumns = `id, integration_id, client_id, workflow_id, direction, trigger, status, request, checkpoint, ` +
		countColumns + `, error, started_at, updated_at, finished_at`
	contentColumns = `id, integration_id, client_id, external_id, content_type, title, body, status, url,
	content_hash, site_hash, dirty, seen_run, external_modified_at, synced_at, deleted_at, created_at, updated_at`
	syncEventColumns = `id, integration_id, client_id, sync_run_id, event_type, action, success, content_id,
	external_id, details, error_message, duration_ms, created_at`
)

// --- sites ----------------------------------------------------------------------------------

// CreateSite inserts a site (an id is made when r has none); ErrReference when its client does
// not exist, ErrConflict when the id is taken.
func (s *Store) CreateSite(ctx context.Context, r SiteRow) (SiteRow, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	var out SiteRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO sites (id, client_id, name, url, api_key)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+siteColumns, r.ID, r.ClientID, r.Name, r.URL, r.APIKey)
	return out, translate(err, "creating site")
}

// GetSite reads one site by id.
func (s *Store) GetSite(ctx context.Context, id string) (SiteRow, error) {
	var out SiteRow
	err := s.db.GetContext(ctx, &out, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id)
	return out, translate(err, "reading site")
}

// ListSites pages through a client's sites, newest first; clientID "" lists every client's.
// A cursor must name a site of the client.
func (s *Store) ListSites(ctx context.Context, clientID string, page Page) ([]SiteRow, error) {
	const what = "listing sites"
	out := []SiteRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+siteColumns+` FROM sites
		WHERE ($1 = '' OR client_id = $1)
		AND ($4 = '' OR (created_at, id) < (SELECT created_at, id FROM sites WHERE id = $4 AND ($1 = '' OR client_id = $1)))
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, clientID, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM sites
		WHERE id = $1 AND ($2 = '' OR client_id = $2))`, page.After, clientID)
}

// UpdateSite reads the site under a row lock, lets change edit it, and writes back its name,
// url and api key (its client never changes).
func (s *Store) UpdateSite(ctx context.Context, id string, change func(*SiteRow) error) (SiteRow, error) {
	var out SiteRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row SiteRow
		if err := tx.GetContext(ctx, &row, `SELECT `+siteColumns+` FROM sites WHERE id = $1 FOR UPDATE`, id); err != nil {
			return translate(err, "reading site")
		}
		if err := change(&row); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, `UPDATE sites SET name = $2, url = $3, api_key = $4, updated_at = now()
			WHERE id = $1 RETURNING `+siteColumns, id, row.Name, row.URL, row.APIKey)
		return translate(err, "updating site")
	})
	return out, err
}

// DeleteSite removes a site and, with it, its integrations (and their runs, content and events).
func (s *Store) DeleteSite(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sites WHERE id = $1`, id)
	if err != nil {
		return translate(err, "deleting site")
	}
	return affectedOne(res, "deleting site")
}

// SiteIntegration reads the integration of a client's site on a platform; ErrNotFound when none.
func (s *Store) SiteIntegration(ctx context.Context, clientID, siteID, platform string) (IntegrationRow, error) {
	var out IntegrationRow
	err := s.db.GetContext(ctx, &out, `SELECT `+integrationColumns+` FROM integrations
		WHERE client_id = $1 AND site_id = $2 AND platform = $3`, clientID, siteID, platform)
	return out, translate(err, "reading site integration")
}

// --- sync runs ------------------------------------------------------------------------------

// StartSyncRun inserts a RUNNING run; ErrConflict when the integration has an active run
// (RUNNING or PAUSED) other than this one. Inserting a run that exists (same id) answers it.
// The integration's sync_status becomes RUNNING and its sync_error is cleared. An empty ID is
// made; an empty Trigger is "api".
func (s *Store) StartSyncRun(ctx context.Context, r SyncRunRow) (SyncRunRow, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Trigger == "" {
		r.Trigger = "api"
	}
	var out SyncRunRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &out, `INSERT INTO sync_runs (id, integration_id, client_id, workflow_id, direction,
			trigger, status, request, checkpoint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO NOTHING RETURNING `+syncRunColumns,
			r.ID, r.IntegrationID, r.ClientID, r.WorkflowID, r.Direction, r.Trigger, transaction.SyncRunning,
			jsonOrEmpty(r.Request), jsonOrEmpty(r.Checkpoint))
		if errors.Is(err, sql.ErrNoRows) {
			// The run exists: a retried start. It answers the row as it stands.
			return translate(tx.GetContext(ctx, &out, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1`, r.ID),
				"reading sync run")
		}
		if err != nil {
			return translate(err, "starting sync run")
		}
		_, err = tx.ExecContext(ctx, `UPDATE integrations SET sync_status = $2, sync_error = '' WHERE id = $1`,
			r.IntegrationID, transaction.SyncRunning)
		return translate(err, "marking integration syncing")
	})
	return out, err
}

// GetSyncRun reads one run.
func (s *Store) GetSyncRun(ctx context.Context, id string) (SyncRunRow, error) {
	var out SyncRunRow
	err := s.db.GetContext(ctx, &out, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1`, id)
	return out, translate(err, "reading sync run")
}

// ActiveSyncRun reads the integration's RUNNING or PAUSED run; ErrNotFound when none.
func (s *Store) ActiveSyncRun(ctx context.Context, integrationID string) (SyncRunRow, error) {
	var out SyncRunRow
	err := s.db.GetContext(ctx, &out, `SELECT `+syncRunColumns+` FROM sync_runs
		WHERE integration_id = $1 AND status IN ($2, $3)`, integrationID, transaction.SyncRunning, transaction.SyncPaused)
	return out, translate(err, "reading active sync run")
}

// ListSyncRuns pages through an integration's runs, newest first. A cursor must name a run of
// the integration.
func (s *Store) ListSyncRuns(ctx context.Context, integrationID string, page Page) ([]SyncRunRow, error) {
	const what = "listing sync runs"
	out := []SyncRunRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+syncRunColumns+` FROM sync_runs WHERE integration_id = $1
		AND ($4 = '' OR (started_at, id) < (SELECT started_at, id FROM sync_runs WHERE id = $4 AND integration_id = $1))
		ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3`, integrationID, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM sync_runs
		WHERE id = $1 AND integration_id = $2)`, page.After, integrationID)
}

// SetSyncRunStatus sets an active run's status (RUNNING, PAUSED), and the integration's.
// ErrNotFound when there is no such run; ErrConflict when it has finished.
func (s *Store) SetSyncRunStatus(ctx context.Context, id, status string) error {
	if !transaction.SyncActive(status) {
		return fmt.Errorf("setting sync run status: %q is not RUNNING or PAUSED", status)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var run SyncRunRow
		if err := tx.GetContext(ctx, &run, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return translate(err, "reading sync run")
		}
		if !transaction.SyncActive(run.Status) {
			return fmt.Errorf("setting sync run status: the run is %s: %w", run.Status, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sync_runs SET status = $2, updated_at = now() WHERE id = $1`,
			id, status); err != nil {
			return translate(err, "setting sync run status")
		}
		_, err := tx.ExecContext(ctx, `UPDATE integrations SET sync_status = $2 WHERE id = $1`, run.IntegrationID, status)
		return translate(err, "setting integration sync status")
	})
}

// FinishSyncRun ends a run (SUCCESS, ERROR, CANCELED) with its counts and error; the
// integration's sync_status, sync_error and (on SUCCESS) last_sync_at follow, except that a
// CANCELED run gives the integration back the status of its previous finished run. Each
// count becomes the larger of the stored one and the given one: the store counts what it
// applied, the workflow what never reached the store (failed pushes, say). A run that has
// finished already is answered as it stands, unchanged.
func (s *Store) FinishSyncRun(ctx context.Context, id, status string, counts SyncCounts, errText string) (SyncRunRow, error) {
	switch status {
	case transaction.SyncSuccess, transaction.SyncError, transaction.SyncCanceled:
	default:
		return SyncRunRow{}, fmt.Errorf("finishing sync run: %q is not SUCCESS, ERROR or CANCELED", status)
	}
	errText = capText(errText, maxErrorBytes)
	var out SyncRunRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &out, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return translate(err, "reading sync run")
		}
		if !transaction.SyncActive(out.Status) {
			return nil
		}
		if err := tx.GetContext(ctx, &out, `UPDATE sync_runs SET status = $2, error = $3,
			pages = GREATEST(pages, $4), items = GREATEST(items, $5), added = GREATEST(added, $6),
			updated = GREATEST(updated, $7), deleted = GREATEST(deleted, $8), unchanged = GREATEST(unchanged, $9),
			pushed = GREATEST(pushed, $10), failed = GREATEST(failed, $11), finished_at = now(), updated_at = now()
			WHERE id = $1 RETURNING `+syncRunColumns, id, status, errText, counts.Pages, counts.Items, counts.Added,
			counts.Updated, counts.Deleted, counts.Unchanged, counts.Pushed, counts.Failed); err != nil {
			return translate(err, "finishing sync run")
		}
		var err error
		switch status {
		case transaction.SyncSuccess:
			_, err = tx.ExecContext(ctx, `UPDATE integrations SET sync_status = $2, sync_error = '', last_sync_at = now()
				WHERE id = $1`, out.IntegrationID, status)
		case transaction.SyncError:
			_, err = tx.ExecContext(ctx, `UPDATE integrations SET sync_status = $2, sync_error = $3 WHERE id = $1`,
				out.IntegrationID, status, errText)
		default:
			// A canceled run leaves the integration as its last finished run left it ('' when
			// none did).
			_, err = tx.ExecContext(ctx, `UPDATE integrations i SET sync_status = COALESCE(prev.status, ''),
				sync_error = COALESCE(prev.error, '')
				FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT status, error FROM sync_runs
					WHERE integration_id = $1 AND id <> $2 AND status IN ($3, $4)
					ORDER BY finished_at DESC LIMIT 1) prev ON true
				WHERE i.id = $1`, out.IntegrationID, id, transaction.SyncSuccess, transaction.SyncError)
		}
		return translate(err, "setting integration sync status")
	})
	return out, err
}

// --- contents ---------------------------------------------------------------------------------

// ApplyContentPage compares a pulled page with the content store by (integration, type,
// external id) and the site's content hash, in one transaction: inserts the new items
// (added; a row deleted earlier that reappears is revived and counts as added), updates the
// changed ones (updated: the site wins, and a hub-side edit not pushed yet is overwritten
// only when the site's item changed since the hub last saw it, which its event's details
// note), marks the rest seen (unchanged), writes a sync event per added and updated item and
// one "page" event, adds the counts (the page's Failed too) to the run and stores the
// checkpoint. A page whose Seq
// the run already applied changes nothing. It answers the run's counts. Items must carry an
// external id, a type and a hash (ErrInvalidContent); one repeated in the page counts once,
// as its last copy.
func (s *Store) ApplyContentPage(ctx context.Context, integrationID, clientID string, page ContentPage) (SyncCounts, error) {
	const what = "applying content page"
	began := time.Now()
	if page.RunID == "" || page.Seq < 1 {
		return SyncCounts{}, fmt.Errorf("%s: a page needs its run and a Seq from 1", what)
	}
	items, err := distinctItems(page.Items)
	if err != nil {
		return SyncCounts{}, fmt.Errorf("%s: %w", what, err)
	}
	var counts SyncCounts
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The run's row lock orders the pages of a run: a retried page waits for the first
		// attempt's transaction and then finds its Seq applied.
		var run struct {
			IntegrationID string `db:"integration_id"`
			Status        string `db:"status"`
			SyncCounts
		}
		if err := tx.GetContext(ctx, &run, `SELECT integration_id, status, `+countColumns+`
			FROM sync_runs WHERE id = $1 FOR UPDATE`, page.RunID); err != nil {
			return translate(err, "reading sync run")
		}
		if run.IntegrationID != integrationID {
			return fmt.Errorf("sync run %s is not of integration %s: %w", page.RunID, integrationID, ErrNotFound)
		}
		if page.Seq <= run.Pages {
			counts = run.SyncCounts
			return nil
		}
		if !transaction.SyncActive(run.Status) {
			return fmt.Errorf("the sync run is %s: %w", run.Status, ErrConflict)
		}
		known, err := knownContents(ctx, tx, integrationID, items)
		if err != nil {
			return err
		}
		plan := planPage(page.RunID, items, known)
		counts, err = plan.apply(ctx, tx, integrationID, clientID, page, len(items), time.Since(began))
		return err
	})
	if err != nil {
		return SyncCounts{}, fmt.Errorf("%s: %w", what, err)
	}
	return counts, nil
}

// contentKey names an item of an integration: its type and external id.
type contentKey struct{ contentType, externalID string }

// knownContent is what a pull compares of a stored row.
type knownContent struct {
	ID          string `db:"id"`
	ContentType string `db:"content_type"`
	ExternalID  string `db:"external_id"`
	ContentHash string `db:"content_hash"`
	SiteHash    string `db:"site_hash"`
	Dirty       bool   `db:"dirty"`
	Deleted     bool   `db:"deleted"`
}

// siteHash is the hash of the item as the site last held it.
func (k knownContent) siteHash() string {
	if k.SiteHash != "" {
		return k.SiteHash
	}
	return k.ContentHash
}

// knownContents reads the stored rows of a page's items in one query: one unique-index probe
// per item (LIMIT 1 keeps the planner from turning the probes into a scan of the whole
// integration, which it would on the stale statistics of a table a first sync is filling).
func knownContents(ctx context.Context, tx *sqlx.Tx, integrationID string, items []ContentItem) (map[contentKey]knownContent, error) {
	types, ids := make(pq.StringArray, len(items)), make(pq.StringArray, len(items))
	for i, it := range items {
		types[i], ids[i] = it.ContentType, it.ExternalID
	}
	rows := []knownContent{}
	if err := tx.SelectContext(ctx, &rows, `SELECT c.* FROM unnest($2::text[], $3::text[]) AS k(content_type, external_id)
		CROSS JOIN LATERAL (SELECT id, content_type, external_id, content_hash, site_hash, dirty,
			deleted_at IS NOT NULL AS deleted FROM contents
			WHERE integration_id = $1 AND content_type = k.content_type AND external_id = k.external_id
				AND external_id <> '' LIMIT 1) c`,
		integrationID, types, ids); err != nil {
		return nil, translate(err, "reading stored content")
	}
	known := make(map[contentKey]knownContent, len(rows))
	for _, r := range rows {
		known[contentKey{r.ContentType, r.ExternalID}] = r
	}
	return known, nil
}

// pagePlan is what applying a page does: the items to write (new, revived, changed) and the
// stored rows to mark seen.
type pagePlan struct {
	writes    []ContentItem
	newIDs    []string // the id each write inserts with (an existing row keeps its own)
	notes     []eventNote
	unchanged []string
	added     int
	updated   int
}

// eventNote is what a write's sync event says.
type eventNote struct {
	action      string
	revived     bool
	overwritten bool
}

func planPage(runID string, items []ContentItem, known map[contentKey]knownContent) pagePlan {
	var p pagePlan
	for _, it := range items {
		row, ok := known[contentKey{it.ContentType, it.ExternalID}]
		switch {
		case !ok:
			p.add(it, "cnt_"+uuid.NewString(), eventNote{action: SyncActionAdded})
			p.added++
		case row.Deleted:
			p.add(it, row.ID, eventNote{action: SyncActionAdded, revived: true})
			p.added++
		case row.siteHash() != it.Hash:
			p.add(it, row.ID, eventNote{action: SyncActionUpdated, overwritten: row.Dirty})
			p.updated++
		default:
			p.unchanged = append(p.unchanged, row.ID)
		}
	}
	return p
}

func (p *pagePlan) add(it ContentItem, id string, note eventNote) {
	p.writes = append(p.writes, it)
	p.newIDs = append(p.newIDs, id)
	p.notes = append(p.notes, note)
}

// apply writes what the plan says in one statement (one round trip, for the hot path): it
// upserts the new and changed items (the site wins: such a row takes the site's fields, is no
// longer dirty and is live again), marks the unchanged seen, logs an event per write and one
// for the page (last), and adds the page to the run's counts and checkpoint, which it answers.
func (p *pagePlan) apply(ctx context.Context, tx *sqlx.Tx, integrationID, clientID string, page ContentPage, items int,
	took time.Duration) (SyncCounts, error) {
	n := len(p.writes)
	cols := make([]pq.StringArray, 11)
	for i := range cols {
		cols[i] = make(pq.StringArray, n)
	}
	for i, it := range p.writes {
		modified := ""
		if !it.ModifiedAt.IsZero() {
			modified = it.ModifiedAt.UTC().Format(time.RFC3339Nano)
		}
		note := p.notes[i]
		details, _ := json.Marshal(contentDetails{ContentType: it.ContentType, Title: capText(it.Title, 200),
			Revived: note.revived, HubEditOverwritten: note.overwritten})
		for c, v := range []string{p.newIDs[i], it.ExternalID, it.ContentType, it.Title, it.Body, it.Status, it.URL,
			it.Hash, modified, note.action, string(details)} {
			cols[c][i] = v
		}
	}
	contentType := ""
	if len(page.Items) > 0 {
		contentType = page.Items[0].ContentType
	}
	pageEvent, _ := json.Marshal(pageDetails{Seq: page.Seq, ContentType: contentType, Items: items, Added: p.added,
		Updated: p.updated, Unchanged: len(p.unchanged), Failed: max(page.Failed, 0)})
	var checkpoint any
	if len(page.Checkpoint) > 0 {
		checkpoint = []byte(page.Checkpoint)
	}
	var counts SyncCounts
	err := tx.GetContext(ctx, &counts, `WITH item AS (
			SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
				$11::text[], $12::text[], $13::text[], $14::text[])
				WITH ORDINALITY AS u(id, external_id, content_type, title, body, status, url, hash, modified, action,
					details, ord)
		), written AS (
			INSERT INTO contents AS c (id, integration_id, client_id, external_id, content_type, title, body, status, url,
				content_hash, site_hash, dirty, seen_run, external_modified_at, synced_at)
			SELECT id, $1, $2, external_id, content_type, title, body, status, url, hash, hash, false, $3,
				NULLIF(modified, '')::timestamptz, now() FROM item
			ON CONFLICT (integration_id, content_type, external_id) WHERE external_id <> '' DO UPDATE SET
				title = EXCLUDED.title, body = EXCLUDED.body, status = EXCLUDED.status, url = EXCLUDED.url,
				content_hash = EXCLUDED.content_hash, site_hash = EXCLUDED.site_hash, dirty = false,
				seen_run = EXCLUDED.seen_run, external_modified_at = EXCLUDED.external_modified_at,
				synced_at = now(), deleted_at = NULL, updated_at = now()
			RETURNING id, content_type, external_id
		), seen AS (
			UPDATE contents SET seen_run = $3, synced_at = now() WHERE id = ANY($15) AND seen_run <> $3
		), logged AS (
			INSERT INTO sync_events (integration_id, client_id, sync_run_id, event_type, action, success, content_id,
				external_id, details, duration_ms)
			SELECT $1, $2, $3, e.event_type, e.action, true, e.content_id, e.external_id, e.details::jsonb, e.duration_ms
			FROM (SELECT i.ord, $16 AS event_type, i.action, w.id AS content_id, i.external_id, i.details,
					0::float8 AS duration_ms
				FROM item i JOIN written w ON w.content_type = i.content_type AND w.external_id = i.external_id
				UNION ALL SELECT $21 + 1, $17, $18, '', '', $19, $20::float8) e
			ORDER BY e.ord
		)
		UPDATE sync_runs SET pages = $22, items = items + $23, added = added + $24, updated = updated + $25,
			unchanged = unchanged + $26, failed = failed + $28, checkpoint = COALESCE($27::jsonb, checkpoint),
			updated_at = now()
		WHERE id = $3 RETURNING `+countColumns,
		integrationID, clientID, page.RunID, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7],
		cols[8], cols[9], cols[10], pq.StringArray(p.unchanged), SyncEventContent, SyncEventSync, SyncActionPage,
		string(pageEvent), float64(took)/float64(time.Millisecond), n, page.Seq, items, p.added, p.updated,
		len(p.unchanged), checkpoint, max(page.Failed, 0))
	return counts, translate(err, "writing content page")
}

// contentDetails are a content event's details.
type contentDetails struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title,omitempty"`
	// Revived: the item had been deleted at the site and came back.
	Revived bool `json:"revived,omitempty"`
	// HubEditOverwritten: the hub's edit, not pushed yet, gave way to the site's change.
	HubEditOverwritten bool `json:"hub_edit_overwritten,omitempty"`
	// Reason says why an item was marked deleted.
	Reason string `json:"reason,omitempty"`
}

// pageDetails are a page event's details.
type pageDetails struct {
	Seq         int    `json:"seq"`
	ContentType string `json:"content_type,omitempty"`
	Items       int    `json:"items"`
	Added       int    `json:"added"`
	Updated     int    `json:"updated"`
	Unchanged   int    `json:"unchanged"`
	Failed      int    `json:"failed,omitempty"`
}

// distinctItems checks a page's items and keeps the last copy of an item repeated in it (a
// site listing that shifted while it was paged), in first-seen order.
func distinctItems(items []ContentItem) ([]ContentItem, error) {
	if len(items) > MaxContentPageItems {
		return nil, fmt.Errorf("%d items in one page, more than %d: %w", len(items), MaxContentPageItems,
			ErrInvalidContent)
	}
	at := make(map[contentKey]int, len(items))
	out := make([]ContentItem, 0, len(items))
	for _, it := range items {
		if err := checkItem(it); err != nil {
			return nil, err
		}
		it = cleanItem(it)
		k := contentKey{it.ContentType, it.ExternalID}
		if i, ok := at[k]; ok {
			out[i] = it
			continue
		}
		at[k] = len(out)
		out = append(out, it)
	}
	return out, nil
}

// cleanItem cleans an item's text fields (cleanText).
func cleanItem(it ContentItem) ContentItem {
	it.ExternalID, it.ContentType = cleanText(it.ExternalID), cleanText(it.ContentType)
	it.Title, it.Body, it.Status, it.URL = cleanText(it.Title), cleanText(it.Body), cleanText(it.Status), cleanText(it.URL)
	it.Hash = cleanText(it.Hash)
	return it
}

// checkItem refuses an item the store cannot key or keep.
func checkItem(it ContentItem) error {
	switch {
	case it.ExternalID == "" || len(it.ExternalID) > maxKeyBytes:
		return fmt.Errorf("an item needs an external id of at most %d bytes: %w", maxKeyBytes, ErrInvalidContent)
	case it.ContentType == "" || len(it.ContentType) > maxKeyBytes:
		return fmt.Errorf("item %s needs a content type: %w", it.ExternalID, ErrInvalidContent)
	case it.Hash == "" || len(it.Hash) > maxKeyBytes:
		return fmt.Errorf("item %s needs its content hash: %w", it.ExternalID, ErrInvalidContent)
	case len(it.Title) > MaxContentTitleBytes, len(it.Body) > MaxContentBodyBytes, len(it.URL) > maxKeyBytes,
		len(it.Status) > maxKeyBytes:
		return fmt.Errorf("item %s is too large (title up to %d bytes, body up to %d): %w", it.ExternalID,
			MaxContentTitleBytes, MaxContentBodyBytes, ErrInvalidContent)
	}
	return nil
}

// sweepable is the condition on contents (c) and the run (r: its started_at) of a live row
// a full pass of the run ($2) did not see: not marked seen by it, and not synced since it
// started (a one-item pull or a push of the item while the pass ran: the site has it).
// Content created in the hub and not pushed yet (no external id) is never swept.
const sweepable = `c.integration_id = $1 AND c.content_type = $3 AND c.external_id <> '' AND c.deleted_at IS NULL
	AND c.seen_run <> $2 AND (c.synced_at IS NULL OR c.synced_at < r.started_at)`

// SweepCandidate is a live row a full pass did not see: it is swept as deleted at the site
// unless the site, asked for it, still has it.
type SweepCandidate struct {
	ID          string `db:"id"`
	ExternalID  string `db:"external_id"`
	ContentType string `db:"content_type"`
}

// SweepCandidates lists up to limit (1 to 1000; other values read 100) of the live content of
// contentType SweepDeleted would mark deleted after run runID's full pass, oldest first: the
// caller may ask the site for them first (a listing that shifted while it was paged skips
// items). None when the run is not the integration's.
func (s *Store) SweepCandidates(ctx context.Context, integrationID, runID, contentType string, limit int) ([]SweepCandidate, error) {
	if limit < 1 || limit > 1000 {
		limit = 100
	}
	out := []SweepCandidate{}
	err := s.db.SelectContext(ctx, &out, `SELECT c.id, c.external_id, c.content_type FROM contents c
		JOIN sync_runs r ON r.id = $2 AND r.integration_id = $1
		WHERE `+sweepable+` ORDER BY c.created_at, c.id LIMIT $4`, integrationID, runID, contentType, limit)
	return out, translate(err, "listing sweep candidates")
}

// SweepDeleted marks deleted the live content of contentType a full pass of run runID did not
// see (deleted at the site), with a "deleted" sync event each, and adds them to the run's
// counts. Content created in the hub and not pushed yet (no external id) is kept, and so is
// content synced since the run started (a one-item pull or a push meanwhile: the site has
// it). Nothing is swept for a run that is not the integration's. A repeat finds nothing left
// to sweep and answers 0.
func (s *Store) SweepDeleted(ctx context.Context, integrationID, runID, contentType string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `WITH gone AS (
			UPDATE contents c SET deleted_at = now(), updated_at = now()
			FROM sync_runs r
			WHERE r.id = $2 AND r.integration_id = $1 AND `+sweepable+`
			RETURNING c.id, c.client_id, c.external_id
		), logged AS (
			INSERT INTO sync_events (integration_id, client_id, sync_run_id, event_type, action, success, content_id,
				external_id, details)
			SELECT $1, client_id, $2, $4, $5, true, id, external_id, jsonb_build_object('content_type', $3::text,
				'reason', 'not at the site')
			FROM gone
		), counted AS (
			UPDATE sync_runs SET deleted = deleted + (SELECT count(*) FROM gone), updated_at = now()
			WHERE id = $2 AND integration_id = $1
		)
		SELECT count(*) FROM gone`, integrationID, runID, contentType, SyncEventContent, SyncActionDeleted)
	if err != nil {
		return 0, translate(err, "sweeping deleted content")
	}
	return n, nil
}

// UpsertContent applies one pulled item outside a paged run (sync_wordpress_content, a status
// callback): it answers the action (added, updated, unchanged) and the row, with a sync event,
// and adds the item to run runID's counts ("" for none). It compares as ApplyContentPage
// does; a repeat answers unchanged. The row is marked seen by runID only when that is a sync
// run of the integration (a one-item sync's id, which has no row, leaves seen_run as it was);
// a full pass running meanwhile never sweeps it (it was synced after that pass started).
func (s *Store) UpsertContent(ctx context.Context, integrationID, clientID, runID string, item ContentItem) (string, ContentRow, error) {
	const what = "upserting content"
	if err := checkItem(item); err != nil {
		return "", ContentRow{}, fmt.Errorf("%s: %w", what, err)
	}
	item = cleanItem(item)
	var action string
	var out ContentRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row, found, err := lockContent(ctx, tx, integrationID, item.ContentType, item.ExternalID)
		if err != nil {
			return err
		}
		if !found {
			err := tx.GetContext(ctx, &out, `INSERT INTO contents (id, integration_id, client_id, external_id,
				content_type, title, body, status, url, content_hash, site_hash, seen_run, external_modified_at, synced_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10,
					CASE WHEN EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = $11 AND r.integration_id = $2) THEN $11 ELSE '' END,
					$12, now())
				ON CONFLICT (integration_id, content_type, external_id) WHERE external_id <> '' DO NOTHING
				RETURNING `+contentColumns, "cnt_"+uuid.NewString(), integrationID, clientID, item.ExternalID,
				item.ContentType, item.Title, item.Body, item.Status, item.URL, item.Hash, runID, nullTime(item.ModifiedAt))
			switch {
			case err == nil:
				action = SyncActionAdded
			case errors.Is(err, sql.ErrNoRows):
				// Inserted meanwhile by another pull: compare with it.
				if row, found, err = lockContent(ctx, tx, integrationID, item.ContentType, item.ExternalID); err != nil {
					return err
				} else if !found {
					return fmt.Errorf("content %s vanished while written: %w", item.ExternalID, ErrConflict)
				}
			default:
				return translate(err, "inserting content")
			}
		}
		note := eventNote{action: action}
		if found {
			known := knownContent{ContentHash: row.ContentHash, SiteHash: row.SiteHash}
			switch {
			case row.DeletedAt != nil:
				note = eventNote{action: SyncActionAdded, revived: true}
			case known.siteHash() != item.Hash:
				note = eventNote{action: SyncActionUpdated, overwritten: row.Dirty}
			default:
				note = eventNote{action: SyncActionUnchanged}
			}
			if note.action == SyncActionUnchanged {
				err = tx.GetContext(ctx, &out, `UPDATE contents SET seen_run = `+seenBy("$2")+`,
					synced_at = now() WHERE id = $1 RETURNING `+contentColumns, row.ID, runID)
			} else {
				err = tx.GetContext(ctx, &out, `UPDATE contents SET title = $2, body = $3, status = $4, url = $5,
					content_hash = $6, site_hash = $6, dirty = false, seen_run = `+seenBy("$7")+`,
					external_modified_at = $8, synced_at = now(), deleted_at = NULL, updated_at = now()
					WHERE id = $1 RETURNING `+contentColumns, row.ID, item.Title, item.Body, item.Status, item.URL,
					item.Hash, runID, nullTime(item.ModifiedAt))
			}
			if err != nil {
				return translate(err, "writing content")
			}
			action = note.action
		}
		d, _ := json.Marshal(contentDetails{ContentType: item.ContentType, Title: capText(item.Title, 200),
			Revived: note.revived, HubEditOverwritten: note.overwritten})
		if err := insertSyncEvent(ctx, tx, SyncEventRow{IntegrationID: integrationID, ClientID: clientID, SyncRunID: runID,
			EventType: SyncEventContent, Action: action, Success: true, ContentID: out.ID, ExternalID: item.ExternalID,
			Details: d}); err != nil {
			return err
		}
		return countInRun(ctx, tx, integrationID, runID, action)
	})
	if err != nil {
		return "", ContentRow{}, fmt.Errorf("%s: %w", what, err)
	}
	return action, out, nil
}

// seenBy is the seen_run an update of a content row by run param sets: the run's when it is a
// sync run of the row's integration, else (a one-item sync has no sync_runs row) the row's
// own. A foreign id would make a full pass running meanwhile take a row it saw for unseen.
func seenBy(param string) string {
	return `CASE WHEN EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = ` + param +
		` AND r.integration_id = contents.integration_id) THEN ` + param + ` ELSE contents.seen_run END`
}

// lockContent reads an item by its key under a row lock.
func lockContent(ctx context.Context, tx *sqlx.Tx, integrationID, contentType, externalID string) (ContentRow, bool, error) {
	var row ContentRow
	err := tx.GetContext(ctx, &row, `SELECT `+contentColumns+` FROM contents
		WHERE integration_id = $1 AND content_type = $2 AND external_id = $3 AND external_id <> '' FOR UPDATE`,
		integrationID, contentType, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, translate(err, "reading content")
	}
	return row, true, nil
}

// countInRun adds one item with its action to a run's counts (none when runID is "").
func countInRun(ctx context.Context, tx *sqlx.Tx, integrationID, runID, action string) error {
	if runID == "" {
		return nil
	}
	var column string
	switch action {
	case SyncActionAdded:
		column = "added"
	case SyncActionUpdated:
		column = "updated"
	case SyncActionUnchanged:
		column = "unchanged"
	case SyncActionDeleted:
		column = "deleted"
	case SyncActionPushed:
		column = "pushed"
	default:
		return fmt.Errorf("counting %q in a sync run: no such count", action)
	}
	items := ""
	if action != SyncActionPushed && action != SyncActionDeleted {
		items = ", items = items + 1"
	}
	// column is one of the constants above, never input.
	_, err := tx.ExecContext(ctx, `UPDATE sync_runs SET `+column+` = `+column+` + 1`+items+`, updated_at = now()
		WHERE id = $1 AND integration_id = $2`, runID, integrationID)
	return translate(err, "counting in sync run")
}

// MarkContentDeleted marks one item deleted at the site (a 404 on a one-item pull), with a
// sync event; false when it was not live.
func (s *Store) MarkContentDeleted(ctx context.Context, integrationID, runID, contentType, externalID string) (bool, error) {
	var deleted bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			ID       string `db:"id"`
			ClientID string `db:"client_id"`
		}
		err := tx.GetContext(ctx, &row, `UPDATE contents SET deleted_at = now(), updated_at = now()
			WHERE integration_id = $1 AND content_type = $2 AND external_id = $3 AND external_id <> ''
				AND deleted_at IS NULL RETURNING id, client_id`, integrationID, contentType, externalID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return translate(err, "marking content deleted")
		}
		deleted = true
		d, _ := json.Marshal(contentDetails{ContentType: contentType, Reason: "not at the site"})
		if err := insertSyncEvent(ctx, tx, SyncEventRow{IntegrationID: integrationID, ClientID: row.ClientID,
			SyncRunID: runID, EventType: SyncEventContent, Action: SyncActionDeleted, Success: true, ContentID: row.ID,
			ExternalID: externalID, Details: d}); err != nil {
			return err
		}
		return countInRun(ctx, tx, integrationID, runID, SyncActionDeleted)
	})
	return deleted, err
}

// DirtyContents lists up to limit (1 to 1000; other values read 100) live items changed in the
// hub and not pushed, oldest change first.
func (s *Store) DirtyContents(ctx context.Context, integrationID string, limit int) ([]ContentRow, error) {
	if limit < 1 || limit > 1000 {
		limit = 100
	}
	out := []ContentRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+contentColumns+` FROM contents
		WHERE integration_id = $1 AND dirty AND deleted_at IS NULL ORDER BY updated_at, id LIMIT $2`, integrationID, limit)
	return out, translate(err, "listing dirty content")
}

// MarkPushed records that the site now holds a content row as pushed: item is the site's
// answer (its external id, the hash of what it stored, its URL and modification time), and
// pushedHash the row's content hash when the push was taken. The row stays dirty when it
// changed again since. It writes a "pushed" sync event and adds one to run runID's pushed
// count ("" for none), except on a repeat (the row already records this external id and
// site hash). As UpsertContent, it marks the row seen by runID only when that is a sync run
// of the row's integration.
func (s *Store) MarkPushed(ctx context.Context, contentID, runID string, item ContentItem, pushedHash string) error {
	const what = "marking content pushed"
	if item.ExternalID == "" || len(item.ExternalID) > maxKeyBytes || len(item.Hash) > maxKeyBytes ||
		len(item.URL) > maxKeyBytes {
		return fmt.Errorf("%s: the site's answer needs an external id: %w", what, ErrInvalidContent)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row ContentRow
		if err := tx.GetContext(ctx, &row, `SELECT `+contentColumns+` FROM contents WHERE id = $1 FOR UPDATE`,
			contentID); err != nil {
			return translate(err, what)
		}
		repeat := row.ExternalID == item.ExternalID && item.Hash != "" && row.SiteHash == item.Hash
		if _, err := tx.ExecContext(ctx, `UPDATE contents SET external_id = $2, site_hash = $3,
			url = COALESCE(NULLIF($4, ''), url), external_modified_at = COALESCE($5, external_modified_at),
			seen_run = `+seenBy("$6")+`, dirty = (content_hash <> $7), synced_at = now(),
			updated_at = now() WHERE id = $1`, contentID, item.ExternalID, item.Hash, item.URL,
			nullTime(item.ModifiedAt), runID, pushedHash); err != nil {
			return translate(err, what)
		}
		if repeat {
			return nil
		}
		d, _ := json.Marshal(contentDetails{ContentType: row.ContentType, Title: capText(row.Title, 200)})
		if err := insertSyncEvent(ctx, tx, SyncEventRow{IntegrationID: row.IntegrationID, ClientID: row.ClientID,
			SyncRunID: runID, EventType: SyncEventContent, Action: SyncActionPushed, Success: true, ContentID: row.ID,
			ExternalID: item.ExternalID, Details: d}); err != nil {
			return err
		}
		return countInRun(ctx, tx, row.IntegrationID, runID, SyncActionPushed)
	})
}

// CreateContent inserts content made in the hub: dirty, without an external id (whatever r
// says) until a push gives it one. An id is made ("cnt_" and a UUID) when r has none; the
// caller sets ContentHash (platform.SiteItem.Hash of the row's fields). ErrReference when the
// integration does not exist.
func (s *Store) CreateContent(ctx context.Context, r ContentRow) (ContentRow, error) {
	const what = "creating content"
	if r.ID == "" {
		r.ID = "cnt_" + uuid.NewString()
	}
	if r.ContentType == "" || len(r.ContentType) > maxKeyBytes || len(r.Title) > MaxContentTitleBytes ||
		len(r.Body) > MaxContentBodyBytes || len(r.URL) > maxKeyBytes || len(r.Status) > maxKeyBytes ||
		len(r.ContentHash) > maxKeyBytes {
		return ContentRow{}, fmt.Errorf("%s: a content type is required (title up to %d bytes, body up to %d): %w",
			what, MaxContentTitleBytes, MaxContentBodyBytes, ErrInvalidContent)
	}
	var out ContentRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO contents (id, integration_id, client_id, content_type, title, body,
		status, url, content_hash, dirty) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true) RETURNING `+contentColumns,
		r.ID, r.IntegrationID, r.ClientID, r.ContentType, r.Title, r.Body, r.Status, r.URL, r.ContentHash)
	return out, translate(err, what)
}

// GetContent reads one content row (deleted ones too).
func (s *Store) GetContent(ctx context.Context, id string) (ContentRow, error) {
	var out ContentRow
	err := s.db.GetContext(ctx, &out, `SELECT `+contentColumns+` FROM contents WHERE id = $1`, id)
	return out, translate(err, "reading content")
}

// UpdateContent lets change edit a content row under a row lock and writes back its title,
// body, status, URL and content hash (its integration, type and external id never change).
// The row becomes dirty (to be pushed) when change gave it another hash, or changed its
// title, body or status; the caller sets ContentHash to platform.SiteItem.Hash of the new
// fields.
func (s *Store) UpdateContent(ctx context.Context, id string, change func(*ContentRow) error) (ContentRow, error) {
	var out ContentRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row ContentRow
		if err := tx.GetContext(ctx, &row, `SELECT `+contentColumns+` FROM contents WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return translate(err, "reading content")
		}
		before := row
		if err := change(&row); err != nil {
			return err
		}
		if len(row.Title) > MaxContentTitleBytes || len(row.Body) > MaxContentBodyBytes || len(row.URL) > maxKeyBytes ||
			len(row.Status) > maxKeyBytes || len(row.ContentHash) > maxKeyBytes {
			return fmt.Errorf("content too large (title up to %d bytes, body up to %d): %w", MaxContentTitleBytes,
				MaxContentBodyBytes, ErrInvalidContent)
		}
		dirty := row.Dirty || row.ContentHash != before.ContentHash || row.Title != before.Title ||
			row.Body != before.Body || row.Status != before.Status
		err := tx.GetContext(ctx, &out, `UPDATE contents SET title = $2, body = $3, status = $4, url = $5,
			content_hash = $6, dirty = $7, updated_at = now() WHERE id = $1 RETURNING `+contentColumns,
			id, row.Title, row.Body, row.Status, row.URL, row.ContentHash, dirty)
		return translate(err, "updating content")
	})
	return out, err
}

// ListContents pages through an integration's live content, newest first. A cursor must name
// content of the integration (deleted since is fine: the page goes on after it).
func (s *Store) ListContents(ctx context.Context, integrationID string, page Page) ([]ContentRow, error) {
	const what = "listing content"
	out := []ContentRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+contentColumns+` FROM contents
		WHERE integration_id = $1 AND deleted_at IS NULL
		AND ($4 = '' OR (created_at, id) < (SELECT created_at, id FROM contents WHERE id = $4 AND integration_id = $1))
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, integrationID, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM contents
		WHERE id = $1 AND integration_id = $2)`, page.After, integrationID)
}

// --- sync events ------------------------------------------------------------------------------

// RecordSyncEvent appends one sync event (details {} when empty, the error text cut to 4 KiB);
// ErrReference when the integration does not exist.
func (s *Store) RecordSyncEvent(ctx context.Context, r SyncEventRow) error {
	return insertSyncEvent(ctx, s.db, r)
}

// RecordSyncFailure appends a failed sync event (an item the site refused, say) and, in the
// same transaction, adds one to the failed count of run r.SyncRunID when that is a sync run
// of the integration and the run has not counted that item's failure yet.
func (s *Store) RecordSyncFailure(ctx context.Context, r SyncEventRow) error {
	r.Success = false
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// An item refused again in the same run (a later chunk, or the chunk run again after a
		// pause, tries it anew) is logged again but counted once.
		var again bool
		if r.SyncRunID != "" && r.ContentID != "" {
			if err := tx.GetContext(ctx, &again, `SELECT EXISTS (SELECT 1 FROM sync_events WHERE sync_run_id = $1
				AND integration_id = $2 AND content_id = $3 AND action = $4 AND NOT success)`,
				r.SyncRunID, r.IntegrationID, r.ContentID, r.Action); err != nil {
				return translate(err, "reading the run's failures")
			}
		}
		if err := insertSyncEvent(ctx, tx, r); err != nil {
			return err
		}
		if r.SyncRunID == "" || again {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE sync_runs SET failed = failed + 1, updated_at = now()
			WHERE id = $1 AND integration_id = $2`, r.SyncRunID, r.IntegrationID)
		return translate(err, "counting a failure in sync run")
	})
}

func insertSyncEvent(ctx context.Context, db sqlx.ExecerContext, r SyncEventRow) error {
	if r.EventType == "" || r.Action == "" {
		return errors.New("recording sync event: event type and action are required")
	}
	if len(r.Details) > MaxSiteStructureBytes {
		return fmt.Errorf("recording sync event: details over %d bytes", MaxSiteStructureBytes)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO sync_events (integration_id, client_id, sync_run_id, event_type, action,
		success, content_id, external_id, details, error_message, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, r.IntegrationID, r.ClientID, r.SyncRunID, r.EventType,
		r.Action, r.Success, cleanText(r.ContentID), cleanText(r.ExternalID), storableJSON(jsonOrEmpty(r.Details)),
		capText(cleanText(r.ErrorMessage), maxErrorBytes), r.DurationMS)
	return translate(err, "recording sync event")
}

// storableJSON makes a JSON document storable as jsonb, which refuses the escaped NUL (\u0000)
// that a note or a site's text may carry: every string in it is cleaned as cleanText does.
// An event that cannot be written would be retried for ever by the workflow recording it.
func storableJSON(doc json.RawMessage) json.RawMessage {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return doc
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return doc
	}
	out, err := json.Marshal(cleanJSONStrings(v))
	if err != nil {
		return doc
	}
	return out
}

func cleanJSONStrings(v any) any {
	switch t := v.(type) {
	case string:
		return cleanText(t)
	case []any:
		for i := range t {
			t[i] = cleanJSONStrings(t[i])
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[cleanText(k)] = cleanJSONStrings(e)
		}
		return out
	}
	return v
}

// ListSyncEvents pages through an integration's sync events, newest first. A cursor must name
// an event of the integration.
func (s *Store) ListSyncEvents(ctx context.Context, integrationID string, page Page) ([]SyncEventRow, error) {
	const what = "listing sync events"
	after, err := serialCursor(what, page)
	if err != nil {
		return nil, err
	}
	out := []SyncEventRow{}
	err = s.db.SelectContext(ctx, &out, `SELECT `+syncEventColumns+` FROM sync_events WHERE integration_id = $1
		AND ($4 = 0 OR id < (SELECT id FROM sync_events WHERE id = $4 AND integration_id = $1))
		ORDER BY id DESC LIMIT $2 OFFSET $3`, integrationID, page.Limit, page.Offset, after)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM sync_events
		WHERE id = $1 AND integration_id = $2)`, after, integrationID)
}

// IntegrationSyncHealth gathers debug_status's numbers: the last 10 runs, the events of the
// last 24 hours, the last success, and the content counts.
func (s *Store) IntegrationSyncHealth(ctx context.Context, integrationID string) (SyncHealth, error) {
	var h SyncHealth
	h.LastRuns = []SyncRunRow{}
	if err := s.db.SelectContext(ctx, &h.LastRuns, `SELECT `+syncRunColumns+` FROM sync_runs WHERE integration_id = $1
		ORDER BY started_at DESC, id DESC LIMIT 10`, integrationID); err != nil {
		return h, translate(err, "reading sync runs")
	}
	var counts struct {
		Events        int        `db:"events"`
		Errors        int        `db:"errors"`
		LastSuccessAt *time.Time `db:"last_success_at"`
		Dirty         int        `db:"dirty"`
		Contents      int        `db:"contents"`
	}
	err := s.db.GetContext(ctx, &counts, `SELECT
		(SELECT count(*) FROM sync_events WHERE integration_id = $1 AND created_at > now() - interval '24 hours') AS events,
		(SELECT count(*) FROM sync_events WHERE integration_id = $1 AND created_at > now() - interval '24 hours'
			AND NOT success) AS errors,
		(SELECT max(finished_at) FROM sync_runs WHERE integration_id = $1 AND status = $2) AS last_success_at,
		(SELECT count(*) FROM contents WHERE integration_id = $1 AND dirty AND deleted_at IS NULL) AS dirty,
		(SELECT count(*) FROM contents WHERE integration_id = $1 AND deleted_at IS NULL) AS contents`,
		integrationID, transaction.SyncSuccess)
	if err != nil {
		return h, translate(err, "reading sync health")
	}
	h.Events, h.Errors, h.LastSuccessAt, h.Dirty, h.Contents = counts.Events, counts.Errors, counts.LastSuccessAt,
		counts.Dirty, counts.Contents
	return h, nil
}

// SetSiteStructure stores a site's structure in the integration's config (config.structure,
// replacing the one before; the rest of config is kept) and records a "structure_updated"
// sync event of run runID ("" for none). The structure must be a JSON object of at most
// 256 KiB.
func (s *Store) SetSiteStructure(ctx context.Context, integrationID, runID string, structure json.RawMessage) (IntegrationRow, error) {
	const what = "storing site structure"
	var probe map[string]json.RawMessage
	if len(structure) > MaxSiteStructureBytes || json.Unmarshal(structure, &probe) != nil || probe == nil {
		return IntegrationRow{}, fmt.Errorf("%s: the structure must be a JSON object of at most %d bytes: %w", what,
			MaxSiteStructureBytes, ErrInvalidContent)
	}
	var out IntegrationRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &out, `UPDATE integrations
			SET config = config || jsonb_build_object('structure', $2::jsonb), updated_at = now()
			WHERE id = $1 RETURNING `+integrationColumns, integrationID, []byte(structure)); err != nil {
			return translate(err, what)
		}
		d, _ := json.Marshal(map[string]json.RawMessage{"structure": structure})
		return insertSyncEvent(ctx, tx, SyncEventRow{IntegrationID: integrationID, ClientID: out.ClientID,
			SyncRunID: runID, EventType: SyncEventMetadata, Action: SyncActionStructureUpdated, Success: true, Details: d})
	})
	return out, err
}

// capText cuts s to at most n bytes on a character boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanText makes site text storable: PostgreSQL text holds neither NUL nor invalid UTF-8, and
// one such byte in one post must not fail a whole sync.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
