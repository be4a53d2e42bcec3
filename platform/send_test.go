package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

// fakeAPI is a platform's API on loopback: it checks each request and answers with reply.
type fakeAPI struct {
	method string
	path   string
	auth   string
	// reply answers a request that passed the checks; body is the decoded JSON request.
	reply func(w http.ResponseWriter, body map[string]any)
	got   map[string]any
}

func (f *fakeAPI) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != f.method || r.URL.Path != f.path {
			http.Error(w, `{"error":"wrong route `+r.Method+" "+r.URL.Path+`"}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != f.auth {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		f.got = map[string]any{}
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/json; charset=utf-8" || json.Unmarshal(b, &f.got) != nil {
				http.Error(w, `{"error":"not a JSON request"}`, http.StatusUnsupportedMediaType)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		f.reply(w, f.got)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func answer(status int, body string) func(http.ResponseWriter, map[string]any) {
	return func(w http.ResponseWriter, _ map[string]any) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// against points the integration at the fake API.
func against(in platform.Integration, srv *httptest.Server, prefix string) platform.Integration {
	in.Config.APIBaseURL = srv.URL + prefix
	return in
}

func apiError(t *testing.T, err error) *platform.APIError {
	t.Helper()
	var e *platform.APIError
	require.True(t, errors.As(err, &e), "an APIError: %v", err)
	return e
}

var sender = platform.NewSender(&http.Client{Timeout: 5 * time.Second}, 1<<16)

func text(to, s string) platform.Outbound {
	return platform.Outbound{To: to, Content: platform.Content{Type: platform.ContentText, Text: s}}
}

func TestSendWhatsApp(t *testing.T) {
	t.Parallel()
	base := whatsApp("s")
	route := func(reply func(http.ResponseWriter, map[string]any)) *fakeAPI {
		return &fakeAPI{method: http.MethodPost, path: "/v21.0/106540352242922/messages",
			auth: "Bearer EAAG-access-token-0123456789", reply: reply}
	}
	t.Run("a text message", func(t *testing.T) {
		f := route(answer(200, `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}`))
		in := against(base, f.start(t), "/v21.0")
		res, err := sender.Send(context.Background(), in, text("16505551234", "Hello from the hub"))
		require.NoError(t, err)
		require.Equal(t, platform.SendResult{MessageID: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", Status: 200}, res)
		require.Equal(t, map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual",
			"to": "16505551234", "type": "text", "text": map[string]any{"body": "Hello from the hub"}}, f.got)
	})
	t.Run("media by link and by the platform's own id", func(t *testing.T) {
		f := route(answer(200, `{"messages":[{"id":"wamid.2"}]}`))
		in := against(base, f.start(t), "/v21.0")
		_, err := sender.Send(context.Background(), in, platform.Outbound{To: "1", Content: platform.Content{
			Type: platform.ContentImage, Text: "our menu", Media: &platform.Media{URL: "https://example.com/menu.jpg"}}})
		require.NoError(t, err)
		require.Equal(t, "image", f.got["type"])
		require.Equal(t, map[string]any{"link": "https://example.com/menu.jpg", "caption": "our menu"}, f.got["image"])

		_, err = sender.Send(context.Background(), in, platform.Outbound{To: "1", Content: platform.Content{
			Type: platform.ContentFile, Media: &platform.Media{URL: "whatsapp-media:1003383421387256"}}})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"id": "1003383421387256"}, f.got["document"])
	})
	t.Run("a refusal is permanent, a throttle temporary", func(t *testing.T) {
		f := route(answer(400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"A1"}}`))
		in := against(base, f.start(t), "/v21.0")
		_, err := sender.Send(context.Background(), in, text("1", "x"))
		e := apiError(t, err)
		require.Equal(t, 400, e.Status)
		require.Equal(t, "100", e.Code)
		require.Contains(t, e.Message, "Invalid parameter")
		require.False(t, e.Temporary)

		f = route(answer(400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`))
		in = against(base, f.start(t), "/v21.0")
		_, err = sender.Send(context.Background(), in, text("1", "x"))
		require.True(t, apiError(t, err).Temporary, "Graph API throttling answers 400")
	})
}

func TestSendTelegram(t *testing.T) {
	t.Parallel()
	base := telegram("t")
	token := base.Credentials.Fields["bot_token"]
	route := func(method string, reply func(http.ResponseWriter, map[string]any)) *fakeAPI {
		return &fakeAPI{method: http.MethodPost, path: "/bot" + token + "/" + method, reply: reply}
	}
	t.Run("a text message", func(t *testing.T) {
		f := route("sendMessage", answer(200, `{"ok":true,"result":{"message_id":4242,"chat":{"id":-1001234,"type":"supergroup"},"date":1749999990,"text":"hi"}}`))
		res, err := sender.Send(context.Background(), against(base, f.start(t), ""), text("-1001234", "hi"))
		require.NoError(t, err)
		require.Equal(t, "4242", res.MessageID)
		require.Equal(t, map[string]any{"chat_id": "-1001234", "text": "hi"}, f.got)
	})
	t.Run("a photo by file id", func(t *testing.T) {
		f := route("sendPhoto", answer(200, `{"ok":true,"result":{"message_id":5}}`))
		_, err := sender.Send(context.Background(), against(base, f.start(t), ""), platform.Outbound{To: "1",
			Content: platform.Content{Type: platform.ContentImage, Text: "look", Media: &platform.Media{URL: "telegram-file:AgACAgQ"}}})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"chat_id": "1", "photo": "AgACAgQ", "caption": "look"}, f.got)
	})
	t.Run("flood control gives the wait", func(t *testing.T) {
		f := route("sendMessage", answer(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`))
		_, err := sender.Send(context.Background(), against(base, f.start(t), ""), text("1", "x"))
		e := apiError(t, err)
		require.Equal(t, 429, e.Status)
		require.Equal(t, 7*time.Second, e.RetryAfter)
		require.True(t, e.Temporary)
		require.NotContains(t, e.Error(), token)
	})
	t.Run("a missing chat is permanent", func(t *testing.T) {
		f := route("sendMessage", answer(400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`))
		_, err := sender.Send(context.Background(), against(base, f.start(t), ""), text("1", "x"))
		e := apiError(t, err)
		require.Equal(t, "400", e.Code)
		require.Contains(t, e.Message, "chat not found")
		require.False(t, e.Temporary)
	})
	t.Run("a transport failure is temporary and never shows the token", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		in := against(base, srv, "")
		srv.Close()
		_, err := sender.Send(context.Background(), in, text("1", "x"))
		e := apiError(t, err)
		require.Equal(t, 0, e.Status)
		require.True(t, e.Temporary)
		require.Contains(t, e.Error(), "/bot****/sendMessage", "the URL is quoted, redacted")
		require.NotContains(t, e.Error(), token)
		require.NotContains(t, e.Error(), strings.Split(token, ":")[1])
	})
}

func TestSendSlack(t *testing.T) {
	t.Parallel()
	base := slack("s")
	route := func(reply func(http.ResponseWriter, map[string]any)) *fakeAPI {
		return &fakeAPI{method: http.MethodPost, path: "/api/chat.postMessage",
			auth: "Bearer xoxb-1234-5678-abcdefghijkl", reply: reply}
	}
	t.Run("a reply in a thread", func(t *testing.T) {
		f := route(answer(200, `{"ok":true,"channel":"C123ABC456","ts":"1503435956.000247","message":{"text":"Here's a message for you","type":"message","ts":"1503435956.000247"}}`))
		res, err := sender.Send(context.Background(), against(base, f.start(t), "/api"), text("C123ABC456:1503435900.000100", "Here's a message for you"))
		require.NoError(t, err)
		require.Equal(t, "1503435956.000247", res.MessageID)
		require.Equal(t, map[string]any{"channel": "C123ABC456", "thread_ts": "1503435900.000100", "text": "Here's a message for you"}, f.got)
	})
	t.Run("ok:false under 200 is an error", func(t *testing.T) {
		f := route(answer(200, `{"ok":false,"error":"channel_not_found"}`))
		_, err := sender.Send(context.Background(), against(base, f.start(t), "/api"), text("C0", "x"))
		e := apiError(t, err)
		require.Equal(t, "channel_not_found", e.Code)
		require.False(t, e.Temporary)
	})
	t.Run("rate limited", func(t *testing.T) {
		f := route(func(w http.ResponseWriter, _ map[string]any) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		})
		_, err := sender.Send(context.Background(), against(base, f.start(t), "/api"), text("C0", "x"))
		e := apiError(t, err)
		require.Equal(t, 429, e.Status)
		require.Equal(t, "ratelimited", e.Code)
		require.Equal(t, 30*time.Second, e.RetryAfter)
		require.True(t, e.Temporary)

		f = route(answer(200, `{"ok":false,"error":"ratelimited"}`))
		_, err = sender.Send(context.Background(), against(base, f.start(t), "/api"), text("C0", "x"))
		require.True(t, apiError(t, err).Temporary, "ratelimited under 200")
	})
}

func TestSendDiscord(t *testing.T) {
	t.Parallel()
	base := discord(strings.Repeat("00", 32))
	route := func(reply func(http.ResponseWriter, map[string]any)) *fakeAPI {
		return &fakeAPI{method: http.MethodPost, path: "/api/v10/channels/1252330000000000000/messages",
			auth: "Bot MTA4NjM1.discord-bot-token.0123456789", reply: reply}
	}
	t.Run("a message", func(t *testing.T) {
		f := route(answer(200, `{"id":"1252330541286346999","channel_id":"1252330000000000000","content":"deployed","type":0}`))
		res, err := sender.Send(context.Background(), against(base, f.start(t), "/api/v10"), text("1252330000000000000", "deployed"))
		require.NoError(t, err)
		require.Equal(t, "1252330541286346999", res.MessageID)
		require.Equal(t, map[string]any{"content": "deployed"}, f.got)
	})
	t.Run("rate limited with a fractional wait", func(t *testing.T) {
		f := route(func(w http.ResponseWriter, _ map[string]any) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`)
		})
		_, err := sender.Send(context.Background(), against(base, f.start(t), "/api/v10"), text("1252330000000000000", "x"))
		e := apiError(t, err)
		require.Equal(t, 1500*time.Millisecond, e.RetryAfter, "the body's precise wait")
		require.True(t, e.Temporary)
	})
	t.Run("missing access is permanent, an outage temporary", func(t *testing.T) {
		f := route(answer(403, `{"message":"Missing Access","code":50001}`))
		_, err := sender.Send(context.Background(), against(base, f.start(t), "/api/v10"), text("1252330000000000000", "x"))
		e := apiError(t, err)
		require.Equal(t, "50001", e.Code)
		require.False(t, e.Temporary)

		f = route(answer(502, `<html>bad gateway</html>`))
		_, err = sender.Send(context.Background(), against(base, f.start(t), "/api/v10"), text("1252330000000000000", "x"))
		e = apiError(t, err)
		require.Equal(t, 502, e.Status)
		require.True(t, e.Temporary)
	})
}

