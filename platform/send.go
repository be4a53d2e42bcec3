package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of a Sender.
const (
	DefaultSendTimeout      = 30 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	maxRetryAfter           = time.Hour
)

// Sender sends messages through messaging platforms' APIs and checks their credentials.
type Sender struct {
	client   *http.Client
	maxBytes int64
}

// NewSender returns a Sender calling through client (nil: a client with a 30 s timeout) and
// reading at most maxResponseBytes of an answer (0 or less: 1 MiB).
func NewSender(client *http.Client, maxResponseBytes int64) *Sender {
	if client == nil {
		client = &http.Client{Timeout: DefaultSendTimeout}
	}
	if maxResponseBytes <= 0 {
		maxResponseBytes = DefaultMaxResponseBytes
	}
	return &Sender{client: client, maxBytes: maxResponseBytes}
}

// Send sends one message. WhatsApp sends to a phone number (wa_id), Telegram to a chat id,
// Slack to a channel id ("C123:1712345678.000100" replies in that thread), Discord to a
// channel id. Text goes as text; an image, file, audio or video as the platform's media
// message with Content.Media.URL as its link (a whatsapp-media: or telegram-file: URL sends
// the platform's own media id back). A platform's refusal or failure is an *APIError;
// platforms without messages answer ErrUnsupported, an unsendable message ErrInvalid.
func (s *Sender) Send(ctx context.Context, in Integration, msg Outbound) (SendResult, error) {
	if !in.Platform.Messaging() {
		return SendResult{}, fmt.Errorf("%w: %s does not send messages", ErrUnsupported, in.Platform)
	}
	if err := checkOutbound(in.Platform, msg); err != nil {
		return SendResult{}, err
	}
	c := s.call(in)
	switch in.Platform {
	case WhatsApp:
		return c.whatsAppSend(ctx, msg)
	case Telegram:
		return c.telegramSend(ctx, msg)
	case Slack:
		return c.slackSend(ctx, msg)
	default:
		return c.discordSend(ctx, msg)
	}
}

func checkOutbound(n Name, msg Outbound) error {
	problems := map[string]string{}
	if strings.TrimSpace(msg.To) == "" {
		problems["to"] = "required"
	}
	switch msg.Content.Type {
	case ContentText:
		if msg.Content.Text == "" {
			problems["content.text"] = "required"
		}
	case ContentImage, ContentFile, ContentAudio, ContentVideo:
		if msg.Content.Media == nil || msg.Content.Media.URL == "" {
			problems["content.media.url"] = "required"
		}
	default:
		problems["content.type"] = "one of TEXT, IMAGE, FILE, AUDIO, VIDEO for " + string(n)
	}
	if len(problems) > 0 {
		return &InvalidError{Fields: problems}
	}
	return nil
}

// Health makes a real, read-only call proving the integration's credentials work: WhatsApp's
// phone number, Telegram's getMe, Slack's auth.test, Discord's current user. Details hold a few
// non-secret fields of the answer. Platforms without an API are healthy, inbound only; a site
// platform is refused (OK false): its test is SiteClient.Test.
func (s *Sender) Health(ctx context.Context, in Integration) Health {
	if in.Platform.Site() {
		return Health{OK: false, Error: string(in.Platform) + " is a site platform: its connection test is the site client's (SiteClient.Test)"}
	}
	if !in.Platform.Messaging() {
		return Health{OK: true, Details: map[string]any{"mode": "inbound only"}}
	}
	c := s.call(in)
	start := time.Now()
	var (
		details map[string]any
		err     error
	)
	switch in.Platform {
	case WhatsApp:
		details, err = c.whatsAppHealth(ctx)
	case Telegram:
		details, err = c.telegramHealth(ctx)
	case Slack:
		details, err = c.slackHealth(ctx)
	default:
		details, err = c.discordHealth(ctx)
	}
	h := Health{OK: err == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000, Details: details}
	if err != nil {
		h.Error = err.Error()
	}
	return h
}

// call is one integration's view of its platform's API.
type call struct {
	s    *Sender
	in   Integration
	base string
}

func (s *Sender) call(in Integration) call {
	return call{s: s, in: in, base: APIBase(in.Platform, in.Config)}
}

func (c call) field(name string) string { return c.in.Credentials.Fields[name] }

