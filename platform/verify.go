package platform

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Headers platforms sign their webhooks with.
const (
	HeaderHubSignature256      = "X-Hub-Signature-256"
	HeaderTelegramSecretToken  = "X-Telegram-Bot-Api-Secret-Token"
	HeaderSlackSignature       = "X-Slack-Signature"
	HeaderSlackTimestamp       = "X-Slack-Request-Timestamp"
	HeaderDiscordSignature     = "X-Signature-Ed25519"
	HeaderDiscordTimestamp     = "X-Signature-Timestamp"
	HeaderGitHubDelivery       = "X-GitHub-Delivery"
	HeaderGitHubEvent          = "X-GitHub-Event"
	HeaderStripeSignature      = "Stripe-Signature"
	maxChallengeBytes          = 256
	maxDeliveryIDBytes         = 200
	contentTypeFormURLEncoded  = "application/x-www-form-urlencoded"
	contentTypeTextPlain       = "text/plain; charset=utf-8"
	contentTypeApplicationJSON = "application/json"
)

// Verify checks that a webhook request was sent by the integration's platform: its signature
// (or secret token) over the raw body, made with the platform's signing secret or a rotated
// one not yet expired, and its signed timestamp within the integration's tolerance. It then
// names the delivery, and checks that the body normalizes. Slack's url_verification and
// Discord's PING come back with the Challenge to answer.
//
// Errors wrap ErrSignature (missing or wrong signature, timestamp out of tolerance; the reason
// never holds a secret), ErrMalformed (a correctly signed body that is not what the platform
// sends) or ErrUnsupported (an unknown platform).
func Verify(in Integration, req Inbound) (Verified, error) {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	if _, ok := specs[in.Platform]; !ok {
		return Verified{}, fmt.Errorf("%w: unknown platform %q", ErrUnsupported, in.Platform)
	}
	if in.Platform.Site() {
		return Verified{}, fmt.Errorf("%w: %s is a site platform and sends no signed webhooks", ErrUnsupported, in.Platform)
	}
	h := req.Header
	if h == nil {
		h = http.Header{}
	}
	v := verifier{in: in, h: h, body: req.Body, now: now,
		secrets: SigningSecrets(in, now), tolerance: in.Config.ToleranceOrDefault()}
	if len(v.secrets) == 0 {
		return Verified{}, fmt.Errorf("%w: no signing secret configured", ErrSignature)
	}
	var (
		out Verified
		err error
	)
	switch in.Platform {
	case WhatsApp:
		out, err = v.whatsApp()
	case Telegram:
		out, err = v.telegram()
	case Slack:
		out, err = v.slack()
	case Discord:
		out, err = v.discord()
	case GitHub:
		out, err = v.gitHub()
	case Stripe:
		out, err = v.stripe()
	case Standard:
		out, err = v.standard()
	case HMAC:
		out, err = v.hmac()
	}
	if err != nil {
		return Verified{}, err
	}
	if out.Challenge == nil {
		// What is verified must normalize: a body of the wrong shape is refused now, while
		// the platform still waits for the answer, not later by the workflow.
		if _, err := Normalize(in, h, req.Body); err != nil {
			return Verified{}, err
		}
	}
	out.DeliveryID = boundID(out.DeliveryID, req.Body)
	return out, nil
}

type verifier struct {
	in        Integration
	h         http.Header
	body      []byte
	now       time.Time
	secrets   []string
	tolerance time.Duration
}

// whatsApp: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body under the
// app secret.
func (v verifier) whatsApp() (Verified, error) {
	if err := v.hexMAC(HeaderHubSignature256, "sha256=", sha256.New, v.body); err != nil {
		return Verified{}, err
	}
	var p waPayload
	if err := decodeObject(v.body, &p); err != nil {
		return Verified{}, err
	}
	var field string
	if len(p.Entry) > 0 && len(p.Entry[0].Changes) > 0 {
		field = p.Entry[0].Changes[0].Field
	}
	return Verified{DeliveryID: p.deliveryID(), EventType: field}, nil
}

// telegram: the secret token given to setWebhook comes back in
// X-Telegram-Bot-Api-Secret-Token.
func (v verifier) telegram() (Verified, error) {
	got := v.h.Get(HeaderTelegramSecretToken)
	if got == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderTelegramSecretToken)
	}
	match := 0
	for _, s := range v.secrets {
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(s))
	}
	if match != 1 {
		return Verified{}, fmt.Errorf("%w: secret token mismatch", ErrSignature)
	}
	u, err := decodeTelegramUpdate(v.body)
	if err != nil {
		return Verified{}, err
	}
	return Verified{DeliveryID: strconv.FormatInt(u.id, 10), EventType: u.kind}, nil
}

