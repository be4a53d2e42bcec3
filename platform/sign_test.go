package platform_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/switchyard-hub/switchyard/platform"
)

func TestSignStandardMatchesTheSpecificationExample(t *testing.T) {
	t.Parallel()
	// The example of the Standard Webhooks specification and Svix's documentation.
	sig, err := platform.SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
}

func TestStandardHeadersVerifyWithSvix(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	body := []byte(`{"type":"integration.message.received","data":{"id":"m1"}}`)
	h, err := platform.StandardHeaders(secret, "evt_01J0", time.Now(), body)
	require.NoError(t, err)
	require.Equal(t, "evt_01J0", h.Get("webhook-id"))

	wh, err := svix.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(body, h), "a receiver using Svix's library accepts the hub's deliveries")
	require.Error(t, wh.Verify([]byte(`{}`), h))
}

func TestNewSigningSecret(t *testing.T) {
	t.Parallel()
	a, b := mustStandardSecret(t), mustStandardSecret(t)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)
	require.NoError(t, standard(a).Validate())
}

func TestSignStandardRefusesABadSecret(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "whsec_", "plain-secret", "whsec_not base64!"} {
		_, err := platform.SignStandard(s, "m", now, nil)
		require.ErrorIs(t, err, platform.ErrInvalid, s)
	}
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	secret, old := mustStandardSecret(t), mustStandardSecret(t)
	body := []byte(`{"type":"ping"}`)
	h, err := platform.StandardHeaders(old, "msg_1", now, body)
	require.NoError(t, err)

	id, err := platform.VerifyStandard([]string{secret, old}, h, body, now, time.Minute)
	require.NoError(t, err, "any of the secrets")
	require.Equal(t, "msg_1", id)

	_, err = platform.VerifyStandard([]string{secret}, h, body, now, time.Minute)
	require.ErrorIs(t, err, platform.ErrSignature)

	_, err = platform.VerifyStandard([]string{old}, h, body, now.Add(61*time.Second), time.Minute)
	require.ErrorIs(t, err, platform.ErrSignature, "outside the given tolerance")

	_, err = platform.VerifyStandard([]string{old}, h, body, now.Add(4*time.Minute), 0)
	require.NoError(t, err, "no tolerance given: five minutes")

	forged := h.Clone()
	forged.Set("webhook-id", "msg_2")
	_, err = platform.VerifyStandard([]string{old}, forged, body, now, time.Minute)
	require.ErrorIs(t, err, platform.ErrSignature, "the id is signed")

	for _, missing := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		partial := h.Clone()
		partial.Del(missing)
		_, err = platform.VerifyStandard([]string{old}, partial, body, now, time.Minute)
		require.ErrorIs(t, err, platform.ErrSignature, missing)
		require.Contains(t, err.Error(), missing)
	}

	v2 := h.Clone()
	v2.Set("webhook-signature", strings.Replace(h.Get("webhook-signature"), "v1,", "v2,", 1))
	_, err = platform.VerifyStandard([]string{old}, v2, body, now, time.Minute)
	require.ErrorIs(t, err, platform.ErrSignature, "only v1 signatures count")

	far := http.Header{}
	far.Set("webhook-id", "m")
	far.Set("webhook-timestamp", "-9223372036854775808")
	far.Set("webhook-signature", "v1,AAAA")
	_, err = platform.VerifyStandard([]string{old}, far, body, now, time.Minute)
	require.ErrorIs(t, err, platform.ErrSignature)
}
