package sim

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"
)

// demoMessaging serves the messaging simulators with their default (demo) configuration on a
// loopback server.
func demoMessaging(t *testing.T) (MessagingConfig, *httptest.Server) {
	t.Helper()
	var cfg MessagingConfig
	require.NoError(t, envconfig.Process("", &cfg))
	m, err := NewMessaging(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	m.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return cfg, srv
}

// answer is a simulator's answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends body (JSON unless a Content-Type says otherwise) with header to url; a JSON answer
// must be an object.
func call(t *testing.T, method, url, body string, header ...string) answer {
	t.Helper()
	status, h, raw := exchange(t, method, url, body, header...)
	out := answer{status: status, header: h}
	if len(raw) > 0 && h.Get("Content-Type") != "text/plain; charset=utf-8" {
		require.NoError(t, json.Unmarshal(raw, &out.body), string(raw))
	}
	return out
}

// exchange sends body (JSON unless a Content-Type says otherwise) with header pairs to url and
// reads the whole answer.
func exchange(t *testing.T, method, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, raw
}

// setFault makes the next calls to a platform fail.
func setFault(t *testing.T, srv *httptest.Server, fault string) {
	t.Helper()
	a := call(t, http.MethodPut, srv.URL+"/_sim/messaging/faults", fault)
	require.Equal(t, http.StatusNoContent, a.status)
}

// sent lists what a platform's simulator accepted.
func sent(t *testing.T, srv *httptest.Server, platform string) []SentMessage {
	t.Helper()
	resp, err := http.Get(srv.URL + "/_sim/" + platform + "/messages")
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []SentMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func TestMessagingConfig(t *testing.T) {
	t.Parallel()
	var cfg MessagingConfig
	require.NoError(t, envconfig.Process("", &cfg))

	t.Run("the Discord public key is the seed's", func(t *testing.T) {
		seed, err := hex.DecodeString(cfg.DiscordPrivateKeySeed)
		require.NoError(t, err)
		want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		require.Equal(t, hex.EncodeToString(want), cfg.DiscordPublicKey())
	})
	t.Run("the demo credentials are what the simulators accept", func(t *testing.T) {
		creds := cfg.DemoCredentials()
		require.Equal(t, map[string]string{"access_token": cfg.WhatsAppAccessToken,
			"phone_number_id": cfg.WhatsAppPhoneNumberID, "app_secret": cfg.WhatsAppAppSecret,
			"verify_token": cfg.WhatsAppVerifyToken}, creds["whatsapp"])
		require.Equal(t, map[string]string{"bot_token": cfg.TelegramBotToken, "secret_token": cfg.TelegramSecretToken},
			creds["telegram"])
		require.Equal(t, map[string]string{"bot_token": cfg.SlackBotToken, "signing_secret": cfg.SlackSigningSecret},
			creds["slack"])
		require.Equal(t, map[string]string{"bot_token": cfg.DiscordBotToken, "public_key": cfg.DiscordPublicKey()},
			creds["discord"])
	})
	t.Run("API bases are under the simulators' URL", func(t *testing.T) {
		sim := "http://127.0.0.1:8090/"
		require.Equal(t, "http://127.0.0.1:8090/whatsapp/v21.0", cfg.APIBase(sim, "whatsapp"))
		require.Equal(t, "http://127.0.0.1:8090/telegram", cfg.APIBase(sim, "telegram"))
		require.Equal(t, "http://127.0.0.1:8090/slack/api", cfg.APIBase(sim, "slack"))
		require.Equal(t, "http://127.0.0.1:8090/discord/api/v10", cfg.APIBase(sim, "discord"))
		require.Empty(t, cfg.APIBase(sim, "github"))
	})
	t.Run("a malformed seed or hub URL is refused", func(t *testing.T) {
		bad := cfg
		bad.DiscordPrivateKeySeed = "abcd"
		_, err := NewMessaging(bad)
		require.ErrorContains(t, err, "SIM_DISCORD_PRIVATE_KEY_SEED")
		require.Empty(t, bad.DiscordPublicKey())
		bad = cfg
		bad.HubURL = "127.0.0.1:8080"
		_, err = NewMessaging(bad)
		require.ErrorContains(t, err, "SIM_HUB_URL")
	})
}

func TestWhatsAppSimulator(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	base := cfg.APIBase(srv.URL, "whatsapp") + "/" + cfg.WhatsAppPhoneNumberID
	auth := []string{"Authorization", "Bearer " + cfg.WhatsAppAccessToken}
	text := `{"messaging_product":"whatsapp","to":"+255 712 345 678","type":"text","text":{"body":"hello"}}`

	t.Run("a text message is accepted and recorded", func(t *testing.T) {
		a := call(t, http.MethodPost, base+"/messages", text, auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, "whatsapp", a.body["messaging_product"])
		require.Equal(t, []any{map[string]any{"input": "+255 712 345 678", "wa_id": "255712345678"}}, a.body["contacts"])
		id := a.body["messages"].([]any)[0].(map[string]any)["id"].(string)
		require.True(t, strings.HasPrefix(id, "wamid."), id)

		a = call(t, http.MethodPost, base+"/messages", `{"messaging_product":"whatsapp","to":"255712345678",
			"type":"document","document":{"link":"https://example.com/a.pdf","caption":"statement"}}`, auth...)
		require.Equal(t, http.StatusOK, a.status)
		got := sent(t, srv, "whatsapp")
		require.Len(t, got, 2)
		require.Equal(t, SentMessage{Platform: "whatsapp", To: "+255 712 345 678", Type: "text", Text: "hello", ID: id,
			ReceivedAt: got[0].ReceivedAt}, got[0])
		require.Equal(t, "https://example.com/a.pdf", got[1].MediaURL)
		require.Equal(t, "statement", got[1].Text)
	})
	t.Run("a wrong token gets the OAuth error", func(t *testing.T) {
		a := call(t, http.MethodPost, base+"/messages", text, "Authorization", "Bearer nope")
		require.Equal(t, http.StatusUnauthorized, a.status)
		e := a.body["error"].(map[string]any)
		require.Equal(t, "Invalid OAuth access token.", e["message"])
		require.Equal(t, "OAuthException", e["type"])
		require.EqualValues(t, 190, e["code"])
		require.NotEmpty(t, e["fbtrace_id"])
	})
	t.Run("an unknown phone number id gets code 100", func(t *testing.T) {
		a := call(t, http.MethodPost, cfg.APIBase(srv.URL, "whatsapp")+"/999/messages", text, auth...)
		require.Equal(t, http.StatusBadRequest, a.status)
		require.EqualValues(t, 100, a.body["error"].(map[string]any)["code"])
	})
	t.Run("a message without a body is refused", func(t *testing.T) {
		a := call(t, http.MethodPost, base+"/messages", `{"messaging_product":"whatsapp","to":"1","type":"text"}`, auth...)
		require.Equal(t, http.StatusBadRequest, a.status)
		require.EqualValues(t, 100, a.body["error"].(map[string]any)["code"])
	})
	t.Run("the phone number describes itself", func(t *testing.T) {
		a := call(t, http.MethodGet, base, "", auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, cfg.WhatsAppPhoneNumberID, a.body["id"])
		require.Equal(t, "GREEN", a.body["quality_rating"])
		require.NotEmpty(t, a.body["display_phone_number"])
		require.NotEmpty(t, a.body["verified_name"])
	})
	t.Run("a rate limit answers 130429 with Retry-After, then a failure 500", func(t *testing.T) {
		setFault(t, srv, `{"platform":"whatsapp","rate_limit":1,"retry_after":"2s","fail":1}`)
		a := call(t, http.MethodPost, base+"/messages", text, auth...)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "2", a.header.Get("Retry-After"))
		require.EqualValues(t, 130429, a.body["error"].(map[string]any)["code"])
		a = call(t, http.MethodPost, base+"/messages", text, auth...)
		require.Equal(t, http.StatusInternalServerError, a.status)
		require.Contains(t, a.body, "error")
		a = call(t, http.MethodPost, base+"/messages", text, auth...)
		require.Equal(t, http.StatusOK, a.status, "the fault is spent")
	})
}

func TestTelegramSimulator(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	bot := cfg.APIBase(srv.URL, "telegram") + "/bot" + cfg.TelegramBotToken

	t.Run("sendMessage answers the sent message", func(t *testing.T) {
		a := call(t, http.MethodPost, bot+"/sendMessage", `{"chat_id":424242424,"text":"hello"}`)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, true, a.body["ok"])
		result := a.body["result"].(map[string]any)
		require.Equal(t, "hello", result["text"])
		require.EqualValues(t, 424242424, result["chat"].(map[string]any)["id"])
		require.NotZero(t, result["message_id"])
		require.NotZero(t, result["date"])
		got := sent(t, srv, "telegram")
		require.Equal(t, "424242424", got[len(got)-1].To)
		require.Equal(t, strconv.FormatFloat(result["message_id"].(float64), 'f', -1, 64), got[len(got)-1].ID)
	})
	t.Run("sendPhoto takes form parameters", func(t *testing.T) {
		a := call(t, http.MethodPost, bot+"/sendPhoto", url.Values{"chat_id": {"-100123"},
			"photo": {"https://example.com/p.png"}, "caption": {"look"}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		require.Equal(t, http.StatusOK, a.status)
		result := a.body["result"].(map[string]any)
		require.Equal(t, "supergroup", result["chat"].(map[string]any)["type"])
		require.Equal(t, "look", result["caption"])
		require.Len(t, result["photo"], 1)
	})
	t.Run("a wrong token is Unauthorized", func(t *testing.T) {
		a := call(t, http.MethodPost, cfg.APIBase(srv.URL, "telegram")+"/bot1:wrong/sendMessage", `{"chat_id":1,"text":"x"}`)
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.Equal(t, map[string]any{"ok": false, "error_code": 401.0, "description": "Unauthorized"}, a.body)
	})
	t.Run("an empty text is a Bad Request", func(t *testing.T) {
		a := call(t, http.MethodPost, bot+"/sendMessage", `{"chat_id":1}`)
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Equal(t, "Bad Request: message text is empty", a.body["description"])
	})
	t.Run("getMe describes the bot, by GET or POST", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			a := call(t, method, bot+"/getMe", "")
			require.Equal(t, http.StatusOK, a.status)
			result := a.body["result"].(map[string]any)
			require.Equal(t, true, result["is_bot"])
			require.EqualValues(t, 7000000001, result["id"])
			require.NotEmpty(t, result["first_name"])
			require.NotEmpty(t, result["username"])
		}
	})
	t.Run("a rate limit says how long to wait", func(t *testing.T) {
		setFault(t, srv, `{"platform":"telegram","rate_limit":1,"retry_after":"3s"}`)
		a := call(t, http.MethodPost, bot+"/sendMessage", `{"chat_id":1,"text":"x"}`)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, map[string]any{"ok": false, "error_code": 429.0, "description": "Too Many Requests: retry after 3",
			"parameters": map[string]any{"retry_after": 3.0}}, a.body)
	})
	t.Run("an unknown method is Not Found", func(t *testing.T) {
		a := call(t, http.MethodPost, bot+"/sendSticker", `{}`)
		require.Equal(t, http.StatusNotFound, a.status)
		require.Equal(t, false, a.body["ok"])
	})
}

