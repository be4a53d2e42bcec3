package schema

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migration files.
func Migrations() fs.FS { return migrations }

// Migrate applies every pending migration. It is idempotent and safe to run from several
// processes at once: a PostgreSQL advisory lock serialises them.
func Migrate(ctx context.Context, db *sql.DB) (applied int, err error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	return ApplyMigrations(ctx, db, sub, "")
}

// ApplyMigrations applies the goose migrations in fsys that db lacks, under a PostgreSQL
// advisory lock, recording them in table (goose's default table when empty). The simulators
// apply theirs with it, in a table of their own.
func ApplyMigrations(ctx context.Context, db *sql.DB, fsys fs.FS, table string) (applied int, err error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return 0, fmt.Errorf("creating migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if table != "" {
		opts = append(opts, goose.WithTableName(table))
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("loading migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("applying migrations: %w", err)
	}
	return len(results), nil
}
