package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Media URL schemes of attachments the platform keeps and hands out by id: the id is fetched
// (or sent back) through the platform's API with the integration's token.
const (
	WhatsAppMediaScheme = "whatsapp-media:"
	TelegramFileScheme  = "telegram-file:"
)

// Normalize turns a verified webhook body into the hub's events. Messaging platforms give one
// EventMessageReceived per message (bots' own messages are left out) and EventEventReceived
// for the rest (WhatsApp status updates, Telegram callback queries, Slack reactions ...); the
// other platforms give their event as one EventEventReceived. A body that is not what the
// platform sends is ErrMalformed; a verification challenge gives no events.
func Normalize(in Integration, header http.Header, body []byte) ([]Event, error) {
	if header == nil {
		header = http.Header{}
	}
	switch in.Platform {
	case WhatsApp:
		return normalizeWhatsApp(body)
	case Telegram:
		return normalizeTelegram(body)
	case Slack:
		return normalizeSlack(header, body)
	case Discord:
		return normalizeDiscord(body)
	case GitHub:
		data, err := gitHubJSON(header, body)
		if err != nil {
			return nil, err
		}
		kind := header.Get(HeaderGitHubEvent)
		return []Event{{Type: EventEventReceived, Kind: orDefault(kind, "webhook"), Data: data,
			ID: boundID(header.Get(HeaderGitHubDelivery), body)}}, nil
	case Stripe:
		var p struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Object struct {
					ID string `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := decodeObject(body, &p); err != nil {
			return nil, err
		}
		return []Event{{Type: EventEventReceived, Kind: p.Type, Data: json.RawMessage(body),
			Key: p.Data.Object.ID, ID: boundID(p.ID, body)}}, nil
	case Standard:
		if !json.Valid(body) {
			return nil, fmt.Errorf("%w: body is not JSON", ErrMalformed)
		}
		id := header.Get(HeaderWebhookID)
		if id == "" {
			id = header.Get(HeaderSvixID)
		}
		return []Event{{Type: EventEventReceived, Kind: orDefault(jsonType(body), "webhook"),
			Data: json.RawMessage(body), ID: boundID(id, body)}}, nil
	case HMAC:
		id, err := hmacDeliveryID(in.Config, header, body)
		if err != nil {
			return nil, err
		}
		data := json.RawMessage(body)
		if !json.Valid(body) {
			// Not JSON: carried as a JSON string.
			data, _ = json.Marshal(string(body))
		}
		return []Event{{Type: EventEventReceived, Kind: "webhook", Data: data, ID: boundID(id, body)}}, nil
	case WordPress, Shopify, Custom:
		return nil, fmt.Errorf("%w: %s is a site platform and sends no webhooks to normalize", ErrUnsupported, in.Platform)
	}
	return nil, fmt.Errorf("%w: unknown platform %q", ErrUnsupported, in.Platform)
}

// WhatsApp Cloud API webhook (field "messages").
type waPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string  `json:"field"`
			Value waValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type waValue struct {
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []waMessage       `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
}

type waMessage struct {
	ID        string   `json:"id"`
	From      string   `json:"from"`
	Timestamp string   `json:"timestamp"`
	Type      string   `json:"type"`
	Text      *waText  `json:"text"`
	Image     *waMedia `json:"image"`
	Sticker   *waMedia `json:"sticker"`
	Document  *waMedia `json:"document"`
	Audio     *waMedia `json:"audio"`
	Video     *waMedia `json:"video"`
	Location  *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Interactive *struct {
		Type        string   `json:"type"`
		ButtonReply *waReply `json:"button_reply"`
		ListReply   *waReply `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Context *struct {
		From string `json:"from"`
		ID   string `json:"id"`
	} `json:"context"`
}

type waText struct {
	Body string `json:"body"`
}

type waMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type waReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type waStatus struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
}

// deliveryID is the sorted message ids; for status updates, each status's message id and
// status (a message is sent, delivered and read under one id); else empty.
func (p waPayload) deliveryID() string {
	var msgs, statuses []string
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				msgs = append(msgs, m.ID)
			}
			for _, raw := range c.Value.Statuses {
				var s waStatus
				if json.Unmarshal(raw, &s) == nil {
					statuses = append(statuses, s.ID+":"+s.Status)
				}
			}
		}
	}
	ids := msgs
	if len(ids) == 0 {
		ids = statuses
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

func normalizeWhatsApp(body []byte) ([]Event, error) {
	var p waPayload
	if err := decodeObject(body, &p); err != nil {
		return nil, err
	}
	var events []Event
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			v := c.Value
			for _, m := range v.Messages {
				events = append(events, whatsAppMessage(e.ID, v, m))
			}
			for _, raw := range v.Statuses {
				var s waStatus
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, fmt.Errorf("%w: status: %v", ErrMalformed, jsonProblem(err))
				}
				events = append(events, Event{Type: EventEventReceived, Kind: "status", Data: raw,
					Key: s.RecipientID, ID: s.ID + ":" + s.Status})
			}
		}
	}
	return events, nil
}

func whatsAppMessage(accountID string, v waValue, m waMessage) Event {
	name := ""
	for i, c := range v.Contacts {
		if c.WaID == m.From || (i == 0 && name == "") {
			name = c.Profile.Name
		}
	}
	meta := map[string]any{"message_type": m.Type}
	setNonEmpty(meta, "waba_id", accountID)
	setNonEmpty(meta, "display_phone_number", v.Metadata.DisplayPhoneNumber)
	if m.Context != nil {
		setNonEmpty(meta, "reply_to", m.Context.ID)
	}
	content := Content{Type: ContentOther}
	media := func(kind string, md *waMedia) {
		content = Content{Type: kind, Text: md.Caption,
			Media: &Media{URL: WhatsAppMediaScheme + md.ID, MimeType: md.MimeType}}
		setNonEmpty(meta, "filename", md.Filename)
	}
	switch {
	case m.Text != nil:
		content = Content{Type: ContentText, Text: m.Text.Body}
	case m.Image != nil:
		media(ContentImage, m.Image)
	case m.Sticker != nil:
		media(ContentImage, m.Sticker)
	case m.Document != nil:
		media(ContentFile, m.Document)
	case m.Audio != nil:
		media(ContentAudio, m.Audio)
	case m.Video != nil:
		media(ContentVideo, m.Video)
	case m.Location != nil:
		l := m.Location
		content = Content{Type: ContentLocation, Text: strings.TrimSpace(l.Name + " " + l.Address)}
		meta["latitude"], meta["longitude"] = l.Latitude, l.Longitude
	case m.Interactive != nil:
		for _, r := range []*waReply{m.Interactive.ButtonReply, m.Interactive.ListReply} {
			if r != nil {
				content = Content{Type: ContentText, Text: r.Title}
				meta["reply_id"] = r.ID
			}
		}
	case m.Button != nil:
		content = Content{Type: ContentText, Text: m.Button.Text}
		setNonEmpty(meta, "button_payload", m.Button.Payload)
	case m.Reaction != nil:
		content = Content{Type: ContentOther, Text: m.Reaction.Emoji}
		meta["reaction_to"] = m.Reaction.MessageID
	}
	return Event{
		Type: EventMessageReceived,
		Message: &NormalizedMessage{
			ID:             m.ID,
			ConversationID: m.From,
			From:           Party{ID: m.From, Name: name},
			To:             Party{ID: v.Metadata.PhoneNumberID},
			Content:        content,
			Timestamp:      unixString(m.Timestamp),
			Platform:       WhatsApp,
			Metadata:       meta,
		},
		Key: m.From,
		ID:  m.ID,
	}
}

// Telegram Bot API Update.
type tgUpdate struct {
	id   int64
	kind string
	raw  map[string]json.RawMessage
}

func decodeTelegramUpdate(body []byte) (tgUpdate, error) {
	var raw map[string]json.RawMessage
	if err := decodeObject(body, &raw); err != nil {
		return tgUpdate{}, err
	}
	var id int64
	if err := json.Unmarshal(raw["update_id"], &id); err != nil {
		return tgUpdate{}, fmt.Errorf("%w: update without an update_id", ErrMalformed)
	}
	kinds := make([]string, 0, len(raw))
	for k := range raw {
		if k != "update_id" {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	u := tgUpdate{id: id, raw: raw}
	if len(kinds) > 0 {
		u.kind = kinds[0]
	}
	return u, nil
}

type tgMessage struct {
	MessageID       int64         `json:"message_id"`
	MessageThreadID int64         `json:"message_thread_id"`
	From            *tgUser       `json:"from"`
	SenderChat      *tgChat       `json:"sender_chat"`
	Chat            tgChat        `json:"chat"`
	Date            int64         `json:"date"`
	Text            string        `json:"text"`
	Caption         string        `json:"caption"`
	Photo           []tgPhotoSize `json:"photo"`
	Sticker         *tgFile       `json:"sticker"`
	Document        *tgFile       `json:"document"`
	Audio           *tgFile       `json:"audio"`
	Voice           *tgFile       `json:"voice"`
	Video           *tgFile       `json:"video"`
	VideoNote       *tgFile       `json:"video_note"`
	Animation       *tgFile       `json:"animation"`
	Location        *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	ReplyTo *struct {
		MessageID int64 `json:"message_id"`
	} `json:"reply_to_message"`
}

type tgUser struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type tgChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type tgFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
}

type tgPhotoSize struct {
	FileID string `json:"file_id"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// telegramMessageKinds are the updates that carry a message.
var telegramMessageKinds = map[string]bool{
	"message": true, "edited_message": true, "channel_post": true, "edited_channel_post": true,
	"business_message": true, "edited_business_message": true,
}

func normalizeTelegram(body []byte) ([]Event, error) {
	u, err := decodeTelegramUpdate(body)
	if err != nil {
		return nil, err
	}
	updateID := strconv.FormatInt(u.id, 10)
	if !telegramMessageKinds[u.kind] {
		// Callback queries, member changes, polls ...: the chat they belong to orders them.
		var p struct {
			Chat    *tgChat `json:"chat"`
			Message *struct {
				Chat tgChat `json:"chat"`
			} `json:"message"`
			From *tgUser `json:"from"`
		}
		_ = json.Unmarshal(u.raw[u.kind], &p)
		var key string
		switch {
		case p.Chat != nil:
			key = strconv.FormatInt(p.Chat.ID, 10)
		case p.Message != nil:
			key = strconv.FormatInt(p.Message.Chat.ID, 10)
		case p.From != nil:
			key = strconv.FormatInt(p.From.ID, 10)
		}
		return []Event{{Type: EventEventReceived, Kind: orDefault(u.kind, "update"), Data: json.RawMessage(body),
			Key: key, ID: updateID}}, nil
	}
	var m tgMessage
	if err := json.Unmarshal(u.raw[u.kind], &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, u.kind, jsonProblem(err))
	}
	chat := strconv.FormatInt(m.Chat.ID, 10)
	from := Party{ID: chat, Name: orDefault(m.Chat.Title, joinName(m.Chat.FirstName, m.Chat.LastName, m.Chat.Username))}
	switch {
	case m.From != nil:
		from = Party{ID: strconv.FormatInt(m.From.ID, 10), Name: joinName(m.From.FirstName, m.From.LastName, m.From.Username)}
	case m.SenderChat != nil:
		from = Party{ID: strconv.FormatInt(m.SenderChat.ID, 10), Name: m.SenderChat.Title}
	}
	meta := map[string]any{"update_id": u.id, "update_type": u.kind, "chat_type": m.Chat.Type}
	if m.From != nil {
		setNonEmpty(meta, "username", m.From.Username)
	}
	if m.MessageThreadID != 0 {
		meta["message_thread_id"] = m.MessageThreadID
	}
	if m.ReplyTo != nil {
		meta["reply_to"] = chat + ":" + strconv.FormatInt(m.ReplyTo.MessageID, 10)
	}
	if strings.HasPrefix(u.kind, "edited_") {
		meta["edited"] = true
	}
	content := Content{Type: ContentOther, Text: m.Caption}
	file := func(kind string, f *tgFile, mime string) {
		content = Content{Type: kind, Text: m.Caption,
			Media: &Media{URL: TelegramFileScheme + f.FileID, MimeType: orDefault(f.MimeType, mime)}}
		setNonEmpty(meta, "filename", f.FileName)
	}
	switch {
	case m.Text != "":
		content = Content{Type: ContentText, Text: m.Text}
	case len(m.Photo) > 0:
		largest := m.Photo[0]
		for _, ph := range m.Photo[1:] {
			if ph.Width*ph.Height > largest.Width*largest.Height {
				largest = ph
			}
		}
		file(ContentImage, &tgFile{FileID: largest.FileID}, "image/jpeg")
	case m.Sticker != nil:
		file(ContentImage, m.Sticker, "")
	case m.Document != nil:
		file(ContentFile, m.Document, "")
	case m.Audio != nil:
		file(ContentAudio, m.Audio, "")
	case m.Voice != nil:
		file(ContentAudio, m.Voice, "audio/ogg")
	case m.Video != nil:
		file(ContentVideo, m.Video, "")
	case m.VideoNote != nil:
		file(ContentVideo, m.VideoNote, "video/mp4")
	case m.Animation != nil:
		file(ContentVideo, m.Animation, "")
	case m.Location != nil:
		content = Content{Type: ContentLocation}
		meta["latitude"], meta["longitude"] = m.Location.Latitude, m.Location.Longitude
	}
	id := chat + ":" + strconv.FormatInt(m.MessageID, 10)
	return []Event{{
		Type: EventMessageReceived,
		Message: &NormalizedMessage{
			ID:             id,
			ConversationID: chat,
			From:           from,
			To:             Party{ID: chat},
			Content:        content,
			Timestamp:      time.Unix(m.Date, 0).UTC(),
			Platform:       Telegram,
			Metadata:       meta,
		},
		Key: chat,
		ID:  id,
	}}, nil
}

// Slack Events API envelope; interactivity and slash commands come form-encoded.
type slackPayload struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	TeamID    string          `json:"team_id"`
	EventID   string          `json:"event_id"`
	RawEvent  json.RawMessage `json:"event"`
	Event     *slackEvent     `json:"-"`
	// data is what subscribers receive: the JSON without Slack's legacy verification token.
	data json.RawMessage
}

type slackEvent struct {
	Type        string  `json:"type"`
	Subtype     string  `json:"subtype"`
	Channel     looseID `json:"channel"`
	ChannelType string  `json:"channel_type"`
	User        looseID `json:"user"`
	BotID       string  `json:"bot_id"`
	Text        string  `json:"text"`
	TS          string  `json:"ts"`
	ThreadTS    string  `json:"thread_ts"`
	ClientMsgID string  `json:"client_msg_id"`
	Files       []struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Mimetype   string `json:"mimetype"`
		URLPrivate string `json:"url_private"`
	} `json:"files"`
}

// looseID is an id Slack sends as a string in some events and as an object with an id in
// others (channel_created, user_change).
type looseID string

func (l *looseID) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = looseID(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &o) == nil {
		*l = looseID(o.ID)
	}
	return nil
}

