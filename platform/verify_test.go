package platform_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v81/github"
	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82/webhook"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/switchyard-hub/switchyard/platform"
)

// scheme is one platform's signing, for the checks every platform must pass.
type scheme struct {
	name platform.Name
	// newKey returns a fresh credential (what the integration stores) and the key that signs
	// for it (the same secret, or Discord's private key).
	newKey func(t *testing.T) (credential string, key any)
	// integration builds the integration trusting the credential.
	integration func(credential string) platform.Integration
	// sign signs body at ts with key.
	sign func(key any, ts time.Time, body []byte) http.Header
	body []byte
	// timed: the signature covers a timestamp checked against the tolerance.
	timed bool
	// bodySigned: the signature covers the body (Telegram's secret token does not).
	bodySigned bool
	// json: the body must be JSON.
	json       bool
	deliveryID string
	eventType  string
}

func sharedSecret(prefix string) func(t *testing.T) (string, any) {
	n := 0
	return func(t *testing.T) (string, any) {
		n++
		s := prefix + strings.Repeat("k", 20) + string(rune('a'+n%26)) + t.Name()[:1]
		return s, s
	}
}

func schemes() []scheme {
	waBody := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.B","timestamp":"1749999990","type":"text","text":{"body":"two"}},{"from":"16505551234","id":"wamid.A","timestamp":"1749999980","type":"text","text":{"body":"one"}}]}}]}]}`)
	tgBody := []byte(`{"update_id":912345678,"message":{"message_id":1365,"from":{"id":1111111,"is_bot":false,"first_name":"Ada","last_name":"Lovelace","username":"ada"},"chat":{"id":1111111,"first_name":"Ada","type":"private"},"date":1749999990,"text":"hello"}}`)
	slBody := []byte(`{"token":"legacy","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"message","channel":"C2147483705","user":"U2147483697","text":"Hello world","ts":"1749999990.000200","client_msg_id":"5f4b0e1c-1111-2222-3333-444455556666","channel_type":"channel"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1749999990}`)
	dcBody := []byte(`{"id":"1252330541286346814","application_id":"1100000000000000000","type":2,"token":"interaction-token","version":1,"channel_id":"1252330000000000000","guild_id":"1000000000000000000","data":{"id":"1","name":"echo","type":1,"options":[{"name":"text","type":3,"value":"hello"}]},"member":{"user":{"id":"53908232506183680","username":"mason","global_name":"Mason"}}}`)
	ghBody := []byte(`{"zen":"Keep it logically awesome.","hook_id":123}`)
	stBody := []byte(`{"id":"evt_1PqRsT2eZvKYlo2C","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3PqRsT","object":"payment_intent"}}}`)
	swBody := []byte(`{"type":"invoice.paid","timestamp":"2025-06-15T12:00:00Z","data":{"id":"inv_1"}}`)
	hmBody := []byte(`{"event":{"id":"ev_77","kind":"order.created"}}`)
	return []scheme{
		{name: platform.WhatsApp, newKey: sharedSecret("wa-app-secret-"), integration: whatsApp,
			sign: func(k any, _ time.Time, b []byte) http.Header { return hubHeaders(k.(string), b) },
			body: waBody, bodySigned: true, json: true, deliveryID: "wamid.A,wamid.B", eventType: "messages"},
		{name: platform.Telegram, newKey: sharedSecret("tg_secret_"), integration: telegram,
			sign: func(k any, _ time.Time, _ []byte) http.Header {
				h := http.Header{}
				h.Set("X-Telegram-Bot-Api-Secret-Token", k.(string))
				return h
			},
			body: tgBody, json: true, deliveryID: "912345678", eventType: "message"},
		{name: platform.Slack, newKey: sharedSecret("slack-signing-"), integration: slack,
			sign: func(k any, ts time.Time, b []byte) http.Header { return slackHeaders(k.(string), ts, b) },
			body: slBody, timed: true, bodySigned: true, json: true, deliveryID: "Ev08MFMKH6", eventType: "message"},
		{name: platform.Discord,
			newKey: func(t *testing.T) (string, any) {
				k := newDiscordKey(t)
				return k.public, k
			},
			integration: discord,
			sign:        func(k any, ts time.Time, b []byte) http.Header { return discordHeaders(k.(discordKey), ts, b) },
			body:        dcBody, timed: true, bodySigned: true, json: true, deliveryID: "1252330541286346814",
			eventType: "APPLICATION_COMMAND"},
		{name: platform.GitHub, newKey: sharedSecret("gh-secret-"), integration: gitHub,
			sign: func(k any, _ time.Time, b []byte) http.Header {
				h := hubHeaders(k.(string), b)
				h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
				h.Set("X-GitHub-Event", "ping")
				return h
			},
			body: ghBody, bodySigned: true, json: true, deliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", eventType: "ping"},
		{name: platform.Stripe, newKey: sharedSecret("whsec_"), integration: stripe,
			sign: func(k any, ts time.Time, b []byte) http.Header { return stripeHeaders(k.(string), ts, b) },
			body: stBody, timed: true, bodySigned: true, json: true, deliveryID: "evt_1PqRsT2eZvKYlo2C",
			eventType: "payment_intent.succeeded"},
		{name: platform.Standard,
			newKey: func(t *testing.T) (string, any) {
				s := mustStandardSecret(t)
				return s, s
			},
			integration: standard,
			sign: func(k any, ts time.Time, b []byte) http.Header {
				h, err := platform.StandardHeaders(k.(string), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, b)
				if err != nil {
					panic(err)
				}
				return h
			},
			body: swBody, timed: true, bodySigned: true, json: true, deliveryID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
			eventType: "invoice.paid"},
		{name: platform.HMAC, newKey: sharedSecret("acme-secret-"), integration: hmacTimed,
			sign: func(k any, ts time.Time, b []byte) http.Header { return hmacTimedHeaders(k.(string), ts, b) },
			body: hmBody, timed: true, bodySigned: true, deliveryID: "ev_77"},
	}
}

func verify(in platform.Integration, h http.Header, body []byte, at time.Time) (platform.Verified, error) {
	return platform.Verify(in, platform.Inbound{Method: http.MethodPost, Header: h, Body: body, Now: at})
}

func TestVerifyEveryPlatform(t *testing.T) {
	t.Parallel()
	for _, sc := range schemes() {
		t.Run(string(sc.name), func(t *testing.T) {
			t.Parallel()
			cred, key := sc.newKey(t)
			in := sc.integration(cred)
			require.NoError(t, in.Validate(), "the fixture integration is valid")

			t.Run("a correctly signed request is verified and named", func(t *testing.T) {
				v, err := verify(in, sc.sign(key, now, sc.body), sc.body, now)
				require.NoError(t, err)
				require.Equal(t, sc.deliveryID, v.DeliveryID)
				require.Equal(t, sc.eventType, v.EventType)
				require.Nil(t, v.Challenge)
			})
			t.Run("a request without its signature headers is refused", func(t *testing.T) {
				_, err := verify(in, http.Header{}, sc.body, now)
				require.ErrorIs(t, err, platform.ErrSignature)
			})
			t.Run("a request signed with another secret is refused", func(t *testing.T) {
				_, other := sc.newKey(t)
				_, err := verify(in, sc.sign(other, now, sc.body), sc.body, now)
				require.ErrorIs(t, err, platform.ErrSignature)
				require.NotContains(t, err.Error(), cred)
			})
			if sc.bodySigned {
				t.Run("a tampered body is refused", func(t *testing.T) {
					h := sc.sign(key, now, sc.body)
					tampered := bytes.Replace(sc.body, []byte(`"`), []byte(` "`), 1)
					_, err := verify(in, h, tampered, now)
					require.ErrorIs(t, err, platform.ErrSignature)
				})
			}
			t.Run("a rotated secret not yet expired is accepted", func(t *testing.T) {
				newCred, newKey := sc.newKey(t)
				later := now.Add(time.Hour)
				rotated := sc.integration(newCred)
				rotated.Credentials.Rotated = []platform.RotatedSecret{{Secret: cred, ExpiresAt: &later}}
				require.NoError(t, rotated.Validate())
				_, err := verify(rotated, sc.sign(key, now, sc.body), sc.body, now)
				require.NoError(t, err, "signed with the previous secret")
				_, err = verify(rotated, sc.sign(newKey, now, sc.body), sc.body, now)
				require.NoError(t, err, "signed with the new secret")
			})
			t.Run("an expired rotated secret is refused", func(t *testing.T) {
				newCred, _ := sc.newKey(t)
				earlier := now.Add(-time.Second)
				rotated := sc.integration(newCred)
				rotated.Credentials.Rotated = []platform.RotatedSecret{{Secret: cred, ExpiresAt: &earlier}}
				_, err := verify(rotated, sc.sign(key, now, sc.body), sc.body, now)
				require.ErrorIs(t, err, platform.ErrSignature)
			})
			if sc.json {
				t.Run("a correctly signed body that is not JSON is malformed", func(t *testing.T) {
					body := []byte(`{"not json`)
					_, err := verify(in, sc.sign(key, now, body), body, now)
					require.ErrorIs(t, err, platform.ErrMalformed)
				})
			}
			if !sc.timed {
				return
			}
			t.Run("a timestamp older than the tolerance is refused", func(t *testing.T) {
				ts := now.Add(-5*time.Minute - time.Second)
				_, err := verify(in, sc.sign(key, ts, sc.body), sc.body, now)
				require.ErrorIs(t, err, platform.ErrSignature)
				require.Contains(t, err.Error(), "too old")
			})
			t.Run("a timestamp further in the future than the tolerance is refused", func(t *testing.T) {
				ts := now.Add(5*time.Minute + time.Second)
				_, err := verify(in, sc.sign(key, ts, sc.body), sc.body, now)
				require.ErrorIs(t, err, platform.ErrSignature)
				require.Contains(t, err.Error(), "future")
			})
			t.Run("a timestamp within the tolerance is accepted, either way", func(t *testing.T) {
				for _, d := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
					_, err := verify(in, sc.sign(key, now.Add(d), sc.body), sc.body, now)
					require.NoError(t, err)
				}
			})
			t.Run("a configured tolerance replaces the default", func(t *testing.T) {
				wide := in
				wide.Config.Tolerance = "10m"
				require.NoError(t, wide.Validate())
				_, err := verify(wide, sc.sign(key, now.Add(-9*time.Minute), sc.body), sc.body, now)
				require.NoError(t, err)
			})
		})
	}
}

