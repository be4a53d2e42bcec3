package schema

import (
	"context"
	"time"
)

// ConnectorCallStats are one operation's provider attempts with one outcome, for the
// connector status route: how many, and their latency.
type ConnectorCallStats struct {
	Operation string  `db:"operation"`
	Outcome   string  `db:"outcome"`
	Calls     int64   `db:"calls"`
	AvgMS     float64 `db:"avg_ms"`
	P95MS     float64 `db:"p95_ms"`
}

// ConnectorCalls sums a client's provider attempts through one issuer since a time, by
// operation and outcome: the client's operations since then (transactions, by client and time),
// joined to their attempts (provider_audit, by correlation id), so the cost follows the
// client's own traffic.
func (s *Store) ConnectorCalls(ctx context.Context, issuer, clientID string, since time.Time) ([]ConnectorCallStats, error) {
	out := []ConnectorCallStats{}
	err := s.db.SelectContext(ctx, &out, `SELECT a.operation, a.outcome, count(*) AS calls,
			avg(a.latency_ms) AS avg_ms,
			percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms) AS p95_ms
		FROM transactions t JOIN provider_audit a ON a.correlation_id = t.correlation_id AND a.issuer = $1
		WHERE t.client_id = $2 AND t.created_at >= $3 AND t.kind = 'operation' AND t.channel_name = $1
		GROUP BY a.operation, a.outcome ORDER BY a.operation, a.outcome`, issuer, clientID, since)
	return out, translate(err, "reading connector calls")
}

// ConnectorOutcomes counts a client's operations through one issuer since a time by status
// (the transaction log).
func (s *Store) ConnectorOutcomes(ctx context.Context, issuer, clientID string, since time.Time) (map[string]int64, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM transactions
		WHERE client_id = $1 AND kind = 'operation' AND channel_name = $2 AND created_at >= $3
		GROUP BY status`, clientID, issuer, since)
	if err != nil {
		return nil, translate(err, "reading connector outcomes")
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// LastPlatformSync is when a client's last successful sync of an integration on platform
// finished; nil when none has.
func (s *Store) LastPlatformSync(ctx context.Context, clientID, platform string) (*time.Time, error) {
	var at *time.Time
	err := s.db.GetContext(ctx, &at, `SELECT max(r.finished_at) FROM sync_runs r
		JOIN integrations i ON i.id = r.integration_id
		WHERE i.client_id = $1 AND i.platform = $2 AND r.status = 'SUCCESS'`, clientID, platform)
	if err != nil {
		return nil, translate(err, "reading the last sync")
	}
	return at, nil
}

// IntegrationOnPlatform finds a client's integration on a platform that has no site (the
// connectors' own: one per client); ErrNotFound when there is none.
func (s *Store) IntegrationOnPlatform(ctx context.Context, clientID, platform string) (IntegrationRow, error) {
	var out IntegrationRow
	err := s.db.GetContext(ctx, &out, `SELECT `+integrationColumns+` FROM integrations
		WHERE client_id = $1 AND platform = $2 AND site_id IS NULL ORDER BY created_at, id LIMIT 1`, clientID, platform)
	return out, translate(err, "reading the connector's integration")
}
