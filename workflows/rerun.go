package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Rerun runs a rerun task. A bulk task pages through its frozen set (the filter's transactions
// created up to the task) and reruns each, one every 1/rate seconds, as a new proxied
// transaction linked by parent_id (StartRerun); it takes pause, resume and cancel signals,
// answers QueryProgress, records its progress in rerun_tasks and continues as new every
// ItemsPerRun transactions. An auto-retry (AutoRetryOf) reruns its one transaction and ends.
func Rerun(ctx workflow.Context, in RerunInput) (RerunProgress, error) {
	wf := &rerunTask{in: in}
	if err := wf.setup(ctx); err != nil {
		return RerunProgress{}, err
	}
	if in.AutoRetryOf != "" {
		return wf.autoRetry(ctx)
	}
	return wf.run(ctx)
}

// rerunTask is one run of a Rerun workflow.
type rerunTask struct {
	in       RerunInput
	progress RerunProgress
	logger   log.Logger
	interval time.Duration
	// next is the earliest time the next rerun may start.
	next time.Time
	// handled counts this run's transactions, towards continue-as-new.
	handled                   int
	pauseCh, resumeCh, stopCh workflow.ReceiveChannel
}

func validateRerun(in RerunInput) error {
	switch {
	case in.TaskID == "":
		return errors.New("a rerun task needs its id")
	case in.AutoRetryOf != "":
		return nil
	case in.Rate <= 0 || in.Limit < 1 || in.Before.IsZero():
		return errors.New("a bulk rerun needs a positive rate and limit and the time its set ends")
	}
	return nil
}

func (wf *rerunTask) setup(ctx workflow.Context) error {
	if err := validateRerun(wf.in); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), transaction.ErrTypeInvalidInput, nil)
	}
	if wf.in.PageSize < 1 {
		wf.in.PageSize = DefaultRerunPageSize
	}
	if wf.in.ItemsPerRun < 1 {
		wf.in.ItemsPerRun = DefaultRerunItemsPerRun
	}
	if wf.in.Rate > 0 {
		wf.interval = rerunInterval(wf.in.Rate)
	}
	wf.progress = wf.in.Progress
	wf.progress.TaskID, wf.progress.Status = wf.in.TaskID, RerunRunning
	wf.logger = log.With(workflow.GetLogger(ctx), "rerun_task", wf.in.TaskID)
	wf.pauseCh = workflow.GetSignalChannel(ctx, SignalPause)
	wf.resumeCh = workflow.GetSignalChannel(ctx, SignalResume)
	wf.stopCh = workflow.GetSignalChannel(ctx, SignalCancel)
	return workflow.SetQueryHandler(ctx, QueryProgress, func() (RerunProgress, error) { return wf.progress, nil })
}

// autoRetry reruns one failed transaction for its channel's auto_retry.
func (wf *rerunTask) autoRetry(ctx workflow.Context) (RerunProgress, error) {
	wf.progress.Total = 1
	res := wf.start(ctx, wf.in.AutoRetryOf)
	wf.count(res)
	if res.Outcome == activities.RerunStarted {
		wf.logger.Info("Failed transaction rerun by its channel's auto_retry", "correlation_id", wf.in.AutoRetryOf,
			"rerun", res.RerunID)
	} else {
		wf.logger.Warn("Auto-retry could not rerun the transaction", "correlation_id", wf.in.AutoRetryOf,
			"outcome", res.Outcome, "reason", res.Reason)
	}
	wf.progress.Status = RerunCompleted
	return wf.progress, nil
}

func (wf *rerunTask) run(ctx workflow.Context) (RerunProgress, error) {
	if wf.in.Progress.Status == "" {
		wf.logger.Info("Rerun task started", "total", wf.progress.Total, "rate", wf.in.Rate)
	}
	for wf.progress.Done < wf.in.Limit {
		var page []activities.RerunCandidate
		if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RerunPage, activities.RerunPageInput{
			Filter: wf.in.Filter, Before: wf.in.Before, After: wf.in.After,
			Limit: min(wf.in.PageSize, wf.in.Limit-wf.progress.Done),
		}).Get(ctx, &page); err != nil {
			return RerunProgress{}, err
		}
		if len(page) == 0 {
			break
		}
		for _, item := range page {
			if ended, err := wf.pace(ctx); err != nil || ended {
				return wf.progress, err
			}
			res := wf.start(ctx, item.CorrelationID)
			if res.Outcome != activities.RerunStarted {
				wf.logger.Warn("Transaction not rerun", "correlation_id", item.CorrelationID, "outcome", res.Outcome,
					"reason", res.Reason)
			}
			wf.count(res)
			wf.in.After = item
			wf.handled++
			if wf.handled >= wf.in.ItemsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				return wf.continueAsNew(ctx)
			}
		}
		if err := wf.save(ctx, false); err != nil {
			return RerunProgress{}, err
		}
	}
	// A stop that came with the last rerun still ends the task canceled.
	if ended, err := wf.takeSignals(ctx); err != nil || ended {
		return wf.progress, err
	}
	return wf.end(ctx, RerunCompleted, OperatorSignal{})
}

// start reruns one transaction. A start that keeps failing counts as failed: the task goes on.
func (wf *rerunTask) start(ctx workflow.Context, correlationID string) activities.StartRerunResult {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}},
	})
	var res activities.StartRerunResult
	err := workflow.ExecuteActivity(actx, a.StartRerun, activities.StartRerunInput{TaskID: wf.in.TaskID,
		CorrelationID: correlationID}).Get(ctx, &res)
	if err != nil {
		wf.logger.Warn("Rerun could not be started", "correlation_id", correlationID, "error", err)
		return activities.StartRerunResult{Outcome: activities.RerunFailed, Reason: err.Error()}
	}
	return res
}

