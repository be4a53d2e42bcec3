package sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MessagingConfig is the messaging simulators' environment: the credentials their APIs accept
// and sign webhooks with, and where the hub is. The defaults are demo credentials; the demo
// seed gives the hub's demo integrations the same values (see DemoCredentials).
type MessagingConfig struct {
	// HubURL is where inbound webhooks are posted, unless a request names another hub.
	HubURL string `envconfig:"SIM_HUB_URL" default:"http://127.0.0.1:8080"`

	WhatsAppAccessToken   string `envconfig:"SIM_WHATSAPP_ACCESS_TOKEN" default:"demo-whatsapp-access-token"`
	WhatsAppPhoneNumberID string `envconfig:"SIM_WHATSAPP_PHONE_NUMBER_ID" default:"100000000000001"`
	// WhatsAppAppSecret signs webhooks (X-Hub-Signature-256).
	WhatsAppAppSecret string `envconfig:"SIM_WHATSAPP_APP_SECRET" default:"demo-whatsapp-app-secret"`
	// WhatsAppVerifyToken is the token of the webhook subscription's verification request.
	WhatsAppVerifyToken string `envconfig:"SIM_WHATSAPP_VERIFY_TOKEN" default:"demo-whatsapp-verify-token"`

	// TelegramBotToken is "<bot id>:<secret>", as BotFather issues it.
	TelegramBotToken string `envconfig:"SIM_TELEGRAM_BOT_TOKEN" default:"7000000001:demo-telegram-bot-token"`
	// TelegramSecretToken is setWebhook's secret_token (X-Telegram-Bot-Api-Secret-Token).
	TelegramSecretToken string `envconfig:"SIM_TELEGRAM_SECRET_TOKEN" default:"demo-telegram-secret-token"`

	SlackBotToken string `envconfig:"SIM_SLACK_BOT_TOKEN" default:"xoxb-demo-slack-bot-token"`
	// SlackSigningSecret signs Events API requests (X-Slack-Signature).
	SlackSigningSecret string `envconfig:"SIM_SLACK_SIGNING_SECRET" default:"demo-slack-signing-secret"`

	DiscordBotToken string `envconfig:"SIM_DISCORD_BOT_TOKEN" default:"demo-discord-bot-token"`
	// DiscordPrivateKeySeed is the hex 32-byte Ed25519 seed interactions are signed with; the
	// application's public key (DiscordPublicKey) follows from it. The default is the hex of
	// "switchyard demo discord key seed".
	DiscordPrivateKeySeed string `envconfig:"SIM_DISCORD_PRIVATE_KEY_SEED" default:"737769746368796172642064656d6f20646973636f7264206b65792073656564"`
}

// Validate reports settings the simulators cannot work with.
func (c MessagingConfig) Validate() error {
	if _, err := c.discordKey(); err != nil {
		return err
	}
	if _, err := c.hubURL(""); err != nil {
		return fmt.Errorf("SIM_HUB_URL: %w", err)
	}
	return nil
}

