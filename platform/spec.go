package platform

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the version of the platform layer the status route reports.
const Version = "1"

// Limits of an integration's credentials and settings.
const (
	// MaxFieldBytes bounds every credential value and setting.
	MaxFieldBytes = 4096
	// MaxRotated bounds the rotated signing secrets an integration keeps.
	MaxRotated = 16
	// DefaultTolerance is how far a signed timestamp may be from now when the integration sets
	// none.
	DefaultTolerance = 5 * time.Minute
	// MinTolerance and MaxTolerance bound a configured tolerance.
	MinTolerance = time.Second
	MaxTolerance = 24 * time.Hour
)

// Capabilities an integration reports.
const (
	CapSendMessage       = "SEND_MESSAGE"
	CapReceiveMessage    = "RECEIVE_MESSAGE"
	CapReceiveEvent      = "RECEIVE_EVENT"
	CapWebhookValidation = "WEBHOOK_VALIDATION"
	CapHealthCheck       = "HEALTH_CHECK"
	// CapSyncContent: a site integration syncs content with its site.
	CapSyncContent = "SYNC_CONTENT"
	// CapTestConnection: a site integration's connection test.
	CapTestConnection = "TEST_CONNECTION"
)

// Credential field names.
const (
	FieldAccessToken   = "access_token"
	FieldPhoneNumberID = "phone_number_id"
	FieldAppSecret     = "app_secret"
	FieldVerifyToken   = "verify_token"
	FieldBotToken      = "bot_token"
	FieldSecretToken   = "secret_token"
	FieldSigningSecret = "signing_secret"
	FieldPublicKey     = "public_key"
	FieldWebhookSecret = "webhook_secret"
	FieldSecret        = "secret"
)

// Generic HMAC settings' values.
const (
	AlgorithmSHA1       = "sha1"
	AlgorithmSHA256     = "sha256"
	AlgorithmSHA512     = "sha512"
	EncodingHex         = "hex"
	EncodingBase64      = "base64"
	SignedBody          = "body"
	SignedTimestampBody = "timestamp.body"
)

// secretPrefix starts Stripe's endpoint secrets and Standard Webhooks secrets.
const secretPrefix = "whsec_"

// field is one credential a platform needs, with its format rule (a problem, or "").
type field struct {
	name  string
	check func(string) string
}

// spec is what a platform needs and where it lives.
type spec struct {
	fields []field
	// optional are fields the platform accepts without requiring them; rule says which of them
	// a given integration needs.
	optional []field
	// rule checks what depends on several fields (a custom site's auth_type), adding problems
	// by field path.
	rule func(fields map[string]string, problems map[string]string)
	// signing is the field webhooks are verified with; rotated secrets follow its format.
	signing string
	// apiBase is the real API of a messaging platform.
	apiBase string
}

var specs = map[Name]spec{
	WhatsApp: {
		fields: []field{
			{FieldAccessToken, noSpace},
			{FieldPhoneNumberID, digits},
			{FieldAppSecret, nil},
			{FieldVerifyToken, nil},
		},
		signing: FieldAppSecret,
		apiBase: "https://graph.facebook.com/v21.0",
	},
	Telegram: {
		fields: []field{
			{FieldBotToken, telegramBotToken},
			{FieldSecretToken, telegramSecretToken},
		},
		signing: FieldSecretToken,
		apiBase: "https://api.telegram.org",
	},
	Slack: {
		fields: []field{
			{FieldBotToken, noSpace},
			{FieldSigningSecret, nil},
		},
		signing: FieldSigningSecret,
		apiBase: "https://slack.com/api",
	},
	Discord: {
		fields: []field{
			{FieldBotToken, noSpace},
			{FieldPublicKey, ed25519PublicKey},
		},
		signing: FieldPublicKey,
		apiBase: "https://discord.com/api/v10",
	},
	GitHub:   {fields: []field{{FieldWebhookSecret, nil}}, signing: FieldWebhookSecret},
	Stripe:   {fields: []field{{FieldWebhookSecret, stripeSecret}}, signing: FieldWebhookSecret},
	Standard: {fields: []field{{FieldWebhookSecret, standardSecret}}, signing: FieldWebhookSecret},
	HMAC:     {fields: []field{{FieldSecret, nil}}, signing: FieldSecret},

	// Site platforms sign nothing: their credentials call the site.
	WordPress: {
		fields: []field{
			{FieldSiteURL, siteURL},
			{FieldUsername, basicUser},
			{FieldApplicationPassword, applicationPassword},
		},
		// The site's api key (its callbacks' credential) is the API's, derived from the site;
		// accepted here, never sent to WordPress.
		optional: []field{{FieldAPIKey, headerValue}},
	},
	Shopify: {
		fields: []field{
			{FieldShopDomain, shopDomain},
			{FieldAccessToken, noSpace},
		},
	},
	Custom: {
		fields: []field{
			{FieldBaseURL, siteURL},
			{FieldAuthType, authType},
		},
		optional: []field{
			{FieldUsername, basicUser},
			{FieldPassword, headerValue},
			{FieldToken, noSpace},
			{FieldHeader, headerName},
			{FieldAPIKey, headerValue},
		},
		rule: customAuth,
	},
	// The ERP's credentials are the hub's ERP connector's, filled in by the worker before a
	// client is built: a stored erp integration has none (see ERPSite).
	ERP: {optional: erpFields, rule: erpAuth},
}

