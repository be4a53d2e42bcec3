package sim

import (
	"context"
	"errors"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/schema"
)

// LedgerStore is what the switch simulator's ledger needs; *schema.Store satisfies it.
type LedgerStore interface {
	SimBalanceOf(ctx context.Context, bankCode, number string) (schema.SimBalance, error)
	SimPostTransfer(ctx context.Context, t schema.SimTransfer, decide func(from, to *schema.SimBalance) string) (string, string, error)
	SimReverseTransfer(ctx context.Context, bankCode, terminalID, rrn string) (bool, error)
}

// Ledger is the switch simulator's book: the core banking simulator's accounts, so a transfer
// through the switch shows in balances and statements.
type Ledger struct {
	Store LedgerStore
}

func account(b schema.SimBalance) iso.Account {
	return iso.Account{Number: b.Number, Currency: b.Currency, Ledger: b.Ledger, Available: b.Available,
		Active: b.Status == "active"}
}

// Account implements iso.Ledger.
func (l Ledger) Account(ctx context.Context, number string) (iso.Account, error) {
	b, err := l.Store.SimBalanceOf(ctx, HomeBank, number)
	if errors.Is(err, schema.ErrNotFound) {
		return iso.Account{}, iso.ErrAccountNotFound
	}
	if err != nil {
		return iso.Account{}, err
	}
	return account(b), nil
}

// Transfer implements iso.Ledger.
func (l Ledger) Transfer(ctx context.Context, t iso.TransferRequest) (iso.TransferOutcome, error) {
	code, auth, err := l.Store.SimPostTransfer(ctx, schema.SimTransfer{TerminalID: t.TerminalID, RRN: t.RRN, STAN: t.STAN,
		BankCode: HomeBank, From: t.From, To: t.To, Amount: t.Amount, AuthCode: iso.AuthCodeFor(t.RRN)},
		func(from, to *schema.SimBalance) string {
			var f, d *iso.Account
			if from != nil {
				a := account(*from)
				f = &a
			}
			if to != nil {
				a := account(*to)
				d = &a
			}
			return iso.Decide(f, d, t.Amount)
		})
	return iso.TransferOutcome{ResponseCode: code, AuthCode: auth}, err
}

// Reverse implements iso.Ledger.
func (l Ledger) Reverse(ctx context.Context, terminalID, rrn string) (bool, error) {
	return l.Store.SimReverseTransfer(ctx, HomeBank, terminalID, rrn)
}
