package platform_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

// now is the time every signed fixture is checked against, unless a library checks against
// the clock.
var now = time.Unix(1_750_000_000, 0).UTC()

// hexHMAC is the hex HMAC-SHA256 of the concatenated parts.
func hexHMAC(secret string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// discordKey is an Ed25519 key pair: the public half is the integration's credential.
type discordKey struct {
	public  string
	private ed25519.PrivateKey
}

func newDiscordKey(t testing.TB) discordKey {
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	return discordKey{public: hex.EncodeToString(pub), private: priv}
}

func discordHeaders(k discordKey, ts time.Time, body []byte) http.Header {
	unix := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(k.private, append([]byte(unix), body...))
	h := http.Header{}
	h.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	h.Set("X-Signature-Timestamp", unix)
	return h
}

func slackHeaders(secret string, ts time.Time, body []byte) http.Header {
	unix := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", unix)
	h.Set("X-Slack-Signature", "v0="+hexHMAC(secret, "v0:", unix, ":", string(body)))
	h.Set("Content-Type", "application/json")
	return h
}

func hubHeaders(secret string, body []byte) http.Header {
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256="+hexHMAC(secret, string(body)))
	h.Set("Content-Type", "application/json")
	return h
}

func stripeHeaders(secret string, ts time.Time, body []byte) http.Header {
	unix := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+unix+",v1="+hexHMAC(secret, unix, ".", string(body)))
	return h
}

func mustStandardSecret(t testing.TB) string {
	s, err := platform.NewSigningSecret()
	require.NoError(t, err)
	return s
}

// Integrations with valid credentials.

func whatsApp(appSecret string) platform.Integration {
	return platform.Integration{ID: "int_wa", Platform: platform.WhatsApp, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{
			"access_token": "EAAG-access-token-0123456789", "phone_number_id": "106540352242922",
			"app_secret": appSecret, "verify_token": "meta-verify-token-42"}}}
}

func telegram(secretToken string) platform.Integration {
	return platform.Integration{ID: "int_tg", Platform: platform.Telegram, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{
			"bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secret_token": secretToken}}}
}

func slack(signingSecret string) platform.Integration {
	return platform.Integration{ID: "int_sl", Platform: platform.Slack, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{
			"bot_token": "xoxb-1234-5678-abcdefghijkl", "signing_secret": signingSecret}}}
}

func discord(publicKey string) platform.Integration {
	return platform.Integration{ID: "int_dc", Platform: platform.Discord, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{
			"bot_token": "MTA4NjM1.discord-bot-token.0123456789", "public_key": publicKey}}}
}

func gitHub(secret string) platform.Integration {
	return platform.Integration{ID: "int_gh", Platform: platform.GitHub, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{"webhook_secret": secret}}}
}

func stripe(secret string) platform.Integration {
	return platform.Integration{ID: "int_st", Platform: platform.Stripe, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{"webhook_secret": secret}}}
}

func standard(secret string) platform.Integration {
	return platform.Integration{ID: "int_sw", Platform: platform.Standard, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{"webhook_secret": secret}}}
}

// hmacTimed signs "<timestamp>.<body>" with SHA-256, hex, prefix "sha256=", and reads the
// delivery id at event.id.
func hmacTimed(secret string) platform.Integration {
	return platform.Integration{ID: "int_hm", Platform: platform.HMAC, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{"secret": secret}},
		Config: platform.Config{SignatureHeader: "X-Acme-Signature", Prefix: "sha256=",
			TimestampHeader: "X-Acme-Timestamp", SignedPayload: "timestamp.body", IDJSONPath: "event.id"}}
}

func hmacTimedHeaders(secret string, ts time.Time, body []byte) http.Header {
	unix := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("X-Acme-Timestamp", unix)
	h.Set("X-Acme-Signature", "sha256="+hexHMAC(secret, unix, ".", string(body)))
	return h
}
