package sim

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema/pgtest"
)

// Two databases migrated with the hub's migrations, as a hub's are: one fresh, one shaped like
// a development database from before the simulators owned their tables.
var freshURL, legacyURL string

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := pgtest.StartServer(ctx)
	if err == nil {
		freshURL, err = srv.NewDatabase(ctx)
	}
	if err == nil {
		legacyURL, err = srv.NewDatabase(ctx)
	}
	cancel()
	if err != nil {
		os.Stderr.WriteString("sim: PostgreSQL is required for these tests: " + err.Error() + "\n")
		if srv != nil {
			_ = srv.Close()
		}
		os.Exit(1)
	}
	code := m.Run()
	_ = srv.Close()
	os.Exit(code)
}

func open(t *testing.T, url string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrationsOnAFreshDatabase(t *testing.T) {
	db := open(t, freshURL)
	var n int
	require.NoError(t, db.Get(&n, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sim\_%'`))
	require.Zero(t, n, "the hub's migrations create no simulator table")

	applied, err := Migrate(context.Background(), db.DB)
	require.NoError(t, err)
	require.Equal(t, 1, applied)
	again, err := Migrate(context.Background(), db.DB)
	require.NoError(t, err)
	require.Zero(t, again, "idempotent")
	require.NoError(t, db.Get(&n, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sim\_%' AND tablename <> $1`,
		VersionTable))
	require.Equal(t, 6, n)
}

func TestMigrationsKeepADevDatabasesTables(t *testing.T) {
	db := open(t, legacyURL)
	// What the hub's migrations 3 and 4 created before the simulators owned their tables.
	_, err := db.Exec(`CREATE TABLE sim_banks (bank_code text PRIMARY KEY, name text NOT NULL, swift_code text NOT NULL);
		INSERT INTO sim_banks VALUES ('SWYD', 'Switchyard Demo Bank', 'SWYDTZTZ');
		CREATE TABLE sim_iso_transfers (terminal_id text NOT NULL, rrn text NOT NULL, stan integer NOT NULL,
			from_account text NOT NULL, to_account text NOT NULL, amount numeric(18, 2) NOT NULL,
			response_code text NOT NULL, auth_code text NOT NULL DEFAULT '', status text NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now(), reversed_at timestamptz, PRIMARY KEY (terminal_id, rrn))`)
	require.NoError(t, err)
	_, err = Migrate(context.Background(), db.DB)
	require.NoError(t, err)
	banks, err := NewStore(db).Banks(context.Background())
	require.NoError(t, err)
	require.Equal(t, []BankRow{{BankCode: "SWYD", Name: "Switchyard Demo Bank", SwiftCode: "SWYDTZTZ"}}, banks,
		"the rows are kept")
}

func TestStoreLedger(t *testing.T) {
	db := open(t, freshURL)
	_, err := Migrate(context.Background(), db.DB)
	require.NoError(t, err)
	store := NewStore(db)
	ctx := context.Background()
	has, err := store.HasData(ctx)
	require.NoError(t, err)
	if !has {
		require.NoError(t, store.Replace(ctx, GenerateData(8583, 10, time.Now())))
	}
	var accounts []string
	require.NoError(t, db.Select(&accounts, `SELECT account_number FROM sim_accounts WHERE bank_code = $1
		AND status = 'active' AND available_balance > 1000 ORDER BY account_number LIMIT 2`, HomeBank))
	require.Len(t, accounts, 2)
	from, to := accounts[0], accounts[1]
	ledger := StoreLedger{Store: store}
	before, err := ledger.Account(ctx, from)
	require.NoError(t, err)

	t.Run("a transfer is posted once per terminal and RRN", func(t *testing.T) {
		req := TransferRequest{TerminalID: "TERM0001", RRN: "000000000001", STAN: 1, From: from, To: to, Amount: 10_00}
		first, err := ledger.Transfer(ctx, req)
		require.NoError(t, err)
		require.Equal(t, TransferOutcome{ResponseCode: "00", AuthCode: AuthCodeFor(req.RRN)}, first)
		again, err := ledger.Transfer(ctx, req)
		require.NoError(t, err)
		require.Equal(t, first, again)
		after, _ := ledger.Account(ctx, from)
		require.Equal(t, before.Ledger-10_00, after.Ledger)
	})

	t.Run("a reversal restores the balances once", func(t *testing.T) {
		for _, want := range []bool{true, false} {
			reversed, err := ledger.Reverse(ctx, "TERM0001", "000000000001")
			require.NoError(t, err)
			require.Equal(t, want, reversed)
		}
		after, _ := ledger.Account(ctx, from)
		require.Equal(t, before.Ledger, after.Ledger)
	})

	t.Run("unknown accounts", func(t *testing.T) {
		_, err := ledger.Account(ctx, "099999999999")
		require.ErrorIs(t, err, ErrAccountNotFound)
		out, err := ledger.Transfer(ctx, TransferRequest{TerminalID: "TERM0001", RRN: "000000000002", STAN: 2,
			From: from, To: "099999999999", Amount: 1})
		require.NoError(t, err)
		require.Equal(t, "14", out.ResponseCode)
	})

	t.Run("the report export", func(t *testing.T) {
		var rows [][]string
		require.NoError(t, store.Export(ctx, "accounts", 2, func(row []string) error {
			rows = append(rows, row)
			return nil
		}))
		require.Len(t, rows, 3, "a header and two rows")
		require.Equal(t, "account_number", rows[0][0])
	})
}
