package activities

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
)

func TestRender(t *testing.T) {
	payload, err := decodePayload(json.RawMessage(`{"amount": 1500, "account": {"last4": "4321"}, "items": ["a"]}`))
	require.NoError(t, err)
	vars := templateVars{payload: payload, eventCode: "payment.received",
		user: schema.NotificationUserRow{ActorType: "USER", UserID: "u1", Name: "Ada"}}

	t.Run("fills payload paths, recipient fields and the event code", func(t *testing.T) {
		out, err := render("{{recipient.name}}: {{ amount }} on *{{account.last4}} ({{event.code}}, {{items.0}})", vars)
		require.NoError(t, err)
		require.Equal(t, "Ada: 1500 on *4321 (payment.received, a)", out)
	})
	t.Run("a missing placeholder is an error naming it, never a blank", func(t *testing.T) {
		_, err := render("Hi {{recipient.name}}, {{reference}}", vars)
		require.EqualError(t, err, "missing placeholder: reference")
	})
	t.Run("a payload that is not an object is refused", func(t *testing.T) {
		_, err := decodePayload(json.RawMessage(`[1]`))
		require.Error(t, err)
	})
}

func TestSelectChannels(t *testing.T) {
	prefs := json.RawMessage(`{"SMS": false, "EMAIL": true}`)
	on, off := selectChannels([]string{"SMS", "EMAIL", "IN_APP"}, prefs, false)
	require.Equal(t, []string{"EMAIL", "IN_APP"}, on)
	require.Equal(t, []string{"SMS"}, off)

	on, off = selectChannels([]string{"SMS", "EMAIL"}, prefs, true)
	require.Equal(t, []string{"EMAIL", "SMS"}, on, "a critical rule overrides the opt-out")
	require.Empty(t, off)
}

func TestQuietHoursEnd(t *testing.T) {
	pref := schema.PreferenceRow{QuietHoursStart: "22:00", QuietHoursEnd: "07:00", TimeZone: "Africa/Nairobi"} // UTC+3
	t.Run("inside overnight hours, before midnight: ends the next morning", func(t *testing.T) {
		end, inside, err := quietHoursEnd(pref, time.Date(2030, 1, 1, 20, 0, 0, 0, time.UTC)) // 23:00 local
		require.NoError(t, err)
		require.True(t, inside)
		require.Equal(t, time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC), end)
	})
	t.Run("inside, after midnight: ends this morning", func(t *testing.T) {
		end, inside, err := quietHoursEnd(pref, time.Date(2030, 1, 1, 23, 30, 0, 0, time.UTC)) // 02:30 local
		require.NoError(t, err)
		require.True(t, inside)
		require.Equal(t, time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC), end)
	})
	t.Run("outside", func(t *testing.T) {
		_, inside, err := quietHoursEnd(pref, time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.False(t, inside)
	})
	t.Run("on the day the clocks go forward, 07:00 is still 07:00", func(t *testing.T) {
		ny := schema.PreferenceRow{QuietHoursStart: "22:00", QuietHoursEnd: "07:00", TimeZone: "America/New_York"}
		// 2030-03-10 is the spring-forward Sunday: 02:00 local does not exist; 05:00 local is EDT (UTC-4).
		end, inside, err := quietHoursEnd(ny, time.Date(2030, 3, 10, 9, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.True(t, inside)
		loc, _ := time.LoadLocation("America/New_York")
		require.Equal(t, "07:00", end.In(loc).Format("15:04"))
	})
	t.Run("an unknown time zone is an error", func(t *testing.T) {
		_, _, err := quietHoursEnd(schema.PreferenceRow{QuietHoursStart: "22:00", QuietHoursEnd: "07:00", TimeZone: "Mars/Base"},
			time.Now())
		require.Error(t, err)
	})
}

func TestMessageIdempotencyKey(t *testing.T) {
	k := MessageIdempotencyKey("n1", "r1", "USER", "u1", "SMS")
	require.Equal(t, k, MessageIdempotencyKey("n1", "r1", "USER", "u1", "SMS"))
	require.NotEqual(t, k, MessageIdempotencyKey("n1", "r1", "USER", "u1", "EMAIL"))
	require.Equal(t, "ob_"+k[:32], OutboxIDFor(k))
}

// TestNotificationSMSTransport sends through NOTIFICATION_SMS_URL on a real loopback gateway:
// the raw auth header wins over the token, and the message's key travels as Idempotency-Key.
func TestNotificationSMSTransport(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var body provider.SendSMSRequest
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&body)
		require.Equal(t, "/v1/sms", r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"message_id":"m-1","status":"accepted","to":"+254700000001"}`))
	}))
	defer gw.Close()
	cfg := NotificationConfig{SMSURL: gw.URL + "/v1/sms", SMSToken: "tok", SMSAuthHeader: "Key raw", SMSTimeout: 5 * time.Second,
		SMSSenderID: "Switchyard", RetryInitialInterval: time.Second, RetryMaxInterval: time.Minute, EscalationRenotify: time.Minute}
	require.NoError(t, cfg.Validate())
	tr, err := NewNotificationTransports(cfg, nil, provider.NewMetrics(nil))
	require.NoError(t, err)
	a := &Activities{Notifications: Notifications{Transports: tr}}
	prov, id, err := a.deliver(t.Context(), schema.OutboxRow{ID: "ob_1", Channel: ChannelSMS, RecipientAddress: "+254700000001",
		Body: "hello", IdempotencyKey: "key-1"})
	require.NoError(t, err)
	require.Equal(t, "notification_sms", prov)
	require.Equal(t, "m-1", id)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "Key raw", got.Get("Authorization"))
	require.Equal(t, "key-1", got.Get("Idempotency-Key"))
	require.Equal(t, provider.SendSMSRequest{To: "+254700000001", Message: "hello", SenderID: "Switchyard"}, body)

	t.Run("no transport configured is a clear, final failure", func(t *testing.T) {
		_, _, err := (&Activities{}).deliver(t.Context(), schema.OutboxRow{Channel: ChannelEmail})
		var se *sendError
		require.ErrorAs(t, err, &se)
		require.False(t, se.retryable)
	})
}
