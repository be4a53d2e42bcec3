package sim

import (
	"context"
	"errors"
)

// StoreLedger is the switch simulator's book in the database: the core banking simulator's
// accounts, so a transfer through the switch shows in balances and statements.
type StoreLedger struct {
	Store *Store
}

func account(b Balance) Account {
	return Account{Number: b.Number, Currency: b.Currency, Ledger: b.Ledger, Available: b.Available,
		Active: b.Status == "active"}
}

// Account implements Ledger.
func (l StoreLedger) Account(ctx context.Context, number string) (Account, error) {
	b, err := l.Store.BalanceOf(ctx, HomeBank, number)
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrAccountNotFound
	}
	if err != nil {
		return Account{}, err
	}
	return account(b), nil
}

// Transfer implements Ledger.
func (l StoreLedger) Transfer(ctx context.Context, t TransferRequest) (TransferOutcome, error) {
	code, auth, err := l.Store.PostTransfer(ctx, Posting{TerminalID: t.TerminalID, RRN: t.RRN, STAN: t.STAN,
		BankCode: HomeBank, From: t.From, To: t.To, Amount: t.Amount, AuthCode: AuthCodeFor(t.RRN)},
		func(from, to *Balance) string {
			var f, d *Account
			if from != nil {
				a := account(*from)
				f = &a
			}
			if to != nil {
				a := account(*to)
				d = &a
			}
			return Decide(f, d, t.Amount)
		})
	return TransferOutcome{ResponseCode: code, AuthCode: auth}, err
}

// Reverse implements Ledger.
func (l StoreLedger) Reverse(ctx context.Context, terminalID, rrn string) (bool, error) {
	return l.Store.ReverseTransfer(ctx, HomeBank, terminalID, rrn)
}
