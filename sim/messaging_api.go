package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The demo identities the simulators answer with.
const (
	demoWhatsAppDisplayNumber = "15550100123" // as webhooks carry it; the API formats it
	demoWhatsAppDisplayName   = "Switchyard Demo"
	demoWhatsAppBusinessID    = "100000000000099"

	demoTelegramBotID       = 7000000001
	demoTelegramBotName     = "Switchyard Demo"
	demoTelegramBotUsername = "switchyard_demo_bot"

	demoSlackTeam     = "Switchyard Demo"
	demoSlackTeamID   = "T0SWYD0001"
	demoSlackUser     = "switchyard_bot"
	demoSlackUserID   = "U0SWYDBOT1"
	demoSlackBotID    = "B0SWYDBOT1"
	demoSlackAppID    = "A0SWYDAPP1"
	demoSlackURL      = "https://switchyard-demo.slack.com/"
	demoSlackChannel  = "C0SWYDDEMO"
	demoSlackSender   = "U0SWYDUSER"
	demoSlackAPIToken = "demo-slack-verification-token"

	demoDiscordBotID    = "1300000000000000001" // also the application id
	demoDiscordBotName  = "switchyard-demo"
	demoDiscordGuild    = "1300000000000000010"
	demoDiscordChannel  = "1300000000000000100"
	demoDiscordSender   = "1300000000000000042"
	demoDiscordCommand  = "1300000000000000200"
	demoDiscordUsername = "demo_user"
)

// readBody reads a request body of at most 1 MiB.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

// --- WhatsApp Cloud API ---------------------------------------------------------------------

var graphVersion = regexp.MustCompile(`^v\d+\.\d+$`)

// graphError answers in the Graph API's error shape.
func graphError(w http.ResponseWriter, status, code int, typ, message string, extra map[string]any) {
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": randomToken(12)}
	for k, v := range extra {
		e[k] = v
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// whatsAppGuard checks the path's API version, the access token and the phone number id, then
// plays any fault, then serves.
func (m *Messaging) whatsAppGuard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !graphVersion.MatchString(r.PathValue("version")) {
			graphError(w, http.StatusBadRequest, 2500, "OAuthException",
				"Unknown path components: /"+r.PathValue("version"), nil)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token = r.URL.Query().Get("access_token")
		}
		if !equal(token, m.cfg.WhatsAppAccessToken) {
			graphError(w, http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token.", nil)
			return
		}
		if id := r.PathValue("phone_number_id"); id != m.cfg.WhatsAppPhoneNumberID {
			graphError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported request - method type: "+
				strings.ToLower(r.Method)+". Object with ID '"+id+"' does not exist, cannot be loaded due to missing "+
				"permissions, or does not support this operation.", map[string]any{"error_subcode": 33})
			return
		}
		switch status, wait := m.faults.take(platformWhatsApp); status {
		case http.StatusTooManyRequests:
			setRetryAfter(w, wait)
			graphError(w, status, 130429, "OAuthException", "(#130429) Rate limit hit", map[string]any{
				"error_data": map[string]string{"messaging_product": "whatsapp",
					"details": "Cloud API message throughput has been reached."}})
		case http.StatusInternalServerError:
			graphError(w, status, 1, "OAuthException", "An unknown error has occurred.",
				map[string]any{"is_transient": true})
		default:
			h(w, r)
		}
	}
}