func decodeSlack(h http.Header, body []byte) (slackPayload, error) {
	if strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), contentTypeFormURLEncoded) {
		return decodeSlackForm(body)
	}
	var p slackPayload
	if err := decodeObject(body, &p); err != nil {
		return slackPayload{}, err
	}
	if len(p.RawEvent) > 0 && string(p.RawEvent) != "null" {
		var e slackEvent
		if err := json.Unmarshal(p.RawEvent, &e); err != nil {
			// An event of a shape this hub does not read: only its type matters.
			e = slackEvent{Type: jsonType(p.RawEvent)}
		}
		p.Event = &e
	}
	p.data = withoutKey(body, "token")
	return p, nil
}

// decodeSlackForm reads an interactivity payload (payload=<JSON>) or a slash command.
func decodeSlackForm(body []byte) (slackPayload, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slackPayload{}, fmt.Errorf("%w: body is not form-encoded", ErrMalformed)
	}
	if form.Has("payload") {
		raw := []byte(form.Get("payload"))
		var p struct {
			Type string `json:"type"`
		}
		if err := decodeObject(raw, &p); err != nil {
			return slackPayload{}, err
		}
		return slackPayload{Type: p.Type, data: withoutKey(raw, "token")}, nil
	}
	if form.Get("command") == "" {
		return slackPayload{}, fmt.Errorf("%w: form without payload or command", ErrMalformed)
	}
	fields := map[string]string{}
	for k, v := range form {
		if k != "token" && len(v) > 0 {
			fields[k] = v[0]
		}
	}
	data, _ := json.Marshal(fields)
	return slackPayload{Type: "slash_command", TeamID: form.Get("team_id"), data: data}, nil
}

