package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

const (
	notifyBase = "/api/notification/"
	notifyAdm  = "/api/v1/admin/notifications/"
)

// notifyEvent makes a catalog event with a rule and an SMS template through the admin API and
// answers its code.
func (h *hub) notifyEvent() string {
	h.t.Helper()
	code := "TEST_" + strings.ToUpper(strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
	a := h.do("POST", notifyAdm+"events/", "admin", map[string]any{"code": code, "module": "IDENTITY", "name": "Test"})
	require.Equal(h.t, http.StatusCreated, a.code, a.raw)
	return code
}

// queued puts a message of owner's in the outbox, created age ago.
func (h *hub) queued(owner, event string, age time.Duration) schema.OutboxRow {
	h.t.Helper()
	ctx := context.Background()
	ev, _, err := h.store.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: owner, EventCode: event,
		Payload: json.RawMessage(`{}`)})
	require.NoError(h.t, err)
	row, _, err := h.store.InsertOutbox(ctx, schema.OutboxRow{NotificationID: ev.ID, ClientID: owner, EventCode: event,
		IdempotencyKey: uuid.NewString(), ActorType: "USER", UserID: "u-1", Channel: "SMS", RecipientAddress: "+255700000001",
		Body: "hello"})
	require.NoError(h.t, err)
	_, err = h.store.DB().ExecContext(ctx, `UPDATE outbox SET created_at = now() - $2::interval WHERE id = $1`, row.ID,
		age.String())
	require.NoError(h.t, err)
	row, err = h.store.GetOutbox(ctx, row.ID)
	require.NoError(h.t, err)
	return row
}