// ParseName returns the platform named s.
func ParseName(s string) (Name, error) {
	n := Name(s)
	if _, ok := specs[n]; !ok {
		return "", &InvalidError{Fields: map[string]string{"platform": "unknown platform; one of " + namesList()}}
	}
	return n, nil
}

func namesList() string {
	s := make([]string, len(Names))
	for i, n := range Names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// Capabilities lists what an integration with the platform can do.
func Capabilities(n Name) []string {
	switch {
	case n.Messaging():
		return []string{CapSendMessage, CapReceiveMessage, CapWebhookValidation, CapHealthCheck}
	case n.Site():
		return []string{CapSyncContent, CapTestConnection}
	}
	return []string{CapReceiveEvent, CapWebhookValidation}
}

// CredentialFields lists the credential fields the platform requires, in a stable order (a
// custom site requires more by its auth_type: see OptionalCredentialFields).
func CredentialFields(n Name) []string {
	sp := specs[n]
	names := make([]string, len(sp.fields))
	for i, f := range sp.fields {
		names[i] = f.name
	}
	return names
}

// OptionalCredentialFields lists the further credential fields the platform accepts, in a
// stable order: a WordPress site's api_key; a custom site's username and password (auth_type
// basic), token (bearer), header and api_key (api_key).
func OptionalCredentialFields(n Name) []string {
	sp := specs[n]
	names := make([]string, len(sp.optional))
	for i, f := range sp.optional {
		names[i] = f.name
	}
	return names
}

// SigningField is the credential field the platform's webhooks are verified with (a Discord
// public key, the other platforms' shared secret).
func SigningField(n Name) string {
	return specs[n].signing
}

// InvalidError lists what is wrong with an integration's settings, by field path
// ("credentials.app_secret", "config.tolerance", "platform").
type InvalidError struct {
	Fields map[string]string
}

func (e *InvalidError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap makes an InvalidError match ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Validate checks the integration's platform, credentials and config: every required field
// present and well formed, no unknown field, rotated secrets within bounds, settings valid.
// The error is an *InvalidError.
func (in Integration) Validate() error {
	problems := map[string]string{}
	sp, ok := specs[in.Platform]
	if !ok {
		problems["platform"] = "unknown platform; one of " + namesList()
		return &InvalidError{Fields: problems}
	}
	known := map[string]bool{}
	for _, f := range sp.fields {
		known[f.name] = true
		path := "credentials." + f.name
		v, present := in.Credentials.Fields[f.name]
		switch {
		case !present || v == "":
			problems[path] = "required"
		case len(v) > MaxFieldBytes:
			problems[path] = fmt.Sprintf("at most %d bytes", MaxFieldBytes)
		case f.check != nil:
			if p := f.check(v); p != "" {
				problems[path] = p
			}
		}
	}
	for _, f := range sp.optional {
		known[f.name] = true
		path := "credentials." + f.name
		v, present := in.Credentials.Fields[f.name]
		switch {
		case !present:
		case len(v) > MaxFieldBytes:
			problems[path] = fmt.Sprintf("at most %d bytes", MaxFieldBytes)
		case v != "" && f.check != nil:
			if p := f.check(v); p != "" {
				problems[path] = p
			}
		}
	}
	for name := range in.Credentials.Fields {
		if !known[name] {
			problems["credentials."+name] = "unknown field for platform " + string(in.Platform)
		}
	}
	if sp.rule != nil {
		sp.rule(in.Credentials.Fields, problems)
	}
	if sp.signing == "" && len(in.Credentials.Rotated) > 0 {
		problems["credentials.rotated"] = "only for platforms whose webhooks are signed"
	}
	if len(in.Credentials.Rotated) > MaxRotated {
		problems["credentials.rotated"] = fmt.Sprintf("at most %d rotated secrets", MaxRotated)
	}
	check := sp.check(sp.signing)
	for i, r := range in.Credentials.Rotated {
		path := "credentials.rotated." + strconv.Itoa(i) + ".secret"
		switch {
		case r.Secret == "":
			problems[path] = "required"
		case len(r.Secret) > MaxFieldBytes:
			problems[path] = fmt.Sprintf("at most %d bytes", MaxFieldBytes)
		case check != nil:
			if p := check(r.Secret); p != "" {
				problems[path] = p
			}
		}
	}
	in.Config.validate(in.Platform, problems)
	if len(problems) > 0 {
		return &InvalidError{Fields: problems}
	}
	return nil
}

func (sp spec) check(name string) func(string) string {
	for _, f := range sp.fields {
		if f.name == name {
			return f.check
		}
	}
	return nil
}

func (c Config) validate(n Name, problems map[string]string) {
	for path, v := range map[string]string{
		"config.api_base_url": c.APIBaseURL, "config.tolerance": c.Tolerance,
		"config.signature_header": c.SignatureHeader, "config.algorithm": c.Algorithm,
		"config.encoding": c.Encoding, "config.prefix": c.Prefix,
		"config.timestamp_header": c.TimestampHeader, "config.signed_payload": c.SignedPayload,
		"config.id_header": c.IDHeader, "config.id_json_path": c.IDJSONPath,
	} {
		if len(v) > MaxFieldBytes {
			problems[path] = fmt.Sprintf("at most %d bytes", MaxFieldBytes)
		}
	}
	if c.Tolerance != "" {
		d, err := time.ParseDuration(c.Tolerance)
		switch {
		case err != nil:
			problems["config.tolerance"] = "a duration such as 5m or 30s"
		case d < MinTolerance || d > MaxTolerance:
			problems["config.tolerance"] = "between 1s and 24h"
		}
	}
	if c.APIBaseURL != "" {
		if !n.Messaging() {
			problems["config.api_base_url"] = "only messaging platforms call an API"
		} else if u, err := url.Parse(c.APIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			problems["config.api_base_url"] = "an absolute http or https URL without credentials, query or fragment"
		}
	}
	hmacSettings := map[string]string{
		"config.signature_header": c.SignatureHeader, "config.algorithm": c.Algorithm,
		"config.encoding": c.Encoding, "config.prefix": c.Prefix,
		"config.timestamp_header": c.TimestampHeader, "config.signed_payload": c.SignedPayload,
		"config.id_header": c.IDHeader, "config.id_json_path": c.IDJSONPath,
	}
	if n != HMAC {
		for path, v := range hmacSettings {
			if v != "" {
				problems[path] = "only for platform hmac"
			}
		}
		return
	}
	switch {
	case c.SignatureHeader == "":
		problems["config.signature_header"] = "required"
	case !validHeaderName(c.SignatureHeader):
		problems["config.signature_header"] = "not a valid header name"
	}
	if !slices.Contains([]string{"", AlgorithmSHA1, AlgorithmSHA256, AlgorithmSHA512}, c.Algorithm) {
		problems["config.algorithm"] = "one of sha1, sha256, sha512"
	}
	if !slices.Contains([]string{"", EncodingHex, EncodingBase64}, c.Encoding) {
		problems["config.encoding"] = "one of hex, base64"
	}
	if len(c.Prefix) > 64 {
		problems["config.prefix"] = "at most 64 bytes"
	}
	if c.TimestampHeader != "" && !validHeaderName(c.TimestampHeader) {
		problems["config.timestamp_header"] = "not a valid header name"
	}
	switch c.SignedPayload {
	case "", SignedBody:
		if c.TimestampHeader != "" {
			// An unsigned timestamp proves nothing: a captured request would pass with a fresh one.
			problems["config.signed_payload"] = "timestamp.body when timestamp_header is set: the timestamp must be signed"
		}
	case SignedTimestampBody:
		if c.TimestampHeader == "" {
			problems["config.timestamp_header"] = "required when signed_payload is timestamp.body"
		}
	default:
		problems["config.signed_payload"] = "one of body, timestamp.body"
	}
	if c.IDHeader != "" && c.IDJSONPath != "" {
		problems["config.id_header"] = "set id_header or id_json_path, not both"
	}
	if c.IDHeader != "" && !validHeaderName(c.IDHeader) {
		problems["config.id_header"] = "not a valid header name"
	}
	if c.IDJSONPath != "" && slices.Contains(strings.Split(c.IDJSONPath, "."), "") {
		problems["config.id_json_path"] = "a dotted path such as event.id"
	}
}

// ToleranceOrDefault is how far a signed timestamp may be from now: the configured tolerance,
// else DefaultTolerance.
func (c Config) ToleranceOrDefault() time.Duration {
	d, err := time.ParseDuration(c.Tolerance)
	if err != nil || d < MinTolerance || d > MaxTolerance {
		return DefaultTolerance
	}
	return d
}

// APIBase is the messaging platform's API the integration calls: the configured base URL,
// else the platform's real API. Empty for platforms without one.
func APIBase(n Name, c Config) string {
	if c.APIBaseURL != "" {
		return strings.TrimRight(c.APIBaseURL, "/")
	}
	return specs[n].apiBase
}

// SigningSecrets lists the secrets (for Discord, the public keys) a webhook may be signed
// with: the platform's signing field first, then the rotated secrets not yet expired at now.
func SigningSecrets(in Integration, now time.Time) []string {
	var secrets []string
	if v := in.Credentials.Fields[specs[in.Platform].signing]; v != "" {
		secrets = append(secrets, v)
	}
	for _, r := range in.Credentials.Rotated {
		if r.Secret != "" && (r.ExpiresAt == nil || now.Before(*r.ExpiresAt)) {
			secrets = append(secrets, r.Secret)
		}
	}
	return secrets
}

// Masked shows the credentials without their values: "****" and, for values of 12 characters
// or more, their last 4. Rotated secrets appear as "rotated.0", "rotated.1", ...
func (c Credentials) Masked() map[string]string {
	out := make(map[string]string, len(c.Fields)+len(c.Rotated))
	for k, v := range c.Fields {
		out[k] = mask(v)
	}
	for i, r := range c.Rotated {
		out["rotated."+strconv.Itoa(i)] = mask(r.Secret)
	}
	return out
}

func mask(v string) string {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) < 12 {
		return "****"
	}
	r := []rune(v)
	return "****" + string(r[len(r)-4:])
}

func noSpace(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "must not contain spaces or control characters"
	}
	return ""
}

