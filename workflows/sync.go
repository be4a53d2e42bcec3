package workflows

import (
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Sync runs one sync of a site integration with the hub's content store, by direction:
// metadata reads the site's structure and pulls its taxonomy terms; from_external pulls its
// content; to_external pushes the content changed in the hub; both pulls, then pushes. Pulls and
// pushes run as heartbeating chunks that resume from the run's checkpoint; the run continues as
// new every SYNC_CONTINUE_AS_NEW_CHUNKS chunks. It takes pause, resume and cancel signals and
// answers QueryProgress. A chunk that runs out of retries ends the sync ERROR (a result), or
// escalates it when the integration says escalate_on_failure. A scheduled run that finds
// another run active is skipped.
func Sync(ctx workflow.Context, in SyncInput) (SyncProgress, error) {
	wf := &syncRun{in: in}
	if err := wf.setup(ctx); err != nil {
		return SyncProgress{}, err
	}
	return wf.run(ctx)
}

// syncRun is one run of a Sync workflow.
type syncRun struct {
	in       SyncInput
	plan     activities.SyncPlan
	progress SyncProgress
	status   *tracker
	logger   log.Logger
	// chain names the workflow execution across continue-as-new (its first run's id).
	chain string
	// chunks counts the chunks this run took, towards continue-as-new.
	chunks                    int
	pauseCh, resumeCh, stopCh workflow.ReceiveChannel
	// pausing is a pause that reached a step after it had finished: taken before the next.
	pausing *OperatorSignal
	// ended is set when the run has ended (finished, canceled, failed): result holds its answer.
	ended  bool
	result SyncProgress
}

func (in SyncInput) validate() error {
	switch {
	case in.IntegrationID == "" || in.ClientID == "":
		return errors.New("integration and client are required")
	case !slices.Contains(platform.Directions, in.Direction):
		return errors.New("direction must be one of " + strings.Join(platform.Directions, ", "))
	case !slices.Contains([]string{TriggerAPI, TriggerSchedule, TriggerCallback}, in.Trigger):
		return errors.New("trigger must be api, schedule or callback")
	case in.Continued && !slices.Contains(syncPhases(in.Direction), in.Progress.Phase):
		return errors.New("a continued sync names the phase it is in")
	}
	return nil // the filters are checked by SyncBegin
}

// syncPhases are the phases of a direction, in order.
func syncPhases(direction string) []string {
	switch direction {
	case platform.DirectionMetadata:
		return []string{PhaseMetadata, PhasePull}
	case platform.DirectionFromExternal:
		return []string{PhasePull}
	case platform.DirectionToExternal:
		return []string{PhasePush}
	case platform.DirectionBoth:
		return []string{PhasePull, PhasePush}
	}
	return nil
}

func (wf *syncRun) setup(ctx workflow.Context) error {
	if wf.in.Trigger == "" {
		wf.in.Trigger = TriggerAPI
	}
	if err := wf.in.validate(); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), transaction.ErrTypeInvalidInput, nil)
	}
	info := workflow.GetInfo(ctx)
	if wf.in.SyncID == "" {
		wf.in.SyncID = info.WorkflowExecution.RunID // a scheduled run
	}
	wf.chain = info.FirstRunID
	wf.progress = wf.in.Progress
	wf.progress.SyncID, wf.progress.Direction, wf.progress.Status = wf.in.SyncID, wf.in.Direction, transaction.SyncRunning
	if !wf.in.Continued {
		wf.progress.Phase = syncPhases(wf.in.Direction)[0]
	}
	if wf.progress.StartedAt.IsZero() {
		wf.progress.StartedAt = workflow.Now(ctx)
	}
	wf.logger = log.With(workflow.GetLogger(ctx), "sync_id", wf.in.SyncID, "integration_id", wf.in.IntegrationID,
		"direction", wf.in.Direction)
	var err error
	if wf.status, err = track(ctx, wf.logger, transaction.KindSync, wf.in.ClientID, wf.in.IntegrationID, wf.in.SyncID); err != nil {
		return err
	}
	wf.pauseCh = workflow.GetSignalChannel(ctx, SignalPause)
	wf.resumeCh = workflow.GetSignalChannel(ctx, SignalResume)
	wf.stopCh = workflow.GetSignalChannel(ctx, SignalCancel)
	return workflow.SetQueryHandler(ctx, QueryProgress, func() (SyncProgress, error) { return wf.progress, nil })
}

