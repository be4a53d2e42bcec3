package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WebhookPath is the hub's route for an integration's inbound webhooks; the integration id
// follows it.
const WebhookPath = "/api/v1/integration/webhooks/"

// InboundRequest is the body of POST /_sim/{platform}/inbound: a message for the simulator to
// deliver to the hub the way the platform would.
type InboundRequest struct {
	// IntegrationID is the hub integration the webhook is for.
	IntegrationID string `json:"integration_id"`
	Text          string `json:"text"`
	// From is the sender: a WhatsApp number, a Telegram user id, a Slack user id, a Discord
	// user id (each platform's demo user when empty).
	From string `json:"from,omitempty"`
	// Chat is the conversation: a Telegram chat id, a Slack channel, a Discord channel (the
	// demo one when empty; a Telegram user's private chat). WhatsApp has none.
	Chat string `json:"chat,omitempty"`
	// HubURL overrides SIM_HUB_URL.
	HubURL string `json:"hub_url,omitempty"`
	// Repeat sends the identical signed request a second time, as a platform retrying does.
	Repeat bool `json:"repeat,omitempty"`
	// Payload, a JSON object, is sent (and signed) instead of the message built from Text.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// HubAnswer is the hub's answer to one webhook delivery.
type HubAnswer struct {
	Status int `json:"status"`
	// Body is the hub's body: JSON as it came, anything else as a string.
	Body any `json:"body"`
}

// InboundResponse is the answer of POST /_sim/{platform}/inbound: the hub's answer, what was
// sent, and the hub's answer to the repeat when one was asked for.
type InboundResponse struct {
	HubAnswer
	Sent   json.RawMessage `json:"sent"`
	Repeat *HubAnswer      `json:"repeat,omitempty"`
}

// maxHubAnswer bounds how much of the hub's answer is read.
const maxHubAnswer = 1 << 20

// hubURL is the hub webhooks are delivered to: override, else SIM_HUB_URL.
func (c MessagingConfig) hubURL(override string) (string, error) {
	raw := c.HubURL
	if override != "" {
		raw = override
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// inbound serves POST /_sim/{platform}/inbound for platform p.
func (m *Messaging) inbound(p string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in InboundRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.IntegrationID == "" ||
			(in.Text == "" && len(in.Payload) == 0) {
			http.Error(w, `body: {"integration_id", "text", "from"?, "chat"?, "hub_url"?, "repeat"?, "payload"?}`,
				http.StatusBadRequest)
			return
		}
		hub, err := m.cfg.hubURL(in.HubURL)
		if err != nil {
			http.Error(w, "hub_url: "+err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		body := bytes.TrimSpace(in.Payload)
		if len(body) > 0 {
			var obj map[string]json.RawMessage
			if json.Unmarshal(body, &obj) != nil {
				http.Error(w, "payload must be a JSON object", http.StatusBadRequest)
				return
			}
		} else if body, err = m.webhook(p, in, now); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		header := m.sign(p, body, now)
		target := hub + WebhookPath + url.PathEscape(in.IntegrationID)
		out := InboundResponse{Sent: body}
		if out.HubAnswer, err = m.deliver(r.Context(), target, header, body); err == nil && in.Repeat {
			var again HubAnswer
			again, err = m.deliver(r.Context(), target, header, body)
			out.Repeat = &again
		}
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "sent": json.RawMessage(body)})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// deliver posts one signed webhook to the hub and reads its answer.
func (m *Messaging) deliver(ctx context.Context, target string, header http.Header, body []byte) (HubAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return HubAnswer{}, err
	}
	req.Header = header.Clone()
	resp, err := m.client.Do(req)
	if err != nil {
		return HubAnswer{}, fmt.Errorf("delivering to the hub: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHubAnswer))
	if err != nil {
		return HubAnswer{}, fmt.Errorf("reading the hub's answer: %w", err)
	}
	ans := HubAnswer{Status: resp.StatusCode, Body: string(b)}
	if len(bytes.TrimSpace(b)) > 0 && json.Valid(b) {
		ans.Body = json.RawMessage(b)
	}
	return ans, nil
}

// sign gives the headers platform p sends a webhook body with, signed as p signs it.
func (m *Messaging) sign(p string, body []byte, now time.Time) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	ts := strconv.FormatInt(now.Unix(), 10)
	switch p {
	case platformWhatsApp:
		h.Set("User-Agent", "facebookexternalua")
		h.Set("X-Hub-Signature-256", "sha256="+hmacHex(m.cfg.WhatsAppAppSecret, body))
	case platformTelegram:
		h.Set("X-Telegram-Bot-Api-Secret-Token", m.cfg.TelegramSecretToken)
	case platformSlack:
		h.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+hmacHex(m.cfg.SlackSigningSecret, []byte("v0:"+ts+":"), body))
	case platformDiscord:
		h.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
		h.Set("X-Signature-Timestamp", ts)
		h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(m.discordKey, append([]byte(ts), body...))))
	}
	return h
}

// hmacHex is the hex HMAC-SHA256 of the parts under secret.
func hmacHex(secret string, parts ...[]byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		mac.Write(p)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// webhook builds the body platform p sends for an incoming text message.
func (m *Messaging) webhook(p string, in InboundRequest, now time.Time) ([]byte, error) {
	var payload map[string]any
	switch p {
	case platformWhatsApp:
		from := waID(cmp.Or(in.From, "15550109999"))
		if from == "" {
			return nil, errors.New("from must be a phone number")
		}
		payload = m.whatsAppWebhook(from, in.Text, now)
	case platformTelegram:
		from, err := strconv.ParseInt(cmp.Or(in.From, "424242424"), 10, 64)
		if err != nil || from <= 0 {
			return nil, errors.New("from must be a Telegram user id (a positive integer)")
		}
		chat, ok := telegramChat(cmp.Or(in.Chat, strconv.FormatInt(from, 10)))
		if !ok {
			return nil, errors.New("chat must be a Telegram chat id")
		}
		payload = m.telegramUpdate(from, chat, in.Text, now)
	case platformSlack:
		payload = m.slackEvent(cmp.Or(in.From, demoSlackSender), cmp.Or(in.Chat, demoSlackChannel), in.Text, now)
	case platformDiscord:
		payload = m.discordInteraction(cmp.Or(in.From, demoDiscordSender), cmp.Or(in.Chat, demoDiscordChannel), in.Text)
	}
	return json.Marshal(payload)
}

// whatsAppWebhook is a WhatsApp Cloud API messages notification with one text message.
func (m *Messaging) whatsAppWebhook(from, text string, now time.Time) map[string]any {
	message := map[string]any{"from": from, "id": "wamid." + randomToken(30),
		"timestamp": strconv.FormatInt(now.Unix(), 10), "type": "text", "text": map[string]string{"body": text}}
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata": map[string]string{"display_phone_number": demoWhatsAppDisplayNumber,
			"phone_number_id": m.cfg.WhatsAppPhoneNumberID},
		"contacts": []any{map[string]any{"profile": map[string]string{"name": "Demo User"}, "wa_id": from}},
		"messages": []any{message},
	}
	return map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": demoWhatsAppBusinessID, "changes": []any{map[string]any{"field": "messages", "value": value}}}}}
}