func normalizeSlack(h http.Header, body []byte) ([]Event, error) {
	p, err := decodeSlack(h, body)
	if err != nil {
		return nil, err
	}
	id := boundID(p.EventID, body)
	switch {
	case p.Type == "url_verification":
		return nil, nil
	case p.Event == nil:
		return []Event{{Type: EventEventReceived, Kind: orDefault(p.Type, "event"), Data: p.data, ID: id}}, nil
	}
	e := p.Event
	if e.Type != "message" && e.Type != "app_mention" {
		return []Event{{Type: EventEventReceived, Kind: orDefault(e.Type, "event"), Data: p.data,
			Key: string(e.Channel), ID: id}}, nil
	}
	if e.BotID != "" || e.Subtype == "bot_message" {
		// The bot's own messages (and other bots'): answering them would loop.
		return nil, nil
	}
	switch e.Subtype {
	case "", "file_share", "thread_broadcast", "me_message":
	default:
		// Edits, deletions, joins ...: events about the conversation, not messages in it.
		return []Event{{Type: EventEventReceived, Kind: e.Subtype, Data: p.data, Key: string(e.Channel), ID: id}}, nil
	}
	channel := string(e.Channel)
	key := channel
	if e.ThreadTS != "" {
		key = channel + ":" + e.ThreadTS
	}
	msgID := orDefault(e.ClientMsgID, e.TS)
	meta := map[string]any{"event_type": e.Type}
	setNonEmpty(meta, "team_id", p.TeamID)
	setNonEmpty(meta, "channel_type", e.ChannelType)
	setNonEmpty(meta, "thread_ts", e.ThreadTS)
	setNonEmpty(meta, "ts", e.TS)
	setNonEmpty(meta, "event_id", p.EventID)
	setNonEmpty(meta, "subtype", e.Subtype)
	content := Content{Type: ContentText, Text: e.Text}
	if len(e.Files) > 0 {
		f := e.Files[0]
		content = Content{Type: contentTypeOfMime(f.Mimetype), Text: e.Text,
			Media: &Media{URL: f.URLPrivate, MimeType: f.Mimetype}}
		setNonEmpty(meta, "filename", f.Name)
	}
	return []Event{{
		Type: EventMessageReceived,
		Message: &NormalizedMessage{
			ID:             msgID,
			ConversationID: channel,
			From:           Party{ID: string(e.User)},
			To:             Party{ID: channel},
			Content:        content,
			Timestamp:      slackTS(e.TS),
			Platform:       Slack,
			Metadata:       meta,
		},
		Key: key,
		ID:  msgID,
	}}, nil
}