func (wf *syncRun) run(ctx workflow.Context) (SyncProgress, error) {
	if err := wf.begin(ctx); err != nil || wf.ended {
		return wf.result, err
	}
	if wf.plan.Busy != nil {
		return wf.busy()
	}
	if wf.plan.Disabled {
		return wf.disabled()
	}
	if !wf.in.Continued {
		wf.logger.Info("Sync started", "trigger", wf.in.Trigger)
	}
	wf.status.show(ctx, StatusView{Status: transaction.StatusProcessing}, transaction.StatusProcessing)
	phases := syncPhases(wf.in.Direction)
	for i := slices.Index(phases, wf.progress.Phase); i < len(phases); i++ {
		wf.progress.Phase = phases[i]
		var err error
		switch phases[i] {
		case PhaseMetadata:
			err = wf.metadata(ctx)
		case PhasePull:
			err = wf.pull(ctx)
		case PhasePush:
			err = wf.push(ctx)
		}
		if err != nil || wf.ended {
			return wf.result, err
		}
	}
	if err := wf.end(ctx, transaction.SyncSuccess, nil, OperatorSignal{}, false); err != nil {
		return SyncProgress{}, err
	}
	wf.logger.Info("Sync completed", "items", wf.progress.Items, "pages", wf.progress.Pages)
	return wf.result, nil
}

// begin resolves the run's plan and (on its first run) records it RUNNING. A refused run
// ends its row ERROR with the reason, since the row holds the integration's slot: a continued
// run whose integration can no longer sync (deleted, deactivated) ends with that as its
// result; a first run (its row inserted by the API, or none yet for a scheduled run) fails
// with the refusal after recording it.
func (wf *syncRun) begin(ctx workflow.Context) error {
	err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.SyncBegin, activities.SyncBeginInput{
		SyncID: wf.in.SyncID, IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Direction: wf.in.Direction, Trigger: wf.in.Trigger,
		Since: wf.in.Since, Filters: wf.in.Filters, Reset: wf.in.Reset, Continued: wf.in.Continued,
	}).Get(ctx, &wf.plan)
	switch {
	case err == nil:
		return nil
	case wf.in.Continued:
		return wf.end(ctx, transaction.SyncError, err, OperatorSignal{}, false)
	}
	wf.logger.Warn("Sync refused", "trigger", wf.in.Trigger, "error", syncErrorText(err))
	if ferr := wf.end(ctx, transaction.SyncError, err, OperatorSignal{}, false); ferr != nil {
		wf.logger.Error("Recording a refused sync failed", "error", ferr)
	}
	return err
}

// busy answers a run that found another one active: a scheduled run is skipped quietly; any
// other fails with ErrTypeSyncBusy (the API answers 409 SYNC_RUNNING).
func (wf *syncRun) busy() (SyncProgress, error) {
	b := wf.plan.Busy
	msg := "another sync of the integration is " + strings.ToLower(b.Status)
	if wf.in.Trigger == TriggerSchedule {
		wf.logger.Info("Scheduled sync skipped: "+msg, "active_sync_id", b.SyncID)
		wf.status.view = StatusView{Status: transaction.StatusSuccessful, Error: msg, ErrorCode: transaction.ErrorCodeSyncRunning}
		return SyncProgress{SyncID: b.SyncID, Status: b.Status, Direction: wf.in.Direction, Skipped: true, Error: msg,
			ErrorCode: transaction.ErrorCodeSyncRunning}, nil
	}
	return SyncProgress{}, temporal.NewNonRetryableApplicationError(msg, transaction.ErrTypeSyncBusy, nil, *b)
}

// disabled answers a scheduled run of an integration whose syncs are turned off: skipped,
// with nothing recorded.
func (wf *syncRun) disabled() (SyncProgress, error) {
	const msg = "syncs are turned off for this integration (sync_enabled is false)"
	if wf.in.Trigger != TriggerSchedule {
		// SyncBegin refuses any other run; a plan saying otherwise is not acted on.
		return SyncProgress{}, temporal.NewNonRetryableApplicationError(msg, transaction.ErrTypeInvalidRequest, nil)
	}
	wf.logger.Info("Scheduled sync skipped: " + msg)
	wf.status.view = StatusView{Status: transaction.StatusSuccessful, Error: msg}
	return SyncProgress{SyncID: wf.in.SyncID, Direction: wf.in.Direction, Skipped: true, Error: msg, Note: msg}, nil
}

