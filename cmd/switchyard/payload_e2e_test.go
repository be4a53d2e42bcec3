package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// testPAN is a Luhn-valid test card number.
const testPAN = "4111111111111111"

// storedHistory is a workflow's history as Temporal stores it: nothing decoded.
func storedHistory(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	iter := h.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	out := &historypb.History{}
	for iter.HasNext() {
		event, err := iter.Next()
		require.NoError(t, err)
		out.Events = append(out.Events, event)
	}
	require.NotEmpty(t, out.Events, "no history for %s", workflowID)
	return out
}

// rawHistory is a workflow's history in Temporal's wire format, the bytes its database holds.
func rawHistory(t *testing.T, workflowID string) []byte {
	t.Helper()
	raw, err := proto.Marshal(storedHistory(t, workflowID))
	require.NoError(t, err)
	return raw
}

// decodedHistory is a workflow's history with every payload decrypted by the hub's codec, as
// the Web UI and `temporal workflow show --codec-endpoint` show it.
func decodedHistory(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	hist := storedHistory(t, workflowID)
	require.NoError(t, decodePayloads(context.Background(), h.codec, hist))
	return hist
}

// decodePayloads decrypts every payload in msg in place.
func decodePayloads(ctx context.Context, codec *worker.Codec, msg proto.Message) error {
	return proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Decode(p)
		},
	})
}

// requireNotInRawHistory checks the stored history of workflowID holds none of values, and that
// every payload in it but search attributes (which Temporal indexes) is encrypted.
func requireNotInRawHistory(t *testing.T, workflowID string, values ...string) {
	t.Helper()
	stored := storedHistory(t, workflowID)
	encrypted := 0
	require.NoError(t, proxy.VisitPayloads(context.Background(), stored, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range payloads {
				require.Equal(t, worker.EncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]),
					"a payload of %s in clear: %s", workflowID, p.GetData())
				encrypted++
			}
			return payloads, nil
		},
	}))
	require.NotZero(t, encrypted, "%s has payloads", workflowID)
	raw, err := proto.Marshal(stored)
	require.NoError(t, err)
	for _, v := range values {
		require.False(t, bytes.Contains(raw, []byte(v)), "%q is in the stored history of %s", v, workflowID)
		require.NotContains(t, stored.String(), v, "%q is in the stored history of %s", v, workflowID)
	}
}