func TestSlackSimulator(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	api := cfg.APIBase(srv.URL, "slack")
	auth := []string{"Authorization", "Bearer " + cfg.SlackBotToken}

	t.Run("chat.postMessage answers the channel and ts", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/chat.postMessage", `{"channel":"C123","text":"hello"}`, auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, true, a.body["ok"])
		require.Equal(t, "C123", a.body["channel"])
		require.Regexp(t, `^\d{10}\.\d{6}$`, a.body["ts"])
		require.Equal(t, "hello", a.body["message"].(map[string]any)["text"])
		got := sent(t, srv, "slack")
		require.Equal(t, a.body["ts"], got[len(got)-1].ID)
	})
	t.Run("a bad token is invalid_auth, with 200", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/chat.postMessage", `{"channel":"C123","text":"x"}`, "Authorization", "Bearer xoxb-no")
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, map[string]any{"ok": false, "error": "invalid_auth"}, a.body)
	})
	t.Run("only C channels exist", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/chat.postMessage", `{"channel":"general","text":"x"}`, auth...)
		require.Equal(t, map[string]any{"ok": false, "error": "channel_not_found"}, a.body)
	})
	t.Run("auth.test describes the bot", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/auth.test", "", auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, true, a.body["ok"])
		for _, k := range []string{"url", "team", "user", "team_id", "user_id", "bot_id"} {
			require.NotEmpty(t, a.body[k], k)
		}
	})
	t.Run("a rate limit is a 429 with Retry-After", func(t *testing.T) {
		setFault(t, srv, `{"platform":"slack","rate_limit":1,"retry_after":"1500ms"}`)
		a := call(t, http.MethodPost, api+"/chat.postMessage", `{"channel":"C123","text":"x"}`, auth...)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "2", a.header.Get("Retry-After"))
		require.Equal(t, map[string]any{"ok": false, "error": "ratelimited"}, a.body)
	})
}