// Discord interaction (or webhook event) body.
type discordPayload struct {
	ID            string       `json:"id"`
	ApplicationID string       `json:"application_id"`
	Token         string       `json:"token"`
	Type          int          `json:"type"`
	Data          *discordData `json:"data"`
	GuildID       string       `json:"guild_id"`
	ChannelID     string       `json:"channel_id"`
	Member        *struct {
		User *discordUser `json:"user"`
		Nick string       `json:"nick"`
	} `json:"member"`
	User    *discordUser `json:"user"`
	Message *struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	} `json:"message"`
	Event *struct {
		Type string `json:"type"`
	} `json:"event"`
}

type discordData struct {
	Name          string          `json:"name"`
	Options       []discordOption `json:"options"`
	CustomID      string          `json:"custom_id"`
	ComponentType int             `json:"component_type"`
	Values        []string        `json:"values"`
	Components    []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
			Value    string `json:"value"`
		} `json:"components"`
	} `json:"components"`
}

type discordOption struct {
	Name    string          `json:"name"`
	Type    int             `json:"type"`
	Value   json.RawMessage `json:"value"`
	Options []discordOption `json:"options"`
}

type discordUser struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
}

// Discord interaction types.
const (
	discordPing               = 1
	discordApplicationCommand = 2
	discordMessageComponent   = 3
	discordAutocomplete       = 4
	discordModalSubmit        = 5
	// discordEpoch is the first second of 2015, the origin of snowflake ids, in milliseconds.
	discordEpoch = 1420070400000
)

