package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func TestMessagesAreSentThroughSendMessage(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	wa := h.do("POST", integrationsPath, owner, whatsApp("Sender"))
	require.Equal(t, http.StatusCreated, wa.code, wa.raw)
	id := wa.data()["id"].(string)
	messages := integrationsPath + id + "/messages/"
	text := map[string]any{"to": "255700000001", "content": map[string]any{"type": "TEXT", "text": "Hello"}}

	t.Run("bad messages are refused before anything starts", func(t *testing.T) {
		h.onStart(nil)
		for _, bad := range []map[string]any{
			{"to": "", "content": map[string]any{"type": "TEXT", "text": "Hi"}},
			{"to": strings.Repeat("1", 257), "content": map[string]any{"type": "TEXT", "text": "Hi"}},
			{"to": "1", "content": map[string]any{"type": "TEXT", "text": strings.Repeat("a", 4097)}},
			{"to": "1", "content": map[string]any{"type": "IMAGE"}},
			{"to": "1", "content": map[string]any{"type": "VIDEO", "text": "Hi"}},
			{"to": "1", "content": map[string]any{"type": "TEXT", "text": "Hi", "colour": "red"}},
		} {
			a := h.do("POST", messages, owner, bad)
			require.Equal(t, http.StatusBadRequest, a.code, "%v: %s", bad, a.raw)
		}
		gh := h.do("POST", integrationsPath, owner, map[string]any{"name": "repo", "platform": "github",
			"credentials": map[string]any{"webhook_secret": "s"}})
		a := h.do("POST", integrationsPath+gh.data()["id"].(string)+"/messages", owner, text)
		require.Equal(t, http.StatusBadRequest, a.code, "only messaging platforms send: %s", a.raw)
		require.Equal(t, http.StatusNotFound, h.do("POST", messages, other, text).code)
		require.Empty(t, h.started())
	})

	t.Run("a sent message", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.SendMessageResult{Status: "successful", MessageID: "wamid.1",
				Attempts: 1}}, nil
		})
		a := h.do("POST", messages, owner, text, "Idempotency-Key", "msg-1")
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "wamid.1", a.data()["message_id"])
		correlationID := a.data()["correlation_id"].(string)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowSendMessage, s[0].workflowType)
		require.Equal(t, workflows.TaskQueueWebhook, s[0].opts.TaskQueue)
		require.Equal(t, transaction.WorkflowID(transaction.KindMessage, correlationID), s[0].opts.ID)
		in := s[0].input.(workflows.SendMessageInput)
		require.True(t, in.Keyed)
		require.Equal(t, id, in.IntegrationID)
		require.Equal(t, "Hello", in.Message.Content.Text)
		require.Equal(t, api.KeyedCorrelationID(owner, transaction.KindMessage,
			"/api/v1/integration/integrations/"+id+"/messages", "msg-1"), correlationID)
	})

	t.Run("a failed send is a 502 with the result's code", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.SendMessageResult{Status: "failed", Attempts: 3,
				Error: "recipient not on WhatsApp", ErrorCode: "PLATFORM_ERROR"}}, nil
		})
		a := h.do("POST", messages, owner, text)
		require.Equal(t, http.StatusBadGateway, a.code, a.raw)
		require.Equal(t, "PLATFORM_ERROR", a.errorCode())
		require.NotEmpty(t, a.body["details"].(map[string]any)["correlation_id"])
	})

	t.Run("a slow send answers 202 with the status URL", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a := h.do("POST", messages, owner, text, "Prefer", "respond-async")
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.True(t, strings.HasPrefix(a.data()["status_url"].(string), "/transactions/"))
	})
}
