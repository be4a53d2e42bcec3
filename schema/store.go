// Package schema owns Switchyard's PostgreSQL schema: the embedded migrations, the row types and
// the sqlx store every other package reads and writes through.
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Sentinel errors returned by the store. Callers test them with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row with the same natural key already exists.
	ErrConflict = errors.New("already exists")
	// ErrReference means the row points at another row that does not exist.
	ErrReference = errors.New("referenced row does not exist")
	// ErrRefused means PostgreSQL refused the values themselves (a data exception such as a NUL
	// byte or invalid UTF-8, a check or not-null violation): writing them again cannot succeed.
	ErrRefused = errors.New("the database refused the values")
)

// Config says where the database is and how many connections to keep.
type Config struct {
	URL          string        `envconfig:"DATABASE_URL"`
	MaxOpenConns int           `envconfig:"DATABASE_MAX_OPEN_CONNS" default:"20"`
	MaxIdleConns int           `envconfig:"DATABASE_MAX_IDLE_CONNS" default:"20"`
	ConnMaxIdle  time.Duration `envconfig:"DATABASE_CONN_MAX_IDLE" default:"5m"`
}

// Store is the sqlx-backed data access for every table.
type Store struct {
	db *sqlx.DB
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	db, err := sqlx.Open("postgres", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdle)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	return &Store{db: db}, nil
}

// DB exposes the underlying handle for migrations and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close releases the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers; /ready uses it.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// translate maps driver errors onto the package's sentinels so callers never see pq types.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: %w", what, ErrReference)
		case "23502", "23514": // not_null_violation, check_violation
			return fmt.Errorf("%s: %w: %s", what, ErrRefused, pqErr.Message)
		}
		if pqErr.Code.Class() == "22" { // data exception
			return fmt.Errorf("%s: %w: %s", what, ErrRefused, pqErr.Message)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// inTx runs fn in a transaction of the store's, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return InTx(ctx, s.db, fn)
}

// InTx runs fn in a transaction on db, committing when it returns nil and rolling back
// otherwise. The simulators' store uses it too.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// RedactURL returns a database URL with its password masked, for logs and banners.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable database URL)"
	}
	return u.Redacted()
}
