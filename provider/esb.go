package provider

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-hub/switchyard/transaction"
)

// ESB request data formats (ESB_REQUEST_DATA_FORMAT).
const (
	ESBFormatJSON = "json"
	ESBFormatXML  = "xml"
)

// ESBConfig is how the worker reaches the National ESB (GovESB). Every value stays in the
// worker: the token, the client secret and the keys never enter workflow history or logs.
type ESBConfig struct {
	// TokenURL issues access tokens (OAuth2 client credentials, form-encoded).
	TokenURL string `envconfig:"GOVESB_TOKEN_URL"`
	// EngineURL takes the signed requests.
	EngineURL string `envconfig:"GOVESB_ENGINE_URL"`
	// GrantType is the token request's grant_type.
	GrantType    string `envconfig:"GOVESB_GRANT_TYPE" default:"client_credentials"`
	ClientID     string `envconfig:"ESB_CLIENT_ID"`
	ClientSecret string `envconfig:"ESB_CLIENT_SECRET"`
	// DataFormat is how requests are written: json (the default) or xml.
	DataFormat string `envconfig:"ESB_REQUEST_DATA_FORMAT" default:"json"`
	// ClientPrivateKey signs requests: ECDSA P-256, PEM or base64 DER, PKCS#8 or SEC 1.
	ClientPrivateKey string `envconfig:"CLIENT_PRIVATE_KEY"`
	// PublicKey is the engine's (GOV_ESB_PUBLIC_KEY): answers are verified with it.
	PublicKey string `envconfig:"GOV_ESB_PUBLIC_KEY"`
}

// Validate rejects settings that are given but unusable; unset settings are allowed (the relay
// then fails its transactions with ESB_NOT_CONFIGURED).
func (c ESBConfig) Validate() error {
	switch strings.ToLower(c.DataFormat) {
	case "", ESBFormatJSON, ESBFormatXML:
	default:
		return fmt.Errorf("ESB_REQUEST_DATA_FORMAT=%q: want json or xml", c.DataFormat)
	}
	for name, raw := range map[string]string{"GOVESB_TOKEN_URL": c.TokenURL, "GOVESB_ENGINE_URL": c.EngineURL} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s is not an http(s) URL", name)
		}
	}
	if c.ClientPrivateKey != "" {
		if _, err := ParseESBPrivateKey(c.ClientPrivateKey); err != nil {
			return fmt.Errorf("CLIENT_PRIVATE_KEY: %w", err)
		}
	}
	if c.PublicKey != "" {
		if _, err := ParseESBPublicKey(c.PublicKey); err != nil {
			return fmt.Errorf("GOV_ESB_PUBLIC_KEY: %w", err)
		}
	}
	return nil
}

// missing names the settings the relay needs that are unset.
func (c ESBConfig) missing() []string {
	var out []string
	for _, s := range []struct{ name, value string }{{"GOVESB_TOKEN_URL", c.TokenURL}, {"GOVESB_ENGINE_URL", c.EngineURL},
		{"ESB_CLIENT_ID", c.ClientID}, {"ESB_CLIENT_SECRET", c.ClientSecret}, {"CLIENT_PRIVATE_KEY", c.ClientPrivateKey},
		{"GOV_ESB_PUBLIC_KEY", c.PublicKey}} {
		if s.value == "" {
			out = append(out, s.name)
		}
	}
	return out
}

// ESBError is a relay that did not produce an answer. Type is a transaction error type: one of
// the ESB types (never retried) or an upstream type (retried as a mediator's failure would be).
type ESBError struct {
	Type   string
	Reason string
}

func (e *ESBError) Error() string { return e.Reason }

// ESBRequest is one request to relay.
type ESBRequest struct {
	Mode string // transaction.ESBModeNormal or transaction.ESBModePush
	Code string
	Body []byte
}

// ESBResponse is the engine's verified answer: its esbBody.
type ESBResponse struct {
	RequestID   string
	ContentType string
	Body        []byte
}