func TestDiscordSimulator(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	api := cfg.APIBase(srv.URL, "discord")
	auth := []string{"Authorization", "Bot " + cfg.DiscordBotToken}

	t.Run("a message is created", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/channels/1300000000000000100/messages", `{"content":"hello"}`, auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Regexp(t, `^\d{17,20}$`, a.body["id"])
		require.Equal(t, "1300000000000000100", a.body["channel_id"])
		require.Equal(t, "hello", a.body["content"])
		require.Equal(t, true, a.body["author"].(map[string]any)["bot"])
		_, err := time.Parse(time.RFC3339Nano, a.body["timestamp"].(string))
		require.NoError(t, err)
		got := sent(t, srv, "discord")
		require.Equal(t, a.body["id"], got[len(got)-1].ID)
	})
	t.Run("a bad token is 401", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/channels/1/messages", `{"content":"x"}`, "Authorization", "Bearer "+cfg.DiscordBotToken)
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.Equal(t, map[string]any{"message": "401: Unauthorized", "code": 0.0}, a.body)
	})
	t.Run("an empty message is refused", func(t *testing.T) {
		a := call(t, http.MethodPost, api+"/channels/1/messages", `{"content":""}`, auth...)
		require.Equal(t, http.StatusBadRequest, a.status)
		require.EqualValues(t, 50006, a.body["code"])
	})
	t.Run("users/@me is the bot", func(t *testing.T) {
		a := call(t, http.MethodGet, api+"/users/@me", "", auth...)
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, true, a.body["bot"])
		require.NotEmpty(t, a.body["id"])
		require.NotEmpty(t, a.body["username"])
	})
	t.Run("a rate limit gives retry_after in seconds", func(t *testing.T) {
		setFault(t, srv, `{"platform":"discord","rate_limit":1,"retry_after":"1.5s"}`)
		a := call(t, http.MethodPost, api+"/channels/1/messages", `{"content":"x"}`, auth...)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "2", a.header.Get("Retry-After"))
		require.Equal(t, map[string]any{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}, a.body)
	})
}

