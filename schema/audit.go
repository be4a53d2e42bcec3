package schema

import (
	"context"
	"database/sql"
	"time"
)

// Provider call outcomes, as the audit records them.
const (
	AuditOK          = "ok"           // a 2xx answer
	AuditClientError = "client_error" // a 4xx answer: a result
	AuditRetryable   = "retryable"    // 429 or 5xx
	AuditTimeout     = "timeout"
	AuditUnreachable = "unreachable"  // nothing was sent
	AuditFailed      = "failed"       // the connection broke after sending
	AuditBreakerOpen = "breaker_open" // refused by the circuit breaker: nothing was sent
	AuditRejected    = "rejected"     // refused before sending (missing auth headers)
)

// ProviderAuditRow is one attempt to call a provider. It never holds credentials, tokens or
// full account numbers.
type ProviderAuditRow struct {
	ID            int64          `db:"id"`
	CorrelationID sql.NullString `db:"correlation_id"`
	Issuer        string         `db:"issuer"`
	Operation     string         `db:"operation"`
	Method        string         `db:"method"`
	Host          string         `db:"host"`
	Path          string         `db:"path"`
	Status        sql.NullInt32  `db:"status"`
	Outcome       string         `db:"outcome"`
	LatencyMS     float64        `db:"latency_ms"`
	Attempt       int            `db:"attempt"`
	CreatedAt     time.Time      `db:"created_at"`
}

// InsertProviderAudit records one provider attempt.
func (s *Store) InsertProviderAudit(ctx context.Context, r ProviderAuditRow) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO provider_audit (correlation_id, issuer, operation, method, host, path,
		status, outcome, latency_ms, attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.CorrelationID, r.Issuer, r.Operation, r.Method, r.Host, r.Path, r.Status, r.Outcome, r.LatencyMS, r.Attempt)
	return translate(err, "recording provider audit")
}

const providerAuditColumns = `id, correlation_id, issuer, operation, method, host, path, status, outcome,
	latency_ms, attempt, created_at`

// ProviderAuditFor lists the attempts of one correlation id, oldest first.
func (s *Store) ProviderAuditFor(ctx context.Context, correlationID string) ([]ProviderAuditRow, error) {
	out := []ProviderAuditRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+providerAuditColumns+` FROM provider_audit
		WHERE correlation_id = $1 ORDER BY id`, correlationID)
	return out, translate(err, "reading provider audit")
}

// ListProviderAudit pages through the attempts of one correlation id, oldest first; a cursor
// must name an attempt of the same correlation id.
func (s *Store) ListProviderAudit(ctx context.Context, correlationID string, page Page) ([]ProviderAuditRow, error) {
	const what = "listing provider audit"
	after, err := serialCursor(what, page)
	if err != nil {
		return nil, err
	}
	out := []ProviderAuditRow{}
	err = s.db.SelectContext(ctx, &out, `SELECT `+providerAuditColumns+` FROM provider_audit
		WHERE correlation_id = $1
		AND ($4 = 0 OR id > (SELECT id FROM provider_audit WHERE id = $4 AND correlation_id = $1))
		ORDER BY id LIMIT $2 OFFSET $3`, correlationID, page.Limit, page.Offset, after)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM provider_audit
		WHERE id = $1 AND correlation_id = $2)`, after, correlationID)
}
