package activities

import (
	"context"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
)

// OperationPolicy resolves an operation's retry policy and attempt timeout from this worker's
// configuration of its issuer. The workflow calls it as a local activity, so the policy is
// recorded in its history and a replay keeps the one the run started with; the API never
// loads an issuer's configuration (or its secrets) to start an operation.
func (a *Activities) OperationPolicy(_ context.Context, operation string) (transaction.AttemptPolicy, error) {
	op, ok := provider.Lookup(operation)
	if !ok {
		return transaction.AttemptPolicy{}, classify(&InvalidRequestError{Reason: "unknown operation " + operation})
	}
	if a.Providers == nil {
		return transaction.AttemptPolicy{}, classify(&InvalidRequestError{Reason: "this worker has no providers"})
	}
	caller, err := a.Providers.For(op)
	if err != nil {
		return transaction.AttemptPolicy{}, classify(&InvalidRequestError{Reason: err.Error()})
	}
	cfg := caller.Config()
	return transaction.AttemptPolicy{Retry: cfg.Retry, Timeout: cfg.Timeout}, nil
}

// TransferPlan is what a card transfer takes from the worker when it starts: its RRN and the
// switch's policies.
type TransferPlan struct {
	RRN string
	// STAN and Transmission (DE 7) of the 0200, the same on every execution of the run; zero
	// in plans recorded before they were allocated here (the workflow then allocates them).
	STAN         int64
	Transmission string
	// Send spaces resends of a 0200 that was never sent; its Timeout bounds one exchange.
	Send transaction.AttemptPolicy
	// Reversal spaces the reversal's repeats (0421); ReversalBudget is how long they go on
	// before the transfer is escalated.
	Reversal       transaction.RetryPolicy
	ReversalBudget time.Duration
}

// PrepareTransfer gives the transfer its references: the RRN (from the database sequence), the
// STAN and the transmission time, once per correlation id. This runs as a local activity in the
// same workflow task as the first 0200, so a worker that dies before that task completes is
// followed by one that asks again and must send the same 0200. It also reads the switch's retry
// policies from this worker's ISO configuration.
func (a *Activities) PrepareTransfer(ctx context.Context, correlationID string) (TransferPlan, error) {
	if a.ISO.Pool == nil {
		return TransferPlan{}, errNoSwitch
	}
	cfg := a.ISO.Pool.Config()
	refs, err := a.Store.TransferReferences(ctx, correlationID, cfg.TerminalID)
	if err != nil {
		return TransferPlan{}, classify(err)
	}
	return TransferPlan{
		RRN: refs.RRN, STAN: refs.STAN, Transmission: refs.Transmission,
		Send: transaction.AttemptPolicy{Timeout: cfg.SendTimeout, Retry: transaction.RetryPolicy{
			MaxAttempts: cfg.MaxAttempts, InitialInterval: cfg.RetryInitialInterval, BackoffCoefficient: 2,
			MaxInterval: cfg.RetryMaxInterval}},
		Reversal: transaction.RetryPolicy{InitialInterval: cfg.ReversalInitialInterval, BackoffCoefficient: 2,
			MaxInterval: cfg.ReversalMaxInterval},
		ReversalBudget: cfg.ReversalBudget,
	}, nil
}