// ESB relays requests through the GovESB engine. One value per worker: it caches the access
// token until shortly before it expires, and renews it once when the engine answers 401 (once
// for all the requests the engine refused that token to).
type ESB struct {
	cfg       ESBConfig
	http      *http.Client
	maxBody   int64
	key       *ecdsa.PrivateKey
	engineKey *ecdsa.PublicKey
	now       func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewESB builds the relay from cfg (validated before); answers above maxBody bytes are refused.
func NewESB(cfg ESBConfig, httpClient *http.Client, maxBody int64) *ESB {
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	e := &ESB{cfg: cfg, http: httpClient, maxBody: maxBody, now: time.Now}
	e.key, _ = ParseESBPrivateKey(cfg.ClientPrivateKey)
	e.engineKey, _ = ParseESBPublicKey(cfg.PublicKey)
	return e
}

// Relay signs req, sends it to the engine with a bearer token and returns the engine's answer
// once its signature verifies.
func (e *ESB) Relay(ctx context.Context, req ESBRequest) (ESBResponse, error) {
	if missing := e.cfg.missing(); len(missing) > 0 {
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeESBNotConfigured,
			Reason: "the ESB relay is not configured: set " + strings.Join(missing, ", ")}
	}
	if e.key == nil || e.engineKey == nil {
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeESBNotConfigured,
			Reason: "the ESB relay is not configured: CLIENT_PRIVATE_KEY or GOV_ESB_PUBLIC_KEY is not a P-256 key"}
	}
	body, contentType, err := e.envelope(req)
	if err != nil {
		return ESBResponse{}, err
	}
	refused := "" // the token the engine answered 401 to
	for {
		token, err := e.accessToken(ctx, refused)
		if err != nil {
			return ESBResponse{}, err
		}
		status, answer, err := e.post(ctx, token, body, contentType)
		if err != nil {
			return ESBResponse{}, err
		}
		if status == http.StatusUnauthorized && refused == "" {
			refused = token
			continue
		}
		return e.read(status, answer)
	}
}

// envelope writes the signed request: {"data": {...}, "signature": ...} or its XML rendering,
// the signature over the exact bytes of data.
func (e *ESB) envelope(req ESBRequest) ([]byte, string, error) {
	codeName := "apiCode"
	if req.Mode == transaction.ESBModePush {
		codeName = "pushCode"
	}
	var data []byte
	xmlFormat := strings.EqualFold(e.cfg.DataFormat, ESBFormatXML)
	if xmlFormat {
		var b bytes.Buffer
		b.WriteString("<data><" + codeName + ">")
		_ = xml.EscapeText(&b, []byte(req.Code))
		b.WriteString("</" + codeName + "><esbBody>")
		_ = xml.EscapeText(&b, req.Body)
		b.WriteString("</esbBody></data>")
		data = b.Bytes()
	} else {
		code, _ := json.Marshal(req.Code)
		data = []byte(`{"` + codeName + `":` + string(code) + `,"esbBody":` + string(ESBBody(req.Body)) + `}`)
	}
	sig, err := SignESB(e.key, data)
	if err != nil {
		return nil, "", &ESBError{Type: transaction.ErrTypeESBNotConfigured, Reason: err.Error()}
	}
	if xmlFormat {
		return []byte("<esbrequest>" + string(data) + "<signature>" + sig + "</signature></esbrequest>"), "application/xml", nil
	}
	return []byte(`{"data":` + string(data) + `,"signature":"` + sig + `"}`), "application/json", nil
}

// ESBBody is a client body as the engine's esbBody: JSON as it is, {} when empty, otherwise
// the body as a JSON string.
func ESBBody(body []byte) json.RawMessage {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return json.RawMessage(`{}`)
	case json.Valid(trimmed):
		var compact bytes.Buffer
		if json.Compact(&compact, trimmed) == nil {
			return compact.Bytes()
		}
	}
	var quoted bytes.Buffer
	enc := json.NewEncoder(&quoted)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(body))
	return bytes.TrimSuffix(quoted.Bytes(), []byte("\n"))
}

func (e *ESB) post(ctx context.Context, token string, body []byte, contentType string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.EngineURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, &ESBError{Type: transaction.ErrTypeESBNotConfigured, Reason: "GOVESB_ENGINE_URL is not usable"}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", contentType)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, esbTransportError(ctx, "ESB engine", err, false)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, e.maxBody+1))
	if err != nil {
		return 0, nil, esbTransportError(ctx, "ESB engine", err, false)
	}
	if int64(len(answer)) > e.maxBody {
		return 0, nil, &ESBError{Type: transaction.ErrTypeResponseTooLarge,
			Reason: fmt.Sprintf("the ESB engine answered more than %d bytes", e.maxBody)}
	}
	return resp.StatusCode, answer, nil
}