func discordTypeName(t int) string {
	switch t {
	case discordPing:
		return "PING"
	case discordApplicationCommand:
		return "APPLICATION_COMMAND"
	case discordMessageComponent:
		return "MESSAGE_COMPONENT"
	case discordAutocomplete:
		return "APPLICATION_COMMAND_AUTOCOMPLETE"
	case discordModalSubmit:
		return "MODAL_SUBMIT"
	}
	return "INTERACTION_" + strconv.Itoa(t)
}

// webhookEvent tells Discord's webhook events (no id, an event) from interactions.
func (p discordPayload) webhookEvent() bool {
	return p.ID == "" || p.Event != nil
}

func normalizeDiscord(body []byte) ([]Event, error) {
	var p discordPayload
	if err := decodeObject(body, &p); err != nil {
		return nil, err
	}
	if p.webhookEvent() {
		if p.Type == 0 || p.Event == nil {
			return nil, nil
		}
		return []Event{{Type: EventEventReceived, Kind: p.Event.Type, Data: json.RawMessage(body), ID: bodyHash(body)}}, nil
	}
	var text string
	meta := map[string]any{"interaction_type": discordTypeName(p.Type)}
	setNonEmpty(meta, "application_id", p.ApplicationID)
	setNonEmpty(meta, "guild_id", p.GuildID)
	// The hub answers commands "deferred" (see Accepted); the subscriber completes the
	// interaction with Discord's follow-up endpoints, which take this token (valid 15 minutes).
	setNonEmpty(meta, "interaction_token", p.Token)
	switch p.Type {
	case discordPing:
		return nil, nil
	case discordApplicationCommand:
		if p.Data == nil {
			return nil, fmt.Errorf("%w: command without data", ErrMalformed)
		}
		text = "/" + p.Data.Name + discordOptions(p.Data.Options)
		meta["command"] = p.Data.Name
	case discordMessageComponent:
		if p.Data == nil {
			return nil, fmt.Errorf("%w: component interaction without data", ErrMalformed)
		}
		text = strings.TrimSpace(p.Data.CustomID + " " + strings.Join(p.Data.Values, " "))
		meta["custom_id"] = p.Data.CustomID
		if p.Message != nil {
			setNonEmpty(meta, "message_id", p.Message.ID)
			setNonEmpty(meta, "message_content", p.Message.Content)
		}
	case discordModalSubmit:
		if p.Data == nil {
			return nil, fmt.Errorf("%w: modal submit without data", ErrMalformed)
		}
		var values []string
		for _, row := range p.Data.Components {
			for _, c := range row.Components {
				values = append(values, c.CustomID+":"+c.Value)
			}
		}
		text = strings.Join(values, " ")
		meta["custom_id"] = p.Data.CustomID
	default:
		// Autocomplete asks for choices within three seconds; it is an event, not a message.
		return []Event{{Type: EventEventReceived, Kind: discordTypeName(p.Type),
			Data: withoutKey(body, "token"), Key: p.ChannelID, ID: p.ID}}, nil
	}
	from := Party{}
	user := p.User
	if p.Member != nil && p.Member.User != nil {
		user = p.Member.User
	}
	if user != nil {
		from = Party{ID: user.ID, Name: orDefault(user.GlobalName, user.Username)}
	}
	return []Event{{
		Type: EventMessageReceived,
		Message: &NormalizedMessage{
			ID:             p.ID,
			ConversationID: p.ChannelID,
			From:           from,
			To:             Party{ID: p.ChannelID},
			Content:        Content{Type: ContentText, Text: text},
			Timestamp:      snowflakeTime(p.ID),
			Platform:       Discord,
			Metadata:       meta,
		},
		Key: p.ChannelID,
		ID:  p.ID,
	}}, nil
}