// slack: X-Slack-Signature is "v0=" and the hex HMAC-SHA256 of "v0:" timestamp ":" body under
// the signing secret; X-Slack-Request-Timestamp is within tolerance.
func (v verifier) slack() (Verified, error) {
	ts := v.h.Get(HeaderSlackTimestamp)
	if ts == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderSlackTimestamp)
	}
	if _, err := checkUnixTimestamp(ts, v.now, v.tolerance); err != nil {
		return Verified{}, err
	}
	if err := v.hexMAC(HeaderSlackSignature, "v0=", sha256.New, []byte("v0:"+ts+":"), v.body); err != nil {
		return Verified{}, err
	}
	p, err := decodeSlack(v.h, v.body)
	if err != nil {
		return Verified{}, err
	}
	if p.Type == "url_verification" {
		if p.Challenge == "" || len(p.Challenge) > maxChallengeBytes {
			return Verified{}, fmt.Errorf("%w: url_verification without a usable challenge", ErrMalformed)
		}
		return Verified{DeliveryID: bodyHash(v.body), EventType: p.Type, Challenge: &Answer{
			Status: http.StatusOK, ContentType: contentTypeTextPlain, Body: []byte(p.Challenge)}}, nil
	}
	out := Verified{DeliveryID: p.EventID, EventType: p.Type}
	if p.Event != nil && p.Event.Type != "" {
		out.EventType = p.Event.Type
	}
	return out, nil
}

// discord: X-Signature-Ed25519 is the hex Ed25519 signature of X-Signature-Timestamp and the
// body under the application's public key; the timestamp is within tolerance.
func (v verifier) discord() (Verified, error) {
	sigHex, ts := v.h.Get(HeaderDiscordSignature), v.h.Get(HeaderDiscordTimestamp)
	if sigHex == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderDiscordSignature)
	}
	if ts == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderDiscordTimestamp)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Verified{}, fmt.Errorf("%w: %s is not a hex Ed25519 signature", ErrSignature, HeaderDiscordSignature)
	}
	if _, err := checkUnixTimestamp(ts, v.now, v.tolerance); err != nil {
		return Verified{}, err
	}
	msg := append([]byte(ts), v.body...)
	ok := false
	for _, s := range v.secrets {
		key, err := hex.DecodeString(s)
		if err == nil && len(key) == ed25519.PublicKeySize && ed25519.Verify(key, msg, sig) {
			ok = true
			break
		}
	}
	if !ok {
		return Verified{}, fmt.Errorf("%w: signature mismatch", ErrSignature)
	}
	var p discordPayload
	if err := decodeObject(v.body, &p); err != nil {
		return Verified{}, err
	}
	if p.webhookEvent() {
		// Webhook events: type 0 is the endpoint check, answered 204; type 1 carries an event.
		if p.Type == 0 {
			return Verified{DeliveryID: bodyHash(v.body), EventType: "PING",
				Challenge: &Answer{Status: http.StatusNoContent}}, nil
		}
		out := Verified{DeliveryID: bodyHash(v.body)}
		if p.Event != nil {
			out.EventType = p.Event.Type
		}
		return out, nil
	}
	if p.Type == discordPing {
		return Verified{DeliveryID: p.ID, EventType: "PING", Challenge: &Answer{
			Status: http.StatusOK, ContentType: contentTypeApplicationJSON, Body: []byte(`{"type":1}`)}}, nil
	}
	return Verified{DeliveryID: p.ID, EventType: discordTypeName(p.Type)}, nil
}

// gitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body under the
// webhook secret.
func (v verifier) gitHub() (Verified, error) {
	if err := v.hexMAC(HeaderHubSignature256, "sha256=", sha256.New, v.body); err != nil {
		return Verified{}, err
	}
	if _, err := gitHubJSON(v.h, v.body); err != nil {
		return Verified{}, err
	}
	return Verified{DeliveryID: v.h.Get(HeaderGitHubDelivery), EventType: v.h.Get(HeaderGitHubEvent)}, nil
}

// stripe: Stripe-Signature is "t=<unix>,v1=<hex>[,v1=<hex>...]", each v1 the HMAC-SHA256 of
// t "." body under the endpoint secret as given (whsec_ included); t is within tolerance.
func (v verifier) stripe() (Verified, error) {
	header := v.h.Get(HeaderStripeSignature)
	if header == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, HeaderStripeSignature)
	}
	var ts string
	var offered [][]byte
	for _, part := range strings.Split(header, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts == "" {
				ts = val
			}
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				offered = append(offered, b)
			}
		}
	}
	if ts == "" {
		return Verified{}, fmt.Errorf("%w: %s has no timestamp", ErrSignature, HeaderStripeSignature)
	}
	if len(offered) == 0 {
		return Verified{}, fmt.Errorf("%w: %s has no v1 signature", ErrSignature, HeaderStripeSignature)
	}
	if _, err := checkUnixTimestamp(ts, v.now, v.tolerance); err != nil {
		return Verified{}, err
	}
	if !anyMAC(v.secrets, sha256.New, offered, []byte(ts+"."), v.body) {
		return Verified{}, fmt.Errorf("%w: signature mismatch", ErrSignature)
	}
	var p struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := decodeObject(v.body, &p); err != nil {
		return Verified{}, err
	}
	return Verified{DeliveryID: p.ID, EventType: p.Type}, nil
}