func TestSendRefusesOversizeAnswers(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{method: http.MethodPost, path: "/channels/1/messages", auth: "Bot MTA4NjM1.discord-bot-token.0123456789",
		reply: answer(200, `{"id":"1","content":"`+strings.Repeat("x", 2048)+`"}`)}
	small := platform.NewSender(nil, 1024)
	_, err := small.Send(context.Background(), against(discord("00"), f.start(t), ""), text("1", "x"))
	e := apiError(t, err)
	require.Equal(t, "response_too_large", e.Code)
	require.False(t, e.Temporary, "the message may be out: sending again could repeat it")
}

func TestSendRefusesWhatCannotBeSent(t *testing.T) {
	t.Parallel()
	_, err := sender.Send(context.Background(), gitHub("s"), text("x", "y"))
	require.ErrorIs(t, err, platform.ErrUnsupported)

	_, err = sender.Send(context.Background(), slack("s"), platform.Outbound{Content: platform.Content{Type: platform.ContentLocation}})
	fields := invalidFields(t, err)
	require.Contains(t, fields, "to")
	require.Contains(t, fields, "content.type")

	_, err = sender.Send(context.Background(), slack("s"), platform.Outbound{To: "C1", Content: platform.Content{Type: platform.ContentImage}})
	require.Contains(t, invalidFields(t, err), "content.media.url")
}

