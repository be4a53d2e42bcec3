package schema

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// SimBankRow is a bank in the simulated bank dictionary.
type SimBankRow struct {
	BankCode  string `db:"bank_code"`
	Name      string `db:"name"`
	SwiftCode string `db:"swift_code"`
}

// SimCustomerRow is a customer of the simulated core banking system.
type SimCustomerRow struct {
	CustomerID string    `db:"customer_id"`
	FullName   string    `db:"full_name"`
	Phone      string    `db:"phone"`
	Email      string    `db:"email"`
	NationalID string    `db:"national_id"`
	KYCStatus  string    `db:"kyc_status"`
	CreatedAt  time.Time `db:"created_at"`
}

// SimAccountRow is an account of the simulated core banking system (or of another simulated
// bank, for interbank name lookups). Amounts are decimal strings.
type SimAccountRow struct {
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

// SimTransactionRow is a posted entry on a simulated account.
type SimTransactionRow struct {
	ID            int64     `db:"id"`
	AccountNumber string    `db:"account_number"`
	Reference     string    `db:"reference"`
	Direction     string    `db:"direction"`
	Amount        string    `db:"amount"`
	BalanceAfter  string    `db:"balance_after"`
	Narration     string    `db:"narration"`
	PostedAt      time.Time `db:"posted_at"`
}

// SimBillerRow is a biller with its packages (JSON array of {code, name, amount, currency}).
type SimBillerRow struct {
	BillerID string          `db:"biller_id"`
	Category string          `db:"category"`
	Name     string          `db:"name"`
	Packages json.RawMessage `db:"packages"`
}

// SimData is a complete simulator data set.
type SimData struct {
	Banks        []SimBankRow
	Customers    []SimCustomerRow
	Accounts     []SimAccountRow
	Transactions []SimTransactionRow
	Billers      []SimBillerRow
}

// SimCustomerFilter selects customers; empty fields match everything, Name matches a part.
type SimCustomerFilter struct {
	CustomerID string
	Phone      string
	NationalID string
	Name       string
}

// SimHasData reports whether the simulator tables hold data.
func (s *Store) SimHasData(ctx context.Context) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM sim_customers`)
	return n > 0, translate(err, "counting simulator customers")
}

// SimReplace replaces every simulator table's content with d, in one transaction.
func (s *Store) SimReplace(ctx context.Context, d SimData) error {
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

// SimSearchCustomers finds up to limit customers.
func (s *Store) SimSearchCustomers(ctx context.Context, f SimCustomerFilter, limit int) ([]SimCustomerRow, error) {
	out := []SimCustomerRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT customer_id, full_name, phone, email, national_id, kyc_status, created_at
		FROM sim_customers WHERE ($1 = '' OR customer_id = $1) AND ($2 = '' OR phone = $2)
		AND ($3 = '' OR national_id = $3) AND ($4 = '' OR full_name ILIKE '%' || $4 || '%')
		ORDER BY customer_id LIMIT $5`, f.CustomerID, f.Phone, f.NationalID, f.Name, limit)
	return out, translate(err, "searching simulator customers")
}

const simAccountColumns = `account_number, bank_code, customer_id, account_name, currency, balance::text AS balance,
	available_balance::text AS available_balance, status, product, branch, opened_at, updated_at`

// SimAccountsOf lists a customer's accounts.
func (s *Store) SimAccountsOf(ctx context.Context, customerID string) ([]SimAccountRow, error) {
	out := []SimAccountRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+simAccountColumns+` FROM sim_accounts WHERE customer_id = $1
		ORDER BY account_number`, customerID)
	return out, translate(err, "listing simulator accounts")
}

// SimAccount reads one account at a bank.
func (s *Store) SimAccount(ctx context.Context, bankCode, accountNumber string) (SimAccountRow, error) {
	var out SimAccountRow
	err := s.db.GetContext(ctx, &out, `SELECT `+simAccountColumns+` FROM sim_accounts
		WHERE account_number = $1 AND bank_code = $2`, accountNumber, bankCode)
	return out, translate(err, "reading simulator account")
}

// SimStatement lists an account's latest entries, newest first.
func (s *Store) SimStatement(ctx context.Context, accountNumber string, limit int) ([]SimTransactionRow, error) {
	out := []SimTransactionRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, account_number, reference, direction, amount::text AS amount,
		balance_after::text AS balance_after, narration, posted_at FROM sim_transactions WHERE account_number = $1
		ORDER BY posted_at DESC, id DESC LIMIT $2`, accountNumber, limit)
	return out, translate(err, "reading simulator statement")
}

// SimBanks lists the bank dictionary.
func (s *Store) SimBanks(ctx context.Context) ([]SimBankRow, error) {
	out := []SimBankRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT bank_code, name, swift_code FROM sim_banks ORDER BY bank_code`)
	return out, translate(err, "listing simulator banks")
}

// SimBillers lists billers, of one category when category is not empty.
func (s *Store) SimBillers(ctx context.Context, category string) ([]SimBillerRow, error) {
	out := []SimBillerRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT biller_id, category, name, packages FROM sim_billers
		WHERE ($1 = '' OR category = $1) ORDER BY category, biller_id`, category)
	return out, translate(err, "listing simulator billers")
}

// SimBiller reads one biller.
func (s *Store) SimBiller(ctx context.Context, billerID string) (SimBillerRow, error) {
	var out SimBillerRow
	err := s.db.GetContext(ctx, &out, `SELECT biller_id, category, name, packages FROM sim_billers WHERE biller_id = $1`,
		billerID)
	return out, translate(err, "reading simulator biller")
}

// SimExport streams a simulator table for the CBS report: rows of strings, header first.
func (s *Store) SimExport(ctx context.Context, report string, limit int, emit func(row []string) error) error {
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