// standard: Standard Webhooks (webhook-* or svix-* headers), see VerifyStandard.
func (v verifier) standard() (Verified, error) {
	id, err := VerifyStandard(v.secrets, v.h, v.body, v.now, v.tolerance)
	if err != nil {
		return Verified{}, err
	}
	if !json.Valid(v.body) {
		return Verified{}, fmt.Errorf("%w: body is not JSON", ErrMalformed)
	}
	return Verified{DeliveryID: id, EventType: jsonType(v.body)}, nil
}

// hmac: the integration's own scheme, see Config.
func (v verifier) hmac() (Verified, error) {
	c := v.in.Config
	got := v.h.Get(c.SignatureHeader)
	if got == "" {
		return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, c.SignatureHeader)
	}
	raw, ok := strings.CutPrefix(strings.TrimSpace(got), c.Prefix)
	if !ok {
		return Verified{}, fmt.Errorf("%w: %s lacks its prefix", ErrSignature, c.SignatureHeader)
	}
	sig, err := decodeSignature(raw, c.Encoding)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %s is not %s", ErrSignature, c.SignatureHeader, orDefault(c.Encoding, EncodingHex))
	}
	parts := [][]byte{v.body}
	if c.TimestampHeader != "" {
		ts := v.h.Get(c.TimestampHeader)
		if ts == "" {
			return Verified{}, fmt.Errorf("%w: missing %s header", ErrSignature, c.TimestampHeader)
		}
		if _, err := checkUnixTimestamp(ts, v.now, v.tolerance); err != nil {
			return Verified{}, err
		}
		if c.SignedPayload == SignedTimestampBody {
			parts = [][]byte{[]byte(ts + "."), v.body}
		}
	}
	if !anyMAC(v.secrets, hashFunc(c.Algorithm), [][]byte{sig}, parts...) {
		return Verified{}, fmt.Errorf("%w: signature mismatch", ErrSignature)
	}
	id, err := hmacDeliveryID(c, v.h, v.body)
	if err != nil {
		return Verified{}, err
	}
	return Verified{DeliveryID: id}, nil
}

// hexMAC checks a header holding prefix and a hex HMAC of the concatenated parts.
func (v verifier) hexMAC(header, prefix string, h func() hash.Hash, parts ...[]byte) error {
	got := v.h.Get(header)
	if got == "" {
		return fmt.Errorf("%w: missing %s header", ErrSignature, header)
	}
	raw, ok := strings.CutPrefix(strings.TrimSpace(got), prefix)
	if !ok {
		return fmt.Errorf("%w: %s does not start with %s", ErrSignature, header, prefix)
	}
	sig, err := hex.DecodeString(raw)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSignature, header)
	}
	if !anyMAC(v.secrets, h, [][]byte{sig}, parts...) {
		return fmt.Errorf("%w: signature mismatch", ErrSignature)
	}
	return nil
}