func TestVerifyWithoutSecretsRefuses(t *testing.T) {
	t.Parallel()
	in := gitHub("")
	body := []byte(`{}`)
	_, err := verify(in, hubHeaders("", body), body, now)
	require.ErrorIs(t, err, platform.ErrSignature, "an empty secret never verifies")

	_, err = verify(platform.Integration{Platform: "myspace"}, http.Header{}, body, now)
	require.ErrorIs(t, err, platform.ErrUnsupported)
}

func TestVerifyWhatsAppStatusesAreNamedByMessageAndStatus(t *testing.T) {
	t.Parallel()
	secret := "wa-app-secret-0123456789"
	in := whatsApp(secret)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.X","status":"read","timestamp":"1749999990","recipient_id":"16505551234"},{"id":"wamid.X","status":"delivered","timestamp":"1749999980","recipient_id":"16505551234"}]}}]}]}`)
	v, err := verify(in, hubHeaders(secret, body), body, now)
	require.NoError(t, err)
	require.Equal(t, "wamid.X:delivered,wamid.X:read", v.DeliveryID)

	other := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	v, err = verify(in, hubHeaders(secret, other), other, now)
	require.NoError(t, err)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, v.DeliveryID, "nothing to name it by: the body hash")
}

func TestVerifyWhatsAppSignatureMustCarryItsPrefix(t *testing.T) {
	t.Parallel()
	secret := "wa-app-secret-0123456789"
	body := []byte(`{"entry":[]}`)
	h := http.Header{}
	h.Set("X-Hub-Signature-256", hexHMAC(secret, string(body)))
	_, err := verify(whatsApp(secret), h, body, now)
	require.ErrorIs(t, err, platform.ErrSignature)
}

