package platform_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

func invalidFields(t *testing.T, err error) map[string]string {
	t.Helper()
	require.ErrorIs(t, err, platform.ErrInvalid)
	var inv *platform.InvalidError
	require.True(t, errors.As(err, &inv))
	return inv.Fields
}

func TestParseName(t *testing.T) {
	t.Parallel()
	for _, n := range platform.Names {
		got, err := platform.ParseName(string(n))
		require.NoError(t, err)
		require.Equal(t, n, got)
	}
	_, err := platform.ParseName("WhatsApp")
	require.Contains(t, invalidFields(t, err), "platform")
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"SEND_MESSAGE", "RECEIVE_MESSAGE", "WEBHOOK_VALIDATION", "HEALTH_CHECK"},
		platform.Capabilities(platform.Telegram))
	require.Equal(t, []string{"RECEIVE_EVENT", "WEBHOOK_VALIDATION"}, platform.Capabilities(platform.Stripe))
	require.NotEmpty(t, platform.Version)
}

func TestValidateAcceptsEveryPlatformsFixture(t *testing.T) {
	t.Parallel()
	k := newDiscordKey(t)
	for _, in := range []platform.Integration{
		whatsApp("wa-app-secret"), telegram("tg_secret-Token"), slack("signing"), discord(k.public),
		gitHub("gh"), stripe("whsec_abc"), standard(mustStandardSecret(t)), hmacTimed("s"),
	} {
		require.NoError(t, in.Validate(), in.Platform)
		require.ElementsMatch(t, platform.CredentialFields(in.Platform), keys(in.Credentials.Fields))
		require.Contains(t, platform.CredentialFields(in.Platform), platform.SigningField(in.Platform))
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateNamesEveryProblem(t *testing.T) {
	t.Parallel()
	t.Run("an unknown platform", func(t *testing.T) {
		fields := invalidFields(t, platform.Integration{Platform: "fax"}.Validate())
		require.Contains(t, fields, "platform")
	})
	t.Run("missing, empty, oversized and unknown credentials", func(t *testing.T) {
		in := whatsApp("")
		delete(in.Credentials.Fields, "verify_token")
		in.Credentials.Fields["access_token"] = strings.Repeat("a", platform.MaxFieldBytes+1)
		in.Credentials.Fields["password"] = "x"
		fields := invalidFields(t, in.Validate())
		require.Equal(t, map[string]string{
			"credentials.app_secret":   "required",
			"credentials.verify_token": "required",
			"credentials.access_token": "at most 4096 bytes",
			"credentials.password":     "unknown field for platform whatsapp",
		}, fields)
	})
	t.Run("formats", func(t *testing.T) {
		cases := []struct {
			in    platform.Integration
			field string
		}{
			{discord("not-hex"), "credentials.public_key"},
			{discord(strings.Repeat("ab", 31)), "credentials.public_key"},
			{stripe("sk_live_123"), "credentials.webhook_secret"},
			{stripe("whsec_"), "credentials.webhook_secret"},
			{standard("whsec_!!!"), "credentials.webhook_secret"},
			{standard("whsec_"), "credentials.webhook_secret"},
			{standard("c2VjcmV0"), "credentials.webhook_secret"},
			{telegram("has space"), "credentials.secret_token"},
			{telegram(strings.Repeat("a", 257)), "credentials.secret_token"},
			{func() platform.Integration {
				in := telegram("ok")
				in.Credentials.Fields["bot_token"] = "123/../evil:abc"
				return in
			}(), "credentials.bot_token"},
			{func() platform.Integration {
				in := whatsApp("s")
				in.Credentials.Fields["phone_number_id"] = "+1 555"
				return in
			}(), "credentials.phone_number_id"},
		}
		for _, tc := range cases {
			fields := invalidFields(t, tc.in.Validate())
			require.Contains(t, fields, tc.field, tc.in.Credentials.Fields)
		}
	})
	t.Run("rotated secrets follow the signing field's format and count", func(t *testing.T) {
		in := standard(mustStandardSecret(t))
		in.Credentials.Rotated = []platform.RotatedSecret{{Secret: "plain"}, {Secret: ""}}
		fields := invalidFields(t, in.Validate())
		require.Contains(t, fields, "credentials.rotated.0.secret")
		require.Equal(t, "required", fields["credentials.rotated.1.secret"])

		in = gitHub("gh")
		for range platform.MaxRotated + 1 {
			in.Credentials.Rotated = append(in.Credentials.Rotated, platform.RotatedSecret{Secret: "old"})
		}
		require.Contains(t, invalidFields(t, in.Validate()), "credentials.rotated")
	})
	t.Run("config", func(t *testing.T) {
		cases := []struct {
			config platform.Config
			field  string
		}{
			{platform.Config{Tolerance: "five minutes"}, "config.tolerance"},
			{platform.Config{Tolerance: "500ms"}, "config.tolerance"},
			{platform.Config{Tolerance: "25h"}, "config.tolerance"},
			{platform.Config{APIBaseURL: "graph.facebook.com"}, "config.api_base_url"},
			{platform.Config{APIBaseURL: "ftp://graph.facebook.com"}, "config.api_base_url"},
			{platform.Config{APIBaseURL: "https://user:pw@graph.facebook.com"}, "config.api_base_url"},
			{platform.Config{SignatureHeader: "X-Sig"}, "config.signature_header"},
		}
		for _, tc := range cases {
			in := whatsApp("s")
			in.Config = tc.config
			require.Contains(t, invalidFields(t, in.Validate()), tc.field, tc.config)
		}
		in := whatsApp("s")
		in.Config = platform.Config{Tolerance: "30s", APIBaseURL: "http://127.0.0.1:8081/graph/"}
		require.NoError(t, in.Validate())

		gh := gitHub("s")
		gh.Config.APIBaseURL = "https://api.github.com"
		require.Contains(t, invalidFields(t, gh.Validate()), "config.api_base_url", "only messaging platforms call out")
	})
	t.Run("generic HMAC settings", func(t *testing.T) {
		base := platform.Integration{Platform: platform.HMAC,
			Credentials: platform.Credentials{Fields: map[string]string{"secret": "s"}}}
		cases := []struct {
			config platform.Config
			field  string
		}{
			{platform.Config{}, "config.signature_header"},
			{platform.Config{SignatureHeader: "X Sig"}, "config.signature_header"},
			{platform.Config{SignatureHeader: "X-Sig", Algorithm: "md5"}, "config.algorithm"},
			{platform.Config{SignatureHeader: "X-Sig", Encoding: "base32"}, "config.encoding"},
			{platform.Config{SignatureHeader: "X-Sig", SignedPayload: "body.timestamp"}, "config.signed_payload"},
			{platform.Config{SignatureHeader: "X-Sig", SignedPayload: "timestamp.body"}, "config.timestamp_header"},
			{platform.Config{SignatureHeader: "X-Sig", IDHeader: "X-Id", IDJSONPath: "id"}, "config.id_header"},
			{platform.Config{SignatureHeader: "X-Sig", IDJSONPath: "event..id"}, "config.id_json_path"},
		}
		for _, tc := range cases {
			in := base
			in.Config = tc.config
			require.Contains(t, invalidFields(t, in.Validate()), tc.field, tc.config)
		}
		in := base
		in.Config = platform.Config{SignatureHeader: "X-Sig", Algorithm: "sha512", Encoding: "base64",
			Prefix: "v1=", TimestampHeader: "X-Ts", SignedPayload: "timestamp.body", IDJSONPath: "data.id"}
		require.NoError(t, in.Validate())
	})
	t.Run("the error lists the fields in order", func(t *testing.T) {
		err := platform.Integration{Platform: platform.Slack}.Validate()
		require.Equal(t, "invalid integration settings: credentials.bot_token: required; credentials.signing_secret: required", err.Error())
	})
}

func TestMasked(t *testing.T) {
	t.Parallel()
	expires := now.Add(time.Hour)
	c := platform.Credentials{
		Fields: map[string]string{"access_token": "EAAGm0PX4ZCpsBAKZC1234wxyz", "verify_token": "short-token"},
		Rotated: []platform.RotatedSecret{
			{Secret: "previous-app-secret-9876", ExpiresAt: &expires},
		},
	}
	require.Equal(t, map[string]string{
		"access_token": "****wxyz",
		"verify_token": "****",
		"rotated.0":    "****9876",
	}, c.Masked())
}

func TestToleranceAndAPIBase(t *testing.T) {
	t.Parallel()
	require.Equal(t, 5*time.Minute, platform.Config{}.ToleranceOrDefault())
	require.Equal(t, 30*time.Second, platform.Config{Tolerance: "30s"}.ToleranceOrDefault())
	require.Equal(t, 5*time.Minute, platform.Config{Tolerance: "bogus"}.ToleranceOrDefault())

	require.Equal(t, "https://graph.facebook.com/v21.0", platform.APIBase(platform.WhatsApp, platform.Config{}))
	require.Equal(t, "https://api.telegram.org", platform.APIBase(platform.Telegram, platform.Config{}))
	require.Equal(t, "https://slack.com/api", platform.APIBase(platform.Slack, platform.Config{}))
	require.Equal(t, "https://discord.com/api/v10", platform.APIBase(platform.Discord, platform.Config{}))
	require.Equal(t, "http://127.0.0.1:9000/sim", platform.APIBase(platform.Slack, platform.Config{APIBaseURL: "http://127.0.0.1:9000/sim/"}))
	require.Empty(t, platform.APIBase(platform.GitHub, platform.Config{}))
}

func TestSigningSecrets(t *testing.T) {
	t.Parallel()
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	in := gitHub("current")
	in.Credentials.Rotated = []platform.RotatedSecret{
		{Secret: "forever"}, {Secret: "until-later", ExpiresAt: &later}, {Secret: "expired", ExpiresAt: &earlier},
	}
	require.Equal(t, []string{"current", "forever", "until-later"}, platform.SigningSecrets(in, now))
	require.Equal(t, []string{"current", "forever"}, platform.SigningSecrets(in, later))
}