// discordOptions renders command options as " name:value", subcommands as " name".
func discordOptions(opts []discordOption) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(" " + o.Name)
		if len(o.Value) > 0 {
			var s string
			if json.Unmarshal(o.Value, &s) == nil {
				b.WriteString(":" + s)
			} else {
				b.WriteString(":" + string(o.Value))
			}
		}
		b.WriteString(discordOptions(o.Options))
	}
	return b.String()
}

func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(n>>22) + discordEpoch).UTC()
}

func unixString(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// slackTS reads a Slack message ts, "<unix seconds>.<microseconds>".
func slackTS(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000).UTC()
}

func contentTypeOfMime(mime string) string {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return ContentImage
	case strings.HasPrefix(mime, "audio/"):
		return ContentAudio
	case strings.HasPrefix(mime, "video/"):
		return ContentVideo
	}
	return ContentFile
}

func joinName(first, last, username string) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return username
}

func setNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// withoutKey is a JSON object without one top-level key (a platform's token that subscribers
// must not receive); anything else is returned as is.
func withoutKey(body []byte, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return json.RawMessage(body)
	}
	if _, ok := m[key]; !ok {
		return json.RawMessage(body)
	}
	delete(m, key)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return json.RawMessage(body)
	}
	return json.RawMessage(bytes.TrimRight(b.Bytes(), "\n"))
}