func TestVerifyTelegramNeedsAnUpdateID(t *testing.T) {
	t.Parallel()
	in := telegram("tg_secret_token")
	h := http.Header{}
	h.Set("X-Telegram-Bot-Api-Secret-Token", "tg_secret_token")
	_, err := verify(in, h, []byte(`{"message":{}}`), now)
	require.ErrorIs(t, err, platform.ErrMalformed)

	v, err := verify(in, h, []byte(`{"update_id":5,"callback_query":{"id":"9","from":{"id":1},"data":"yes"}}`), now)
	require.NoError(t, err)
	require.Equal(t, "5", v.DeliveryID)
	require.Equal(t, "callback_query", v.EventType)
}

func TestVerifySlackURLVerificationIsAChallenge(t *testing.T) {
	t.Parallel()
	secret := "slack-signing-secret-0123"
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	v, err := verify(slack(secret), slackHeaders(secret, now, body), body, now)
	require.NoError(t, err)
	require.NotNil(t, v.Challenge)
	require.Equal(t, http.StatusOK, v.Challenge.Status)
	require.Equal(t, "text/plain; charset=utf-8", v.Challenge.ContentType)
	require.Equal(t, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", string(v.Challenge.Body))

	_, err = verify(slack(secret), slackHeaders("another-secret-000", now, body), body, now)
	require.ErrorIs(t, err, platform.ErrSignature, "the challenge is signed too")
}

func TestVerifySlackFixturesAgreeWithSlackGo(t *testing.T) {
	t.Parallel()
	secret := "8f742231b10e8888abcd99yyyzzz85a5"
	body := []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","user":"U1","reaction":"thumbsup","item":{"type":"message","channel":"C1","ts":"1.2"}}}`)
	clock := time.Now()
	h := slackHeaders(secret, clock, body)

	sv, err := slackgo.NewSecretsVerifier(h, secret)
	require.NoError(t, err)
	_, err = sv.Write(body)
	require.NoError(t, err)
	require.NoError(t, sv.Ensure(), "slack-go accepts the fixture")

	v, err := verify(slack(secret), h, body, clock)
	require.NoError(t, err)
	require.Equal(t, "Ev1", v.DeliveryID)
	require.Equal(t, "reaction_added", v.EventType)
}

func TestVerifySlackSlashCommandsAndInteractivity(t *testing.T) {
	t.Parallel()
	secret := "slack-signing-secret-0123"
	form := url.Values{"token": {"legacy"}, "team_id": {"T1"}, "channel_id": {"C1"}, "user_id": {"U1"},
		"command": {"/weather"}, "text": {"94070"}, "trigger_id": {"13345224609.738474920.8088930838d88f008e0"}}
	body := []byte(form.Encode())
	h := slackHeaders(secret, now, body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	v, err := verify(slack(secret), h, body, now)
	require.NoError(t, err)
	require.Equal(t, "slash_command", v.EventType)
	require.Regexp(t, `^sha256:`, v.DeliveryID)

	body = []byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"approve"}]}`}}.Encode())
	h = slackHeaders(secret, now, body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	v, err = verify(slack(secret), h, body, now)
	require.NoError(t, err)
	require.Equal(t, "block_actions", v.EventType)
}

func TestVerifySlackTimestampMustBeUnixSeconds(t *testing.T) {
	t.Parallel()
	secret := "slack-signing-secret-0123"
	body := []byte(`{}`)
	h := slackHeaders(secret, now, body)
	h.Set("X-Slack-Request-Timestamp", "yesterday")
	_, err := verify(slack(secret), h, body, now)
	require.ErrorIs(t, err, platform.ErrSignature)
}

func TestVerifyDiscordPingIsAChallenge(t *testing.T) {
	t.Parallel()
	k := newDiscordKey(t)
	body := []byte(`{"id":"1252330541286346815","application_id":"1100000000000000000","type":1,"token":"t","version":1}`)
	v, err := verify(discord(k.public), discordHeaders(k, now, body), body, now)
	require.NoError(t, err)
	require.Equal(t, "1252330541286346815", v.DeliveryID)
	require.NotNil(t, v.Challenge)
	require.Equal(t, http.StatusOK, v.Challenge.Status)
	require.Equal(t, "application/json", v.Challenge.ContentType)
	require.JSONEq(t, `{"type":1}`, string(v.Challenge.Body))
}

func TestVerifyDiscordWebhookEvents(t *testing.T) {
	t.Parallel()
	k := newDiscordKey(t)
	ping := []byte(`{"version":1,"application_id":"1100000000000000000","type":0}`)
	v, err := verify(discord(k.public), discordHeaders(k, now, ping), ping, now)
	require.NoError(t, err)
	require.NotNil(t, v.Challenge)
	require.Equal(t, http.StatusNoContent, v.Challenge.Status)

	event := []byte(`{"version":1,"application_id":"1100000000000000000","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2025-06-15T12:00:00Z","data":{"user":{"id":"1"}}}}`)
	v, err = verify(discord(k.public), discordHeaders(k, now, event), event, now)
	require.NoError(t, err)
	require.Nil(t, v.Challenge)
	require.Equal(t, "APPLICATION_AUTHORIZED", v.EventType)
}

func TestVerifyDiscordRefusesASignatureOverAnotherTimestamp(t *testing.T) {
	t.Parallel()
	k := newDiscordKey(t)
	body := []byte(`{"id":"1","type":1}`)
	h := discordHeaders(k, now, body)
	h.Set("X-Signature-Timestamp", "1750000001")
	_, err := verify(discord(k.public), h, body, now)
	require.ErrorIs(t, err, platform.ErrSignature)
}

func TestVerifyGitHubFixturesAgreeWithGoGitHub(t *testing.T) {
	t.Parallel()
	secret := "It's a Secret to Everybody"
	body := []byte("Hello, World!")
	h := hubHeaders(secret, body)
	// GitHub's documented example signature.
	require.Equal(t, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", h.Get("X-Hub-Signature-256"))
	require.NoError(t, github.ValidateSignature(h.Get("X-Hub-Signature-256"), body, []byte(secret)))

	push := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"octo/hello"}}`)
	h = hubHeaders(secret, push)
	h.Set("X-GitHub-Delivery", "d1")
	h.Set("X-GitHub-Event", "push")
	payload, err := github.ValidatePayloadFromBody("application/json", bytes.NewReader(push), h.Get("X-Hub-Signature-256"), []byte(secret))
	require.NoError(t, err)
	require.Equal(t, push, payload)
	v, err := verify(gitHub(secret), h, push, now)
	require.NoError(t, err)
	require.Equal(t, "d1", v.DeliveryID)
	require.Equal(t, "push", v.EventType)
}