// metadata reads the site's structure into the integration's config.
func (wf *syncRun) metadata(ctx workflow.Context) error {
	var structure platform.SiteStructure
	return wf.step(ctx, wf.itemOptions, a.UpdateSiteStructure, activities.SiteStructureInput{SyncID: wf.in.SyncID,
		IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID}, &structure)
}

// pull applies the site's pages chunk by chunk: content types, or a metadata sync's taxonomies.
func (wf *syncRun) pull(ctx workflow.Context) error {
	types := wf.plan.ContentTypes
	if wf.in.Direction == platform.DirectionMetadata {
		types = wf.plan.Taxonomies
	}
	if len(types) == 0 {
		return nil
	}
	in := activities.SyncPullInput{SyncID: wf.in.SyncID, IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID,
		ContentTypes: types, Since: wf.in.Since, Status: wf.in.Filters[activities.FilterStatus], Reset: wf.in.Reset,
		Chain: wf.chain, ChunkPages: wf.plan.Policy.ChunkPages}
	for {
		if err := wf.beforeChunk(ctx); err != nil || wf.ended {
			return err
		}
		var res activities.SyncPullResult
		if err := wf.step(ctx, wf.chunkOptions, a.SyncPull, in, &res); err != nil || wf.ended {
			return err
		}
		wf.chunks++
		wf.count(ctx, res.Counts)
		wf.progress.ContentType = res.ContentType
		if res.Done {
			return nil
		}
	}
}

// push sends the content changed in the hub, chunk by chunk.
func (wf *syncRun) push(ctx workflow.Context) error {
	wf.progress.ContentType = ""
	in := activities.SyncPushInput{SyncID: wf.in.SyncID, IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID,
		MaxItems: wf.plan.Policy.ChunkPages * activities.PushItemsPerPage}
	for {
		if err := wf.beforeChunk(ctx); err != nil || wf.ended {
			return err
		}
		var res activities.SyncPushResult
		if err := wf.step(ctx, wf.chunkOptions, a.SyncPush, in, &res); err != nil || wf.ended {
			return err
		}
		wf.chunks++
		wf.count(ctx, res.Counts)
		if res.Done {
			return nil
		}
	}
}

// count takes the run's counts as the content store has them (failures too: the items a pull
// could not store and those the site refused a push), and the rate.
func (wf *syncRun) count(ctx workflow.Context, c activities.SyncCounts) {
	p := &wf.progress
	p.Pages, p.Items, p.Added, p.Updated, p.Deleted, p.Unchanged, p.Pushed, p.Failed = c.Pages, c.Items, c.Added,
		c.Updated, c.Deleted, c.Unchanged, c.Pushed, c.Failed
	wf.rate(ctx)
}

// rate is the items per second so far.
func (wf *syncRun) rate(ctx workflow.Context) {
	p := &wf.progress
	if secs := workflow.Now(ctx).Sub(p.StartedAt).Seconds(); secs > 0 {
		p.ItemsPerSecond = float64(p.Items) / secs
	}
}

// beforeChunk acts on signals that arrived between chunks, and continues as new once the run
// has taken its share of chunks (the checkpoint is in the database; the counts travel along).
func (wf *syncRun) beforeChunk(ctx workflow.Context) error {
	if err := wf.takeSignals(ctx); err != nil || wf.ended {
		return err
	}
	if wf.chunks < max(wf.plan.Policy.ContinueAsNewChunks, 1) {
		return nil
	}
	next := wf.in
	next.Continued, next.Progress = true, wf.progress
	wf.logger.Info("Sync continuing as new", "phase", wf.progress.Phase, "pages", wf.progress.Pages)
	return workflow.NewContinueAsNewError(ctx, WorkflowSync, next)
}

// takeSignals handles the signals sent while no chunk ran: a cancel ends the run; a pause
// (or one that reached the last chunk as it finished) is taken, unless a resume came with
// it. Signals on different channels keep no order between them: a resume pending with a
// pause is taken to have followed it (a resume sent before a pause is stale anyway), so a
// quick pause and resume never leave the sync waiting for a resume already sent. Other
// resumes are dropped.
func (wf *syncRun) takeSignals(ctx workflow.Context) error {
	var sig OperatorSignal
	pending := wf.pausing
	wf.pausing = nil
	if wf.stopCh.ReceiveAsync(&sig) {
		return wf.end(ctx, transaction.SyncCanceled, nil, sig, false)
	}
	for {
		var s OperatorSignal
		switch {
		case wf.pauseCh.ReceiveAsync(&s):
			pending = &s
			continue
		case pending != nil && wf.resumeCh.ReceiveAsync(&s):
			wf.logger.Info("Pause withdrawn: a resume followed it before it was taken", "by", s.By)
			pending = nil
			continue
		}
		break
	}
	for wf.resumeCh.ReceiveAsync(&sig) {
		wf.logger.Info("Ignoring resume: the sync is not paused")
	}
	if pending != nil {
		return wf.pause(ctx, *pending)
	}
	return nil
}