func digits(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		return "digits only"
	}
	return ""
}

// telegramBotToken is "<bot id>:<secret>" as BotFather issues it; it is part of every API
// path, so nothing else may appear in it.
func telegramBotToken(v string) string {
	id, secret, ok := strings.Cut(v, ":")
	if !ok || id == "" || secret == "" || digits(id) != "" || !tokenChars(secret) {
		return "a bot token such as 123456:ABC-DEF1234ghIkl"
	}
	return ""
}

// telegramSecretToken follows setWebhook's rule: 1-256 of A-Z, a-z, 0-9, _ and -.
func telegramSecretToken(v string) string {
	if len(v) > 256 || !tokenChars(v) {
		return "1 to 256 characters of A-Z, a-z, 0-9, _ and -"
	}
	return ""
}

func tokenChars(v string) bool {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return v != ""
}

func ed25519PublicKey(v string) string {
	if b, err := hex.DecodeString(v); err != nil || len(b) != 32 {
		return "a hex Ed25519 public key (64 hex digits)"
	}
	return ""
}

func stripeSecret(v string) string {
	if !strings.HasPrefix(v, secretPrefix) || len(v) == len(secretPrefix) {
		return "a Stripe endpoint secret starting with whsec_"
	}
	return noSpace(v)
}

func standardSecret(v string) string {
	if _, err := decodeStandardSecret(v); err != nil {
		return "whsec_ followed by base64"
	}
	return ""
}