func TestVerifyGitHubFormEncodedPayload(t *testing.T) {
	t.Parallel()
	secret := "gh-secret-0123456789"
	body := []byte(url.Values{"payload": {`{"zen":"Design for failure."}`}}.Encode())
	h := hubHeaders(secret, body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-GitHub-Event", "ping")
	v, err := verify(gitHub(secret), h, body, now)
	require.NoError(t, err)
	require.Regexp(t, `^sha256:`, v.DeliveryID, "no X-GitHub-Delivery: the body hash")

	events, err := platform.Normalize(gitHub(secret), h, body)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.JSONEq(t, `{"zen":"Design for failure."}`, string(events[0].Data))
}

func TestVerifyStripeSignedByStripeGo(t *testing.T) {
	t.Parallel()
	secret := "whsec_test_secret_0123456789"
	body := []byte(`{"id":"evt_test_webhook","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`)
	clock := time.Now()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: clock})
	h := http.Header{}
	h.Set("Stripe-Signature", signed.Header)

	v, err := verify(stripe(secret), h, body, clock)
	require.NoError(t, err)
	require.Equal(t, "evt_test_webhook", v.DeliveryID)
	require.Equal(t, "charge.succeeded", v.EventType)

	require.NoError(t, webhook.ValidatePayload(body, h.Get("Stripe-Signature"), secret), "stripe-go agrees")
}