// cardTransfer moves 1.00 with a card number between the two accounts isoAccounts(offset)
// names, and returns the run's workflow ID and the debited account.
func cardTransfer(t *testing.T, offset int) (workflowID, from string) {
	t.Helper()
	from, to := isoAccounts(t, offset)
	r := h.do(t, request{method: "POST", path: "/api/v1/iso/transfer", body: fmt.Sprintf(
		`{"from_account":%q,"to_account":%q,"amount":"1.00","pan":%q}`, from, to, testPAN)}.
		asClient(demoClient, demoSecret).header("X-Upstream-Api-Key", "upstream-api-key-5e1d"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	row := h.row(t, r.Header.Get("X-Correlation-ID"))
	require.NotEmpty(t, row.WorkflowID)
	return row.WorkflowID, from
}

func TestCardDataNeverReachesTemporalInClear(t *testing.T) {
	t.Parallel()
	workflowID, from := cardTransfer(t, 26)

	decoded := historyText(t, workflowID)
	require.Contains(t, decoded, testPAN, "the decrypted history holds the card: the check below reads the right run")
	requireNotInRawHistory(t, workflowID, testPAN, from, demoSecret, "upstream-api-key-5e1d")

	t.Run("the memo the API starts runs with is encrypted too", func(t *testing.T) {
		d, err := h.temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		require.NoError(t, err)
		memo := d.GetWorkflowExecutionInfo().GetMemo().GetFields()[transaction.MemoKey]
		require.NotNil(t, memo)
		require.Equal(t, worker.EncodingEncrypted, string(memo.GetMetadata()["encoding"]))
		require.Equal(t, testPayloadKeyID, string(memo.GetMetadata()[worker.MetadataKeyID]))
	})
}

// codecPost is a call to the hub's codec server as the Temporal Web UI makes it: JSON, the UI's
// origin and the namespace, with the admin token when token is set.
func codecPost(t *testing.T, path string, payloads []*commonpb.Payload, token string) response {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req := request{method: "POST", path: api.CodecPath + path, body: string(body)}.
		header("Origin", webUIOrigin, "X-Namespace", h.env.Temporal.Namespace)
	if token != "" {
		req = req.header("Authorization", "Bearer "+token)
	}
	return h.do(t, req)
}

func TestWebUIDecodesThroughTheCodecServer(t *testing.T) {
	t.Parallel()
	workflowID, from := cardTransfer(t, 28)
	started := storedHistory(t, workflowID).GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	input := started.GetInput().GetPayloads()
	require.NotEmpty(t, input)
	require.NotContains(t, string(input[0].GetData()), testPAN)

	t.Run("the UI's preflight", func(t *testing.T) {
		r := h.do(t, request{method: "OPTIONS", path: api.CodecPath + "/decode"}.header("Origin", webUIOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-namespace,authorization"))
		require.Equal(t, http.StatusNoContent, r.Status)
		require.Equal(t, webUIOrigin, r.Header.Get("Access-Control-Allow-Origin"))
	})

	t.Run("with the admin token the UI reads the clear input", func(t *testing.T) {
		r := codecPost(t, "/decode", input, adminToken)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, webUIOrigin, r.Header.Get("Access-Control-Allow-Origin"))
		var out commonpb.Payloads
		require.NoError(t, protojson.Unmarshal(r.Body, &out))
		require.Equal(t, "json/plain", string(out.GetPayloads()[0].GetMetadata()["encoding"]))
		require.Contains(t, string(out.GetPayloads()[0].GetData()), from)
		require.Contains(t, string(out.GetPayloads()[0].GetData()), testPAN)
	})

	t.Run("without it, 401", func(t *testing.T) {
		r := codecPost(t, "/decode", input, "")
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.NotContains(t, string(r.Body), testPAN)
	})

	t.Run("temporal workflow show --codec-endpoint decrypts", func(t *testing.T) {
		out := temporalCLI(t, "workflow", "show", "--workflow-id", workflowID, "--output", "json")
		var shown historypb.History
		require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(out), &shown))
		input := shown.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
		require.Equal(t, "json/plain", string(input.GetMetadata()[converter.MetadataEncoding]))
		require.Contains(t, string(input.GetData()), from)
	})
}

func TestPayloadsUnderTheOldKeyDecodeAfterRotation(t *testing.T) {
	t.Parallel()
	// A client of before the rotation: "test-old" is its current key.
	old, err := worker.NewCodec(worker.PayloadConfig{Keys: testOldPayloadKey})
	require.NoError(t, err)
	oldClient, err := worker.Dial(context.Background(), h.env.Temporal, slog.New(slog.DiscardHandler), nil, old.DataConverter())
	require.NoError(t, err)
	defer oldClient.Close()

	t.Run("the hub's worker reads a signal encrypted under the old key", func(t *testing.T) {
		id := escalate(t, "rotation")
		require.NoError(t, oldClient.SignalWorkflow(context.Background(), "tx:"+id, "", workflows.SignalResolve,
			workflows.OperatorSignal{Note: "resolved under the old key", By: "ops"}))
		d := h.waitStatus(t, id, transaction.StatusResolved)
		require.Equal(t, "resolved under the old key", d["resolution_note"])
		raw := rawHistory(t, "tx:"+id)
		require.True(t, bytes.Contains(raw, []byte("test-old")), "the history holds the old key's payload")
		require.True(t, bytes.Contains(raw, []byte(testPayloadKeyID)), "and the new key's")
	})

	t.Run("the codec server decodes what the old key encrypted", func(t *testing.T) {
		p, err := old.DataConverter().ToPayload(map[string]string{"pan": testPAN})
		require.NoError(t, err)
		require.Equal(t, "test-old", string(p.GetMetadata()[worker.MetadataKeyID]))
		r := codecPost(t, "/decode", []*commonpb.Payload{p}, adminToken)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var out commonpb.Payloads
		require.NoError(t, protojson.Unmarshal(r.Body, &out))
		require.JSONEq(t, `{"pan":"`+testPAN+`"}`, string(out.GetPayloads()[0].GetData()))
	})
}
