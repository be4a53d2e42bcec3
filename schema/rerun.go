package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// RerunFilter selects the transactions of a bulk rerun. Empty fields match everything; the
// set is further bounded by the task's creation time, so reruns never rerun themselves.
type RerunFilter struct {
	Status    []string   `json:"status,omitempty"`
	ClientID  string     `json:"client_id,omitempty"`
	ChannelID string     `json:"channel_id,omitempty"`
	From      *time.Time `json:"from,omitempty"` // created_at at or after
	To        *time.Time `json:"to,omitempty"`   // created_at before
	// IDs names transactions outright. Without IDs only proxied transactions match; with them,
	// any named transaction matches (and one that cannot be rerun is counted skipped).
	IDs []string `json:"ids,omitempty"`
}

// Value implements driver.Valuer (jsonb).
func (f RerunFilter) Value() (driver.Value, error) { return json.Marshal(f) }

// Scan implements sql.Scanner.
func (f *RerunFilter) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		return json.Unmarshal(v, f)
	case string:
		return json.Unmarshal([]byte(v), f)
	}
	return fmt.Errorf("scanning rerun filter from %T", src)
}

// RerunCounts are a rerun task's progress: Done transactions handled, of which Started were
// rerun, Skipped could not be (not proxied, not finished) and Failed could not be started.
type RerunCounts struct {
	Total   int `db:"total" json:"total"`
	Done    int `db:"done" json:"done"`
	Started int `db:"started" json:"started"`
	Skipped int `db:"skipped" json:"skipped"`
	Failed  int `db:"failed" json:"failed"`
}

// RerunTaskRow is one bulk rerun.
type RerunTaskRow struct {
	ID         string      `db:"id"`
	WorkflowID string      `db:"workflow_id"`
	Filter     RerunFilter `db:"filter"`
	Rate       float64     `db:"rate"`
	MaxItems   int         `db:"max_items"`
	Status     string      `db:"status"`
	RerunCounts
	Note        string       `db:"note"`
	CreatedBy   string       `db:"created_by"`
	CreatedAt   time.Time    `db:"created_at"`
	UpdatedAt   time.Time    `db:"updated_at"`
	CompletedAt sql.NullTime `db:"completed_at"`
}

// PageKey is the row's id.
func (r RerunTaskRow) PageKey() string { return r.ID }

const rerunTaskColumns = `id, workflow_id, filter, rate, max_items, status, total, done, started, skipped, failed,
	note, created_by, created_at, updated_at, completed_at`

// RerunCandidate is one transaction of a rerun task's set, with its place in the set's order.
type RerunCandidate struct {
	CorrelationID string    `db:"correlation_id" json:"correlation_id"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
}

// rerunWhere matches a filter ($1 status, $2 client, $3 channel, $4 from, $5 to, $6 ids) among
// the transactions of the task's time $7: by filter, the proxied ones finished by then (a row
// is written when its transaction finishes or first waits, with its arrival time as
// created_at, so created_at alone would let in one still in flight at $7); by ids, those
// created by then (the unfinished ones counted skipped).
const rerunWhere = `(cardinality($1::text[]) = 0 OR status = ANY($1::text[]))
	AND ($2 = '' OR client_id = $2)
	AND ($3 = '' OR channel_id = NULLIF($3, '')::uuid)
	AND ($4::timestamptz IS NULL OR created_at >= $4)
	AND ($5::timestamptz IS NULL OR created_at < $5)
	AND (CASE WHEN cardinality($6::text[]) = 0 THEN kind = 'proxy' AND completed_at <= $7
		ELSE correlation_id = ANY($6::text[]::uuid[]) AND created_at <= $7 END)`

func rerunArgs(f RerunFilter, before time.Time) []any {
	return []any{pq.StringArray(nonNil(f.Status)), f.ClientID, f.ChannelID, f.From, f.To, pq.StringArray(nonNil(f.IDs)),
		before}
}

// CreateRerunTask records a new rerun task (status running) and counts its set: the matching
// transactions created up to the task, at most its max_items.
func (s *Store) CreateRerunTask(ctx context.Context, t RerunTaskRow) (RerunTaskRow, error) {
	var out RerunTaskRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &out, `INSERT INTO rerun_tasks (id, workflow_id, filter, rate, max_items, status,
			created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+rerunTaskColumns,
			t.ID, t.WorkflowID, t.Filter, t.Rate, t.MaxItems, t.Status, t.CreatedBy); err != nil {
			return translate(err, "recording rerun task")
		}
		args := append(rerunArgs(out.Filter, out.CreatedAt), out.MaxItems)
		if err := tx.GetContext(ctx, &out.Total, `SELECT count(*) FROM (SELECT 1 FROM transactions WHERE `+rerunWhere+
			` LIMIT $8) matched`, args...); err != nil {
			return translate(err, "counting rerun candidates")
		}
		_, err := tx.ExecContext(ctx, `UPDATE rerun_tasks SET total = $2 WHERE id = $1`, out.ID, out.Total)
		return translate(err, "recording rerun task")
	})
	return out, err
}