// anyMAC reports whether one of the offered MACs is the HMAC of the parts under one of the
// secrets, compared in constant time.
func anyMAC(secrets []string, h func() hash.Hash, offered [][]byte, parts ...[]byte) bool {
	for _, s := range secrets {
		m := hmac.New(h, []byte(s))
		for _, p := range parts {
			m.Write(p)
		}
		want := m.Sum(nil)
		for _, got := range offered {
			if hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

func hashFunc(algorithm string) func() hash.Hash {
	switch algorithm {
	case AlgorithmSHA1:
		return sha1.New
	case AlgorithmSHA512:
		return sha512.New
	}
	return sha256.New
}

func decodeSignature(s, encoding string) ([]byte, error) {
	if encoding != EncodingBase64 {
		return hex.DecodeString(s)
	}
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// hmacDeliveryID is the configured id header's value or the value at the configured JSON path,
// else the body hash.
func hmacDeliveryID(c Config, h http.Header, body []byte) (string, error) {
	switch {
	case c.IDHeader != "":
		return h.Get(c.IDHeader), nil
	case c.IDJSONPath != "":
		var doc any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return "", fmt.Errorf("%w: body is not JSON", ErrMalformed)
		}
		for _, key := range strings.Split(c.IDJSONPath, ".") {
			m, ok := doc.(map[string]any)
			if !ok {
				return "", nil
			}
			doc = m[key]
		}
		switch id := doc.(type) {
		case string:
			return id, nil
		case json.Number:
			return id.String(), nil
		}
	}
	return "", nil
}

// Challenge answers a platform's GET verification of the webhook URL. WhatsApp (Meta) sends
// hub.mode=subscribe, hub.verify_token and hub.challenge; the answer is the challenge when the
// token is the integration's verify_token. A wrong token or mode is ErrForbidden, a missing or
// oversized challenge ErrMalformed; platforms without such a check answer ErrUnsupported.
func Challenge(in Integration, q url.Values) (Answer, error) {
	if in.Platform != WhatsApp {
		return Answer{}, fmt.Errorf("%w: %s has no verification challenge", ErrUnsupported, in.Platform)
	}
	want := in.Credentials.Fields[FieldVerifyToken]
	got := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || want == "" ||
		subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return Answer{}, ErrForbidden
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" || len(challenge) > maxChallengeBytes {
		return Answer{}, fmt.Errorf("%w: hub.challenge missing or longer than %d bytes", ErrMalformed, maxChallengeBytes)
	}
	return Answer{Status: http.StatusOK, ContentType: contentTypeTextPlain, Body: []byte(challenge)}, nil
}

// Limits of the headers kept with a delivery.
const (
	maxStoredHeaders     = 64
	maxStoredHeaderBytes = 1024
)

// StoredHeaders are the request headers safe to keep with a delivery: the first value of each
// (at most 1 KiB), under canonical names, at most 64 headers, without credentials or
// signatures — Authorization, cookies, and every header whose name speaks of a signature, a
// secret, a token, a key or a password.
func StoredHeaders(h http.Header) map[string]string {
	names := make([]string, 0, len(h))
	for name, vals := range h {
		if len(vals) > 0 && !sensitiveHeader(name) {
			names = append(names, http.CanonicalHeaderKey(name))
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	if len(names) > maxStoredHeaders {
		names = names[:maxStoredHeaders]
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		v := h.Get(name)
		if v == "" {
			// A non-canonical key set directly in the map.
			for k, vals := range h {
				if http.CanonicalHeaderKey(k) == name && len(vals) > 0 {
					v = vals[0]
					break
				}
			}
		}
		if len(v) > maxStoredHeaderBytes {
			v = v[:maxStoredHeaderBytes]
		}
		out[name] = v
	}
	return out
}

func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, word := range []string{"signature", "secret", "token", "auth", "api-key", "apikey", "password"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

// bodyHash is the delivery id of a request without one: "sha256:" and the hex SHA-256 of the
// body.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// boundID keeps a delivery id short and printable: an empty one becomes the body hash, a long
// or unprintable one its own hash.
func boundID(id string, body []byte) string {
	if id == "" {
		return bodyHash(body)
	}
	if len(id) > maxDeliveryIDBytes || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return bodyHash([]byte(id))
	}
	return id
}

// decodeObject decodes a JSON object; anything else is ErrMalformed.
func decodeObject(body []byte, v any) error {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %s is not a %s", e.Field, e.Type)
	}
	return "invalid JSON"
}

// jsonType is the body's top-level "type" string, if it has one.
func jsonType(body []byte) string {
	var p struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	s, _ := p.Type.(string)
	return s
}

// formPayload is the JSON a form-encoded webhook carries in its payload field.
func formPayload(h http.Header, body []byte) ([]byte, bool) {
	if !strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), contentTypeFormURLEncoded) {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("payload") {
		return nil, false
	}
	return []byte(form.Get("payload")), true
}

// gitHubJSON is a GitHub delivery's JSON, sent as the body or, for form-encoded hooks, as the
// payload field.
func gitHubJSON(h http.Header, body []byte) ([]byte, error) {
	if p, ok := formPayload(h, body); ok {
		body = p
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(body) {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	return body, nil
}

// Accepted is the answer a platform requires once the hub has taken a webhook, when it requires
// one: Discord fails an interaction not answered within 3 seconds, so a command or a modal is
// answered "deferred" (type 5: the app replies later through the interaction's token) and a
// component "deferred update" (type 6). Nil when the platform takes any 2xx.
func Accepted(n Name, eventType string) *Answer {
	if n != Discord {
		return nil
	}
	switch eventType {
	case "APPLICATION_COMMAND", "MODAL_SUBMIT":
		return &Answer{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"type":5}`)}
	case "MESSAGE_COMPONENT":
		return &Answer{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"type":6}`)}
	}
	return nil
}