// answer is a platform's HTTP answer, read within the size limit.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and reads its answer. Transport failures are temporary APIErrors with
// Status 0; an answer over the size limit is a permanent one.
func (c call) do(ctx context.Context, method, path, auth string, payload any) (answer, error) {
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return answer{}, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return answer{}, &APIError{Code: "invalid_request", Message: c.redact(err.Error())}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.s.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPrivateAddress) {
			// Final: the integration's api_base_url points inside the hub's network.
			return answer{}, &APIError{Code: "private_address", Message: c.redact(err.Error()), cause: ErrPrivateAddress}
		}
		return answer{}, &APIError{Code: "transport", Message: c.redact(err.Error()), Temporary: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.s.maxBytes+1))
	if err != nil {
		return answer{}, &APIError{Status: resp.StatusCode, Code: "transport",
			Message: c.redact("reading the answer: " + err.Error()), Temporary: true}
	}
	if int64(len(b)) > c.s.maxBytes {
		return answer{}, &APIError{Status: resp.StatusCode, Code: "response_too_large",
			Message: fmt.Sprintf("%s answered more than %d bytes", c.in.Platform, c.s.maxBytes)}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// fail is the APIError of a refused or failed call: temporary for 429 and 5xx.
func (c call) fail(a answer, code, message string, retryAfter time.Duration) *APIError {
	if message == "" {
		message = http.StatusText(a.status)
	}
	if retryAfter <= 0 {
		retryAfter = retryAfterHeader(a.header.Get("Retry-After"), time.Now())
	}
	return &APIError{
		Status:     a.status,
		Code:       code,
		Message:    c.redact(fmt.Sprintf("%s answered %d: %s", c.in.Platform, a.status, message)),
		RetryAfter: min(retryAfter, maxRetryAfter),
		Temporary:  a.status == http.StatusTooManyRequests || a.status >= 500,
	}
}

// redact removes every credential of the integration from a text (Telegram puts the bot
// token in its URLs, which transport errors quote).
func (c call) redact(s string) string {
	for _, v := range c.in.Credentials.Fields {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "****")
			if esc := url.PathEscape(v); esc != v {
				s = strings.ReplaceAll(s, esc, "****")
			}
		}
	}
	return s
}

// retryAfterHeader reads Retry-After as seconds or an HTTP date.
func retryAfterHeader(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		d = secondsDuration(secs)
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

func secondsDuration(secs float64) time.Duration {
	if secs <= 0 || math.IsNaN(secs) {
		return 0
	}
	if secs > maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(secs * float64(time.Second))
}

// unexpected is the error of a success answer without what it should hold.
func (c call) unexpected(a answer, what string) *APIError {
	return &APIError{Status: a.status, Code: "unexpected_response",
		Message: fmt.Sprintf("%s answered %d without %s", c.in.Platform, a.status, what)}
}

func decodeAnswer(a answer, v any) bool {
	return json.Unmarshal(a.body, v) == nil
}

// WhatsApp Cloud API.

type waError struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
	} `json:"error"`
}

// whatsAppThrottled are Graph API error codes of rate limits, answered with 400 as often as
// with 429.
var whatsAppThrottled = map[int]bool{4: true, 17: true, 32: true, 613: true, 80007: true, 130429: true, 131048: true, 131056: true}

func (c call) whatsAppFail(a answer) *APIError {
	var e waError
	if !decodeAnswer(a, &e) || e.Error == nil {
		return c.fail(a, "", "", 0)
	}
	err := c.fail(a, strconv.Itoa(e.Error.Code), e.Error.Message, 0)
	if whatsAppThrottled[e.Error.Code] {
		err.Temporary = true
	}
	return err
}

func (c call) bearer(field string) string { return "Bearer " + c.field(field) }

func (c call) whatsAppSend(ctx context.Context, msg Outbound) (SendResult, error) {
	body := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": msg.To}
	kind := map[string]string{ContentImage: "image", ContentFile: "document", ContentAudio: "audio", ContentVideo: "video"}
	if msg.Content.Type == ContentText {
		body["type"] = "text"
		body["text"] = map[string]any{"body": msg.Content.Text}
	} else {
		t := kind[msg.Content.Type]
		media := map[string]any{}
		if id, ok := strings.CutPrefix(msg.Content.Media.URL, WhatsAppMediaScheme); ok {
			media["id"] = id
		} else {
			media["link"] = msg.Content.Media.URL
		}
		if msg.Content.Text != "" && t != "audio" {
			media["caption"] = msg.Content.Text
		}
		body["type"] = t
		body[t] = media
	}
	a, err := c.do(ctx, http.MethodPost, "/"+url.PathEscape(c.field(FieldPhoneNumberID))+"/messages",
		c.bearer(FieldAccessToken), body)
	if err != nil {
		return SendResult{}, err
	}
	if a.status/100 != 2 {
		return SendResult{}, c.whatsAppFail(a)
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if !decodeAnswer(a, &ok) || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		return SendResult{}, c.unexpected(a, "a message id")
	}
	return SendResult{MessageID: ok.Messages[0].ID, Status: a.status}, nil
}