func (c MessagingConfig) discordKey() (ed25519.PrivateKey, error) {
	seed, err := hex.DecodeString(c.DiscordPrivateKeySeed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("SIM_DISCORD_PRIVATE_KEY_SEED must be 64 hex characters (a 32-byte Ed25519 seed)")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// DiscordPublicKey is the hex Ed25519 public key that verifies the interactions the Discord
// simulator signs (the application's "public key"); empty when the seed is invalid.
func (c MessagingConfig) DiscordPublicKey() string {
	key, err := c.discordKey()
	if err != nil {
		return ""
	}
	return hex.EncodeToString(key.Public().(ed25519.PublicKey))
}

// DemoCredentials gives, per messaging platform, the credential fields a hub integration needs
// to talk to these simulators and verify their webhooks.
func (c MessagingConfig) DemoCredentials() map[string]map[string]string {
	return map[string]map[string]string{
		platformWhatsApp: {"access_token": c.WhatsAppAccessToken, "phone_number_id": c.WhatsAppPhoneNumberID,
			"app_secret": c.WhatsAppAppSecret, "verify_token": c.WhatsAppVerifyToken},
		platformTelegram: {"bot_token": c.TelegramBotToken, "secret_token": c.TelegramSecretToken},
		platformSlack:    {"bot_token": c.SlackBotToken, "signing_secret": c.SlackSigningSecret},
		platformDiscord:  {"bot_token": c.DiscordBotToken, "public_key": c.DiscordPublicKey()},
	}
}

// APIBase is the base URL of a messaging platform's API on the simulators served at simURL:
// the URL the hub's messaging client appends the platform's API paths to. Empty for a platform
// that is not simulated.
func (c MessagingConfig) APIBase(simURL, name string) string {
	prefix, ok := apiPrefixes[name]
	if !ok {
		return ""
	}
	return strings.TrimRight(simURL, "/") + prefix
}

// The simulated messaging platforms, by the names the hub gives them.
const (
	platformWhatsApp = "whatsapp"
	platformTelegram = "telegram"
	platformSlack    = "slack"
	platformDiscord  = "discord"
)

// apiPrefixes are where each platform's API is served, with the API version the hub uses.
var apiPrefixes = map[string]string{
	platformWhatsApp: "/whatsapp/v21.0",
	platformTelegram: "/telegram",
	platformSlack:    "/slack/api",
	platformDiscord:  "/discord/api/v10",
}

// messagingPlatforms are the simulated messaging platforms, in the order routes are listed.
var messagingPlatforms = []string{platformWhatsApp, platformTelegram, platformSlack, platformDiscord}

// Messaging simulates the APIs of WhatsApp Cloud, the Telegram Bot API, the Slack Web API and
// Discord's REST API: each accepts only its configured token, records what it sends, answers
// with the platform's own error shapes and can be rate limited through /_sim/messaging/faults.
// It also plays each platform delivering a message to the hub: a webhook signed as the
// platform signs it (/_sim/{platform}/inbound).
type Messaging struct {
	cfg        MessagingConfig
	discordKey ed25519.PrivateKey
	telegramID int64 // the bot's user id, from its token
	client     *http.Client
	faults     *messagingFaults
	sent       map[string]*messageLog

	mu        sync.Mutex // guards the id sequences below
	counter   int64      // Telegram message ids and update ids
	lastSlack time.Time  // the last Slack ts
	lastFlake int64      // the last Discord snowflake
}

// inboundTimeout bounds one webhook delivery to the hub.
const inboundTimeout = 10 * time.Second

// NewMessaging builds the messaging simulators.
func NewMessaging(cfg MessagingConfig) (*Messaging, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, _ := cfg.discordKey()
	m := &Messaging{cfg: cfg, discordKey: key, telegramID: telegramBotID(cfg.TelegramBotToken),
		faults: &messagingFaults{byPlatform: map[string]*MessagingFault{}}, sent: map[string]*messageLog{},
		client: &http.Client{Timeout: inboundTimeout,
			// Platforms do not follow a webhook endpoint's redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		// Ids that keep increasing across restarts, so a hub that deduplicates by them never
		// takes a new message for a repeat.
		counter: time.Now().UnixMilli(),
	}
	for _, p := range messagingPlatforms {
		m.sent[p] = &messageLog{}
	}
	return m, nil
}

// Register mounts the messaging simulators and their control routes on mux.
func (m *Messaging) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /whatsapp/{version}/{phone_number_id}/messages", m.whatsAppGuard(m.whatsAppSend))
	mux.HandleFunc("GET /whatsapp/{version}/{phone_number_id}", m.whatsAppGuard(m.whatsAppPhoneNumber))
	mux.HandleFunc("/telegram/{bot}/{method}", m.telegram)
	mux.HandleFunc("/slack/api/{method}", m.slack)
	mux.HandleFunc("POST /discord/api/{version}/channels/{channel_id}/messages", m.discordGuard(m.discordSend))
	mux.HandleFunc("GET /discord/api/{version}/users/@me", m.discordGuard(m.discordMe))

	for _, p := range messagingPlatforms {
		log := m.sent[p]
		mux.HandleFunc("GET /_sim/"+p+"/messages", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, log.list())
		})
		mux.HandleFunc("DELETE /_sim/"+p+"/messages", func(w http.ResponseWriter, _ *http.Request) {
			log.clear()
			w.WriteHeader(http.StatusNoContent)
		})
		mux.HandleFunc("POST /_sim/"+p+"/inbound", m.inbound(p))
	}
	mux.HandleFunc("GET /_sim/messaging/faults", m.faults.get)
	mux.HandleFunc("PUT /_sim/messaging/faults", m.faults.put)
	mux.HandleFunc("DELETE /_sim/messaging/faults", m.faults.clear)
}

// --- what the simulators sent --------------------------------------------------------------

// SentMessage is a message a messaging simulator accepted for delivery.
type SentMessage struct {
	Platform string `json:"platform"`
	// To is the recipient: a WhatsApp number, a Telegram chat id, a Slack or Discord channel.
	To string `json:"to"`
	// Type is the platform's kind of message (text, image, document, photo).
	Type       string    `json:"type"`
	Text       string    `json:"text"`
	MediaURL   string    `json:"media_url,omitempty"`
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
}

// maxSentMessages bounds each simulator's record; the oldest go first.
const maxSentMessages = 10000

// messageLog is what one platform's simulator sent, oldest first.
type messageLog struct {
	mu   sync.Mutex
	msgs []SentMessage
}

