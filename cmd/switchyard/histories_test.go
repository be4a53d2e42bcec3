package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// EnvCaptureHistories names a directory: after the end-to-end tests pass, the histories of
// their finished runs are written there, a few of each workflow type with distinct shapes, for
// the replayer test in workflows/ (`make histories`).
const EnvCaptureHistories = "SWITCHYARD_CAPTURE_HISTORIES"

// historiesPerType caps how many histories of one workflow type are kept.
const historiesPerType = 8

// captureHistories writes, per workflow type, the histories of closed runs whose sequences of
// event types differ, largest first, so escalations, signals and reversals are all kept. Files
// already there stay: they are what earlier code recorded. Their
// payloads are written decrypted (clear JSON), so the replayer needs no key; the test data is
// the simulators' and the tests'.
func captureHistories(ctx context.Context, c client.Client, codec *worker.Codec, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, wfType := range workflows.Types {
		var histories []*historypb.History
		var token []byte
		for {
			page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query:         fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'Running'", wfType),
				NextPageToken: token,
			})
			if err != nil {
				return fmt.Errorf("listing %s runs: %w", wfType, err)
			}
			for _, info := range page.GetExecutions() {
				h, err := readHistory(ctx, c, info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId())
				if err != nil {
					return err
				}
				if err := decodePayloads(ctx, codec, h); err != nil {
					return fmt.Errorf("decrypting the history of %s: %w", info.GetExecution().GetWorkflowId(), err)
				}
				histories = append(histories, h)
			}
			if token = page.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		slices.SortStableFunc(histories, func(a, b *historypb.History) int { return len(b.Events) - len(a.Events) })
		seen := map[string]bool{}
		n := 0
		for _, h := range histories {
			shape := historyShape(h)
			if seen[shape] || n == historiesPerType {
				continue
			}
			seen[shape] = true
			n++
			b, err := protojson.MarshalOptions{Indent: " "}.Marshal(h)
			if err != nil {
				return err
			}
			// Named by shape: a refresh adds new shapes and keeps the histories earlier releases
			// recorded, which today's code must still replay.
			sum := sha256.Sum256([]byte(shape))
			name := fmt.Sprintf("%s-%x.json", wfType, sum[:5])
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
		if n == 0 {
			return fmt.Errorf("no finished %s run to capture", wfType)
		}
	}
	return nil
}

func readHistory(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// historyShape is a history's sequence of event types (and marker names): what a replay
// exercises.
func historyShape(h *historypb.History) string {
	var b strings.Builder
	for _, e := range h.GetEvents() {
		b.WriteString(e.GetEventType().String())
		if m := e.GetMarkerRecordedEventAttributes(); m != nil {
			b.WriteString("/" + m.GetMarkerName())
		}
		b.WriteByte(',')
	}
	return b.String()
}
