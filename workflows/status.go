package workflows

import (
	"github.com/switchyard-hub/switchyard/transaction"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// tracker is what a workflow shows of itself: the answer to QueryStatus, and its search
// attributes. The search attributes are upserted only when the workflow first waits (a backoff,
// an escalation) or finishes, and all of them the first time: commands reach the server when the
// workflow task completes, so on the fast path (start, call, finish in one task) an intermediate
// value would never be seen, yet every upsert costs the server a visibility write.
type tracker struct {
	view      StatusView                       // the QueryStatus answer
	fixed     []temporal.SearchAttributeUpdate // set once: kind, client, channel, correlation id ...
	published string                           // the SwitchyardStatus last upserted
	logger    log.Logger
}

// track starts answering QueryStatus (processing) for a workflow of kind.
func track(ctx workflow.Context, logger log.Logger, kind, clientID, channel, correlationID string,
	extra ...temporal.SearchAttributeUpdate) (*tracker, error) {
	t := &tracker{view: StatusView{Status: transaction.StatusProcessing}, logger: logger,
		fixed: append([]temporal.SearchAttributeUpdate{KindKey.ValueSet(kind), ClientKey.ValueSet(clientID),
			ChannelKey.ValueSet(channel), CorrelationIDKey.ValueSet(correlationID)}, extra...)}
	return t, workflow.SetQueryHandler(ctx, QueryStatus, func() (StatusView, error) { return t.view, nil })
}

// fix adds search attributes that are set once, before the first publish.
func (t *tracker) fix(updates ...temporal.SearchAttributeUpdate) {
	t.fixed = append(t.fixed, updates...)
}

// show answers QueryStatus with view from now on and publishes status as SwitchyardStatus.
func (t *tracker) show(ctx workflow.Context, view StatusView, status string) {
	t.view = view
	t.publish(ctx, status)
}

// publish upserts SwitchyardStatus (and the fixed attributes the first time) when it changed.
func (t *tracker) publish(ctx workflow.Context, status string) {
	if status == t.published {
		return
	}
	updates := []temporal.SearchAttributeUpdate{StatusKey.ValueSet(status)}
	if t.published == "" {
		updates = append(updates, t.fixed...)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		t.logger.Error("Updating search attributes", "error", err)
		return
	}
	t.published = status
}

// dropStaleSignals discards operator signals sent before the workflow escalated: an operator
// acts on what they saw escalated.
func dropStaleSignals(ctx workflow.Context, logger log.Logger) {
	for _, name := range []string{SignalRetry, SignalResolve, SignalAbort} {
		ch := workflow.GetSignalChannel(ctx, name)
		var stale OperatorSignal
		for ch.ReceiveAsync(&stale) {
			logger.Warn("Ignoring a signal sent while the workflow was not escalated", "signal", name)
		}
	}
}

// awaitOperator blocks until an operator sends retry, resolve or abort.
func awaitOperator(ctx workflow.Context) (string, OperatorSignal) {
	var got string
	var sig OperatorSignal
	sel := workflow.NewSelector(ctx)
	for _, name := range []string{SignalRetry, SignalResolve, SignalAbort} {
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &sig)
			got = name
		})
	}
	sel.Select(ctx)
	return got, sig
}
