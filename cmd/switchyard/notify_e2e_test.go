package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// notifyAdmin calls the notification admin API.
func notifyAdmin(t *testing.T, method, path string, body any) response {
	t.Helper()
	b, _ := json.Marshal(body)
	if body == nil {
		b = nil
	}
	return h.do(t, request{method: method, path: "/api/v1/admin/notifications" + path, body: string(b)}.asAdmin())
}

// notifyCall calls a client route of the notification module as the demo integrator.
func notifyCall(t *testing.T, method, path string, body any) response {
	t.Helper()
	b, _ := json.Marshal(body)
	if body == nil {
		b = nil
	}
	return h.do(t, request{method: method, path: "/api/notification" + path, body: string(b)}.asClient(demoClient, demoSecret))
}

// notifyFixture is one test's event, with its rules, templates and recipients, all its own.
type notifyFixture struct {
	event string
	tag   string
}

func newNotifyFixture(t *testing.T) *notifyFixture {
	t.Helper()
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	f := &notifyFixture{event: "E2E_" + strings.ToUpper(tag), tag: tag}
	r := notifyAdmin(t, "POST", "/events/", map[string]any{"code": f.event, "module": "IDENTITY", "name": "e2e " + tag})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	return f
}

// recipient adds a person to the directory and answers their user id.
func (f *notifyFixture) recipient(t *testing.T, name string, onCall bool, roles ...string) string {
	t.Helper()
	user := name + "-" + f.tag
	r := notifyAdmin(t, "POST", "/recipients/", map[string]any{"actor_type": "USER", "user_id": user, "name": name,
		"email": user + "@example.org", "phone": fmt.Sprintf("+2557%08d", crc32.ChecksumIEEE([]byte(user))%100_000_000),
		"on_call": onCall, "roles": append([]string{}, roles...)})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	return user
}

func (f *notifyFixture) rule(t *testing.T, spec map[string]any) string {
	t.Helper()
	spec["event_code"] = f.event
	if spec["name"] == nil {
		spec["name"] = "e2e rule"
	}
	r := notifyAdmin(t, "POST", "/rules/", spec)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.data(t)["id"].(string)
}

func (f *notifyFixture) template(t *testing.T, channel, language, subject, body string) {
	t.Helper()
	r := notifyAdmin(t, "POST", "/templates/", map[string]any{"event_code": f.event, "channel": channel,
		"language": language, "subject": subject, "body": body})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}

// emitted emits the fixture's event and answers the emit's data once its messages are known.
func (f *notifyFixture) emit(t *testing.T, payload map[string]any, extra ...string) map[string]any {
	t.Helper()
	body := map[string]any{"event_code": f.event, "payload": payload}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	r := notifyCall(t, "POST", "/emit/", body)
	require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, r.Status, "%s", r.Body)
	d := r.data(t)
	if r.Status == http.StatusAccepted {
		id := d["notification_id"].(string)
		require.Eventually(t, func() bool {
			s := notifyCall(t, "GET", "/emits/"+id+"/", nil)
			d = s.data(t)
			return d["disposition"] != transaction.NotificationProcessing
		}, 30*time.Second, 100*time.Millisecond)
	}
	return d
}

// messages are an emit's outbox rows by channel.
func messagesByChannel(t *testing.T, emit map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range emit["messages"].([]any) {
		msg := m.(map[string]any)
		out[msg["channel"].(string)] = msg["outbox_id"].(string)
	}
	return out
}

// waitOutbox polls an outbox row until cond holds.
func waitOutbox(t *testing.T, id string, within time.Duration, cond func(schema.OutboxRow) bool) schema.OutboxRow {
	t.Helper()
	var row schema.OutboxRow
	require.Eventually(t, func() bool {
		var err error
		row, err = h.store.GetOutbox(context.Background(), id)
		return err == nil && cond(row)
	}, within, 100*time.Millisecond, "outbox %s: %+v", id, &row)
	return row
}

func final(status string) func(schema.OutboxRow) bool {
	return func(r schema.OutboxRow) bool {
		return r.Status == status && (r.Final || status != transaction.OutboxFailed)
	}
}