// RerunCandidates reads up to limit transactions of a task's set that follow after (the
// zero value: from the start), in (created_at, correlation_id) order.
func (s *Store) RerunCandidates(ctx context.Context, f RerunFilter, before time.Time, after RerunCandidate,
	limit int) ([]RerunCandidate, error) {
	var afterAt *time.Time
	if !after.CreatedAt.IsZero() {
		afterAt = &after.CreatedAt
	}
	out := []RerunCandidate{}
	args := append(rerunArgs(f, before), afterAt, after.CorrelationID, limit)
	err := s.db.SelectContext(ctx, &out, `SELECT correlation_id, created_at FROM transactions WHERE `+rerunWhere+`
		AND ($8::timestamptz IS NULL OR (created_at, correlation_id) > ($8, NULLIF($9, '')::uuid))
		ORDER BY created_at, correlation_id LIMIT $10`, args...)
	return out, translate(err, "listing rerun candidates")
}

// GetRerunTask reads one rerun task.
func (s *Store) GetRerunTask(ctx context.Context, id string) (RerunTaskRow, error) {
	var out RerunTaskRow
	err := s.db.GetContext(ctx, &out, `SELECT `+rerunTaskColumns+` FROM rerun_tasks WHERE id = $1`, id)
	return out, translate(err, "reading rerun task")
}

// ListRerunTasks pages through rerun tasks, newest first.
func (s *Store) ListRerunTasks(ctx context.Context, page Page) ([]RerunTaskRow, error) {
	const what = "listing rerun tasks"
	if err := uuidCursor(what, page); err != nil {
		return nil, err
	}
	out := []RerunTaskRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+rerunTaskColumns+` FROM rerun_tasks
		WHERE ($3 = '' OR (created_at, id) < (SELECT created_at, id FROM rerun_tasks WHERE id = NULLIF($3, '')::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out),
		`SELECT EXISTS (SELECT 1 FROM rerun_tasks WHERE id = $1::uuid)`, page.After)
}

// SaveRerunProgress writes a rerun task's status and counts; final marks it completed_at.
// The total stays as counted at the start.
func (s *Store) SaveRerunProgress(ctx context.Context, id, status string, c RerunCounts, note string, final bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE rerun_tasks SET status = $2, done = $3, started = $4, skipped = $5,
		failed = $6, note = $7, updated_at = now(), completed_at = CASE WHEN $8 THEN now() ELSE NULL END
		WHERE id = $1`, id, status, c.Done, c.Started, c.Skipped, c.Failed, note, final)
	if err != nil {
		return translate(err, "saving rerun progress")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("saving rerun progress of %s: %w", id, ErrNotFound)
	}
	return nil
}

// ChannelRelaysESB reports whether a channel has active National ESB registrations: its
// transactions were relayed for an organization the log does not keep.
func (s *Store) ChannelRelaysESB(ctx context.Context, channelID string) (bool, error) {
	var relays bool
	err := s.db.GetContext(ctx, &relays, `SELECT EXISTS (SELECT 1 FROM external_system_registrations
		WHERE channel_id = $1 AND is_active)`, channelID)
	return relays, translate(err, "reading the channel's ESB registrations")
}

// AutoRetry is a transaction's channel's auto_retry and how many parents the transaction has.
type AutoRetry struct {
	IntervalMS int `db:"auto_retry_interval_ms"`
	Max        int `db:"auto_retry_max"`
	Depth      int `db:"depth"`
}

// AutoRetryOf reads the auto_retry of a transaction's channel (Max 0 when the channel has none,
// or the transaction no channel) and, when it is on, the length of its chain of parents.
func (s *Store) AutoRetryOf(ctx context.Context, correlationID string) (AutoRetry, error) {
	var out AutoRetry
	err := s.db.GetContext(ctx, &out, `SELECT c.auto_retry_interval_ms, c.auto_retry_max, 0 AS depth
		FROM transactions t JOIN channels c ON c.id = t.channel_id WHERE t.correlation_id = $1`, correlationID)
	if err != nil {
		if err == sql.ErrNoRows {
			return AutoRetry{}, nil
		}
		return out, translate(err, "reading the channel's auto_retry")
	}
	if out.Max == 0 {
		return out, nil
	}
	// Bounded at max+1 parents: that is all the caller compares.
	err = s.db.GetContext(ctx, &out.Depth, `WITH RECURSIVE chain (parent_id, depth) AS (
			SELECT parent_id, 0 FROM transactions WHERE correlation_id = $1
			UNION ALL
			SELECT t.parent_id, c.depth + 1 FROM transactions t JOIN chain c ON t.correlation_id = c.parent_id
			WHERE c.depth <= $2)
		SELECT max(depth) FROM chain`, correlationID, out.Max)
	return out, translate(err, "reading the transaction's chain")
}