// telegramUpdate is a Bot API Update carrying one text message.
func (m *Messaging) telegramUpdate(from int64, chat map[string]any, text string, now time.Time) map[string]any {
	return map[string]any{"update_id": m.nextCounter(), "message": map[string]any{
		"message_id": m.nextCounter(),
		"from": map[string]any{"id": from, "is_bot": false, "first_name": "Demo", "username": "demo_user",
			"language_code": "en"},
		"chat": chat, "date": now.Unix(), "text": text}}
}

// slackEvent is an Events API event_callback for a message posted in a channel.
func (m *Messaging) slackEvent(user, channel, text string, now time.Time) map[string]any {
	ts := m.slackTS()
	return map[string]any{
		"token": demoSlackAPIToken, "team_id": demoSlackTeamID, "api_app_id": demoSlackAppID,
		"event": map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
			"client_msg_id": uuid(), "team": demoSlackTeamID, "event_ts": ts, "channel_type": "channel"},
		"type": "event_callback", "event_id": "Ev" + randomAlnum(9), "event_time": now.Unix(),
		"authorizations": []any{map[string]any{"enterprise_id": nil, "team_id": demoSlackTeamID,
			"user_id": demoSlackUserID, "is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
	}
}

// discordInteraction is an APPLICATION_COMMAND interaction: the user ran /say with text.
func (m *Messaging) discordInteraction(user, channel, text string) map[string]any {
	return map[string]any{
		"id": m.snowflake(), "application_id": demoDiscordBotID, "type": 2,
		"data": map[string]any{"id": demoDiscordCommand, "name": "say", "type": 1,
			"options": []any{map[string]any{"name": "text", "type": 3, "value": text}}},
		"guild_id": demoDiscordGuild, "channel_id": channel,
		"channel": map[string]any{"id": channel, "type": 0, "guild_id": demoDiscordGuild},
		"member": map[string]any{"user": map[string]any{"id": user, "username": demoDiscordUsername,
			"global_name": "Demo User", "discriminator": "0", "avatar": nil}, "roles": []any{},
			"permissions": "2248473465835073", "nick": nil},
		"token": randomToken(96), "version": 1, "locale": "en-US", "guild_locale": "en-US",
		"app_permissions": "2248473465835073", "entitlements": []any{},
	}
}

// uuid is a random (version 4) UUID.
func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomAlnum is n random upper-case letters and digits, as Slack's ids are made of.
func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