func TestVerifyStripeAcceptsAnyMatchingV1(t *testing.T) {
	t.Parallel()
	secret := "whsec_test_secret_0123456789"
	body := []byte(`{"id":"evt_1","type":"ping"}`)
	good := stripeHeaders(secret, now, body).Get("Stripe-Signature")
	// During Stripe's own secret rolls it signs with both secrets: one v1 each.
	bad := "v1=" + hexHMAC("whsec_other", "x")
	h := http.Header{}
	h.Set("Stripe-Signature", good+","+bad+",v0=deadbeef")
	_, err := verify(stripe(secret), h, body, now)
	require.NoError(t, err)

	h.Set("Stripe-Signature", strings.SplitN(good, ",", 2)[0])
	_, err = verify(stripe(secret), h, body, now)
	require.ErrorIs(t, err, platform.ErrSignature, "a timestamp without a signature")
}

func TestVerifyStandardSignedBySvix(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	wh, err := svix.NewWebhook(secret)
	require.NoError(t, err)
	body := []byte(`{"type":"user.created","data":{"id":"u_1"}}`)
	sig, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body)
	require.NoError(t, err)

	for _, prefix := range []string{"webhook-", "svix-"} {
		h := http.Header{}
		h.Set(prefix+"id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		h.Set(prefix+"timestamp", "1750000000")
		h.Set(prefix+"signature", "v1,bm90IGEgc2lnbmF0dXJl "+sig)
		v, err := verify(standard(secret), h, body, now)
		require.NoError(t, err, prefix)
		require.Equal(t, "msg_p5jXN8AQM9LWM0D4loKWxJek", v.DeliveryID)
		require.Equal(t, "user.created", v.EventType)
	}
}