func (c call) whatsAppHealth(ctx context.Context) (map[string]any, error) {
	a, err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(c.field(FieldPhoneNumberID))+
		"?fields=display_phone_number,verified_name,quality_rating", c.bearer(FieldAccessToken), nil)
	if err != nil {
		return nil, err
	}
	if a.status/100 != 2 {
		return nil, c.whatsAppFail(a)
	}
	var p struct {
		ID                 string `json:"id"`
		DisplayPhoneNumber string `json:"display_phone_number"`
		VerifiedName       string `json:"verified_name"`
		QualityRating      string `json:"quality_rating"`
	}
	if !decodeAnswer(a, &p) {
		return nil, c.unexpected(a, "the phone number")
	}
	d := map[string]any{}
	setNonEmpty(d, "phone_number_id", p.ID)
	setNonEmpty(d, "display_phone_number", p.DisplayPhoneNumber)
	setNonEmpty(d, "verified_name", p.VerifiedName)
	setNonEmpty(d, "quality_rating", p.QualityRating)
	return d, nil
}

// Telegram Bot API.

type tgAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter float64 `json:"retry_after"`
	} `json:"parameters"`
}

// telegram calls one Bot API method; the token is part of the path.
func (c call) telegram(ctx context.Context, method string, payload any) (answer, json.RawMessage, error) {
	httpMethod := http.MethodGet
	if payload != nil {
		httpMethod = http.MethodPost
	}
	a, err := c.do(ctx, httpMethod, "/bot"+c.field(FieldBotToken)+"/"+method, "", payload)
	if err != nil {
		return a, nil, err
	}
	var t tgAnswer
	decoded := decodeAnswer(a, &t)
	if a.status/100 == 2 && decoded && t.OK {
		return a, t.Result, nil
	}
	if !decoded {
		if a.status/100 == 2 {
			return a, nil, c.unexpected(a, "a Bot API answer")
		}
		return a, nil, c.fail(a, "", "", 0)
	}
	var retry time.Duration
	if t.Parameters != nil {
		retry = secondsDuration(t.Parameters.RetryAfter)
	}
	if a.status/100 == 2 && t.ErrorCode != 0 {
		// ok:false under 200: the error code in the body is the status that counts.
		a.status = t.ErrorCode
	}
	code := ""
	if t.ErrorCode != 0 {
		code = strconv.Itoa(t.ErrorCode)
	}
	return a, nil, c.fail(a, code, t.Description, retry)
}

func (c call) telegramSend(ctx context.Context, msg Outbound) (SendResult, error) {
	method, body := "sendMessage", map[string]any{"chat_id": msg.To}
	if msg.Content.Type == ContentText {
		body["text"] = msg.Content.Text
	} else {
		param := map[string]string{ContentImage: "photo", ContentFile: "document", ContentAudio: "audio", ContentVideo: "video"}[msg.Content.Type]
		method = "send" + strings.ToUpper(param[:1]) + param[1:]
		ref := msg.Content.Media.URL
		if id, ok := strings.CutPrefix(ref, TelegramFileScheme); ok {
			ref = id
		}
		body[param] = ref
		if msg.Content.Text != "" {
			body["caption"] = msg.Content.Text
		}
	}
	a, result, err := c.telegram(ctx, method, body)
	if err != nil {
		return SendResult{}, err
	}
	var m struct {
		MessageID int64 `json:"message_id"`
	}
	if json.Unmarshal(result, &m) != nil || m.MessageID == 0 {
		return SendResult{}, c.unexpected(a, "a message_id")
	}
	return SendResult{MessageID: strconv.FormatInt(m.MessageID, 10), Status: a.status}, nil
}

func (c call) telegramHealth(ctx context.Context) (map[string]any, error) {
	a, result, err := c.telegram(ctx, "getMe", nil)
	if err != nil {
		return nil, err
	}
	var u struct {
		ID        int64  `json:"id"`
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
	}
	if json.Unmarshal(result, &u) != nil {
		return nil, c.unexpected(a, "the bot")
	}
	d := map[string]any{"bot_id": u.ID}
	setNonEmpty(d, "bot_username", u.Username)
	setNonEmpty(d, "bot_name", u.FirstName)
	return d, nil
}

// Slack Web API: errors come as 200 with ok:false.

// slackTemporary are Slack error codes worth retrying.
var slackTemporary = map[string]bool{"ratelimited": true, "rate_limited": true, "internal_error": true,
	"fatal_error": true, "service_unavailable": true, "request_timeout": true}