func TestHealth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      platform.Integration
		api     *fakeAPI
		prefix  string
		details map[string]any
	}{
		{whatsApp("s"), &fakeAPI{method: http.MethodGet, path: "/v21.0/106540352242922", auth: "Bearer EAAG-access-token-0123456789",
			reply: answer(200, `{"verified_name":"Jasper's Market","display_phone_number":"+1 555-078-3881","quality_rating":"GREEN","id":"106540352242922"}`)},
			"/v21.0", map[string]any{"phone_number_id": "106540352242922", "display_phone_number": "+1 555-078-3881",
				"verified_name": "Jasper's Market", "quality_rating": "GREEN"}},
		{telegram("t"), &fakeAPI{method: http.MethodGet, path: "/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
			reply: answer(200, `{"ok":true,"result":{"id":123456789,"is_bot":true,"first_name":"Switchyard","username":"switchyard_bot"}}`)},
			"", map[string]any{"bot_id": int64(123456789), "bot_username": "switchyard_bot", "bot_name": "Switchyard"}},
		{slack("s"), &fakeAPI{method: http.MethodPost, path: "/auth.test", auth: "Bearer xoxb-1234-5678-abcdefghijkl",
			reply: answer(200, `{"ok":true,"url":"https://subarachnoid.slack.com/","team":"Subarachnoid Workspace","user":"grace","team_id":"T12345678","user_id":"W12345678","bot_id":"B1"}`)},
			"", map[string]any{"team": "Subarachnoid Workspace", "team_id": "T12345678", "user": "grace", "user_id": "W12345678", "bot_id": "B1"}},
		{discord("00"), &fakeAPI{method: http.MethodGet, path: "/users/@me", auth: "Bot MTA4NjM1.discord-bot-token.0123456789",
			reply: answer(200, `{"id":"1100000000000000000","username":"switchyard","bot":true}`)},
			"", map[string]any{"user_id": "1100000000000000000", "username": "switchyard", "bot": true}},
	}
	for _, tc := range cases {
		t.Run(string(tc.in.Platform), func(t *testing.T) {
			t.Parallel()
			srv := tc.api.start(t)
			h := sender.Health(context.Background(), against(tc.in, srv, tc.prefix))
			require.True(t, h.OK, h.Error)
			require.Equal(t, tc.details, h.Details)
			require.Positive(t, h.LatencyMS)

			wrong := against(tc.in, srv, tc.prefix)
			wrong.Credentials.Fields = map[string]string{}
			for k, v := range tc.in.Credentials.Fields {
				wrong.Credentials.Fields[k] = v
			}
			for _, f := range []string{"access_token", "bot_token"} {
				if _, ok := wrong.Credentials.Fields[f]; ok {
					wrong.Credentials.Fields[f] = "999:revoked-token-value"
				}
			}
			h = sender.Health(context.Background(), wrong)
			require.False(t, h.OK)
			require.NotEmpty(t, h.Error)
			require.NotContains(t, h.Error, "revoked-token-value")
		})
	}
	h := sender.Health(context.Background(), stripe("whsec_x"))
	require.Equal(t, platform.Health{OK: true, Details: map[string]any{"mode": "inbound only"}}, h)
}
