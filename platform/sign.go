package platform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers, and the svix- names Svix senders use for the same values.
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
	HeaderSvixID           = "Svix-Id"
	HeaderSvixTimestamp    = "Svix-Timestamp"
	HeaderSvixSignature    = "Svix-Signature"
)

// NewSigningSecret returns a fresh Standard Webhooks secret: "whsec_" and the base64 of 32
// random bytes.
func NewSigningSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generating a signing secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// SignStandard signs one delivery the Standard Webhooks way: "v1," and the base64
// HMAC-SHA256, keyed with the secret's decoded bytes, of msgID "." unix seconds "." body.
func SignStandard(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, msgID, ts.Unix(), body)), nil
}

// StandardHeaders are the three headers of a delivery signed with secret.
func StandardHeaders(secret, msgID string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := SignStandard(secret, msgID, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	return h, nil
}

// VerifyStandard checks a Standard Webhooks (or Svix) delivery: its timestamp within
// tolerance of now, before or after (DefaultTolerance when tolerance is not positive), and one
// of its space-separated "v1,<base64>" signatures made with one of the secrets. It returns the
// message id. Every failure wraps ErrSignature.
func VerifyStandard(secrets []string, header http.Header, body []byte, now time.Time, tolerance time.Duration) (string, error) {
	id, ts, sigs := header.Get(HeaderWebhookID), header.Get(HeaderWebhookTimestamp), header.Get(HeaderWebhookSignature)
	if id == "" && ts == "" && sigs == "" {
		id, ts, sigs = header.Get(HeaderSvixID), header.Get(HeaderSvixTimestamp), header.Get(HeaderSvixSignature)
	}
	switch {
	case id == "":
		return "", fmt.Errorf("%w: missing webhook-id header", ErrSignature)
	case ts == "":
		return "", fmt.Errorf("%w: missing webhook-timestamp header", ErrSignature)
	case sigs == "":
		return "", fmt.Errorf("%w: missing webhook-signature header", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	unix, err := checkUnixTimestamp(ts, now, tolerance)
	if err != nil {
		return "", err
	}
	var offered [][]byte
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
			offered = append(offered, b)
		}
	}
	if len(offered) == 0 {
		return "", fmt.Errorf("%w: no v1 signature in webhook-signature", ErrSignature)
	}
	for _, secret := range secrets {
		key, err := decodeStandardSecret(secret)
		if err != nil {
			continue
		}
		want := standardMAC(key, id, unix, body)
		for _, got := range offered {
			if hmac.Equal(got, want) {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no signature matches", ErrSignature)
}

func standardMAC(key []byte, msgID string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// checkUnixTimestamp parses a signed unix-seconds timestamp and refuses it when it is further
// than tolerance from now, in the past or the future.
func checkUnixTimestamp(v string, now time.Time, tolerance time.Duration) (int64, error) {
	unix, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: timestamp is not unix seconds", ErrSignature)
	}
	// Compared in seconds: a timestamp far from now must not overflow a Duration.
	limit := int64(tolerance / time.Second)
	switch {
	case unix < now.Unix()-limit:
		return 0, fmt.Errorf("%w: timestamp too old", ErrSignature)
	case unix > now.Unix()+limit:
		return 0, fmt.Errorf("%w: timestamp in the future", ErrSignature)
	}
	return unix, nil
}