// TestHMACTimestampMustBeSigned: a timestamp header whose value the signature does not cover
// would let a captured request through with a fresh timestamp, so such a config is refused.
func TestHMACTimestampMustBeSigned(t *testing.T) {
	in := platform.Integration{Platform: platform.HMAC, Credentials: platform.Credentials{Fields: map[string]string{"secret": "s"}},
		Config: platform.Config{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts"}}
	var invalid *platform.InvalidError
	require.ErrorAs(t, in.Validate(), &invalid)
	require.Contains(t, invalid.Fields, "config.signed_payload")
	in.Config.SignedPayload = platform.SignedTimestampBody
	require.NoError(t, in.Validate())
}

func TestVerifyHMACVariants(t *testing.T) {
	t.Parallel()
	body := []byte("order=42&status=paid")
	cases := []struct {
		name   string
		config platform.Config
		// signature is the header value for secret "top-secret", computed elsewhere.
		signature string
		other     http.Header
	}{
		{
			name:      "sha1 in base64 over the body, id from a header",
			config:    platform.Config{SignatureHeader: "X-Signature", Algorithm: "sha1", Encoding: "base64", IDHeader: "X-Request-Id"},
			signature: "Slf1/OgtyECyBFcqYJXs394b0I8=",
			other:     http.Header{"X-Request-Id": {"req-1"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := platform.Integration{Platform: platform.HMAC, Config: tc.config,
				Credentials: platform.Credentials{Fields: map[string]string{"secret": "top-secret"}}}
			require.NoError(t, in.Validate())
			h := tc.other.Clone()
			h.Set(tc.config.SignatureHeader, tc.signature)
			v, err := verify(in, h, body, now)
			require.NoError(t, err)
			if tc.config.IDHeader != "" {
				require.Equal(t, "req-1", v.DeliveryID)
			} else {
				require.Regexp(t, `^sha256:`, v.DeliveryID)
			}
			events, err := platform.Normalize(in, h, body)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.JSONEq(t, `"order=42&status=paid"`, string(events[0].Data), "a body that is not JSON travels as a string")

			_, err = verify(in, h, append(body, '!'), now)
			require.ErrorIs(t, err, platform.ErrSignature)

			in.Credentials.Fields["secret"] = "not-the-secret"
			_, err = verify(in, h, body, now)
			require.ErrorIs(t, err, platform.ErrSignature)
		})
	}
}

func TestVerifyHMACPrefixIsRequired(t *testing.T) {
	t.Parallel()
	secret := "acme-secret-0123456789"
	body := []byte(`{"event":{"id":"e1"}}`)
	h := hmacTimedHeaders(secret, now, body)
	h.Set("X-Acme-Signature", strings.TrimPrefix(h.Get("X-Acme-Signature"), "sha256="))
	_, err := verify(hmacTimed(secret), h, body, now)
	require.ErrorIs(t, err, platform.ErrSignature)
}

func TestChallenge(t *testing.T) {
	t.Parallel()
	in := whatsApp("wa-app-secret-0123456789")
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"meta-verify-token-42"}, "hub.challenge": {"1158201444"}}
	a, err := platform.Challenge(in, q)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, a.Status)
	require.Equal(t, "text/plain; charset=utf-8", a.ContentType)
	require.Equal(t, "1158201444", string(a.Body))

	t.Run("a wrong token is forbidden", func(t *testing.T) {
		bad := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}}
		_, err := platform.Challenge(in, bad)
		require.ErrorIs(t, err, platform.ErrForbidden)
	})
	t.Run("another mode is forbidden", func(t *testing.T) {
		bad := url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"meta-verify-token-42"}, "hub.challenge": {"1"}}
		_, err := platform.Challenge(in, bad)
		require.ErrorIs(t, err, platform.ErrForbidden)
	})
	t.Run("a challenge over 256 bytes is malformed", func(t *testing.T) {
		long := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"meta-verify-token-42"},
			"hub.challenge": {strings.Repeat("9", 257)}}
		_, err := platform.Challenge(in, long)
		require.ErrorIs(t, err, platform.ErrMalformed)
	})
	t.Run("platforms without a verify token do not answer", func(t *testing.T) {
		for _, other := range []platform.Integration{telegram("tg_secret"), slack("s"), gitHub("g")} {
			_, err := platform.Challenge(other, q)
			require.ErrorIs(t, err, platform.ErrUnsupported)
		}
	})
}