// whatsAppMedia is an image or document of a message: a link (or an uploaded media id).
type whatsAppMedia struct {
	Link     string `json:"link"`
	ID       string `json:"id"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

func (m *Messaging) whatsAppSend(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             *struct {
			Body string `json:"body"`
		} `json:"text"`
		Image    *whatsAppMedia `json:"image"`
		Document *whatsAppMedia `json:"document"`
	}
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	invalid := func(message string) {
		graphError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) "+message, nil)
	}
	switch {
	case err != nil:
		invalid("The request body must be a JSON object.")
		return
	case in.MessagingProduct != "whatsapp":
		invalid("The parameter messaging_product is required.")
		return
	case in.To == "":
		invalid("The parameter to is required.")
		return
	}
	if in.Type == "" {
		in.Type = "text" // as the Cloud API defaults it
	}
	msg := SentMessage{To: in.To, Type: in.Type, ID: "wamid." + randomToken(30)}
	var media *whatsAppMedia
	switch in.Type {
	case "text":
		if in.Text == nil || in.Text.Body == "" {
			invalid("The parameter text['body'] is required.")
			return
		}
		if utf8.RuneCountInString(in.Text.Body) > 4096 {
			invalid("Param text['body'] must be at most 4096 characters long.")
			return
		}
		msg.Text = in.Text.Body
	case "image":
		media = in.Image
	case "document":
		media = in.Document
	default:
		invalid("Param type must be one of {TEXT, IMAGE, DOCUMENT} - got \"" + in.Type + "\".")
		return
	}
	if in.Type != "text" {
		if media == nil || (media.Link == "" && media.ID == "") {
			invalid("The parameter " + in.Type + "['link'] or " + in.Type + "['id'] is required.")
			return
		}
		msg.Text, msg.MediaURL = media.Caption, media.Link
		if msg.MediaURL == "" {
			msg.MediaURL = "media:" + media.ID
		}
	}
	m.record(platformWhatsApp, msg)
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": in.To, "wa_id": waID(in.To)}},
		"messages":          []map[string]string{{"id": msg.ID}},
	})
}

// waID is a phone number as WhatsApp identifies it: its digits.
func waID(phone string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
}

func (m *Messaging) whatsAppPhoneNumber(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"id":                   m.cfg.WhatsAppPhoneNumberID,
		"display_phone_number": "+1 555-010-0123",
		"verified_name":        demoWhatsAppDisplayName,
		"quality_rating":       "GREEN",
	})
}

// --- Telegram Bot API -----------------------------------------------------------------------

// telegramBotID is the bot id a token starts with ("<bot id>:<secret>").
func telegramBotID(token string) int64 {
	prefix, _, _ := strings.Cut(token, ":")
	if id, err := strconv.ParseInt(prefix, 10, 64); err == nil && id > 0 {
		return id
	}
	return demoTelegramBotID
}

// telegramAnswer answers in the Bot API's shape: {"ok": true, "result"} or {"ok": false,
// "error_code", "description"}.
func telegramAnswer(w http.ResponseWriter, status int, resultOrDescription any, extra map[string]any) {
	if status == http.StatusOK {
		writeJSON(w, status, map[string]any{"ok": true, "result": resultOrDescription})
		return
	}
	out := map[string]any{"ok": false, "error_code": status, "description": resultOrDescription}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, status, out)
}

// telegramMethods are the Bot API methods the simulator serves (method names are
// case-insensitive).
var telegramMethods = map[string]bool{"getme": true, "sendmessage": true, "sendphoto": true, "senddocument": true}

// telegram serves /telegram/bot<token>/<method>: the token is part of the path, which the
// mux cannot match as part of a segment.
func (m *Messaging) telegram(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.PathValue("bot"), "bot")
	if !ok {
		telegramAnswer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	if !equal(token, m.cfg.TelegramBotToken) {
		telegramAnswer(w, http.StatusUnauthorized, "Unauthorized", nil)
		return
	}
	method := strings.ToLower(r.PathValue("method"))
	if !telegramMethods[method] {
		telegramAnswer(w, http.StatusNotFound, "Not Found: method not found", nil)
		return
	}
	switch status, wait := m.faults.take(platformTelegram); status {
	case http.StatusTooManyRequests:
		n := retryAfterSeconds(wait)
		telegramAnswer(w, status, "Too Many Requests: retry after "+strconv.Itoa(n),
			map[string]any{"parameters": map[string]int{"retry_after": n}})
		return
	case http.StatusInternalServerError:
		telegramAnswer(w, status, "Internal Server Error", nil)
		return
	}
	params, files, err := telegramParams(r)
	if err != nil {
		telegramAnswer(w, http.StatusBadRequest, "Bad Request: "+err.Error(), nil)
		return
	}
	if method == "getme" {
		telegramAnswer(w, http.StatusOK, m.telegramBot(), nil)
		return
	}
	chatID := params["chat_id"]
	if chatID == "" {
		telegramAnswer(w, http.StatusBadRequest, "Bad Request: chat_id is empty", nil)
		return
	}
	chat, ok := telegramChat(chatID)
	if !ok {
		telegramAnswer(w, http.StatusBadRequest, "Bad Request: chat not found", nil)
		return
	}
	id := m.nextCounter()
	result := map[string]any{"message_id": id, "from": m.telegramBot(), "chat": chat, "date": time.Now().Unix()}
	msg := SentMessage{To: chatID, ID: strconv.FormatInt(id, 10)}
	switch method {
	case "sendmessage":
		text := params["text"]
		switch {
		case text == "":
			telegramAnswer(w, http.StatusBadRequest, "Bad Request: message text is empty", nil)
			return
		case utf8.RuneCountInString(text) > 4096:
			telegramAnswer(w, http.StatusBadRequest, "Bad Request: message is too long", nil)
			return
		}
		msg.Type, msg.Text, result["text"] = "text", text, text
	case "sendphoto", "senddocument":
		kind := strings.TrimPrefix(method, "send")
		media := params[kind]
		if media == "" && files[kind] {
			media = "upload"
		}
		if media == "" {
			telegramAnswer(w, http.StatusBadRequest, "Bad Request: there is no "+kind+" in the request", nil)
			return
		}
		file := map[string]any{"file_id": randomToken(24), "file_unique_id": randomToken(9), "file_size": 1024}
		if kind == "photo" {
			file["width"], file["height"] = 800, 600
			result["photo"] = []map[string]any{file}
		} else {
			file["file_name"] = "document"
			result["document"] = file
		}
		if caption := params["caption"]; caption != "" {
			result["caption"] = caption
		}
		msg.Type, msg.Text, msg.MediaURL = kind, params["caption"], media
	}
	m.record(platformTelegram, msg)
	telegramAnswer(w, http.StatusOK, result, nil)
}

func (m *Messaging) telegramBot() map[string]any {
	return map[string]any{"id": m.telegramID, "is_bot": true, "first_name": demoTelegramBotName,
		"username": demoTelegramBotUsername, "can_join_groups": true, "can_read_all_group_messages": false,
		"supports_inline_queries": false}
}

// telegramChat is the chat a chat_id names: a user's private chat (a positive id), a group (a
// negative one) or a channel (@username); ok is false for anything else.
func telegramChat(chatID string) (map[string]any, bool) {
	if name, ok := strings.CutPrefix(chatID, "@"); ok && name != "" {
		return map[string]any{"id": int64(-1001000000001), "title": name, "username": name, "type": "channel"}, true
	}
	id, err := strconv.ParseInt(chatID, 10, 64)
	switch {
	case err != nil || id == 0:
		return nil, false
	case id > 0:
		return map[string]any{"id": id, "first_name": "Demo", "type": "private"}, true
	case strings.HasPrefix(chatID, "-100"):
		return map[string]any{"id": id, "title": "Switchyard Demo", "type": "supergroup"}, true
	default:
		return map[string]any{"id": id, "title": "Switchyard Demo", "type": "group"}, true
	}
}

// telegramParams reads a Bot API call's parameters from the query string and a JSON, URL-encoded
// or multipart body, as the Bot API does; files names the multipart file parts.
func telegramParams(r *http.Request) (params map[string]string, files map[string]bool, err error) {
	params, files = map[string]string{}, map[string]bool{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := readBody(r)
		if err != nil {
			return nil, nil, err
		}
		var in map[string]json.RawMessage
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, nil, errInvalidJSON
			}
		}
		for k, raw := range in {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				params[k] = s
			} else {
				params[k] = string(raw) // numbers (chat_id) as written
			}
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		r.Body = io.NopCloser(io.LimitReader(r.Body, 1<<20))
		if err := r.ParseMultipartForm(1 << 20); err != nil && ct == "multipart/form-data" {
			return nil, nil, errInvalidForm
		}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
		if r.MultipartForm != nil {
			for k := range r.MultipartForm.File {
				files[k] = true
			}
		}
	}
	return params, files, nil
}

// Bot API answers to unreadable parameters.
var (
	errInvalidJSON = errors.New("can't parse JSON object")
	errInvalidForm = errors.New("can't parse request body")
)

// --- Slack Web API --------------------------------------------------------------------------

// slackMethods are the Web API methods the simulator serves.
var slackMethods = map[string]bool{"chat.postMessage": true, "auth.test": true}

// slackAnswer answers in the Web API's shape, which is HTTP 200 for errors too.
func slackAnswer(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func slackError(w http.ResponseWriter, status int, code string) {
	slackAnswer(w, status, map[string]any{"ok": false, "error": code})
}

// slack serves /slack/api/<method>.
func (m *Messaging) slack(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	if !slackMethods[method] {
		slackAnswer(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method", "req_method": method})
		return
	}
	params, err := slackParams(r)
	if err != nil {
		slackError(w, http.StatusOK, "invalid_json")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = params.str("token")
	}
	switch {
	case token == "":
		slackError(w, http.StatusOK, "not_authed")
		return
	case !equal(token, m.cfg.SlackBotToken):
		slackError(w, http.StatusOK, "invalid_auth")
		return
	}
	switch status, wait := m.faults.take(platformSlack); status {
	case http.StatusTooManyRequests:
		setRetryAfter(w, wait)
		slackError(w, status, "ratelimited")
		return
	case http.StatusInternalServerError:
		slackError(w, status, "internal_error")
		return
	}
	if method == "auth.test" {
		slackAnswer(w, http.StatusOK, map[string]any{"ok": true, "url": demoSlackURL, "team": demoSlackTeam,
			"user": demoSlackUser, "team_id": demoSlackTeamID, "user_id": demoSlackUserID, "bot_id": demoSlackBotID,
			"is_enterprise_install": false})
		return
	}
	channel, text := params.str("channel"), params.str("text")
	switch {
	case !strings.HasPrefix(channel, "C"):
		slackError(w, http.StatusOK, "channel_not_found")
		return
	case text == "" && !params.has("blocks") && !params.has("attachments"):
		slackError(w, http.StatusOK, "no_text")
		return
	case utf8.RuneCountInString(text) > 40000:
		slackError(w, http.StatusOK, "msg_too_long")
		return
	}
	ts := m.slackTS()
	m.record(platformSlack, SentMessage{To: channel, Type: "text", Text: text, ID: ts})
	slackAnswer(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts, "message": map[string]any{
		"type": "message", "subtype": "bot_message", "text": text, "user": demoSlackUserID, "bot_id": demoSlackBotID,
		"app_id": demoSlackAppID, "team": demoSlackTeamID, "ts": ts}})
}

// slackValues are a Web API call's arguments.
type slackValues map[string]json.RawMessage

func (v slackValues) str(k string) string {
	var s string
	if json.Unmarshal(v[k], &s) == nil {
		return s
	}
	return ""
}

func (v slackValues) has(k string) bool {
	raw := bytes.TrimSpace(v[k])
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null")) && !bytes.Equal(raw, []byte(`""`)) &&
		!bytes.Equal(raw, []byte("[]"))
}

// slackParams reads a Web API call's arguments from the query string and a JSON or URL-encoded
// body.
func slackParams(r *http.Request) (slackValues, error) {
	out := slackValues{}
	put := func(form url.Values) {
		for k, v := range form {
			out[k], _ = json.Marshal(v[0])
		}
	}
	put(r.URL.Query())
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		var in map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		for k, v := range in {
			out[k] = v
		}
		return out, nil
	}
	r.Body = io.NopCloser(io.LimitReader(r.Body, 1<<20))
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	put(r.PostForm)
	return out, nil
}

// --- Discord REST API -----------------------------------------------------------------------

var discordVersions = map[string]bool{"v9": true, "v10": true}

// discordError answers in Discord's error shape.
func discordError(w http.ResponseWriter, status, code int, message string, errs map[string]any) {
	out := map[string]any{"message": message, "code": code}
	if errs != nil {
		out["errors"] = errs
	}
	writeJSON(w, status, out)
}

// discordFieldError is Discord's "Invalid Form Body" for one field.
func discordFieldError(w http.ResponseWriter, field, code, message string) {
	discordError(w, http.StatusBadRequest, 50035, "Invalid Form Body", map[string]any{
		field: map[string]any{"_errors": []map[string]string{{"code": code, "message": message}}}})
}

// discordGuard checks the API version and the bot token, then plays any fault, then serves.
func (m *Messaging) discordGuard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !discordVersions[r.PathValue("version")] {
			discordError(w, http.StatusNotFound, 0, "404: Not Found", nil)
			return
		}
		if !equal(r.Header.Get("Authorization"), "Bot "+m.cfg.DiscordBotToken) {
			discordError(w, http.StatusUnauthorized, 0, "401: Unauthorized", nil)
			return
		}
		switch status, wait := m.faults.take(platformDiscord); status {
		case http.StatusTooManyRequests:
			setRetryAfter(w, wait)
			w.Header().Set("X-RateLimit-Limit", "5")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(wait.Seconds(), 'f', 3, 64))
			w.Header().Set("X-RateLimit-Scope", "user")
			writeJSON(w, status, map[string]any{"message": "You are being rate limited.",
				"retry_after": wait.Seconds(), "global": false})
		case http.StatusInternalServerError:
			discordError(w, status, 0, "500: Internal Server Error", nil)
		default:
			h(w, r)
		}
	}
}

var snowflakeID = regexp.MustCompile(`^[0-9]{1,20}$`)

func (m *Messaging) discordSend(w http.ResponseWriter, r *http.Request) {
	channel := r.PathValue("channel_id")
	if !snowflakeID.MatchString(channel) {
		discordFieldError(w, "channel_id", "NUMBER_TYPE_COERCE", "Value \""+channel+"\" is not snowflake.")
		return
	}
	var in struct {
		Content string            `json:"content"`
		Embeds  []json.RawMessage `json:"embeds"`
		TTS     bool              `json:"tts"`
	}
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	switch {
	case err != nil:
		discordError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.", nil)
		return
	case in.Content == "" && len(in.Embeds) == 0:
		discordError(w, http.StatusBadRequest, 50006, "Cannot send an empty message", nil)
		return
	case utf8.RuneCountInString(in.Content) > 2000:
		discordFieldError(w, "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		return
	}
	id := m.snowflake()
	m.record(platformDiscord, SentMessage{To: channel, Type: "text", Text: in.Content, ID: id})
	embeds := in.Embeds
	if embeds == nil {
		embeds = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "type": 0, "channel_id": channel, "content": in.Content, "author": discordBot(),
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000-07:00"), "edited_timestamp": nil,
		"tts": in.TTS, "mention_everyone": false, "mentions": []any{}, "mention_roles": []any{},
		"attachments": []any{}, "embeds": embeds, "components": []any{}, "pinned": false, "flags": 0,
	})
}

func discordBot() map[string]any {
	return map[string]any{"id": demoDiscordBotID, "username": demoDiscordBotName, "discriminator": "0001",
		"global_name": nil, "avatar": nil, "bot": true, "public_flags": 0}
}

func (m *Messaging) discordMe(w http.ResponseWriter, _ *http.Request) {
	me := discordBot()
	me["verified"], me["flags"], me["mfa_enabled"], me["locale"] = true, 0, false, "en-US"
	writeJSON(w, http.StatusOK, me)
}