func TestNotificationAdminCRUDIsValidated(t *testing.T) {
	h := newHub(t, api.Config{})
	reader := h.client(api.PermissionNotifications)

	t.Run("events name their bad fields and refuse duplicates", func(t *testing.T) {
		a := h.do("POST", notifyAdm+"events/", "admin", map[string]any{"code": "bad code!", "module": "NOPE",
			"payload_schema": []int{1}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "code")
		require.Contains(t, a.fields(), "module")
		require.Contains(t, a.fields(), "payload_schema")
		code := h.notifyEvent()
		a = h.do("POST", notifyAdm+"events/", "admin", map[string]any{"code": code, "module": "IDENTITY"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		a = h.do("PATCH", notifyAdm+"events/"+code+"/", "admin", map[string]any{"description": "changed", "active": false})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["active"])
		a = h.do("PATCH", notifyAdm+"events/"+code+"/", "admin", map[string]any{"code": "OTHER"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("GET", notifyBase+"events/?active=false&module=IDENTITY&limit=1000", reader, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Contains(t, a.raw, code)
		require.Equal(t, http.StatusBadRequest, h.do("GET", notifyBase+"events/?active=maybe", reader, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyAdm+"events/%00x/", "admin", nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyAdm+"events/NO_SUCH_EVENT/", "admin", nil).code)
	})

	t.Run("rules check policy, config, channels and attempts", func(t *testing.T) {
		code := h.notifyEvent()
		a := h.do("POST", notifyAdm+"rules/", "admin", map[string]any{"event_code": code, "recipient_policy": "role",
			"recipient_config": map[string]any{"users": []any{}}, "channels": []string{"SMS", "FAX"}, "max_attempts": 0,
			"priority": "URGENTISH"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		for _, f := range []string{"recipient_config", "channels", "max_attempts", "priority"} {
			require.Contains(t, a.fields(), f)
		}
		a = h.do("POST", notifyAdm+"rules/", "admin", map[string]any{"event_code": "NO_SUCH_EVENT",
			"recipient_policy": "on_call", "channels": []string{"SMS"}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "event_code", a.body["details"].(map[string]any)["field"])
		a = h.do("POST", notifyAdm+"rules/", "admin", map[string]any{"event_code": code, "recipient_policy": "explicit",
			"recipient_config": map[string]any{"users": []map[string]string{{"actor_type": "USER", "user_id": "u-1"}}},
			"channels":         []string{"SMS", "EMAIL"}, "max_attempts": 5, "critical": true})
		require.Equal(t, http.StatusCreated, a.code, a.raw)
		id := a.data()["id"].(string)
		require.ElementsMatch(t, []any{"SMS", "EMAIL"}, a.data()["channels"])
		a = h.do("PATCH", notifyAdm+"rules/"+id+"/", "admin", map[string]any{"channels": []string{"IN_APP"}, "max_attempts": 51})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("PATCH", notifyAdm+"rules/"+id+"/", "admin", map[string]any{"channels": []string{"IN_APP"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, []any{"IN_APP"}, a.data()["channels"])
		a = h.do("GET", notifyBase+"rules/?event_code="+code, reader, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Len(t, a.body["data"], 1)
		require.Equal(t, http.StatusOK, h.do("DELETE", notifyAdm+"rules/"+id+"/", "admin", nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyAdm+"rules/"+id+"/", "admin", nil).code)
	})

	t.Run("templates check placeholders and are one per event, channel and language", func(t *testing.T) {
		code := h.notifyEvent()
		a := h.do("POST", notifyAdm+"templates/", "admin", map[string]any{"event_code": code, "channel": "SMS",
			"body": "Hello {{ name", "language": "english"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "body")
		require.Contains(t, a.fields(), "language")
		a = h.do("POST", notifyAdm+"templates/", "admin", map[string]any{"event_code": code, "channel": "SMS",
			"body": "Hi {{ a b }}"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("POST", notifyAdm+"templates/", "admin", map[string]any{"event_code": code, "channel": "SMS",
			"body": "Hello {{ recipient.name }}, order {{order.id}}\n"})
		require.Equal(t, http.StatusCreated, a.code, a.raw)
		require.Equal(t, "en", a.data()["language"])
		a = h.do("POST", notifyAdm+"templates/", "admin", map[string]any{"event_code": code, "channel": "SMS",
			"body": "again"})
		require.Equal(t, http.StatusConflict, a.code, a.raw)
		a = h.do("GET", notifyBase+"templates/?event_code="+code+"&channel=SMS&language=en&active=true", reader, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Len(t, a.body["data"], 1)
	})

	t.Run("recipients are created once, changed and deactivated", func(t *testing.T) {
		user := "r-" + uuid.NewString()
		a := h.do("POST", notifyAdm+"recipients/", "admin", map[string]any{"actor_type": "WIZARD", "user_id": user,
			"email": "not an address", "phone": "12ab"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		for _, f := range []string{"actor_type", "email", "phone"} {
			require.Contains(t, a.fields(), f)
		}
		body := map[string]any{"actor_type": "STAFF", "user_id": user, "email": "ops@example.com", "phone": "+255700000009",
			"roles": []string{"ops"}, "on_call": true}
		require.Equal(t, http.StatusCreated, h.do("POST", notifyAdm+"recipients/", "admin", body).code)
		require.Equal(t, http.StatusConflict, h.do("POST", notifyAdm+"recipients/", "admin", body).code)
		a = h.do("PATCH", notifyAdm+"recipients/STAFF/"+user+"/", "admin", map[string]any{"name": "Ops"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "Ops", a.data()["name"])
		require.Equal(t, "ops@example.com", a.data()["email"])
		a = h.do("DELETE", notifyAdm+"recipients/STAFF/"+user+"/", "admin", nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["active"])
		require.Equal(t, false, a.data()["on_call"])
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyAdm+"recipients/STAFF/nobody-"+user+"/", "admin", nil).code)

		// The directory pages by actor type and user id; the cursor names a recipient.
		var seen []string
		next := ""
		for range 100 {
			path := notifyAdm + "recipients/?limit=1"
			if next != "" {
				path += "&starting_after=" + url.QueryEscape(next)
			}
			a = h.do("GET", path, "admin", nil)
			require.Equal(t, http.StatusOK, a.code, a.raw)
			for _, r := range a.body["data"].([]any) {
				m := r.(map[string]any)
				seen = append(seen, m["actor_type"].(string)+"/"+m["user_id"].(string))
			}
			if a.body["has_more"] != true {
				break
			}
			next = a.body["next_page"].(string)
		}
		require.Contains(t, seen, "STAFF/"+user)
		require.IsIncreasing(t, seen, "in order, none twice")
		a = h.do("GET", notifyAdm+"recipients/?starting_after=STAFF/nobody-"+user, "admin", nil)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	t.Run("clients need the permission and admins the token", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, h.do("GET", notifyBase+"lookups/", h.client("integrations"), nil).code)
		require.Equal(t, http.StatusUnauthorized, h.do("POST", notifyAdm+"events/", "", map[string]any{}).code)
		a := h.do("GET", notifyBase+"lookups/", reader, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Contains(t, a.raw, `"IN_APP"`)
		require.Equal(t, http.StatusOK, h.do("GET", notifyBase, reader, nil).code)
	})
}

func TestPreferencesAreCheckedAndDefaulted(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionNotifications)
	user := "p-" + uuid.NewString()
	path := notifyBase + "preferences/USER/" + user + "/"

	a := h.do("GET", path, owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, true, a.data()["default"])
	require.Equal(t, "UTC", a.data()["time_zone"])

	a = h.do("GET", notifyBase+"preferences/WIZARD/"+user+"/", owner, nil)
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)

	a = h.do("POST", path, owner, map[string]any{"channels": map[string]bool{"SMS": false, "PIGEON": true},
		"quiet_hours_start": "25:00", "time_zone": "Mars/Olympus", "language": "EN!"})
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	for _, f := range []string{"channels", "quiet_hours_start", "time_zone", "language"} {
		require.Contains(t, a.fields(), f)
	}
	a = h.do("POST", path, owner, map[string]any{"quiet_hours_start": "22:00"})
	require.Equal(t, http.StatusBadRequest, a.code, a.raw, "a start needs an end")
	a = h.do("POST", path, owner, map[string]any{"time_zone": "Local"})
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)

	a = h.do("POST", path, owner, map[string]any{"channels": map[string]bool{"SMS": false}, "quiet_hours_start": "22:00",
		"quiet_hours_end": "07:00", "time_zone": "Africa/Dar_es_Salaam", "language": "sw"})
	require.Equal(t, http.StatusOK, a.code, a.raw)
	a = h.do("POST", path, owner, map[string]any{"language": "en"})
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, "22:00", a.data()["quiet_hours_start"], "absent fields are kept")
	require.Equal(t, map[string]any{"SMS": false}, a.data()["channels"])
	a = h.do("GET", path, owner, nil)
	require.Equal(t, false, a.data()["default"])
	require.Equal(t, "Africa/Dar_es_Salaam", a.data()["time_zone"])

	a = h.do("GET", notifyBase+"preferences/USER/"+strings.Repeat("x", 201)+"/", owner, nil)
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	a = h.do("GET", notifyBase+"preferences/USER/a%00b/", owner, nil)
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	a = h.do("GET", notifyBase+"preferences/USER/a%ffb/", owner, nil)
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
}

func TestEmitStartsNotifyAndIsIdempotent(t *testing.T) {
	h := newHub(t, api.Config{NotificationEmitWait: 300 * time.Millisecond})
	owner, other := h.client(api.PermissionNotifications), h.client(api.PermissionNotifications)
	code := h.notifyEvent()

	t.Run("malformed emits are refused before anything starts", func(t *testing.T) {
		for name, body := range map[string]any{
			"no event":         map[string]any{"payload": map[string]any{}},
			"payload array":    map[string]any{"event_code": code, "payload": []int{1}},
			"payload with NUL": `{"event_code": "` + code + `", "payload": {"a": "x\u0000y"}}`,
			"bad recipient":    map[string]any{"event_code": code, "recipients": []map[string]string{{"actor_type": "USER", "user_id": ""}}},
			"big payload":      map[string]any{"event_code": code, "payload": map[string]any{"a": strings.Repeat("x", 70<<10)}},
			"unknown field":    map[string]any{"event_code": code, "colour": "red"},
		} {
			a := h.do("POST", notifyBase+"emit/", owner, body)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, a.code, "%s: %s", name, a.raw)
		}
		a := h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": code, "idempotency_key": "a"},
			"Idempotency-Key", "b")
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": "switchyard.transaction.escalated",
			"payload": map[string]any{"error": "page the on-call staff"}})
		require.Equal(t, http.StatusForbidden, a.code, "the hub's own events are the hub's: %s", a.raw)
		require.Empty(t, h.started())
	})

	t.Run("a user id within the route's characters but over the store's bytes is a 400, not a 500", func(t *testing.T) {
		a := h.do("POST", notifyBase+"preferences/USER/"+strings.Repeat("é", 200)+"/", owner,
			map[string]any{"language": "sw"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	})

	key := "emit-" + uuid.NewString()
	var notificationID string
	h.onStart(func(opts client.StartWorkflowOptions, workflowType string, input any) (client.WorkflowRun, error) {
		in := input.(workflows.NotifyInput)
		notificationID = in.NotificationID
		return fakeRun{id: opts.ID, result: workflows.NotifyResult{NotificationID: in.NotificationID,
			Disposition: transaction.NotificationQueued, Messages: []workflows.NotifyMessage{{OutboxID: "o-1",
				Channel: "SMS", Recipient: workflows.Recipient{ActorType: "USER", UserID: "u-1"},
				Status: transaction.OutboxQueued}}}}, nil
	})
	body := map[string]any{"event_code": code, "payload": map[string]any{"user_id": "u-1", "n": 1},
		"recipients": []map[string]string{{"actor_type": "USER", "user_id": "u-1"}}}
	a := h.do("POST", notifyBase+"emit/", owner, body, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, "queued", a.data()["disposition"])
	require.Len(t, a.data()["messages"], 1)
	starts := h.started()
	require.Len(t, starts, 1)
	require.Equal(t, workflows.NotificationWorkflowID(notificationID), starts[0].opts.ID)
	require.Equal(t, workflows.TaskQueueNotification, starts[0].opts.TaskQueue)
	require.Equal(t, workflows.WorkflowNotify, starts[0].workflowType)
	require.True(t, starts[0].opts.EnableEagerStart)
	require.Equal(t, key, starts[0].input.(workflows.NotifyInput).IdempotencyKey)
	memo := starts[0].opts.Memo[transaction.MemoKey].(transaction.Memo)
	require.Equal(t, transaction.KindNotification, memo.Kind)
	require.Equal(t, owner, memo.ClientID)

	t.Run("a repeat of the key answers the first emit and starts nothing", func(t *testing.T) {
		require.NoError(t, h.store.FinishNotificationEvent(context.Background(), notificationID,
			transaction.NotificationSuppressed, "no_active_rule", 0))
		h.onStart(nil)
		a := h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": code, "idempotency_key": key,
			"payload": map[string]any{"n": 1, "user_id": "u-1"}, "recipients": body["recipients"]})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, notificationID, a.data()["notification_id"])
		require.Equal(t, "suppressed", a.data()["disposition"])
		require.Equal(t, "no_active_rule", a.data()["reason"])
		require.Empty(t, h.started())

		a = h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": code, "payload": map[string]any{"n": 2}},
			"Idempotency-Key", key)
		require.Equal(t, http.StatusUnprocessableEntity, a.code, a.raw)
		require.Equal(t, api.CodeIdempotencyKeyReused, a.errorCode())
	})

	t.Run("the same key of another client is its own emit", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a := h.do("POST", notifyBase+"emit/", other, body, "Idempotency-Key", key)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Equal(t, "processing", a.data()["disposition"])
		id := a.data()["notification_id"].(string)
		require.NotEqual(t, notificationID, id)
		require.Equal(t, a.data()["status_url"], a.header.Get("Location"))

		s := h.do("GET", notifyBase+"emits/"+id+"/", other, nil)
		require.Equal(t, http.StatusOK, s.code, s.raw)
		require.Equal(t, "processing", s.data()["disposition"])
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyBase+"emits/"+id+"/", owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", notifyBase+"emits/a%00b/", owner, nil).code)
	})

	t.Run("a start Temporal refuses is a 503 and the key's repeat starts it", func(t *testing.T) {
		h.onStart(func(client.StartWorkflowOptions, string, any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewUnavailable("down")
		})
		k := "down-" + uuid.NewString()
		a := h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": code}, "Idempotency-Key", k)
		require.Equal(t, http.StatusServiceUnavailable, a.code, a.raw)
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a = h.do("POST", notifyBase+"emit/", owner, map[string]any{"event_code": code}, "Idempotency-Key", k)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Len(t, h.started(), 1)
	})
}

// describeAs makes DescribeWorkflowExecution of workflowID answer status (NotFound when
// unspecified).
func (h *hub) describeAs(workflowID string, status enums.WorkflowExecutionStatus) {
	if status == enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "").
			Return(nil, serviceerror.NewNotFound("workflow not found")).Maybe()
		return
	}
	h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "").Return(
		&workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status: status}}, nil).Maybe()
}

func TestOutboxProcessRestartsOnlyDeliveriesThatAreGone(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionNotifications), h.client(api.PermissionNotifications)
	code := h.notifyEvent()
	gone := h.queued(owner, code, time.Hour)
	closed := h.queued(owner, code, time.Hour)
	running := h.queued(owner, code, time.Hour)
	escalating := h.queued(owner, code, time.Hour)
	h.queued(owner, code, 0) // too recent to be touched
	theirs := h.queued(other, code, time.Hour)
	h.describeAs(workflows.OutboxWorkflowID(gone.ID), enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
	h.describeAs(workflows.OutboxWorkflowID(closed.ID), enums.WORKFLOW_EXECUTION_STATUS_TERMINATED)
	h.describeAs(workflows.OutboxWorkflowID(running.ID), enums.WORKFLOW_EXECUTION_STATUS_RUNNING)
	// A message whose delivery ended but whose escalation is retrying it: its escalation sends.
	h.describeAs(workflows.OutboxWorkflowID(escalating.ID), enums.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	h.describeAs(workflows.NotificationEscalationWorkflowID(escalating.ID), enums.WORKFLOW_EXECUTION_STATUS_RUNNING)
	for _, m := range []schema.OutboxRow{gone, closed} {
		h.describeAs(workflows.NotificationEscalationWorkflowID(m.ID), enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
	}
	h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
		return fakeRun{id: opts.ID}, nil
	})

	a := h.do("POST", notifyBase+"outbox/process/", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	d := a.data()
	require.EqualValues(t, 5, d["examined"])
	require.EqualValues(t, 2, d["restarted"])
	require.EqualValues(t, 2, d["running"], "the running delivery, and the message its escalation retries")
	require.EqualValues(t, 1, d["recent"])
	require.ElementsMatch(t, []any{gone.ID, closed.ID}, d["restarts"])
	starts := h.started()
	require.Len(t, starts, 2)
	for _, s := range starts {
		require.Equal(t, workflows.WorkflowNotificationDelivery, s.workflowType)
		require.Equal(t, workflows.TaskQueueNotification, s.opts.TaskQueue)
		require.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, s.opts.WorkflowIDReusePolicy)
		in := s.input.(workflows.NotificationDeliveryInput)
		require.Equal(t, workflows.OutboxWorkflowID(in.OutboxID), s.opts.ID)
		require.Equal(t, owner, in.ClientID)
		require.NotEqual(t, theirs.ID, in.OutboxID)
	}

	t.Run("a start that finds the delivery running counts it running", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("running", "", "")
		})
		a := h.do("POST", notifyBase+"outbox/process/", owner, map[string]any{})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.EqualValues(t, 0, a.data()["restarted"])
		require.EqualValues(t, 4, a.data()["running"])
	})

	t.Run("a final or sent message is not examined", func(t *testing.T) {
		_, err := h.store.DB().ExecContext(context.Background(), `UPDATE outbox SET status = 'SENT', final = true
			WHERE id = ANY($1)`, "{"+gone.ID+","+closed.ID+"}")
		require.NoError(t, err)
		h.onStart(nil)
		a := h.do("POST", notifyBase+"outbox/process/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.EqualValues(t, 3, a.data()["examined"], "the running, the escalating and the recent one")
		require.Empty(t, h.started())
	})

	require.Equal(t, http.StatusBadRequest, h.do("POST", notifyBase+"outbox/process/", owner, map[string]any{"all": true}).code)
}