func TestStoredHeadersDropSecrets(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Hub-Signature",
		"X-Hub-Signature-256", "X-Slack-Signature", "X-Signature-Ed25519", "Stripe-Signature",
		"webhook-signature", "svix-signature", "X-Telegram-Bot-Api-Secret-Token", "X-Shopify-Hmac-Signature",
		"X-Api-Key", "X-Access-Token", "X-Client-Secret"} {
		h.Set(name, "secret-value")
	}
	h.Set("Content-Type", "application/json")
	h.Add("User-Agent", "GitHub-Hookshot/abc")
	h.Add("User-Agent", "second")
	h.Set("X-GitHub-Delivery", "d1")
	h.Set("X-Slack-Request-Timestamp", "1750000000")
	h["x-lowercase-name"] = []string{"kept"}

	got := platform.StoredHeaders(h)
	require.Equal(t, map[string]string{
		"Content-Type":              "application/json",
		"User-Agent":                "GitHub-Hookshot/abc",
		"X-Github-Delivery":         "d1",
		"X-Slack-Request-Timestamp": "1750000000",
		"X-Lowercase-Name":          "kept",
	}, got)
	for _, v := range got {
		require.NotEqual(t, "secret-value", v)
	}

	many := http.Header{}
	for i := range 100 {
		many.Set("X-Header-"+strings.Repeat("a", i%7)+string(rune('A'+i%26))+string(rune('a'+i/26)), strings.Repeat("v", 5000))
	}
	got = platform.StoredHeaders(many)
	require.Len(t, got, 64)
	for _, v := range got {
		require.Len(t, v, 1024)
	}
}