// decodeStandardSecret is the key of a Standard Webhooks secret: the base64 after whsec_.
func decodeStandardSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: a signing secret starts with whsec_", ErrInvalid)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("%w: a signing secret is whsec_ and base64", ErrInvalid)
	}
	return key, nil
}

// siteURL is an absolute http or https URL a site is called at: no credentials, query or
// fragment (they belong in the credentials, or nowhere).
func siteURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsFunc(v, unicode.IsSpace) {
		return "an absolute http or https URL without credentials, query or fragment"
	}
	return ""
}

// basicUser is an HTTP Basic auth user name: no colon, no control characters (WordPress user
// names may hold spaces).
func basicUser(v string) string {
	if strings.Contains(v, ":") || strings.ContainsFunc(v, unicode.IsControl) {
		return "must not contain a colon or control characters"
	}
	return ""
}

// applicationPassword is a WordPress application password, as WordPress shows it (groups of
// four characters with spaces) or without the spaces.
func applicationPassword(v string) string {
	if strings.ReplaceAll(v, " ", "") == "" || strings.ContainsFunc(v, func(r rune) bool { return r != ' ' && (r <= ' ' || r == 0x7f) }) {
		return "an application password such as abcd efgh ijkl mnop qrst uvwx"
	}
	return ""
}