func TestMessagingControl(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	bot := cfg.APIBase(srv.URL, "telegram") + "/bot" + cfg.TelegramBotToken

	t.Run("messages are listed newest last, and cleared", func(t *testing.T) {
		for _, text := range []string{"first", "second"} {
			require.Equal(t, http.StatusOK, call(t, http.MethodPost, bot+"/sendMessage", `{"chat_id":7,"text":"`+text+`"}`).status)
		}
		got := sent(t, srv, "telegram")
		require.Len(t, got, 2)
		require.Equal(t, []string{"first", "second"}, []string{got[0].Text, got[1].Text})
		require.Equal(t, "telegram", got[0].Platform)
		require.False(t, got[0].ReceivedAt.IsZero())
		require.Empty(t, sent(t, srv, "slack"))

		require.Equal(t, http.StatusNoContent, call(t, http.MethodDelete, srv.URL+"/_sim/telegram/messages", "").status)
		require.Empty(t, sent(t, srv, "telegram"))
	})
	t.Run("faults are listed, replaced and cleared", func(t *testing.T) {
		setFault(t, srv, `{"platform":"slack","fail":3}`)
		setFault(t, srv, `{"platform":"slack","rate_limit":2}`)
		resp, err := http.Get(srv.URL + "/_sim/messaging/faults")
		require.NoError(t, err)
		var faults []MessagingFault
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&faults))
		resp.Body.Close()
		require.Equal(t, []MessagingFault{{Platform: "slack", RateLimit: 2, RetryAfter: "1s"}}, faults)

		require.Equal(t, http.StatusNoContent, call(t, http.MethodDelete, srv.URL+"/_sim/messaging/faults", "").status)
		a := call(t, http.MethodPost, cfg.APIBase(srv.URL, "slack")+"/auth.test", "", "Authorization", "Bearer "+cfg.SlackBotToken)
		require.Equal(t, http.StatusOK, a.status)
	})
	t.Run("a fault for an unknown platform is refused", func(t *testing.T) {
		require.Equal(t, http.StatusBadRequest,
			call(t, http.MethodPut, srv.URL+"/_sim/messaging/faults", `{"platform":"sms","fail":1}`).status)
		require.Equal(t, http.StatusBadRequest,
			call(t, http.MethodPut, srv.URL+"/_sim/messaging/faults", `{"platform":"slack","fail":1,"retry_after":"-1s"}`).status)
	})
}