// read turns the engine's answer into the result: only a verified success passes.
func (e *ESB) read(status int, answer []byte) (ESBResponse, error) {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeESBAuthFailed,
			Reason: fmt.Sprintf("the ESB engine refused the access token (%d) after it was renewed", status)}
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeUpstreamStatus, Reason: fmt.Sprintf("the ESB engine answered %d", status)}
	case status < 200 || status > 299:
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed,
			Reason: fmt.Sprintf("the ESB engine answered %d: %s", status, engineMessage(answer))}
	}
	var data esbData
	var err error
	if strings.EqualFold(e.cfg.DataFormat, ESBFormatXML) && bytes.HasPrefix(bytes.TrimSpace(answer), []byte("<")) {
		data, err = e.readXML(answer)
	} else {
		data, err = e.readJSON(answer)
	}
	if err != nil {
		return ESBResponse{}, err
	}
	if !data.Success {
		msg := data.Message
		if msg == "" {
			msg = "no message"
		}
		return ESBResponse{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed,
			Reason: "the ESB engine answered success=false: " + truncateText(msg, 500)}
	}
	return ESBResponse{RequestID: data.RequestID, ContentType: data.contentType, Body: data.body}, nil
}

// esbData is the part of the engine's data the relay reads.
type esbData struct {
	Success     bool
	RequestID   string
	Message     string
	body        []byte
	contentType string
}

func (e *ESB) readJSON(answer []byte) (esbData, error) {
	var env struct {
		Data      json.RawMessage `json:"data"`
		Signature string          `json:"signature"`
	}
	if err := json.Unmarshal(answer, &env); err != nil || len(env.Data) == 0 {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed, Reason: "the ESB engine's answer is not an ESB envelope"}
	}
	// The signature covers the data's bytes exactly as they came: verified before they are read.
	if err := VerifyESB(e.engineKey, env.Data, env.Signature); err != nil {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBSignatureInvalid,
			Reason: "the ESB engine's answer is unsigned or its signature does not verify with GOV_ESB_PUBLIC_KEY"}
	}
	var data struct {
		Success   bool            `json:"success"`
		RequestID string          `json:"requestId"`
		Message   string          `json:"message"`
		EsbBody   json.RawMessage `json:"esbBody"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed, Reason: "the ESB engine's data is not an object"}
	}
	body := []byte(data.EsbBody)
	if len(body) == 0 {
		body = []byte("null")
	}
	return esbData{Success: data.Success, RequestID: data.RequestID, Message: data.Message, body: body,
		contentType: "application/json"}, nil
}

func (e *ESB) readXML(answer []byte) (esbData, error) {
	start, end := bytes.Index(answer, []byte("<data>")), bytes.LastIndex(answer, []byte("</data>"))
	if start < 0 || end < start {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed, Reason: "the ESB engine's answer is not an ESB envelope"}
	}
	raw := answer[start : end+len("</data>")]
	var env struct {
		Signature string `xml:"signature"`
	}
	_ = xml.Unmarshal(answer, &env)
	if err := VerifyESB(e.engineKey, raw, env.Signature); err != nil {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBSignatureInvalid,
			Reason: "the ESB engine's answer is unsigned or its signature does not verify with GOV_ESB_PUBLIC_KEY"}
	}
	var data struct {
		Success   bool   `xml:"success"`
		RequestID string `xml:"requestId"`
		Message   string `xml:"message"`
		EsbBody   struct {
			Text  string `xml:",chardata"`
			Inner string `xml:",innerxml"`
		} `xml:"esbBody"`
	}
	if err := xml.Unmarshal(raw, &data); err != nil {
		return esbData{}, &ESBError{Type: transaction.ErrTypeESBRequestFailed, Reason: "the ESB engine's data is not XML"}
	}
	out := esbData{Success: data.Success, RequestID: data.RequestID, Message: data.Message}
	switch text := strings.TrimSpace(data.EsbBody.Text); {
	case strings.Contains(data.EsbBody.Inner, "<"):
		out.body, out.contentType = []byte(data.EsbBody.Inner), "application/xml"
	case json.Valid([]byte(text)):
		out.body, out.contentType = []byte(text), "application/json"
	default:
		out.body, out.contentType = []byte(data.EsbBody.Text), "text/plain; charset=utf-8"
	}
	return out, nil
}

// accessToken returns the cached token, or a new one when there is none, it is about to expire,
// or it is refused: the token the engine answered 401 to. Requests refused together renew once:
// the first renews, the others find a token other than the one they were refused and use it.
func (e *ESB) accessToken(ctx context.Context, refused string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != "" && e.token != refused && e.now().Before(e.expires) {
		return e.token, nil
	}
	e.token = ""
	form := url.Values{"grant_type": {e.cfg.GrantType}, "client_id": {e.cfg.ClientID}, "client_secret": {e.cfg.ClientSecret}}
	if form.Get("grant_type") == "" {
		form.Set("grant_type", "client_credentials")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &ESBError{Type: transaction.ErrTypeESBNotConfigured, Reason: "GOVESB_TOKEN_URL is not usable"}
	}
	req.SetBasicAuth(e.cfg.ClientID, e.cfg.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return "", esbTransportError(ctx, "ESB token endpoint", err, true)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", esbTransportError(ctx, "ESB token endpoint", err, true)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &ESBError{Type: transaction.ErrTypeESBAuthFailed,
			Reason: fmt.Sprintf("the ESB token endpoint refused the client credentials (%d)", resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// Nothing reached the engine: safe to try again.
		return "", &ESBError{Type: transaction.ErrTypeUpstreamUnreachable,
			Reason: fmt.Sprintf("the ESB token endpoint answered %d", resp.StatusCode)}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", &ESBError{Type: transaction.ErrTypeESBAuthFailed, Reason: "the ESB token endpoint answered no access_token"}
	}
	lifetime := time.Minute
	if n, err := strconv.ParseFloat(strings.Trim(string(tok.ExpiresIn), `"`), 64); err == nil && n > 0 {
		lifetime = time.Duration(n * float64(time.Second))
	}
	e.token, e.expires = tok.AccessToken, e.now().Add(lifetime-tokenMargin(lifetime))
	return e.token, nil
}