func (l *messageLog) add(m SentMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == maxSentMessages {
		l.msgs = append(l.msgs[:0], l.msgs[1:]...)
	}
	l.msgs = append(l.msgs, m)
}

func (l *messageLog) list() []SentMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]SentMessage{}, l.msgs...)
}

func (l *messageLog) clear() {
	l.mu.Lock()
	l.msgs = nil
	l.mu.Unlock()
}

func (m *Messaging) record(p string, msg SentMessage) {
	msg.Platform, msg.ReceivedAt = p, time.Now().UTC()
	m.sent[p].add(msg)
}

// --- faults ---------------------------------------------------------------------------------

// MessagingFault makes one messaging simulator misbehave: its next RateLimit API calls answer
// the platform's 429 asking to wait RetryAfter, then the next Fail calls answer its 500.
type MessagingFault struct {
	Platform  string `json:"platform"`
	RateLimit int    `json:"rate_limit"`
	// RetryAfter is a Go duration (default 1s): the Retry-After header in whole seconds,
	// rounded up, and each platform's own field (Discord's keeps fractions).
	RetryAfter string `json:"retry_after"`
	Fail       int    `json:"fail"`

	retryAfter time.Duration
}

// maxMessagingRetryAfter bounds a fault's RetryAfter.
const maxMessagingRetryAfter = time.Hour

// messagingFaults holds each platform's pending fault.
type messagingFaults struct {
	mu         sync.Mutex
	byPlatform map[string]*MessagingFault
}

// take consumes one call of p's fault: 429 with the wait, 500, or 0 to answer as usual.
func (f *messagingFaults) take(p string) (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.byPlatform[p]
	if ft == nil {
		return 0, 0
	}
	status := http.StatusTooManyRequests
	if ft.RateLimit > 0 {
		ft.RateLimit--
	} else {
		ft.Fail--
		status = http.StatusInternalServerError
	}
	if ft.RateLimit == 0 && ft.Fail == 0 {
		delete(f.byPlatform, p)
	}
	return status, ft.retryAfter
}

// get lists the pending faults.
func (f *messagingFaults) get(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	out := []MessagingFault{}
	for _, p := range messagingPlatforms {
		if ft := f.byPlatform[p]; ft != nil {
			out = append(out, *ft)
		}
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// put sets a platform's fault, replacing the one pending; zero counts clear it.
func (f *messagingFaults) put(w http.ResponseWriter, r *http.Request) {
	var ft MessagingFault
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&ft); err != nil ||
		apiPrefixes[ft.Platform] == "" {
		http.Error(w, `body: {"platform": "whatsapp|telegram|slack|discord", "rate_limit", "retry_after", "fail"}`,
			http.StatusBadRequest)
		return
	}
	if ft.RateLimit < 0 || ft.Fail < 0 || ft.RateLimit > math.MaxInt32 || ft.Fail > math.MaxInt32 {
		http.Error(w, "rate_limit and fail must be counts of calls", http.StatusBadRequest)
		return
	}
	ft.retryAfter = time.Second
	if ft.RetryAfter != "" {
		d, err := time.ParseDuration(ft.RetryAfter)
		if err != nil || d <= 0 || d > maxMessagingRetryAfter {
			http.Error(w, "retry_after must be a positive duration up to 1h", http.StatusBadRequest)
			return
		}
		ft.retryAfter = d
	}
	ft.RetryAfter = ft.retryAfter.String()
	f.mu.Lock()
	if ft.RateLimit == 0 && ft.Fail == 0 {
		delete(f.byPlatform, ft.Platform)
	} else {
		f.byPlatform[ft.Platform] = &ft
	}
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// clear drops every pending fault.
func (f *messagingFaults) clear(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	clear(f.byPlatform)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// retryAfterSeconds is d as a Retry-After header: whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(d)))
}

// --- ids ------------------------------------------------------------------------------------

// nextCounter gives increasing integers (Telegram message and update ids).
func (m *Messaging) nextCounter() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counter++
	return m.counter
}

// discordEpoch is the start of Discord's snowflakes, in Unix milliseconds.
const discordEpoch = 1420070400000

// snowflake is a new Discord id: milliseconds since the Discord epoch and an increment, always
// greater than the last.
func (m *Messaging) snowflake() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := (time.Now().UnixMilli() - discordEpoch) << 22
	if id <= m.lastFlake {
		id = m.lastFlake + 1
	}
	m.lastFlake = id
	return strconv.FormatInt(id, 10)
}

// slackTS is a new Slack message timestamp, "<unix>.<microseconds>", unique and increasing.
func (m *Messaging) slackTS() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().Truncate(time.Microsecond)
	if !now.After(m.lastSlack) {
		now = m.lastSlack.Add(time.Microsecond)
	}
	m.lastSlack = now
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
