package sim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/switchyard-hub/switchyard/schema"
)

// ErrNotFound means the simulators hold no such row.
var ErrNotFound = errors.New("not found")

// Store is the simulators' own tables (sim_*, created by sim's migrations), on sqlx. The
// simulators share the hub's database but nothing in the hub reads these tables.
type Store struct {
	db *sqlx.DB
}

// NewStore uses db, an open handle on a database migrated with Migrate.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// translate maps driver errors onto ErrNotFound, so callers never see sql or pq types.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return schema.InTx(ctx, s.db, fn)
}

// BankRow is a bank in the simulated bank dictionary.
type BankRow struct {
	BankCode  string `db:"bank_code"`
	Name      string `db:"name"`
	SwiftCode string `db:"swift_code"`
}

// CustomerRow is a customer of the simulated core banking system.
type CustomerRow struct {
	CustomerID string    `db:"customer_id"`
	FullName   string    `db:"full_name"`
	Phone      string    `db:"phone"`
	Email      string    `db:"email"`
	NationalID string    `db:"national_id"`
	KYCStatus  string    `db:"kyc_status"`
	CreatedAt  time.Time `db:"created_at"`
}

// AccountRow is an account of the simulated core banking system (or of another simulated
// bank, for interbank name lookups). Amounts are decimal strings.
type AccountRow struct {
	AccountNumber    string    `db:"account_number"`
	BankCode         string    `db:"bank_code"`
	CustomerID       *string   `db:"customer_id"`
	AccountName      string    `db:"account_name"`
	Currency         string    `db:"currency"`
	Balance          string    `db:"balance"`
	AvailableBalance string    `db:"available_balance"`
	Status           string    `db:"status"`
	Product          string    `db:"product"`
	Branch           string    `db:"branch"`
	OpenedAt         time.Time `db:"opened_at"`
	UpdatedAt        time.Time `db:"updated_at"`
}

// TransactionRow is a posted entry on a simulated account.
type TransactionRow struct {
	ID            int64     `db:"id"`
	AccountNumber string    `db:"account_number"`
	Reference     string    `db:"reference"`
	Direction     string    `db:"direction"`
	Amount        string    `db:"amount"`
	BalanceAfter  string    `db:"balance_after"`
	Narration     string    `db:"narration"`
	PostedAt      time.Time `db:"posted_at"`
}

// BillerRow is a biller with its packages (JSON array of {code, name, amount, currency}).
type BillerRow struct {
	BillerID string          `db:"biller_id"`
	Category string          `db:"category"`
	Name     string          `db:"name"`
	Packages json.RawMessage `db:"packages"`
}

// Data is a complete simulator data set.
type Data struct {
	Banks        []BankRow
	Customers    []CustomerRow
	Accounts     []AccountRow
	Transactions []TransactionRow
	Billers      []BillerRow
}

// CustomerFilter selects customers; empty fields match everything, Name matches a part.
type CustomerFilter struct {
	CustomerID string
	Phone      string
	NationalID string
	Name       string
}

