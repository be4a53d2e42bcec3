package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// publisher keeps a workflow's search attributes. They are upserted only when the workflow
// first waits (a backoff, an escalation) or finishes, and all of them the first time: commands
// reach the server when the workflow task completes, so on the fast path (start, call, finish in
// one task) an intermediate value would never be seen, yet every upsert costs the server a
// visibility write.
type publisher struct {
	kind      string
	fixed     []temporal.SearchAttributeUpdate // set once: kind, client, channel, correlation id ...
	published string                           // the SwitchyardStatus last upserted
	logger    log.Logger
}

func newPublisher(kind, clientID, channel, correlationID string, logger log.Logger, extra ...temporal.SearchAttributeUpdate) *publisher {
	return &publisher{kind: kind, logger: logger, fixed: append([]temporal.SearchAttributeUpdate{
		KindKey.ValueSet(kind), ClientKey.ValueSet(clientID), ChannelKey.ValueSet(channel),
		CorrelationIDKey.ValueSet(correlationID)}, extra...)}
}

// publish upserts SwitchyardStatus (and the fixed attributes the first time) when it changed.
func (p *publisher) publish(ctx workflow.Context, status string) {
	if status == p.published {
		return
	}
	updates := []temporal.SearchAttributeUpdate{StatusKey.ValueSet(status)}
	if p.published == "" {
		updates = append(updates, p.fixed...)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		p.logger.Error("Updating search attributes", "error", err)
		return
	}
	p.published = status
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
