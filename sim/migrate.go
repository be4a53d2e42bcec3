package sim

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/switchyard-hub/switchyard/schema"
)

// VersionTable is where goose records the simulators' migrations, apart from the hub's.
const VersionTable = "sim_goose_db_version"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the simulators' tables. `switchyard sim`, `seed` and `dev` run it
// (the hub's `migrate` does not: the hub never reads these tables). It is idempotent and safe
// to run from several processes at once: a PostgreSQL advisory lock serialises them.
func Migrate(ctx context.Context, db *sql.DB) (applied int, err error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	applied, err = schema.ApplyMigrations(ctx, db, sub, VersionTable)
	if err != nil {
		return 0, fmt.Errorf("the simulators' tables: %w", err)
	}
	return applied, nil
}