func (wf *rerunTask) count(res activities.StartRerunResult) {
	p := &wf.progress
	p.Done++
	switch res.Outcome {
	case activities.RerunStarted:
		p.Started++
	case activities.RerunSkipped:
		p.Skipped++
	default:
		p.Failed++
	}
}

// pace waits until the next rerun may start, taking the signals that come meanwhile.
func (wf *rerunTask) pace(ctx workflow.Context) (ended bool, err error) {
	for {
		if ended, err := wf.takeSignals(ctx); err != nil || ended {
			return ended, err
		}
		now := workflow.Now(ctx)
		wait := wf.next.Sub(now)
		if wait <= 0 {
			wf.next = now.Add(wf.interval)
			return false, nil
		}
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(tctx, wait)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		// A signal ends the wait; takeSignals acts on it.
		for _, ch := range []workflow.ReceiveChannel{wf.pauseCh, wf.stopCh} {
			sel.AddReceive(ch, func(workflow.ReceiveChannel, bool) {})
		}
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		cancel()
		if ctx.Err() != nil {
			return wf.canceledByTemporal(ctx)
		}
	}
}

// takeSignals acts on the signals sent since the last look: cancel ends the task; pause waits
// for resume (or cancel); a resume of a running task is dropped.
func (wf *rerunTask) takeSignals(ctx workflow.Context) (ended bool, err error) {
	var sig OperatorSignal
	if wf.stopCh.ReceiveAsync(&sig) {
		_, err := wf.end(ctx, RerunCanceled, sig)
		return true, err
	}
	for wf.resumeCh.ReceiveAsync(&sig) {
		wf.logger.Info("Ignoring resume: the rerun task is not paused")
	}
	if wf.pauseCh.ReceiveAsync(&sig) {
		return wf.pause(ctx, sig)
	}
	return false, nil
}

// pause records the task paused and waits for resume (running again, at the pace from now) or
// cancel.
func (wf *rerunTask) pause(ctx workflow.Context, sig OperatorSignal) (ended bool, err error) {
	wf.progress.Status, wf.progress.Note = RerunPaused, sig.Note
	if err := wf.save(ctx, false); err != nil {
		return true, err
	}
	wf.logger.Info("Rerun task paused", "by", sig.By, "done", wf.progress.Done)
	for {
		var got string
		var next OperatorSignal
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(wf.resumeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &next); got = SignalResume })
		sel.AddReceive(wf.stopCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &next); got = SignalCancel })
		sel.AddReceive(wf.pauseCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &next); got = SignalPause })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { got = "" })
		sel.Select(ctx)
		switch got {
		case SignalResume:
			wf.logger.Info("Rerun task resumed", "by", next.By)
			wf.progress.Status, wf.progress.Note = RerunRunning, next.Note
			wf.next = workflow.Now(ctx)
			return false, wf.save(ctx, false)
		case SignalCancel:
			_, err := wf.end(ctx, RerunCanceled, next)
			return true, err
		case "":
			return wf.canceledByTemporal(ctx)
		}
	}
}

// canceledByTemporal records a task whose workflow was canceled (temporal workflow cancel).
func (wf *rerunTask) canceledByTemporal(ctx workflow.Context) (bool, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if _, err := wf.end(dctx, RerunCanceled, OperatorSignal{Note: "the workflow was canceled"}); err != nil {
		return true, err
	}
	return true, ctx.Err()
}

// end records the task's last status and counts. The progress query shows the status once the
// row holds it.
func (wf *rerunTask) end(ctx workflow.Context, status string, sig OperatorSignal) (RerunProgress, error) {
	last := wf.progress
	last.Status, last.Note = status, sig.Note
	if err := wf.saveAs(ctx, last, true); err != nil {
		return RerunProgress{}, err
	}
	wf.progress = last
	wf.logger.Info("Rerun task ended", "status", status, "by", sig.By, "done", wf.progress.Done,
		"started", wf.progress.Started, "skipped", wf.progress.Skipped, "failed", wf.progress.Failed)
	return wf.progress, nil
}

// save writes the progress to the task's row.
func (wf *rerunTask) save(ctx workflow.Context, final bool) error {
	return wf.saveAs(ctx, wf.progress, final)
}

func (wf *rerunTask) saveAs(ctx workflow.Context, p RerunProgress, final bool) error {
	return workflow.ExecuteLocalActivity(storeOptions(ctx), a.SaveRerunProgress,
		activities.RerunProgressInput{Progress: p, Final: final}).Get(ctx, nil)
}

// continueAsNew hands the set's position and the counts to a fresh run, its history empty.
// Signals not yet taken are taken first: a pause is waited out here.
func (wf *rerunTask) continueAsNew(ctx workflow.Context) (RerunProgress, error) {
	if ended, err := wf.takeSignals(ctx); err != nil || ended {
		return wf.progress, err
	}
	if err := wf.save(ctx, false); err != nil {
		return RerunProgress{}, err
	}
	next := wf.in
	next.Progress = wf.progress
	wf.logger.Info("Rerun task continuing as new", "done", wf.progress.Done)
	return RerunProgress{}, workflow.NewContinueAsNewError(ctx, WorkflowRerun, next)
}