func TestOutboxLogsAndInboxAreTheClients(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionNotifications), h.client(api.PermissionNotifications)
	code := h.notifyEvent()
	ctx := context.Background()
	msg := h.queued(owner, code, 0)
	_, err := h.store.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: msg.ID,
		Attempt: 1, Provider: "sms", Status: transaction.OutboxFailed, Error: "gateway 503"}, Status: transaction.OutboxQueued})
	require.NoError(t, err)
	user := "inbox-" + uuid.NewString()
	inbox, err := h.store.CreateInAppMessage(ctx, schema.InAppMessageRow{OutboxID: msg.ID, ClientID: owner,
		ActorType: "USER", UserID: user, Title: "Hi", Body: "Welcome"})
	require.NoError(t, err)

	a := h.do("GET", notifyBase+"outbox/?status=QUEUED&channel=SMS", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Len(t, a.body["data"], 1)
	a = h.do("GET", notifyBase+"outbox/", other, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Empty(t, a.body["data"])
	require.Equal(t, http.StatusBadRequest, h.do("GET", notifyBase+"outbox/?due=soon", owner, nil).code)
	require.Equal(t, http.StatusBadRequest, h.do("GET", notifyBase+"outbox/?status=queued%00", owner, nil).code)

	a = h.do("GET", notifyBase+"outbox/"+msg.ID+"/delivery-logs/", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Len(t, a.body["data"], 1)
	require.Equal(t, http.StatusNotFound, h.do("GET", notifyBase+"outbox/"+msg.ID+"/delivery-logs/", other, nil).code)
	require.Equal(t, http.StatusNotFound, h.do("GET", notifyBase+"outbox/%ff%fe/delivery-logs/", owner, nil).code)

	a = h.do("GET", notifyBase+"inbox/"+user+"/?unread=true", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Len(t, a.body["data"], 1)
	a = h.do("GET", notifyBase+"inbox/"+user+"/", other, nil)
	require.Empty(t, a.body["data"])
	require.Equal(t, http.StatusNotFound, h.do("POST", notifyBase+"inbox/"+inbox.ID+"/read/", other, nil).code)
	a = h.do("POST", notifyBase+"inbox/"+inbox.ID+"/read/", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, true, a.data()["read"])
	a = h.do("GET", notifyBase+"inbox/"+user+"/?unread=true", owner, nil)
	require.Empty(t, a.body["data"])
	require.Equal(t, http.StatusNotFound, h.do("POST", notifyBase+"inbox/a%00b/read/", owner, nil).code)
}

func TestNotificationEscalationSignals(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionNotifications)
	code := h.notifyEvent()
	calm := h.queued(owner, code, 0)
	failed := h.queued(owner, code, 0)
	_, err := h.store.DB().ExecContext(context.Background(), `UPDATE outbox SET status = 'FAILED', final = true,
		critical = true, escalation_required = true WHERE id = $1`, failed.ID)
	require.NoError(t, err)
	path := func(id, signal string) string { return notifyAdm + "outbox/" + id + "/signals/" + signal + "/" }

	require.Equal(t, http.StatusBadRequest, h.do("POST", path(failed.ID, "resolve"), "admin", nil).code)
	require.Equal(t, http.StatusUnauthorized, h.do("POST", path(failed.ID, "ack"), owner, nil).code)
	require.Equal(t, http.StatusNotFound, h.do("POST", path("no-such-"+uuid.NewString(), "ack"), "admin", nil).code)
	a := h.do("POST", path(calm.ID, "ack"), "admin", nil)
	require.Equal(t, http.StatusConflict, a.code, a.raw)
	require.Equal(t, api.CodeNotEscalated, a.errorCode())
	a = h.do("POST", path(failed.ID, "ack"), "admin", map[string]any{"note": "bad\u0000note"})
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)

	escalation := workflows.NotificationEscalationWorkflowID(failed.ID)
	for _, signal := range []string{workflows.SignalAck, workflows.SignalRetry, workflows.SignalAbort} {
		h.temporal.On("SignalWorkflow", mock.Anything, escalation, "", signal,
			workflows.OperatorSignal{Note: "on it", By: "admin"}).Return(nil).Once()
		a = h.do("POST", path(failed.ID, signal), "admin", map[string]any{"note": "on it"})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Equal(t, escalation, a.data()["workflow_id"])
	}
	h.temporal.On("SignalWorkflow", mock.Anything, escalation, "", workflows.SignalAck, mock.Anything).
		Return(serviceerror.NewNotFound("workflow execution already completed")).Once()
	a = h.do("POST", path(failed.ID, "ack"), "admin", nil)
	require.Equal(t, http.StatusConflict, a.code, a.raw)
	require.Equal(t, api.CodeNotEscalated, a.errorCode())
}