// smsTo counts the SMS simulator's messages to a number, and the requests that carried their keys.
func smsTo(t *testing.T, phone string) (messages, requests int) {
	t.Helper()
	var msgs []map[string]any
	simJSON(t, "/_sim/sms/messages", &msgs)
	for _, m := range msgs {
		if m["to"] == phone {
			messages++
			n, _ := m["received"].(float64)
			requests += int(n)
		}
	}
	return messages, requests
}

// TestNotificationFlow walks seed 001's flow end to end: a suppressed event, channels against
// preferences and the critical override, template language fallback, a missing placeholder, a
// duplicate emit, the in-app inbox, and SMS and e-mail reaching the simulators.
func TestNotificationFlow(t *testing.T) {
	t.Parallel()
	f := newNotifyFixture(t)

	t.Run("an event without an active rule is suppressed", func(t *testing.T) {
		d := f.emit(t, map[string]any{"user_id": "nobody"})
		require.Equal(t, transaction.NotificationSuppressed, d["disposition"], "%v", d)
		require.Equal(t, "no_active_rule", d["reason"])
		require.Empty(t, d["messages"])
	})

	amina := f.recipient(t, "amina", false)
	neema := f.recipient(t, "neema", false)
	f.rule(t, map[string]any{"recipient_policy": "payload_user", "channels": []string{"SMS", "EMAIL", "IN_APP"},
		"max_attempts": 3})
	f.template(t, "SMS", "en", "", "Hello {{recipient.name}}, your code is {{code}}")
	f.template(t, "SMS", "sw", "", "Habari {{recipient.name}}, nambari yako ni {{code}}")
	f.template(t, "EMAIL", "en", "Welcome {{recipient.name}}", "Your code is {{code}}.")
	f.template(t, "IN_APP", "en", "Welcome", "Code {{code}}")
	r := notifyCall(t, "POST", "/preferences/USER/"+neema+"/", map[string]any{"channels": map[string]bool{"SMS": false},
		"language": "sw"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	t.Run("every channel of the rule, in the recipient's language with the en fallback", func(t *testing.T) {
		d := f.emit(t, map[string]any{"user_id": amina, "code": "4711"})
		require.Equal(t, transaction.NotificationQueued, d["disposition"], "%v", d)
		byChannel := messagesByChannel(t, d)
		require.Len(t, byChannel, 3)
		sms := waitOutbox(t, byChannel["SMS"], 20*time.Second, final(transaction.OutboxSent))
		require.Equal(t, "Hello amina, your code is 4711", sms.Body)
		waitOutbox(t, byChannel["EMAIL"], 20*time.Second, final(transaction.OutboxSent))
		waitOutbox(t, byChannel["IN_APP"], 20*time.Second, final(transaction.OutboxDelivered))
		messages, requests := smsTo(t, sms.RecipientAddress)
		require.Equal(t, 1, messages)
		require.Equal(t, 1, requests, "sent once")

		inbox := notifyCall(t, "GET", "/inbox/"+amina+"/?unread=true", nil)
		require.Equal(t, http.StatusOK, inbox.Status, "%s", inbox.Body)
		items := inbox.json(t)["data"].([]any)
		require.Len(t, items, 1)
		msg := items[0].(map[string]any)
		require.Equal(t, "Code 4711", msg["body"])
		read := notifyCall(t, "POST", "/inbox/"+msg["id"].(string)+"/read/", nil)
		require.Equal(t, http.StatusOK, read.Status, "%s", read.Body)
		inbox = notifyCall(t, "GET", "/inbox/"+amina+"/?unread=true", nil)
		require.Empty(t, inbox.json(t)["data"], "read messages leave the unread list")

		logs := notifyCall(t, "GET", "/outbox/"+byChannel["SMS"]+"/delivery-logs/", nil)
		require.Equal(t, http.StatusOK, logs.Status, "%s", logs.Body)
		require.Len(t, logs.json(t)["data"], 1)
	})

	t.Run("an opt-out is honoured; Swahili where the template exists, English where not", func(t *testing.T) {
		d := f.emit(t, map[string]any{"user_id": neema, "code": "1234"})
		byChannel := messagesByChannel(t, d)
		require.NotContains(t, byChannel, "SMS", "neema switched SMS off")
		email := waitOutbox(t, byChannel["EMAIL"], 20*time.Second, final(transaction.OutboxSent))
		require.Equal(t, "en", email.Language, "no Swahili e-mail template: the en fallback")
		require.Equal(t, "Welcome neema", email.Subject)
	})

	t.Run("a critical rule overrides the opt-out", func(t *testing.T) {
		g := newNotifyFixture(t)
		g.rule(t, map[string]any{"recipient_policy": "payload_user", "channels": []string{"SMS"}, "critical": true,
			"max_attempts": 2})
		g.template(t, "SMS", "sw", "", "Dharura {{code}}")
		g.template(t, "SMS", "en", "", "Urgent {{code}}")
		d := g.emit(t, map[string]any{"user_id": neema, "code": "9"})
		byChannel := messagesByChannel(t, d)
		sms := waitOutbox(t, byChannel["SMS"], 20*time.Second, final(transaction.OutboxSent))
		require.Equal(t, "Dharura 9", sms.Body)
	})

	t.Run("a missing placeholder fails the message, never a blank", func(t *testing.T) {
		d := f.emit(t, map[string]any{"user_id": amina}) // no "code"
		byChannel := messagesByChannel(t, d)
		sms := waitOutbox(t, byChannel["SMS"], 20*time.Second, final(transaction.OutboxFailed))
		require.Contains(t, sms.Error, "code")
		require.True(t, sms.Final)
		messages, _ := smsTo(t, sms.RecipientAddress)
		require.Equal(t, 1, messages, "nothing more was sent to amina")
	})

	t.Run("an emit repeated with its idempotency key makes nothing new", func(t *testing.T) {
		key := "e2e-" + uuid.NewString()
		first := f.emit(t, map[string]any{"user_id": amina, "code": "77"}, "idempotency_key", key)
		second := f.emit(t, map[string]any{"user_id": amina, "code": "77"}, "idempotency_key", key)
		require.Equal(t, first["notification_id"], second["notification_id"])
		var n int
		require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM outbox WHERE notification_id = $1`,
			first["notification_id"]))
		require.Equal(t, 3, n)
	})
}

// TestNotificationRetriesThenSends: the SMS gateway is down for two attempts, then up; the
// message is SENT after three delivery_log rows, sent once.
func TestNotificationRetriesThenSends(t *testing.T) {
	f := newNotifyFixture(t)
	user := f.recipient(t, "baraka", false)
	f.rule(t, map[string]any{"recipient_policy": "payload_user", "channels": []string{"SMS"}, "max_attempts": 5})
	f.template(t, "SMS", "en", "", "Payment of {{amount}} received")
	fault(t, `{"target":"sms","status":503,"count":2}`)
	t.Cleanup(func() { clearFaults(t) })

	d := f.emit(t, map[string]any{"user_id": user, "amount": "5,000"})
	id := messagesByChannel(t, d)["SMS"]
	row := waitOutbox(t, id, 30*time.Second, final(transaction.OutboxSent))
	require.Equal(t, 3, row.AttemptCount)
	logs, err := h.store.ListDeliveryLogs(context.Background(), id, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, logs, 3)
	require.Equal(t, []string{transaction.OutboxFailed, transaction.OutboxFailed, transaction.OutboxSent},
		[]string{logs[0].Status, logs[1].Status, logs[2].Status})
	messages, requests := smsTo(t, row.RecipientAddress)
	require.Equal(t, 1, messages)
	require.Equal(t, 1, requests, "the failed attempts never reached the gateway's handler")
}

// TestCriticalNotificationFailureEscalates: a critical message whose gateway stays down ends
// FAILED final with escalation_required; on-call hears of it by e-mail and in-app, again after
// the re-notify interval, until an operator acknowledges; retry and abort end it too.
func TestCriticalNotificationFailureEscalates(t *testing.T) {
	f := newNotifyFixture(t)
	user := f.recipient(t, "juma", false)
	f.recipient(t, "oncall", true)
	f.rule(t, map[string]any{"recipient_policy": "payload_user", "channels": []string{"SMS"}, "critical": true,
		"max_attempts": 2})
	f.template(t, "SMS", "en", "", "Transfer {{ref}} failed")
	fault(t, `{"target":"sms","status":503}`)
	t.Cleanup(func() { clearFaults(t) })

	failed := func() string {
		d := f.emit(t, map[string]any{"user_id": user, "ref": uuid.NewString()[:8]})
		id := messagesByChannel(t, d)["SMS"]
		row := waitOutbox(t, id, 30*time.Second, final(transaction.OutboxFailed))
		require.True(t, row.EscalationRequired)
		require.Equal(t, 2, row.AttemptCount)
		return id
	}
	onCallMessages := func() int {
		var n int
		require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM outbox WHERE user_id = $1`, "oncall-"+f.tag))
		return n
	}

	t.Run("ack", func(t *testing.T) {
		id := failed()
		require.Eventually(t, func() bool { return onCallMessages() >= 2 }, 20*time.Second, 100*time.Millisecond,
			"on-call is told")
		first := onCallMessages()
		require.Eventually(t, func() bool { return onCallMessages() > first }, 20*time.Second, 100*time.Millisecond,
			"and told again after the re-notify interval")
		r := notifyAdmin(t, "POST", "/outbox/"+id+"/signals/ack", map[string]any{"note": "on it"})
		require.Less(t, r.Status, 300, "%s", r.Body)
		time.Sleep(3 * time.Second)
		settled := onCallMessages()
		time.Sleep(3 * time.Second)
		require.Equal(t, settled, onCallMessages(), "an acknowledged escalation stops re-notifying")
	})

	t.Run("abort", func(t *testing.T) {
		id := failed()
		r := notifyAdmin(t, "POST", "/outbox/"+id+"/signals/abort", map[string]any{"note": "not needed"})
		require.Less(t, r.Status, 300, "%s", r.Body)
		require.Eventually(t, func() bool {
			r = notifyAdmin(t, "POST", "/outbox/"+id+"/signals/ack", nil)
			return r.Status == http.StatusConflict
		}, 20*time.Second, 200*time.Millisecond, "an aborted escalation takes no more signals: %s", r.Body)
	})

	t.Run("a critical message that cannot be rendered escalates too", func(t *testing.T) {
		before := onCallMessages()
		d := f.emit(t, map[string]any{"user_id": user}) // no "ref": a missing placeholder
		id := messagesByChannel(t, d)["SMS"]
		row := waitOutbox(t, id, 20*time.Second, final(transaction.OutboxFailed))
		require.True(t, row.EscalationRequired)
		require.Contains(t, row.Error, "ref")
		require.Eventually(t, func() bool { return onCallMessages() > before }, 20*time.Second, 100*time.Millisecond,
			"on-call is told")
		r := notifyAdmin(t, "POST", "/outbox/"+id+"/signals/ack", map[string]any{"note": "template fixed"})
		require.Less(t, r.Status, 300, "%s", r.Body)
	})

	t.Run("retry delivers once the gateway is back", func(t *testing.T) {
		id := failed()
		clearFaults(t)
		time.Sleep(1500 * time.Millisecond) // the gateway's breaker half-opens (SMS_BREAKER_OPEN_TIMEOUT)
		r := notifyAdmin(t, "POST", "/outbox/"+id+"/signals/retry", map[string]any{"note": "gateway fixed"})
		require.Less(t, r.Status, 300, "%s", r.Body)
		row := waitOutbox(t, id, 30*time.Second, final(transaction.OutboxSent))
		messages, requests := smsTo(t, row.RecipientAddress)
		require.Equal(t, 1, messages)
		require.Equal(t, 1, requests)
	})
}

// TestNotificationQuietHours: a non-critical message to a recipient inside their quiet hours
// waits (QUEUED, next_attempt_at at the end of the quiet hours) and is sent after.
func TestNotificationQuietHours(t *testing.T) {
	t.Parallel()
	f := newNotifyFixture(t)
	user := f.recipient(t, "quiet", false)
	f.rule(t, map[string]any{"recipient_policy": "payload_user", "channels": []string{"IN_APP"}, "max_attempts": 2})
	f.template(t, "IN_APP", "en", "Hi", "Later {{x}}")
	now := time.Now().UTC()
	// A window that holds now for at least a minute more, whatever second of the minute it is.
	start, end := now.Add(-time.Minute).Format("15:04"), now.Add(2*time.Minute).Format("15:04")
	r := notifyCall(t, "POST", "/preferences/USER/"+user+"/", map[string]any{"quiet_hours_start": start,
		"quiet_hours_end": end, "time_zone": "UTC"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	d := f.emit(t, map[string]any{"user_id": user, "x": "1"})
	id := messagesByChannel(t, d)["IN_APP"]
	waiting := waitOutbox(t, id, 20*time.Second, func(r schema.OutboxRow) bool { return r.NextAttemptAt != nil })
	require.Equal(t, transaction.OutboxQueued, waiting.Status)
	require.True(t, waiting.NextAttemptAt.After(time.Now()), "it waits for the end of the quiet hours")
	delivered := waitOutbox(t, id, 4*time.Minute, final(transaction.OutboxDelivered))
	require.False(t, delivered.SentAt.Before(*waiting.NextAttemptAt), "delivered after the quiet hours")
}

// TestNotificationDeliverySurvivesAWorkerRestart: the worker sending a message dies while the
// SMS gateway holds its request; another worker takes the delivery over once the attempt times
// out. The message is SENT, and the gateway has it once: the retry carries the same
// Idempotency-Key (the outbox message's).
func TestNotificationDeliverySurvivesAWorkerRestart(t *testing.T) {
	const queue = "notify-restart-test"
	ctx := context.Background()
	child, stderr := startHelperWorker(t, queue)
	f := newNotifyFixture(t)
	user := f.recipient(t, "restart", false)
	recipient, err := h.store.GetNotificationUser(ctx, "USER", user)
	require.NoError(t, err)

	notificationID := uuid.NewString()
	_, _, err = h.store.CreateNotificationEvent(ctx, schema.NotificationEventRow{ID: notificationID, ClientID: demoClient,
		EventCode: f.event, Payload: json.RawMessage(`{}`), WorkflowID: workflows.NotificationWorkflowID(notificationID),
		Disposition: transaction.NotificationQueued})
	require.NoError(t, err)
	key := activities.MessageIdempotencyKey(notificationID, "restart-rule", "USER", user, "SMS")
	msg, _, err := h.store.InsertOutbox(ctx, schema.OutboxRow{ID: activities.OutboxIDFor(key), NotificationID: notificationID,
		ClientID: demoClient, EventCode: f.event, IdempotencyKey: key, ActorType: "USER", UserID: user, Channel: "SMS",
		RecipientAddress: recipient.Phone, Language: "en", Body: "Held by the gateway " + f.tag, Priority: "NORMAL",
		Status: transaction.OutboxQueued, MaxAttempts: 3})
	require.NoError(t, err)

	resp, err := http.NewRequest(http.MethodDelete, h.simURL+"/_sim/providers/concurrency", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(resp)
	require.NoError(t, err)
	res.Body.Close()
	fault(t, `{"target":"sms","latency":"3s","count":1}`)
	t.Cleanup(func() { clearFaults(t) })

	run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.OutboxWorkflowID(msg.ID),
		TaskQueue: queue, WorkflowTaskTimeout: 2 * time.Second}, workflows.WorkflowNotificationDelivery,
		workflows.NotificationDeliveryInput{OutboxID: msg.ID, ClientID: demoClient})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var conc map[string]map[string]int
		simJSON(t, "/_sim/providers/concurrency", &conc)
		return conc["sms"]["in_flight"] > 0
	}, 20*time.Second, 20*time.Millisecond, "the helper worker's send never reached the gateway: %s", stderr.String())
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()

	second := sdkworker.New(h.temporal, queue, sdkworker.Options{})
	acts, err := h.st.newActivities(h.env, h.st.providers)
	require.NoError(t, err)
	worker.Register(second, acts)
	require.NoError(t, second.Start())
	defer second.Stop()

	var out workflows.NotificationDeliveryResult
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, run.Get(wctx, &out))
	require.Equal(t, transaction.OutboxSent, out.Status, "%+v", out)
	row := waitOutbox(t, msg.ID, 10*time.Second, final(transaction.OutboxSent))
	require.GreaterOrEqual(t, row.AttemptCount, 1)
	messages, requests := smsTo(t, recipient.Phone)
	require.Equal(t, 1, messages, "sent once: the gateway saw one message for the key")
	require.GreaterOrEqual(t, requests, 1)
	t.Logf("the gateway got %d request(s) for the message's key", requests)
}