// HasData reports whether the simulator tables hold data.
func (s *Store) HasData(ctx context.Context) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM sim_customers`)
	return n > 0, translate(err, "counting simulator customers")
}

// Replace replaces every simulator table's content with d, in one transaction.
func (s *Store) Replace(ctx context.Context, d Data) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `TRUNCATE sim_transactions, sim_accounts, sim_customers, sim_banks, sim_billers`); err != nil {
			return translate(err, "clearing simulator tables")
		}
		copies := []struct {
			table string
			cols  []string
			rows  func(yield func(...any) error) error
		}{
			{"sim_banks", []string{"bank_code", "name", "swift_code"}, func(y func(...any) error) error {
				for _, r := range d.Banks {
					if err := y(r.BankCode, r.Name, r.SwiftCode); err != nil {
						return err
					}
				}
				return nil
			}},
			{"sim_customers", []string{"customer_id", "full_name", "phone", "email", "national_id", "kyc_status", "created_at"},
				func(y func(...any) error) error {
					for _, r := range d.Customers {
						if err := y(r.CustomerID, r.FullName, r.Phone, r.Email, r.NationalID, r.KYCStatus, r.CreatedAt); err != nil {
							return err
						}
					}
					return nil
				}},
			{"sim_accounts", []string{"account_number", "bank_code", "customer_id", "account_name", "currency", "balance",
				"available_balance", "status", "product", "branch", "opened_at"}, func(y func(...any) error) error {
				for _, r := range d.Accounts {
					if err := y(r.AccountNumber, r.BankCode, r.CustomerID, r.AccountName, r.Currency, r.Balance,
						r.AvailableBalance, r.Status, r.Product, r.Branch, r.OpenedAt); err != nil {
						return err
					}
				}
				return nil
			}},
			{"sim_transactions", []string{"account_number", "reference", "direction", "amount", "balance_after",
				"narration", "posted_at"}, func(y func(...any) error) error {
				for _, r := range d.Transactions {
					if err := y(r.AccountNumber, r.Reference, r.Direction, r.Amount, r.BalanceAfter, r.Narration,
						r.PostedAt); err != nil {
						return err
					}
				}
				return nil
			}},
			{"sim_billers", []string{"biller_id", "category", "name", "packages"}, func(y func(...any) error) error {
				for _, r := range d.Billers {
					if err := y(r.BillerID, r.Category, r.Name, string(r.Packages)); err != nil {
						return err
					}
				}
				return nil
			}},
		}
		for _, c := range copies {
			stmt, err := tx.PrepareContext(ctx, pq.CopyIn(c.table, c.cols...))
			if err != nil {
				return translate(err, "copying into "+c.table)
			}
			err = c.rows(func(v ...any) error { _, err := stmt.ExecContext(ctx, v...); return err })
			if err == nil {
				_, err = stmt.ExecContext(ctx)
			}
			if cerr := stmt.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return translate(err, "copying into "+c.table)
			}
		}
		return nil
	})
}

// SearchCustomers finds up to limit customers.
func (s *Store) SearchCustomers(ctx context.Context, f CustomerFilter, limit int) ([]CustomerRow, error) {
	out := []CustomerRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT customer_id, full_name, phone, email, national_id, kyc_status, created_at
		FROM sim_customers WHERE ($1 = '' OR customer_id = $1) AND ($2 = '' OR phone = $2)
		AND ($3 = '' OR national_id = $3) AND ($4 = '' OR full_name ILIKE '%' || $4 || '%')
		ORDER BY customer_id LIMIT $5`, f.CustomerID, f.Phone, f.NationalID, f.Name, limit)
	return out, translate(err, "searching simulator customers")
}

const accountColumns = `account_number, bank_code, customer_id, account_name, currency, balance::text AS balance,
	available_balance::text AS available_balance, status, product, branch, opened_at, updated_at`

// AccountsOf lists a customer's accounts.
func (s *Store) AccountsOf(ctx context.Context, customerID string) ([]AccountRow, error) {
	out := []AccountRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+accountColumns+` FROM sim_accounts WHERE customer_id = $1
		ORDER BY account_number`, customerID)
	return out, translate(err, "listing simulator accounts")
}

// SimAccount reads one account at a bank.
func (s *Store) Account(ctx context.Context, bankCode, accountNumber string) (AccountRow, error) {
	var out AccountRow
	err := s.db.GetContext(ctx, &out, `SELECT `+accountColumns+` FROM sim_accounts
		WHERE account_number = $1 AND bank_code = $2`, accountNumber, bankCode)
	return out, translate(err, "reading simulator account")
}