// signalRestart is what attempt answers when a pause canceled the activity and a resume then
// withdrew it: the step runs again from the checkpoint, with no pause recorded.
const signalRestart = "restart"

// step runs one activity of the sync (a chunk, the structure) until it succeeds or the run
// ends: a pause cancels it and, after resume, runs it again from the checkpoint (at once when
// the resume came before it stopped); a cancel ends the run; a failure after the last retry
// ends it ERROR or escalates.
func (wf *syncRun) step(ctx workflow.Context, options func(workflow.Context) workflow.Context, fn, arg, result any) error {
	for {
		stop, sig, err := wf.attempt(ctx, options, fn, arg, result)
		switch {
		case ctx.Err() != nil:
			// The workflow itself was canceled: the run is recorded canceled all the same.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			if ferr := wf.end(dctx, transaction.SyncCanceled, nil, OperatorSignal{Note: "the workflow was canceled"}, false); ferr != nil {
				return ferr
			}
			return ctx.Err()
		case stop == SignalCancel:
			return wf.end(ctx, transaction.SyncCanceled, nil, sig, false)
		case stop == SignalPause && err == nil:
			// The activity finished before the pause reached it: its result counts, and the
			// pause is taken before the next one.
			wf.pausing = &sig
			return nil
		case stop == SignalPause:
			if err := wf.pause(ctx, sig); err != nil || wf.ended {
				return err
			}
		case stop == signalRestart && err != nil:
			// Whatever the attempt ended with after our cancel (the cancel itself, or a failure
			// that raced it), it goes again from the checkpoint, as after a pause.
			wf.logger.Info("Running the step again: its pause was withdrawn", "phase", wf.progress.Phase, "error", err)
		case err != nil:
			if !wf.plan.EscalateOnFailure {
				wf.logger.Error("Sync failed", "phase", wf.progress.Phase, "error", err)
				return wf.end(ctx, transaction.SyncError, err, OperatorSignal{}, false)
			}
			if retry, err := wf.escalate(ctx, err); err != nil || !retry {
				return err
			}
		default:
			return nil
		}
	}
}

// attempt runs the activity while listening for pause and cancel, which cancel it; it returns
// once the activity has stopped (WaitForCancellation), so a paused sync has nothing running.
// A resume that arrives while a pause is stopping the activity withdraws the pause
// (signalRestart): the resume is not lost, and the sync does not wait for another.
func (wf *syncRun) attempt(ctx workflow.Context, options func(workflow.Context) workflow.Context, fn, arg, result any) (
	stop string, sig OperatorSignal, err error) {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	future := workflow.ExecuteActivity(options(cctx), fn, arg)
	done, canceled := false, false
	var pausing *OperatorSignal
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(future, func(workflow.Future) { done = true })
	sel.AddReceive(wf.pauseCh, func(c workflow.ReceiveChannel, _ bool) {
		var s OperatorSignal
		c.Receive(ctx, &s)
		if stop == "" {
			pausing, canceled = &s, true
			cancel()
		}
	})
	sel.AddReceive(wf.stopCh, func(c workflow.ReceiveChannel, _ bool) {
		var s OperatorSignal
		c.Receive(ctx, &s)
		stop, sig, canceled = SignalCancel, s, true
		cancel()
	})
	sel.AddReceive(wf.resumeCh, func(c workflow.ReceiveChannel, _ bool) {
		var s OperatorSignal
		c.Receive(ctx, &s)
		if pausing != nil && stop == "" {
			wf.logger.Info("Pause withdrawn: a resume came before the step stopped", "by", s.By)
			pausing = nil
			return
		}
		wf.logger.Info("Ignoring resume: the sync is not paused")
	})
	for !done {
		sel.Select(ctx)
	}
	err = future.Get(ctx, result)
	switch {
	case stop != "":
		return stop, sig, err
	case pausing != nil:
		return SignalPause, *pausing, err
	case canceled:
		return signalRestart, OperatorSignal{}, err
	}
	return "", OperatorSignal{}, err
}