// headerValue is a value sent in a header: no control characters.
func headerValue(v string) string {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "must not contain control characters"
	}
	return ""
}

func headerName(v string) string {
	if !validHeaderName(v) {
		return "not a valid header name"
	}
	return ""
}

// shopDomain is a shop's host (demo.myshopify.com), or an absolute http(s) URL of the shop (a
// simulator, a development proxy).
func shopDomain(v string) string {
	if strings.Contains(v, "://") {
		return siteURL(v)
	}
	const problem = "a shop domain such as demo.myshopify.com, or an absolute http or https URL"
	if len(v) > 253 || !strings.Contains(v, ".") {
		return problem
	}
	for label := range strings.SplitSeq(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.ContainsFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
			}) {
			return problem
		}
	}
	return ""
}

func authType(v string) string {
	if !slices.Contains(AuthTypes, v) {
		return "one of " + strings.Join(AuthTypes, ", ")
	}
	return ""
}

// customAuth requires the credentials of a custom site's auth_type, and refuses the others'.
func customAuth(fields map[string]string, problems map[string]string) {
	t := fields[FieldAuthType]
	if authType(t) != "" {
		return
	}
	needs := map[string][]string{AuthBasic: {FieldUsername, FieldPassword}, AuthBearer: {FieldToken},
		AuthAPIKey: {FieldAPIKey}}
	allowed := map[string][]string{AuthBasic: {FieldUsername, FieldPassword}, AuthBearer: {FieldToken},
		AuthAPIKey: {FieldHeader, FieldAPIKey}}
	for _, name := range needs[t] {
		if fields[name] == "" && problems["credentials."+name] == "" {
			problems["credentials."+name] = "required for auth_type " + t
		}
	}
	for _, name := range []string{FieldUsername, FieldPassword, FieldToken, FieldHeader, FieldAPIKey} {
		if _, present := fields[name]; present && !slices.Contains(allowed[t], name) {
			problems["credentials."+name] = "not used by auth_type " + t
		}
	}
}

// validHeaderName reports whether s is an HTTP header field name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