// fakeHub records the webhook requests it receives and accepts them.
type fakeHub struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hubRequest
}

type hubRequest struct {
	path   string
	header http.Header
	body   []byte
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, hubRequest{path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body})
		n := len(h.reqs)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":true,"n":`+strconv.Itoa(n)+`}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) received() []hubRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hubRequest{}, h.reqs...)
}

// inbound asks the simulator to deliver a message to the fake hub, and returns its answer and
// the one request the hub received.
func inbound(t *testing.T, srv *httptest.Server, hub *fakeHub, platform, body string) (InboundResponse, hubRequest) {
	t.Helper()
	req := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(body), &req))
	req["hub_url"] = hub.URL
	b, _ := json.Marshal(req)
	resp, err := http.Post(srv.URL+"/_sim/"+platform+"/inbound", "application/json", strings.NewReader(string(b)))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out InboundResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	got := hub.received()
	require.NotEmpty(t, got)
	return out, got[len(got)-1]
}

func hmacSHA256(secret string, msg []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(msg)
	return hex.EncodeToString(mac.Sum(nil))
}

// shape decodes a webhook body for assertions.
func shape(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v))
	return v
}

func TestInboundWebhooks(t *testing.T) {
	t.Parallel()
	cfg, srv := demoMessaging(t)
	hub := newFakeHub(t)

	t.Run("WhatsApp signs the notification with the app secret", func(t *testing.T) {
		out, got := inbound(t, srv, hub, "whatsapp", `{"integration_id":"int_wa","text":"hi","from":"+255712345678"}`)
		require.Equal(t, "/api/v1/integration/webhooks/int_wa", got.path)
		require.Equal(t, "sha256="+hmacSHA256(cfg.WhatsAppAppSecret, got.body), got.header.Get("X-Hub-Signature-256"))
		require.Equal(t, http.StatusAccepted, out.Status)
		require.JSONEq(t, string(got.body), string(out.Sent))

		v := shape(t, got.body)
		require.Equal(t, "whatsapp_business_account", v["object"])
		change := v["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)
		require.Equal(t, "messages", change["field"])
		value := change["value"].(map[string]any)
		require.Equal(t, cfg.WhatsAppPhoneNumberID, value["metadata"].(map[string]any)["phone_number_id"])
		require.Equal(t, "255712345678", value["contacts"].([]any)[0].(map[string]any)["wa_id"])
		msg := value["messages"].([]any)[0].(map[string]any)
		require.Equal(t, "255712345678", msg["from"])
		require.Equal(t, "text", msg["type"])
		require.Equal(t, "hi", msg["text"].(map[string]any)["body"])
		require.True(t, strings.HasPrefix(msg["id"].(string), "wamid."))
		require.Regexp(t, `^\d{10}$`, msg["timestamp"])
	})
	t.Run("Telegram sends the secret token and increasing update ids", func(t *testing.T) {
		_, first := inbound(t, srv, hub, "telegram", `{"integration_id":"int_tg","text":"one"}`)
		out, second := inbound(t, srv, hub, "telegram", `{"integration_id":"int_tg","text":"two","from":"55","chat":"-42"}`)
		require.Equal(t, cfg.TelegramSecretToken, second.header.Get("X-Telegram-Bot-Api-Secret-Token"))
		require.Greater(t, shape(t, second.body)["update_id"], shape(t, first.body)["update_id"])

		v := shape(t, first.body)["message"].(map[string]any)
		require.Equal(t, "one", v["text"])
		require.Equal(t, false, v["from"].(map[string]any)["is_bot"])
		require.Equal(t, "private", v["chat"].(map[string]any)["type"])
		require.Equal(t, v["from"].(map[string]any)["id"], v["chat"].(map[string]any)["id"])
		v = shape(t, second.body)["message"].(map[string]any)
		require.EqualValues(t, 55, v["from"].(map[string]any)["id"])
		require.EqualValues(t, -42, v["chat"].(map[string]any)["id"])
		require.Equal(t, map[string]any{"accepted": true, "n": float64(len(hub.received()))}, out.Body)
	})
	t.Run("Slack signs v0:timestamp:body", func(t *testing.T) {
		_, got := inbound(t, srv, hub, "slack", `{"integration_id":"int_sl","text":"hi","chat":"C777"}`)
		ts := got.header.Get("X-Slack-Request-Timestamp")
		n, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.InDelta(t, time.Now().Unix(), n, 5)
		require.Equal(t, "v0="+hmacSHA256(cfg.SlackSigningSecret, []byte("v0:"+ts+":"+string(got.body))),
			got.header.Get("X-Slack-Signature"))

		v := shape(t, got.body)
		require.Equal(t, "event_callback", v["type"])
		require.Regexp(t, `^Ev[A-Z0-9]+$`, v["event_id"])
		for _, k := range []string{"token", "team_id", "api_app_id", "event_time"} {
			require.NotEmpty(t, v[k], k)
		}
		event := v["event"].(map[string]any)
		require.Equal(t, "message", event["type"])
		require.Equal(t, "C777", event["channel"])
		require.Equal(t, "hi", event["text"])
		require.Regexp(t, `^\d{10}\.\d{6}$`, event["ts"])
		require.NotEmpty(t, event["user"])
		require.NotEmpty(t, event["client_msg_id"])
	})
	t.Run("Discord signs timestamp+body with the application's key", func(t *testing.T) {
		_, got := inbound(t, srv, hub, "discord", `{"integration_id":"int_dc","text":"hi"}`)
		pub, err := hex.DecodeString(cfg.DiscordPublicKey())
		require.NoError(t, err)
		sig, err := hex.DecodeString(got.header.Get("X-Signature-Ed25519"))
		require.NoError(t, err)
		ts := got.header.Get("X-Signature-Timestamp")
		require.True(t, ed25519.Verify(pub, append([]byte(ts), got.body...), sig))

		v := shape(t, got.body)
		require.EqualValues(t, 2, v["type"])
		require.EqualValues(t, 1, v["version"])
		for _, k := range []string{"id", "application_id", "channel_id", "token"} {
			require.NotEmpty(t, v[k], k)
		}
		data := v["data"].(map[string]any)
		require.Equal(t, "say", data["name"])
		require.Equal(t, []any{map[string]any{"name": "text", "type": 3.0, "value": "hi"}}, data["options"])
		require.NotEmpty(t, v["member"].(map[string]any)["user"].(map[string]any)["id"])
	})
	t.Run("repeat sends the identical signed request twice", func(t *testing.T) {
		before := len(hub.received())
		out, _ := inbound(t, srv, hub, "slack", `{"integration_id":"int_sl","text":"again","repeat":true}`)
		got := hub.received()[before:]
		require.Len(t, got, 2)
		require.Equal(t, got[0].body, got[1].body)
		for _, h := range []string{"X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type", "User-Agent"} {
			require.Equal(t, got[0].header.Get(h), got[1].header.Get(h), h)
		}
		require.NotNil(t, out.Repeat)
		require.Equal(t, http.StatusAccepted, out.Repeat.Status)
		require.NotEqual(t, out.Body, out.Repeat.Body, "two answers")
	})
	t.Run("a raw payload is sent as given, signed", func(t *testing.T) {
		out, got := inbound(t, srv, hub, "whatsapp", `{"integration_id":"int/wa 2","payload":{"object":"page","x":[1,2]}}`)
		require.Equal(t, "/api/v1/integration/webhooks/int%2Fwa%202", got.path)
		require.Equal(t, `{"object":"page","x":[1,2]}`, string(got.body))
		require.Equal(t, "sha256="+hmacSHA256(cfg.WhatsAppAppSecret, got.body), got.header.Get("X-Hub-Signature-256"))
		require.JSONEq(t, string(got.body), string(out.Sent))
	})
	t.Run("an unreachable hub is a 502 that still shows the payload", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		a := call(t, http.MethodPost, srv.URL+"/_sim/telegram/inbound",
			`{"integration_id":"x","text":"hi","hub_url":"`+dead.URL+`"}`)
		require.Equal(t, http.StatusBadGateway, a.status)
		require.NotEmpty(t, a.body["error"])
		require.Contains(t, a.body["sent"], "update_id")
	})
	t.Run("a request without integration or text is refused", func(t *testing.T) {
		for _, body := range []string{`{"text":"hi"}`, `{"integration_id":"x"}`, `{"integration_id":"x","text":"hi","from":"abc"}`} {
			resp, err := http.Post(srv.URL+"/_sim/telegram/inbound", "application/json", strings.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		}
	})
}

// The simulators' ids look like the platforms' own.
func TestMessagingIDs(t *testing.T) {
	t.Parallel()
	m, err := NewMessaging(MessagingConfig{HubURL: "http://127.0.0.1:8080",
		DiscordPrivateKeySeed: strings.Repeat("00", 32)})
	require.NoError(t, err)
	var lastTS, lastFlake string
	for range 1000 {
		ts, flake := m.slackTS(), m.snowflake()
		require.Regexp(t, regexp.MustCompile(`^\d{10}\.\d{6}$`), ts)
		require.Greater(t, ts, lastTS)
		require.True(t, len(flake) > len(lastFlake) || flake > lastFlake, "snowflakes increase")
		lastTS, lastFlake = ts, flake
	}
}