// pause records the run PAUSED and waits for resume (RUNNING again) or cancel.
func (wf *syncRun) pause(ctx workflow.Context, sig OperatorSignal) error {
	if err := wf.setStatus(ctx, transaction.SyncPaused, sig); err != nil {
		return err
	}
	wf.logger.Info("Sync paused", "by", sig.By)
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
			wf.logger.Info("Sync resumed", "by", next.By)
			return wf.setStatus(ctx, transaction.SyncRunning, next)
		case SignalCancel:
			return wf.end(ctx, transaction.SyncCanceled, nil, next, false)
		case "":
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			if err := wf.end(dctx, transaction.SyncCanceled, nil, OperatorSignal{Note: "the workflow was canceled"}, false); err != nil {
				return err
			}
			return ctx.Err()
		}
	}
}

// setStatus records the run PAUSED or RUNNING (with a sync event).
func (wf *syncRun) setStatus(ctx workflow.Context, status string, sig OperatorSignal) error {
	wf.progress.Status, wf.progress.Note = status, sig.Note
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.SetSyncStatus, activities.SyncStatusInput{
		SyncID: wf.in.SyncID, IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID, Status: status,
		Note: sig.Note, By: sig.By}).Get(ctx, nil); err != nil {
		return err
	}
	// A pause is a wait: the search attributes are published then.
	wf.status.show(ctx, StatusView{Status: transaction.StatusProcessing}, transaction.StatusProcessing)
	return nil
}

// escalate marks the sync escalated and waits for an operator: retry (true: run the step again
// from the checkpoint), resolve (SUCCESS with the note), abort (ERROR) or cancel.
func (wf *syncRun) escalate(ctx workflow.Context, cause error) (retry bool, err error) {
	dropStaleSignals(ctx, wf.logger)
	wf.progress.Error, wf.progress.ErrorCode = syncErrorText(cause), syncErrorCode(cause)
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordSyncEvent, activities.SyncEventInput{
		IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID, SyncID: wf.in.SyncID,
		EventType: activities.SyncEventSync, Action: activities.SyncActionEscalated, Success: false,
		Details: map[string]any{"phase": wf.progress.Phase, "error_code": wf.progress.ErrorCode},
		Error:   wf.progress.Error}).Get(ctx, nil); err != nil {
		return false, err
	}
	wf.status.show(ctx, StatusView{Status: transaction.StatusEscalated, Error: wf.progress.Error,
		ErrorCode: wf.progress.ErrorCode}, transaction.StatusEscalated)
	wf.logger.Warn("Sync escalated: waiting for an operator to signal retry, resolve, abort or cancel",
		"phase", wf.progress.Phase, "error", wf.progress.Error)

	var got string
	var sig OperatorSignal
	sel := workflow.NewSelector(ctx)
	for _, name := range []string{SignalRetry, SignalResolve, SignalAbort, SignalCancel} {
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &sig)
			got = name
		})
	}
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { got = "" })
	sel.Select(ctx)
	switch got {
	case SignalRetry:
		wf.logger.Info("Sync retried by an operator", "by", sig.By)
		wf.progress.Error, wf.progress.ErrorCode = "", ""
		wf.status.show(ctx, StatusView{Status: transaction.StatusProcessing}, transaction.StatusProcessing)
		return true, nil
	case SignalResolve:
		wf.logger.Info("Sync resolved by an operator", "by", sig.By)
		wf.progress.Error, wf.progress.ErrorCode = "", ""
		return false, wf.end(ctx, transaction.SyncSuccess, nil, sig, true)
	case SignalAbort:
		wf.logger.Info("Sync aborted by an operator", "by", sig.By)
		return false, wf.end(ctx, transaction.SyncError, errAborted, sig, false)
	case SignalCancel:
		return false, wf.end(ctx, transaction.SyncCanceled, nil, sig, false)
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := wf.end(dctx, transaction.SyncCanceled, nil, OperatorSignal{Note: "the workflow was canceled"}, false); err != nil {
		return false, err
	}
	return false, ctx.Err()
}

// errAborted is the failure of a sync an operator aborted.
var errAborted = temporal.NewNonRetryableApplicationError("aborted by an operator", transaction.ErrorCodeAborted, nil)

