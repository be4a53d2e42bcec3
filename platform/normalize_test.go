package platform_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

func normalize(t *testing.T, in platform.Integration, h http.Header, body string) []platform.Event {
	t.Helper()
	events, err := platform.Normalize(in, h, []byte(body))
	require.NoError(t, err)
	return events
}

func TestNormalizeWhatsApp(t *testing.T) {
	t.Parallel()
	in := whatsApp("s")
	t.Run("a text message", func(t *testing.T) {
		events := normalize(t, in, nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, platform.EventMessageReceived, e.Type)
		require.Equal(t, "16505551234", e.Key)
		require.Equal(t, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", e.ID)
		require.Equal(t, &platform.NormalizedMessage{
			ID:             "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
			ConversationID: "16505551234",
			From:           platform.Party{ID: "16505551234", Name: "Sheena Nelson"},
			To:             platform.Party{ID: "106540352242922"},
			Content:        platform.Content{Type: platform.ContentText, Text: "Does it come in another color?"},
			Timestamp:      time.Unix(1749416383, 0).UTC(),
			Platform:       platform.WhatsApp,
			Metadata: map[string]any{"message_type": "text", "waba_id": "102290129340398",
				"display_phone_number": "15550783881"},
		}, e.Message)
	})
	t.Run("media and location", func(t *testing.T) {
		events := normalize(t, in, nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Other"},"wa_id":"1999"},{"profile":{"name":"Pablo Morales"},"wa_id":"16505551234"}],"messages":[
			{"from":"16505551234","id":"wamid.1","timestamp":"1749416383","type":"image","image":{"caption":"Look","mime_type":"image/jpeg","sha256":"abc","id":"1003383421387256"}},
			{"from":"16505551234","id":"wamid.2","timestamp":"1749416384","type":"document","document":{"filename":"invoice.pdf","mime_type":"application/pdf","sha256":"abc","id":"2"}},
			{"from":"16505551234","id":"wamid.3","timestamp":"1749416385","type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"abc","id":"3","voice":true}},
			{"from":"16505551234","id":"wamid.4","timestamp":"1749416386","type":"video","video":{"mime_type":"video/mp4","id":"4"}},
			{"from":"16505551234","id":"wamid.5","timestamp":"1749416387","type":"location","location":{"latitude":37.4,"longitude":-122.1,"name":"Philz Coffee","address":"101 Forest Ave"}},
			{"from":"16505551234","id":"wamid.6","timestamp":"1749416388","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes-1","title":"Yes"}}},
			{"from":"16505551234","id":"wamid.7","timestamp":"1749416389","type":"unsupported","errors":[{"code":131051}]}
		]}}]}]}`)
		require.Len(t, events, 7)
		m := events[0].Message
		require.Equal(t, "Pablo Morales", m.From.Name, "the contact whose wa_id sent it")
		require.Equal(t, platform.Content{Type: platform.ContentImage, Text: "Look",
			Media: &platform.Media{URL: "whatsapp-media:1003383421387256", MimeType: "image/jpeg"}}, m.Content)
		require.Equal(t, platform.ContentFile, events[1].Message.Content.Type)
		require.Equal(t, "invoice.pdf", events[1].Message.Metadata["filename"])
		require.Equal(t, "whatsapp-media:2", events[1].Message.Content.Media.URL)
		require.Equal(t, platform.ContentAudio, events[2].Message.Content.Type)
		require.Equal(t, platform.ContentVideo, events[3].Message.Content.Type)
		loc := events[4].Message
		require.Equal(t, platform.ContentLocation, loc.Content.Type)
		require.Equal(t, "Philz Coffee 101 Forest Ave", loc.Content.Text)
		require.Equal(t, 37.4, loc.Metadata["latitude"])
		require.Equal(t, platform.Content{Type: platform.ContentText, Text: "Yes"}, events[5].Message.Content)
		require.Equal(t, platform.ContentOther, events[6].Message.Content.Type)
	})
	t.Run("status updates are events", func(t *testing.T) {
		events := normalize(t, in, nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgL","status":"delivered","timestamp":"1749416390","recipient_id":"16505551234","conversation":{"id":"c1","origin":{"type":"service"}},"pricing":{"billable":true,"category":"service"}}]}}]}]}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, platform.EventEventReceived, e.Type)
		require.Equal(t, "status", e.Kind)
		require.Equal(t, "wamid.HBgL:delivered", e.ID)
		require.Equal(t, "16505551234", e.Key)
		require.Nil(t, e.Message)
		var data map[string]any
		require.NoError(t, json.Unmarshal(e.Data, &data))
		require.Equal(t, "delivered", data["status"])
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := platform.Normalize(in, nil, []byte(`{"entry":"x"}`))
		require.ErrorIs(t, err, platform.ErrMalformed)
		_, err = platform.Normalize(in, nil, []byte(`[]`))
		require.ErrorIs(t, err, platform.ErrMalformed)
	})
}

func TestNormalizeTelegram(t *testing.T) {
	t.Parallel()
	in := telegram("t")
	t.Run("a text message", func(t *testing.T) {
		events := normalize(t, in, nil, `{"update_id":10000,"message":{"message_id":1365,"from":{"id":1111111,"is_bot":false,"first_name":"Test","last_name":"Lastname","username":"tester","language_code":"en"},"chat":{"id":-1001234,"title":"Team","type":"supergroup"},"date":1441645532,"message_thread_id":7,"text":"/start"}}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, "-1001234:1365", e.ID)
		require.Equal(t, "-1001234", e.Key)
		require.Equal(t, &platform.NormalizedMessage{
			ID:             "-1001234:1365",
			ConversationID: "-1001234",
			From:           platform.Party{ID: "1111111", Name: "Test Lastname"},
			To:             platform.Party{ID: "-1001234"},
			Content:        platform.Content{Type: platform.ContentText, Text: "/start"},
			Timestamp:      time.Unix(1441645532, 0).UTC(),
			Platform:       platform.Telegram,
			Metadata: map[string]any{"update_id": int64(10000), "update_type": "message", "chat_type": "supergroup",
				"username": "tester", "message_thread_id": int64(7)},
		}, e.Message)
	})
	t.Run("the largest photo, with its caption", func(t *testing.T) {
		events := normalize(t, in, nil, `{"update_id":10001,"message":{"message_id":7,"from":{"id":1,"is_bot":false,"first_name":"","username":"nofirst"},"chat":{"id":1,"type":"private"},"date":1441645533,"caption":"sunset","photo":[{"file_id":"small","file_unique_id":"a","width":90,"height":60},{"file_id":"large","file_unique_id":"c","width":1280,"height":853},{"file_id":"medium","file_unique_id":"b","width":320,"height":213}]}}`)
		m := events[0].Message
		require.Equal(t, "nofirst", m.From.Name)
		require.Equal(t, platform.Content{Type: platform.ContentImage, Text: "sunset",
			Media: &platform.Media{URL: "telegram-file:large", MimeType: "image/jpeg"}}, m.Content)
	})
	t.Run("documents, voice notes, edits and channel posts", func(t *testing.T) {
		doc := normalize(t, in, nil, `{"update_id":1,"message":{"message_id":8,"from":{"id":1,"first_name":"A"},"chat":{"id":1,"type":"private"},"date":1,"document":{"file_name":"cv.pdf","mime_type":"application/pdf","file_id":"BQAC"}}}`)[0].Message
		require.Equal(t, platform.ContentFile, doc.Content.Type)
		require.Equal(t, "telegram-file:BQAC", doc.Content.Media.URL)
		require.Equal(t, "cv.pdf", doc.Metadata["filename"])

		voice := normalize(t, in, nil, `{"update_id":2,"message":{"message_id":9,"from":{"id":1,"first_name":"A"},"chat":{"id":1,"type":"private"},"date":1,"voice":{"duration":3,"file_id":"AwAC"}}}`)[0].Message
		require.Equal(t, platform.Content{Type: platform.ContentAudio, Media: &platform.Media{URL: "telegram-file:AwAC", MimeType: "audio/ogg"}}, voice.Content)

		edit := normalize(t, in, nil, `{"update_id":3,"edited_message":{"message_id":9,"from":{"id":1,"first_name":"A"},"chat":{"id":1,"type":"private"},"date":1,"edit_date":2,"text":"fixed"}}`)[0].Message
		require.Equal(t, "1:9", edit.ID)
		require.Equal(t, true, edit.Metadata["edited"])

		post := normalize(t, in, nil, `{"update_id":4,"channel_post":{"message_id":3,"sender_chat":{"id":-100777,"title":"News","type":"channel"},"chat":{"id":-100777,"title":"News","type":"channel"},"date":1,"text":"hello subscribers"}}`)[0].Message
		require.Equal(t, platform.Party{ID: "-100777", Name: "News"}, post.From)
	})
	t.Run("other updates are events", func(t *testing.T) {
		events := normalize(t, in, nil, `{"update_id":10002,"callback_query":{"id":"4382bfdwdsb323b2d9","from":{"id":1111111,"first_name":"Test"},"message":{"message_id":1365,"chat":{"id":1111111,"type":"private"},"date":1},"chat_instance":"-1","data":"approve"}}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, platform.EventEventReceived, e.Type)
		require.Equal(t, "callback_query", e.Kind)
		require.Equal(t, "10002", e.ID)
		require.Equal(t, "1111111", e.Key)
		require.JSONEq(t, `"approve"`, mustField(t, e.Data, "callback_query", "data"))
	})
}

func mustField(t *testing.T, data json.RawMessage, path ...string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestNormalizeSlack(t *testing.T) {
	t.Parallel()
	in := slack("s")
	t.Run("a message in a thread", func(t *testing.T) {
		events := normalize(t, in, nil, `{"token":"legacy","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"message","channel":"C2147483705","user":"U2147483697","text":"Hello world","ts":"1355517523.000005","thread_ts":"1355517500.000001","client_msg_id":"5f4b0e1c-aaaa","channel_type":"channel","event_ts":"1355517523.000005"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1355517523}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, platform.EventMessageReceived, e.Type)
		require.Equal(t, "C2147483705:1355517500.000001", e.Key, "a thread orders its own messages")
		require.Equal(t, "5f4b0e1c-aaaa", e.ID)
		m := e.Message
		require.Equal(t, "C2147483705", m.ConversationID)
		require.Equal(t, platform.Party{ID: "U2147483697"}, m.From)
		require.Equal(t, platform.Content{Type: platform.ContentText, Text: "Hello world"}, m.Content)
		require.Equal(t, time.Unix(1355517523, 5000).UTC(), m.Timestamp)
		require.Equal(t, "Ev08MFMKH6", m.Metadata["event_id"])
		require.Equal(t, platform.Slack, m.Platform)
	})
	t.Run("bot messages are left out", func(t *testing.T) {
		for _, body := range []string{
			`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","subtype":"bot_message","bot_id":"B1","channel":"C1","text":"echo","ts":"1.1"}}`,
			`{"type":"event_callback","event_id":"Ev2","event":{"type":"message","bot_id":"B1","user":"U_BOT","channel":"C1","text":"echo","ts":"1.2"}}`,
		} {
			require.Empty(t, normalize(t, in, nil, body))
		}
	})
	t.Run("a shared file", func(t *testing.T) {
		events := normalize(t, in, nil, `{"type":"event_callback","event_id":"Ev3","event":{"type":"message","subtype":"file_share","channel":"D1","user":"U1","text":"the chart","ts":"1700000000.000100","files":[{"id":"F1","name":"chart.png","mimetype":"image/png","url_private":"https://files.slack.com/files-pri/T1-F1/chart.png"}]}}`)
		require.Len(t, events, 1)
		require.Equal(t, "1700000000.000100", events[0].ID, "no client_msg_id: the ts")
		require.Equal(t, platform.Content{Type: platform.ContentImage, Text: "the chart",
			Media: &platform.Media{URL: "https://files.slack.com/files-pri/T1-F1/chart.png", MimeType: "image/png"}},
			events[0].Message.Content)
	})
	t.Run("other events keep their type, without the legacy token", func(t *testing.T) {
		events := normalize(t, in, nil, `{"token":"legacy","type":"event_callback","event_id":"Ev4","event":{"type":"reaction_added","user":"U1","reaction":"thumbsup","item":{"type":"message","channel":"C1","ts":"1.2"}}}`)
		require.Len(t, events, 1)
		require.Equal(t, platform.EventEventReceived, events[0].Type)
		require.Equal(t, "reaction_added", events[0].Kind)
		require.Equal(t, "Ev4", events[0].ID)
		require.NotContains(t, string(events[0].Data), "legacy")

		edit := normalize(t, in, nil, `{"type":"event_callback","event_id":"Ev5","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"1.3","message":{"text":"new"}}}`)
		require.Equal(t, "message_changed", edit[0].Kind)

		created := normalize(t, in, nil, `{"type":"event_callback","event_id":"Ev6","event":{"type":"channel_created","channel":{"id":"C024BE91L","name":"fun","created":1360782804,"creator":"U024BE7LH"}}}`)
		require.Equal(t, "channel_created", created[0].Kind)
		require.Equal(t, "C024BE91L", created[0].Key)
	})
	t.Run("url_verification gives nothing", func(t *testing.T) {
		require.Empty(t, normalize(t, in, nil, `{"type":"url_verification","challenge":"x","token":"t"}`))
	})
	t.Run("slash commands", func(t *testing.T) {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		form := url.Values{"token": {"legacy"}, "command": {"/weather"}, "text": {"94070"}, "user_id": {"U1"}, "channel_id": {"C1"}}
		events := normalize(t, in, h, form.Encode())
		require.Len(t, events, 1)
		require.Equal(t, "slash_command", events[0].Kind)
		require.JSONEq(t, `{"command":"/weather","text":"94070","user_id":"U1","channel_id":"C1"}`, string(events[0].Data))
	})
}

func TestNormalizeDiscord(t *testing.T) {
	t.Parallel()
	in := discord("00")
	t.Run("a slash command", func(t *testing.T) {
		events := normalize(t, in, nil, `{"id":"1252330541286346814","application_id":"1100","type":2,"token":"interaction-token","version":1,"channel_id":"1252330000000000000","guild_id":"1000","data":{"id":"1","name":"remind","type":1,"options":[{"name":"me","type":1,"options":[{"name":"text","type":3,"value":"stand up"},{"name":"minutes","type":4,"value":15}]}]},"member":{"user":{"id":"53908232506183680","username":"mason","global_name":"Mason"},"roles":[]}}`)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, "1252330541286346814", e.ID)
		require.Equal(t, "1252330000000000000", e.Key)
		m := e.Message
		require.Equal(t, platform.Content{Type: platform.ContentText, Text: "/remind me text:stand up minutes:15"}, m.Content)
		require.Equal(t, platform.Party{ID: "53908232506183680", Name: "Mason"}, m.From)
		require.Equal(t, "1252330000000000000", m.ConversationID)
		require.Equal(t, time.Date(2024, 6, 17, 0, 0, 0, 0, time.UTC), m.Timestamp.Truncate(24*time.Hour),
			"the time a snowflake id carries")
		require.Equal(t, "remind", m.Metadata["command"])
		require.Equal(t, "interaction-token", m.Metadata["interaction_token"],
			"the hub deferred the answer: the subscriber completes it with the interaction's token")
	})
	t.Run("a button in a direct message", func(t *testing.T) {
		events := normalize(t, in, nil, `{"id":"2","type":3,"token":"t","channel_id":"9","user":{"id":"5","username":"dm-user"},"message":{"id":"77","content":"Approve?"},"data":{"custom_id":"approve","component_type":2}}`)
		m := events[0].Message
		require.Equal(t, "approve", m.Content.Text)
		require.Equal(t, platform.Party{ID: "5", Name: "dm-user"}, m.From)
		require.Equal(t, "77", m.Metadata["message_id"])
	})
	t.Run("PING and webhook PING give nothing; webhook events are events", func(t *testing.T) {
		require.Empty(t, normalize(t, in, nil, `{"id":"1","type":1,"token":"t"}`))
		require.Empty(t, normalize(t, in, nil, `{"version":1,"application_id":"1","type":0}`))
		events := normalize(t, in, nil, `{"version":1,"application_id":"1","type":1,"event":{"type":"ENTITLEMENT_CREATE","data":{}}}`)
		require.Equal(t, "ENTITLEMENT_CREATE", events[0].Kind)
	})
	t.Run("autocomplete is an event without the interaction token", func(t *testing.T) {
		events := normalize(t, in, nil, `{"id":"3","type":4,"token":"secret-ish","channel_id":"9","data":{"name":"pick"}}`)
		require.Equal(t, "APPLICATION_COMMAND_AUTOCOMPLETE", events[0].Kind)
		require.NotContains(t, string(events[0].Data), "secret-ish")
	})
}

