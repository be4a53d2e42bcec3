package platform_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-hub/switchyard/platform"
)

// FuzzVerify feeds arbitrary signature headers and bodies, or arbitrary bodies correctly
// signed, to every platform: verification never panics, refuses only with the documented
// errors, and whatever it accepts normalizes.
func FuzzVerify(f *testing.F) {
	k := newDiscordKey(f)
	std := mustStandardSecret(f)
	integrations := []platform.Integration{
		whatsApp("fuzz-secret"), telegram("fuzz-secret"), slack("fuzz-secret"), discord(k.public),
		gitHub("fuzz-secret"), stripe("whsec_fuzz"), standard(std), hmacTimed("fuzz-secret"),
	}
	f.Add(uint8(0), "sha256=00", "1750000000", "id", []byte(`{"entry":[]}`))
	f.Add(uint8(1), "fuzz-secret", "", "", []byte(`{"update_id":1,"message":{"chat":{"id":1}}}`))
	f.Add(uint8(1), "fuzz-secret", "", "", []byte(`{"update_id":1,"message":{"chat":"x"}}`))
	f.Add(uint8(2), "v0=zz", "-1", "", []byte(`payload=%7B`))
	f.Add(uint8(3), "00", "1750000000", "", []byte(`{"type":1}`))
	f.Add(uint8(5), "t=1750000000,v1=00,v1", "", "", []byte(`{}`))
	f.Add(uint8(6), "v1,AAAA v1, v2,=", "1750000000", "msg", []byte(`null`))
	f.Add(uint8(7), "sha256=", "9223372036854775807", "", []byte{0xff, 0xfe})
	for i, body := range []string{`{"entry":[{"changes":[{"value":{"messages":[{"id":"1","image":{}}]}}]}]}`,
		`{"update_id":1,"channel_post":{"chat":{"id":1},"photo":[]}}`,
		`{"type":"event_callback","event":{"type":"message","channel":{"id":"C"},"files":[{}]}}`,
		`{"id":"1","type":2,"data":{"name":"x","options":[{"name":"o","options":[{"name":"p","value":1}]}]}}`,
		`{}`, `{"id":"evt","type":"x"}`, `{"type":"x"}`, `{"event":{"id":["x"]}}`} {
		f.Add(uint8(128+i), "", "", "msg_1", []byte(body))
	}
	f.Fuzz(func(t *testing.T, which uint8, sig, ts, id string, body []byte) {
		in := integrations[int(which)%len(integrations)]
		if which >= 128 {
			// Correctly signed: the fuzzer explores what the platforms' bodies may hold.
			h := signFor(t, in, k, std, id, body)
			_, err := platform.Verify(in, platform.Inbound{Method: http.MethodPost, Header: h, Body: body, Now: now})
			if err != nil && !errors.Is(err, platform.ErrMalformed) {
				t.Fatalf("%s: a signed body refused with %v", in.Platform, err)
			}
			if err == nil {
				if _, err := platform.Normalize(in, h, body); err != nil {
					t.Fatalf("%s: verified but does not normalize: %v", in.Platform, err)
				}
			}
			return
		}
		h := http.Header{}
		for _, name := range []string{"X-Hub-Signature-256", "X-Slack-Signature", "X-Signature-Ed25519",
			"Stripe-Signature", "Webhook-Signature", "X-Acme-Signature", "X-Telegram-Bot-Api-Secret-Token"} {
			h.Set(name, sig)
		}
		for _, name := range []string{"X-Slack-Request-Timestamp", "X-Signature-Timestamp", "Webhook-Timestamp", "X-Acme-Timestamp"} {
			h.Set(name, ts)
		}
		h.Set("Webhook-Id", id)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		_, err := platform.Verify(in, platform.Inbound{Method: http.MethodPost, Header: h, Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, platform.ErrSignature) && !errors.Is(err, platform.ErrMalformed) {
				t.Fatalf("%s: undocumented error %v", in.Platform, err)
			}
			return
		}
		if _, err := platform.Normalize(in, h, body); err != nil {
			t.Fatalf("%s: verified but does not normalize: %v", in.Platform, err)
		}
		_ = platform.StoredHeaders(h)
	})
}

// signFor signs body the way the integration's platform does, at now.
func signFor(t *testing.T, in platform.Integration, k discordKey, std, id string, body []byte) http.Header {
	switch in.Platform {
	case platform.WhatsApp, platform.GitHub:
		return hubHeaders("fuzz-secret", body)
	case platform.Telegram:
		return http.Header{"X-Telegram-Bot-Api-Secret-Token": {"fuzz-secret"}}
	case platform.Slack:
		return slackHeaders("fuzz-secret", now, body)
	case platform.Discord:
		return discordHeaders(k, now, body)
	case platform.Stripe:
		return stripeHeaders("whsec_fuzz", now, body)
	case platform.Standard:
		if id == "" {
			id = "msg"
		}
		h, err := platform.StandardHeaders(std, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return hmacTimedHeaders("fuzz-secret", now.Add(-time.Second), body)
}