// end finishes the run: its row (status, counts, error; the integration's sync status follows),
// a sync event, the status query and search attributes, and the result.
func (wf *syncRun) end(ctx workflow.Context, status string, cause error, sig OperatorSignal, resolved bool) error {
	p := &wf.progress
	p.Status, p.Note = status, sig.Note
	if cause != nil {
		p.Error, p.ErrorCode = syncErrorText(cause), syncErrorCode(cause)
	}
	wf.rate(ctx)
	elapsed := workflow.Now(ctx).Sub(p.StartedAt)
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.FinishSync, activities.SyncFinishInput{
		SyncID: wf.in.SyncID, IntegrationID: wf.in.IntegrationID, ClientID: wf.in.ClientID, Status: status,
		Counts: activities.SyncCounts{Pages: p.Pages, Items: p.Items, Added: p.Added, Updated: p.Updated, Deleted: p.Deleted,
			Unchanged: p.Unchanged, Pushed: p.Pushed, Failed: p.Failed},
		Error: p.Error, ErrorCode: p.ErrorCode, DurationMS: float64(elapsed.Microseconds()) / 1000, Note: sig.Note, By: sig.By,
	}).Get(ctx, nil); err != nil {
		return err
	}
	view := StatusView{Status: transaction.StatusSuccessful, Error: p.Error, ErrorCode: p.ErrorCode}
	switch {
	case resolved:
		view.Status = transaction.StatusResolved
	case status == transaction.SyncError:
		view.Status = transaction.StatusFailed
	case status == transaction.SyncCanceled:
		view.Status, view.Error = transaction.StatusFailed, "canceled"
	}
	wf.status.show(ctx, view, view.Status)
	wf.ended, wf.result = true, *p
	return nil
}

// chunkOptions run a pull or push chunk: it heartbeats (a dead worker's chunk is retried on
// another within SYNC_HEARTBEAT_TIMEOUT, from its checkpoint) and a pause waits for it to stop.
func (wf *syncRun) chunkOptions(ctx workflow.Context) workflow.Context {
	pol := wf.plan.Policy
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: pol.ChunkTimeout,
		HeartbeatTimeout:    pol.HeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy:         syncRetryPolicy(pol),
	})
}

// itemOptions run a short step of a sync (the structure) as an activity a pause can cancel.
func (wf *syncRun) itemOptions(ctx workflow.Context) workflow.Context {
	pol := wf.plan.Policy
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: pol.ItemTimeout,
		WaitForCancellation: true,
		RetryPolicy:         syncRetryPolicy(pol),
	})
}

// syncNonRetryable are the failures no retry of a sync step can fix.
var syncNonRetryable = []string{transaction.ErrTypeSiteRejected, transaction.ErrTypeInvalidRequest,
	transaction.ErrTypeNotFound, transaction.ErrTypeInvalidInput}

// syncRetryPolicy is the worker's retry policy of a sync step.
func syncRetryPolicy(pol activities.SyncPolicy) *temporal.RetryPolicy {
	r := pol.Retry
	return &temporal.RetryPolicy{
		InitialInterval:        max(r.InitialInterval, time.Millisecond),
		BackoffCoefficient:     max(r.BackoffCoefficient, 1),
		MaximumInterval:        r.MaxInterval,
		MaximumAttempts:        int32(max(r.MaxAttempts, 1)),
		NonRetryableErrorTypes: syncNonRetryable,
	}
}

// syncErrorText is what a failed step says, without Temporal's decoration.
func syncErrorText(err error) string {
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		return appErr.Message()
	case errors.As(err, &timeoutErr):
		return "the sync step timed out (" + strings.ToLower(strings.TrimPrefix(timeoutErr.TimeoutType().String(),
			"TIMEOUT_TYPE_")) + "): the worker stopped answering or the site was too slow"
	}
	return err.Error()
}

// syncErrorCode is the error code of a failed step: the site refused, or was unavailable.
func syncErrorCode(err error) string {
	errType, _ := errorInfo(err)
	switch errType {
	case transaction.ErrTypeSiteRejected, transaction.ErrTypeInvalidRequest, transaction.ErrTypeNotFound,
		transaction.ErrTypeInvalidInput:
		return transaction.ErrorCodeSiteRejected
	case transaction.ErrorCodeAborted:
		return transaction.ErrorCodeAborted
	}
	return transaction.ErrorCodeSiteUnavailable
}