func TestNormalizeEventPlatforms(t *testing.T) {
	t.Parallel()
	t.Run("github", func(t *testing.T) {
		h := http.Header{"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"d-1"}}
		events := normalize(t, gitHub("s"), h, `{"action":"opened","number":1}`)
		require.Equal(t, []platform.Event{{Type: platform.EventEventReceived, Kind: "pull_request",
			Data: json.RawMessage(`{"action":"opened","number":1}`), ID: "d-1"}}, events)
	})
	t.Run("stripe", func(t *testing.T) {
		events := normalize(t, stripe("whsec_x"), nil, `{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`)
		require.Equal(t, "invoice.paid", events[0].Kind)
		require.Equal(t, "evt_1", events[0].ID)
		require.Equal(t, "in_1", events[0].Key, "events about one object keep their order")
	})
	t.Run("standard", func(t *testing.T) {
		h := http.Header{"Svix-Id": {"msg_1"}}
		events := normalize(t, standard("whsec_x"), h, `{"type":"user.created","data":{}}`)
		require.Equal(t, "user.created", events[0].Kind)
		require.Equal(t, "msg_1", events[0].ID)
		untyped := normalize(t, standard("whsec_x"), h, `[1,2]`)
		require.Equal(t, "webhook", untyped[0].Kind)
	})
	t.Run("hmac", func(t *testing.T) {
		events := normalize(t, hmacTimed("s"), nil, `{"event":{"id":42}}`)
		require.Equal(t, "webhook", events[0].Kind)
		require.Equal(t, "42", events[0].ID, "a number at the id path")
		events = normalize(t, hmacTimed("s"), nil, `{"other":1}`)
		require.Regexp(t, `^sha256:[0-9a-f]{64}$`, events[0].ID)
	})
	t.Run("malformed", func(t *testing.T) {
		for _, in := range []platform.Integration{gitHub("s"), stripe("whsec_x"), standard("whsec_x"), hmacTimed("s"),
			telegram("t"), slack("s"), discord("00"), whatsApp("s")} {
			_, err := platform.Normalize(in, nil, []byte(`{"`))
			require.ErrorIs(t, err, platform.ErrMalformed, in.Platform)
		}
	})
}