// tokenMargin is how long before its expiry a token is renewed: a tenth of its lifetime, at
// most 30 seconds.
func tokenMargin(lifetime time.Duration) time.Duration { return min(lifetime/10, 30*time.Second) }

// esbTransportError sorts a failed round trip as the mediator's forwards are sorted. Before
// the engine (the token endpoint), nothing was relayed: always safe to retry.
func esbTransportError(ctx context.Context, peer string, err error, beforeEngine bool) error {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case beforeEngine:
		return &ESBError{Type: transaction.ErrTypeUpstreamUnreachable, Reason: peer + " failed: " + causeOf(err)}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &ESBError{Type: transaction.ErrTypeUpstreamUnreachable, Reason: peer + " unreachable: " + causeOf(err)}
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return &ESBError{Type: transaction.ErrTypeUpstreamTimeout, Reason: peer + " did not answer in time"}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return &ESBError{Type: transaction.ErrTypeUpstreamFailed, Reason: peer + " connection failed: " + causeOf(err)}
}

// causeOf drops the URL from a client error (its query could be private).
func causeOf(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// engineMessage reads a refusal's message ({"message"} or {"data": {"message"}}), else a
// short prefix of the body.
func engineMessage(answer []byte) string {
	var v struct {
		Message string `json:"message"`
		Data    struct {
			Message string `json:"message"`
		} `json:"data"`
	}
	if json.Unmarshal(answer, &v) == nil {
		if v.Message != "" {
			return truncateText(v.Message, 300)
		}
		if v.Data.Message != "" {
			return truncateText(v.Data.Message, 300)
		}
	}
	return truncateText(strings.TrimSpace(string(answer)), 300)
}

// truncateText makes an engine's text fit a failure message: valid UTF-8 (Temporal refuses
// anything else), no control characters (PostgreSQL refuses NUL), at most n bytes, cut at a
// character boundary.
func truncateText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
