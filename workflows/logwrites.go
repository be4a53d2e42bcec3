package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
)

// logWrites is how a run reaches its transaction's log row (ARCHITECTURE, "The log's writes"):
// written at the start, or, on the LogOnce path, once with the outcome unless the run first
// has to wait.
type logWrites struct {
	// logged says the row exists, or its start is being written.
	logged bool
	logger log.Logger
}

// start writes the row's start when it is not written yet: a LogOnce run that has to wait (a
// backoff, an escalation), so listings show it in flight. A failed write is left to finish,
// which writes the whole row.
func (l *logWrites) start(ctx workflow.Context, in activities.RecordStartInput) {
	if l.logged {
		return
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, in).Get(ctx, nil); err != nil {
		l.logger.Error("Logging the transaction's start failed: it is logged when it finishes", "error", err)
		return
	}
	l.logged = true
}

// finish writes the outcome rec: an update of the row, or the whole row (start, the
// transaction's start, and outcome in one write) when it was never written.
func (l *logWrites) finish(ctx workflow.Context, start activities.RecordStartInput, rec activities.RecordOutcomeInput) error {
	if l.logged {
		return workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, rec).Get(ctx, nil)
	}
	return workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordFinished,
		activities.RecordFinishedInput{Start: start, Outcome: rec}).Get(ctx, nil)
}