func (c call) slack(ctx context.Context, method string, payload any) (answer, error) {
	a, err := c.do(ctx, http.MethodPost, "/"+method, c.bearer(FieldBotToken), payload)
	if err != nil {
		return a, err
	}
	var s struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	decoded := decodeAnswer(a, &s)
	switch {
	case a.status/100 == 2 && decoded && s.OK:
		return a, nil
	case a.status/100 == 2 && !decoded:
		return a, c.unexpected(a, "a Web API answer")
	}
	e := c.fail(a, s.Error, s.Error, 0)
	if slackTemporary[s.Error] {
		e.Temporary = true
	}
	return a, e
}

func (c call) slackSend(ctx context.Context, msg Outbound) (SendResult, error) {
	channel, thread, _ := strings.Cut(msg.To, ":")
	body := map[string]any{"channel": channel}
	if thread != "" {
		body["thread_ts"] = thread
	}
	switch msg.Content.Type {
	case ContentText:
		body["text"] = msg.Content.Text
	case ContentImage:
		alt := orDefault(msg.Content.Text, "image")
		body["text"] = alt
		body["blocks"] = []map[string]any{{"type": "image", "image_url": msg.Content.Media.URL, "alt_text": alt}}
	default:
		body["text"] = strings.TrimSpace(msg.Content.Text + " " + msg.Content.Media.URL)
	}
	a, err := c.slack(ctx, "chat.postMessage", body)
	if err != nil {
		return SendResult{}, err
	}
	var ok struct {
		TS string `json:"ts"`
	}
	if !decodeAnswer(a, &ok) || ok.TS == "" {
		return SendResult{}, c.unexpected(a, "a ts")
	}
	return SendResult{MessageID: ok.TS, Status: a.status}, nil
}

func (c call) slackHealth(ctx context.Context) (map[string]any, error) {
	a, err := c.slack(ctx, "auth.test", map[string]any{})
	if err != nil {
		return nil, err
	}
	var p struct {
		Team   string `json:"team"`
		TeamID string `json:"team_id"`
		User   string `json:"user"`
		UserID string `json:"user_id"`
		BotID  string `json:"bot_id"`
	}
	_ = decodeAnswer(a, &p)
	d := map[string]any{}
	setNonEmpty(d, "team", p.Team)
	setNonEmpty(d, "team_id", p.TeamID)
	setNonEmpty(d, "user", p.User)
	setNonEmpty(d, "user_id", p.UserID)
	setNonEmpty(d, "bot_id", p.BotID)
	return d, nil
}

// Discord REST API.

func (c call) discord(ctx context.Context, method, path string, payload any) (answer, error) {
	a, err := c.do(ctx, method, path, "Bot "+c.field(FieldBotToken), payload)
	if err != nil {
		return a, err
	}
	if a.status/100 == 2 {
		return a, nil
	}
	var e struct {
		Message    string  `json:"message"`
		Code       int     `json:"code"`
		RetryAfter float64 `json:"retry_after"`
	}
	code := ""
	if decodeAnswer(a, &e) && e.Code != 0 {
		code = strconv.Itoa(e.Code)
	}
	return a, c.fail(a, code, e.Message, secondsDuration(e.RetryAfter))
}

func (c call) discordSend(ctx context.Context, msg Outbound) (SendResult, error) {
	body := map[string]any{}
	switch msg.Content.Type {
	case ContentText:
		body["content"] = msg.Content.Text
	case ContentImage:
		if msg.Content.Text != "" {
			body["content"] = msg.Content.Text
		}
		body["embeds"] = []map[string]any{{"image": map[string]any{"url": msg.Content.Media.URL}}}
	default:
		body["content"] = strings.TrimSpace(msg.Content.Text + " " + msg.Content.Media.URL)
	}
	a, err := c.discord(ctx, http.MethodPost, "/channels/"+url.PathEscape(msg.To)+"/messages", body)
	if err != nil {
		return SendResult{}, err
	}
	var ok struct {
		ID string `json:"id"`
	}
	if !decodeAnswer(a, &ok) || ok.ID == "" {
		return SendResult{}, c.unexpected(a, "a message id")
	}
	return SendResult{MessageID: ok.ID, Status: a.status}, nil
}

func (c call) discordHealth(ctx context.Context) (map[string]any, error) {
	a, err := c.discord(ctx, http.MethodGet, "/users/@me", nil)
	if err != nil {
		return nil, err
	}
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
	}
	if !decodeAnswer(a, &u) {
		return nil, c.unexpected(a, "the bot user")
	}
	d := map[string]any{"bot": u.Bot}
	setNonEmpty(d, "user_id", u.ID)
	setNonEmpty(d, "username", u.Username)
	return d, nil
}
