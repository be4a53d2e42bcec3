package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/switchyard-hub/switchyard/iso"
)

// ErrAccountNotFound is a ledger's answer for an unknown account.
var ErrAccountNotFound = errors.New("account not found")

// Account is an account as the switch simulator sees it. Amounts are minor units.
type Account struct {
	Number    string
	Currency  string // ISO 4217 alpha, e.g. TZS
	Ledger    int64
	Available int64
	Active    bool
}

// TransferRequest is a transfer the switch simulator is asked to post.
type TransferRequest struct {
	TerminalID string
	RRN        string
	STAN       int64
	From, To   string
	Amount     int64
}

// TransferOutcome is what the switch answered for a transfer.
type TransferOutcome struct {
	ResponseCode string
	AuthCode     string
}

// Ledger is the switch simulator's book of accounts: StoreLedger (the core banking
// simulator's accounts) or MemoryLedger. Transfer is idempotent per terminal and
// RRN (a repeat answers the first outcome and posts nothing); Reverse is idempotent too (a
// reversal of something unknown, declined or already reversed changes nothing).
type Ledger interface {
	Account(ctx context.Context, number string) (Account, error)
	Transfer(ctx context.Context, t TransferRequest) (TransferOutcome, error)
	Reverse(ctx context.Context, terminalID, rrn string) (reversed bool, err error)
}

// TransferLimit is the largest amount the simulated switch approves (61 above it).
const TransferLimit = 1_000_000_000 // 10,000,000.00

// Decide is the simulated switch's decision for a transfer between two accounts (nil when
// unknown): a response code.
func Decide(from, to *Account, amount int64) string {
	switch {
	case amount <= 0:
		return iso.CodeInvalidAmount
	case from == nil || to == nil:
		return iso.CodeInvalidCard
	case !from.Active || !to.Active:
		return iso.CodeRestrictedCard
	case from.Number == to.Number:
		return iso.CodeInvalidTransaction
	case amount > TransferLimit:
		return iso.CodeExceedsLimit
	case from.Available < amount:
		return iso.CodeInsufficientFunds
	}
	return iso.CodeApproved
}

// AuthCodeFor derives a 6-character authorization code from an RRN.
func AuthCodeFor(rrn string) string {
	h := uint32(2166136261)
	for i := range len(rrn) {
		h = (h ^ uint32(rrn[i])) * 16777619
	}
	return fmt.Sprintf("%06d", h%1_000_000)
}

// MemoryLedger is an in-process Ledger for tests and benchmarks.
type MemoryLedger struct {
	mu        sync.Mutex
	accounts  map[string]*Account
	transfers map[string]*memoryTransfer
}

type memoryTransfer struct {
	req      TransferRequest
	outcome  TransferOutcome
	reversed bool
}

// NewMemoryLedger holds accounts.
func NewMemoryLedger(accounts ...Account) *MemoryLedger {
	l := &MemoryLedger{accounts: map[string]*Account{}, transfers: map[string]*memoryTransfer{}}
	for i := range accounts {
		a := accounts[i]
		l.accounts[a.Number] = &a
	}
	return l
}

// Account implements Ledger.
func (l *MemoryLedger) Account(_ context.Context, number string) (Account, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.accounts[number]
	if !ok {
		return Account{}, ErrAccountNotFound
	}
	return *a, nil
}

// Transfer implements Ledger.
func (l *MemoryLedger) Transfer(_ context.Context, t TransferRequest) (TransferOutcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := t.TerminalID + "/" + t.RRN
	if prior, ok := l.transfers[key]; ok {
		return prior.outcome, nil
	}
	out := TransferOutcome{ResponseCode: Decide(l.accounts[t.From], l.accounts[t.To], t.Amount)}
	if out.ResponseCode == iso.CodeApproved {
		out.AuthCode = AuthCodeFor(t.RRN)
		l.move(t.From, t.To, t.Amount)
	}
	l.transfers[key] = &memoryTransfer{req: t, outcome: out}
	return out, nil
}

// Reverse implements Ledger.
func (l *MemoryLedger) Reverse(_ context.Context, terminalID, rrn string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tr, ok := l.transfers[terminalID+"/"+rrn]
	if !ok || tr.reversed || tr.outcome.ResponseCode != iso.CodeApproved {
		return false, nil
	}
	l.move(tr.req.To, tr.req.From, tr.req.Amount)
	tr.reversed = true
	return true, nil
}

func (l *MemoryLedger) move(from, to string, amount int64) {
	l.accounts[from].Ledger -= amount
	l.accounts[from].Available -= amount
	l.accounts[to].Ledger += amount
	l.accounts[to].Available += amount
}