// Statement lists an account's latest entries, newest first.
func (s *Store) Statement(ctx context.Context, accountNumber string, limit int) ([]TransactionRow, error) {
	out := []TransactionRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, account_number, reference, direction, amount::text AS amount,
		balance_after::text AS balance_after, narration, posted_at FROM sim_transactions WHERE account_number = $1
		ORDER BY posted_at DESC, id DESC LIMIT $2`, accountNumber, limit)
	return out, translate(err, "reading simulator statement")
}

// Banks lists the bank dictionary.
func (s *Store) Banks(ctx context.Context) ([]BankRow, error) {
	out := []BankRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT bank_code, name, swift_code FROM sim_banks ORDER BY bank_code`)
	return out, translate(err, "listing simulator banks")
}

// Billers lists billers, of one category when category is not empty.
func (s *Store) Billers(ctx context.Context, category string) ([]BillerRow, error) {
	out := []BillerRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT biller_id, category, name, packages FROM sim_billers
		WHERE ($1 = '' OR category = $1) ORDER BY category, biller_id`, category)
	return out, translate(err, "listing simulator billers")
}

// SimBiller reads one biller.
func (s *Store) Biller(ctx context.Context, billerID string) (BillerRow, error) {
	var out BillerRow
	err := s.db.GetContext(ctx, &out, `SELECT biller_id, category, name, packages FROM sim_billers WHERE biller_id = $1`,
		billerID)
	return out, translate(err, "reading simulator biller")
}

// Export streams a simulator table for the CBS report: rows of strings, header first.
func (s *Store) Export(ctx context.Context, report string, limit int, emit func(row []string) error) error {
	var query string
	switch report {
	case "customers":
		query = `SELECT customer_id, full_name, phone, email, kyc_status, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SSOF') AS created_at
			FROM sim_customers ORDER BY customer_id LIMIT $1`
	case "accounts":
		query = `SELECT account_number, bank_code, coalesce(customer_id, '') AS customer_id, account_name, currency,
			balance::text AS balance, available_balance::text AS available_balance, status, product, branch FROM sim_accounts ORDER BY account_number LIMIT $1`
	default:
		query = `SELECT reference, account_number, direction, amount::text AS amount,
			balance_after::text AS balance_after, narration, to_char(posted_at, 'YYYY-MM-DD"T"HH24:MI:SSOF') AS posted_at
			FROM sim_transactions ORDER BY posted_at DESC, id DESC LIMIT $1`
	}
	rows, err := s.db.QueryContext(ctx, query, limit)
	if err != nil {
		return translate(err, "exporting simulator "+report)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if err := emit(cols); err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return translate(err, "exporting simulator "+report)
		}
		if err := emit(vals); err != nil {
			return err
		}
	}
	return translate(rows.Err(), "exporting simulator "+report)
}

// Balance is a simulated account's balances in minor units.
type Balance struct {
	Number    string `db:"account_number"`
	Currency  string `db:"currency"`
	Ledger    int64  `db:"ledger"`
	Available int64  `db:"available"`
	Status    string `db:"status"`
}

const balanceSelect = `SELECT account_number, currency, round(balance * 100)::bigint AS ledger,
	round(available_balance * 100)::bigint AS available, status FROM sim_accounts`

// BalanceOf reads one account of the simulated bank.
func (s *Store) BalanceOf(ctx context.Context, bankCode, number string) (Balance, error) {
	var b Balance
	err := s.db.GetContext(ctx, &b, balanceSelect+` WHERE bank_code = $1 AND account_number = $2`, bankCode, number)
	return b, translate(err, "reading simulator balance")
}

// Posting is a transfer the switch simulator posts.
type Posting struct {
	TerminalID string
	RRN        string
	STAN       int64
	BankCode   string
	From, To   string
	Amount     int64 // minor units
	AuthCode   string
}

// PostTransfer posts a transfer once per terminal and RRN: a repeat returns the first
// response code and auth code and posts nothing. decide chooses the response code from the
// two accounts (nil when unknown), read under row locks; "00" moves the money and writes a
// statement entry on each account.
func (s *Store) PostTransfer(ctx context.Context, t Posting, decide func(from, to *Balance) string) (code, authCode string, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))`, t.TerminalID, t.RRN); err != nil {
			return translate(err, "locking the transfer")
		}
		var prior struct {
			Code string `db:"response_code"`
			Auth string `db:"auth_code"`
		}
		err := tx.GetContext(ctx, &prior, `SELECT response_code, auth_code FROM sim_iso_transfers
			WHERE terminal_id = $1 AND rrn = $2`, t.TerminalID, t.RRN)
		if err == nil {
			code, authCode = prior.Code, prior.Auth
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "reading the transfer")
		}
		var rows []Balance
		if err := tx.SelectContext(ctx, &rows, balanceSelect+` WHERE bank_code = $1 AND account_number IN ($2, $3)
			ORDER BY account_number FOR UPDATE`, t.BankCode, t.From, t.To); err != nil {
			return translate(err, "locking accounts")
		}
		var from, to *Balance
		for i := range rows {
			if rows[i].Number == t.From {
				from = &rows[i]
			}
			if rows[i].Number == t.To {
				to = &rows[i]
			}
		}
		code = decide(from, to)
		status := "declined"
		if code == "00" {
			status, authCode = "approved", t.AuthCode
			if err := s.move(ctx, tx, t.BankCode, t.From, t.To, t.Amount, t.RRN, "ISO transfer"); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sim_iso_transfers (terminal_id, rrn, stan, from_account, to_account,
			amount, response_code, auth_code, status) VALUES ($1, $2, $3, $4, $5, $6::numeric / 100, $7, $8, $9)`,
			t.TerminalID, t.RRN, t.STAN, t.From, t.To, t.Amount, code, authCode, status)
		return translate(err, "recording the transfer")
	})
	return code, authCode, err
}

// ReverseTransfer reverses an approved transfer once; anything else (unknown, declined,
// already reversed) changes nothing and reports false.
func (s *Store) ReverseTransfer(ctx context.Context, bankCode, terminalID, rrn string) (bool, error) {
	reversed := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var t struct {
			From   string `db:"from_account"`
			To     string `db:"to_account"`
			Amount int64  `db:"amount"`
			Status string `db:"status"`
		}
		err := tx.GetContext(ctx, &t, `SELECT from_account, to_account, round(amount * 100)::bigint AS amount, status
			FROM sim_iso_transfers WHERE terminal_id = $1 AND rrn = $2 FOR UPDATE`, terminalID, rrn)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return translate(err, "reading the transfer")
		}
		if t.Status != "approved" {
			return nil
		}
		if err := s.move(ctx, tx, bankCode, t.To, t.From, t.Amount, rrn, "ISO reversal"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sim_iso_transfers SET status = 'reversed', reversed_at = now()
			WHERE terminal_id = $1 AND rrn = $2`, terminalID, rrn)
		reversed = err == nil
		return translate(err, "reversing the transfer")
	})
	return reversed, err
}

// move debits one account and credits the other, with a statement entry on each.
func (s *Store) move(ctx context.Context, tx *sqlx.Tx, bankCode, from, to string, amount int64, ref, narration string) error {
	for _, leg := range []struct {
		account, direction string
		sign               int64
	}{{from, "D", -1}, {to, "C", 1}} {
		res, err := tx.ExecContext(ctx, `WITH moved AS (
				UPDATE sim_accounts SET balance = balance + $3::numeric / 100,
					available_balance = available_balance + $3::numeric / 100, updated_at = now()
				WHERE bank_code = $1 AND account_number = $2 RETURNING account_number, balance)
			INSERT INTO sim_transactions (account_number, reference, direction, amount, balance_after, narration, posted_at)
			SELECT account_number, $4, $5, $6::numeric / 100, balance, $7, now() FROM moved`,
			bankCode, leg.account, leg.sign*amount, ref, leg.direction, amount, narration)
		if err != nil {
			return translate(err, "posting "+leg.direction)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("posting to %s: %w", leg.account, ErrNotFound)
		}
	}
	return nil
}
