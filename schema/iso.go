package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// NextSTAN hands out the next System Trace Audit Number of a terminal for today (UTC):
// 1..999999, wrapping, unique across processes and restarts.
func (s *Store) NextSTAN(ctx context.Context, terminalID string) (int64, error) {
	var v int64
	err := s.db.GetContext(ctx, &v, `INSERT INTO iso_stan (terminal_id, day, value)
		VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1)
		ON CONFLICT (terminal_id, day) DO UPDATE SET value = iso_stan.value % 999999 + 1 RETURNING value`, terminalID)
	return v, translate(err, "allocating a STAN")
}

// SimBalance is a simulated account's balances in minor units.
type SimBalance struct {
	Number    string `db:"account_number"`
	Currency  string `db:"currency"`
	Ledger    int64  `db:"ledger"`
	Available int64  `db:"available"`
	Status    string `db:"status"`
}

const simBalanceSelect = `SELECT account_number, currency, round(balance * 100)::bigint AS ledger,
	round(available_balance * 100)::bigint AS available, status FROM sim_accounts`

// SimBalanceOf reads one account of the simulated bank.
func (s *Store) SimBalanceOf(ctx context.Context, bankCode, number string) (SimBalance, error) {
	var b SimBalance
	err := s.db.GetContext(ctx, &b, simBalanceSelect+` WHERE bank_code = $1 AND account_number = $2`, bankCode, number)
	return b, translate(err, "reading simulator balance")
}

// SimTransfer is a transfer the switch simulator posts.
type SimTransfer struct {
	TerminalID string
	RRN        string
	STAN       int64
	BankCode   string
	From, To   string
	Amount     int64 // minor units
	AuthCode   string
}

// SimPostTransfer posts a transfer once per terminal and RRN: a repeat returns the first
// response code and auth code and posts nothing. decide chooses the response code from the
// two accounts (nil when unknown), read under row locks; "00" moves the money and writes a
// statement entry on each account.
func (s *Store) SimPostTransfer(ctx context.Context, t SimTransfer, decide func(from, to *SimBalance) string) (code, authCode string, err error) {
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
		var rows []SimBalance
		if err := tx.SelectContext(ctx, &rows, simBalanceSelect+` WHERE bank_code = $1 AND account_number IN ($2, $3)
			ORDER BY account_number FOR UPDATE`, t.BankCode, t.From, t.To); err != nil {
			return translate(err, "locking accounts")
		}
		var from, to *SimBalance
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
			if err := s.simMove(ctx, tx, t.BankCode, t.From, t.To, t.Amount, t.RRN, "ISO transfer"); err != nil {
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

// SimReverseTransfer reverses an approved transfer once; anything else (unknown, declined,
// already reversed) changes nothing and reports false.
func (s *Store) SimReverseTransfer(ctx context.Context, bankCode, terminalID, rrn string) (bool, error) {
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
		if err := s.simMove(ctx, tx, bankCode, t.To, t.From, t.Amount, rrn, "ISO reversal"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sim_iso_transfers SET status = 'reversed', reversed_at = now()
			WHERE terminal_id = $1 AND rrn = $2`, terminalID, rrn)
		reversed = err == nil
		return translate(err, "reversing the transfer")
	})
	return reversed, err
}

// simMove debits one account and credits the other, with a statement entry on each.
func (s *Store) simMove(ctx context.Context, tx *sqlx.Tx, bankCode, from, to string, amount int64, ref, narration string) error {
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
