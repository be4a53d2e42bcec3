package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// ESBConfig is the ESB engine simulator's side of the relay: the client credentials it accepts
// (the hub's own ESB_CLIENT_ID / ESB_CLIENT_SECRET), the hub's public key it verifies requests
// with, and its own private key it signs answers with (the hub's GOV_ESB_PUBLIC_KEY is its
// public half).
type ESBConfig struct {
	ClientID        string        `envconfig:"ESB_CLIENT_ID"`
	ClientSecret    string        `envconfig:"ESB_CLIENT_SECRET"`
	ClientPublicKey string        `envconfig:"CLIENT_PUBLIC_KEY"`
	PrivateKey      string        `envconfig:"SIM_ESB_PRIVATE_KEY"`
	TokenTTL        time.Duration `envconfig:"SIM_ESB_TOKEN_TTL" default:"5m"`
}

// ESBFaults make the engine simulator misbehave until cleared.
type ESBFaults struct {
	// TamperSignature signs something else than the answer's data: the signature is well
	// formed and wrong.
	TamperSignature bool `json:"tamper_signature"`
	// Unsigned leaves the signature out.
	Unsigned bool `json:"unsigned"`
	// Decline answers success=false.
	Decline bool `json:"decline"`
	// FailStatus answers this HTTP status instead (FailCount times; 0: until cleared).
	FailStatus int `json:"fail_status"`
	FailCount  int `json:"fail_count"`
}

// ESBStats is what the engine simulator saw.
type ESBStats struct {
	TokensIssued int `json:"tokens_issued"`
	Requests     int `json:"requests"`
	// Verified counts requests whose signature verified with CLIENT_PUBLIC_KEY; Rejected those
	// refused (bad signature, unknown or expired token).
	Verified int         `json:"verified"`
	Rejected int         `json:"rejected"`
	Last     *ESBRequest `json:"last,omitempty"`
}

// ESBRequest is the last verified request's data.
type ESBRequest struct {
	Format   string          `json:"format"`
	APICode  string          `json:"api_code,omitempty"`
	PushCode string          `json:"push_code,omitempty"`
	EsbBody  json.RawMessage `json:"esb_body"`
}

// ESB simulates the GovESB engine: POST /esb/token (client credentials → short-lived bearer
// tokens) and POST /esb/engine (a signed request → a signed answer echoing it), with faults
// under /_sim/esb/faults and counters under /_sim/esb/stats.
type ESB struct {
	cfg       ESBConfig
	clientKey *ecdsa.PublicKey
	key       *ecdsa.PrivateKey
	keyErr    error
	now       func() time.Time

	mu     sync.Mutex
	tokens map[string]time.Time
	faults ESBFaults
	stats  ESBStats
}

// NewESB builds the engine simulator; without keys its engine answers 503.
func NewESB(cfg ESBConfig) *ESB {
	e := &ESB{cfg: cfg, now: time.Now, tokens: map[string]time.Time{}}
	if cfg.TokenTTL <= 0 {
		e.cfg.TokenTTL = 5 * time.Minute
	}
	var err error
	if e.clientKey, err = provider.ParseESBPublicKey(cfg.ClientPublicKey); err != nil {
		e.keyErr = fmt.Errorf("CLIENT_PUBLIC_KEY: %w", err)
	}
	if e.key, err = provider.ParseESBPrivateKey(cfg.PrivateKey); err != nil && e.keyErr == nil {
		e.keyErr = fmt.Errorf("SIM_ESB_PRIVATE_KEY: %w", err)
	}
	return e
}

// Register mounts the engine simulator on mux.
func (e *ESB) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /esb/token", e.token)
	mux.HandleFunc("POST /esb/engine", e.engine)
	mux.HandleFunc("PUT /_sim/esb/faults", e.setFaults)
	mux.HandleFunc("DELETE /_sim/esb/faults", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		e.faults = ESBFaults{}
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/esb/stats", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		writeJSON(w, http.StatusOK, e.stats)
	})
}

// setFaults handles PUT /_sim/esb/faults: the faults to play, and {"expire_tokens": true} to
// expire every token issued so far (the next engine call answers 401).
func (e *ESB) setFaults(w http.ResponseWriter, r *http.Request) {
	var f struct {
		ESBFaults
		ExpireTokens bool `json:"expire_tokens"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		http.Error(w, `body: {"tamper_signature", "unsigned", "decline", "fail_status", "fail_count", "expire_tokens"}`,
			http.StatusBadRequest)
		return
	}
	if f.FailStatus != 0 && (f.FailStatus < 400 || f.FailStatus > 599) {
		http.Error(w, "fail_status must be 400 to 599", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.faults = f.ESBFaults
	if f.ExpireTokens {
		clear(e.tokens)
	}
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// token issues a bearer token for the configured client credentials (HTTP Basic, or the
// client_id and client_secret form fields).
func (e *ESB) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if e.cfg.ClientID == "" || subtle.ConstantTimeCompare([]byte(id), []byte(e.cfg.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(e.cfg.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	e.mu.Lock()
	e.tokens[token] = e.now().Add(e.cfg.TokenTTL)
	e.stats.TokensIssued++
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "bearer",
		"expires_in": int(e.cfg.TokenTTL / time.Second)})
}

// engine checks the bearer token and the request's signature, then answers with a signed
// echo of the request's data.
func (e *ESB) engine(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.stats.Requests++
	faults := e.faults
	expires, known := e.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	valid := known && e.now().Before(expires)
	if !valid {
		e.stats.Rejected++
	}
	if faults.FailStatus != 0 && faults.FailCount > 0 {
		if e.faults.FailCount--; e.faults.FailCount == 0 {
			e.faults = ESBFaults{}
		}
	}
	e.mu.Unlock()
	if e.keyErr != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "message": "the ESB simulator has no keys: " + e.keyErr.Error()})
		return
	}
	if !valid {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "message": "invalid or expired access token"})
		return
	}
	if faults.FailStatus != 0 {
		writeJSON(w, faults.FailStatus, map[string]any{"success": false, "message": "simulated engine failure"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "unreadable body"})
		return
	}
	xmlFormat := strings.Contains(r.Header.Get("Content-Type"), "xml")
	seen, data, signature, err := readESBRequest(body, xmlFormat)
	if err == nil {
		err = provider.VerifyESB(e.clientKey, data, signature)
	}
	if err != nil {
		e.mu.Lock()
		e.stats.Rejected++
		e.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "request refused: " + err.Error()})
		return
	}
	e.mu.Lock()
	e.stats.Verified++
	e.stats.Last = &seen
	e.mu.Unlock()
	e.answer(w, seen, faults, xmlFormat)
}

// readESBRequest finds the data (its exact bytes, which the signature covers) and the signature.
func readESBRequest(body []byte, xmlFormat bool) (ESBRequest, []byte, string, error) {
	if xmlFormat {
		start, end := bytes.Index(body, []byte("<data>")), bytes.LastIndex(body, []byte("</data>"))
		if start < 0 || end < start {
			return ESBRequest{}, nil, "", fmt.Errorf("no <data> element")
		}
		raw := body[start : end+len("</data>")]
		var env struct {
			Signature string `xml:"signature"`
		}
		var data struct {
			APICode  string `xml:"apiCode"`
			PushCode string `xml:"pushCode"`
			EsbBody  string `xml:"esbBody"`
		}
		if xml.Unmarshal(body, &env) != nil || xml.Unmarshal(raw, &data) != nil {
			return ESBRequest{}, nil, "", fmt.Errorf("malformed XML")
		}
		esbBody, _ := json.Marshal(data.EsbBody)
		return ESBRequest{Format: "xml", APICode: data.APICode, PushCode: data.PushCode, EsbBody: esbBody}, raw, env.Signature, nil
	}
	var env struct {
		Data      json.RawMessage `json:"data"`
		Signature string          `json:"signature"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Data) == 0 {
		return ESBRequest{}, nil, "", fmt.Errorf("not an ESB envelope")
	}
	var data struct {
		APICode  string          `json:"apiCode"`
		PushCode string          `json:"pushCode"`
		EsbBody  json.RawMessage `json:"esbBody"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return ESBRequest{}, nil, "", fmt.Errorf("data is not an object")
	}
	return ESBRequest{Format: "json", APICode: data.APICode, PushCode: data.PushCode, EsbBody: data.EsbBody}, env.Data,
		env.Signature, nil
}

// answer writes the signed echo: {"data": {"success", "requestId", "message", "esbBody":
// {"apiCode"|"pushCode", "received"}}, "signature"}, or its XML rendering.
func (e *ESB) answer(w http.ResponseWriter, seen ESBRequest, faults ESBFaults, xmlFormat bool) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	requestID := "esb-" + hex.EncodeToString(b)
	success, message := !faults.Decline, "OK"
	if faults.Decline {
		message = "the system behind the code refused the request"
	}
	codeName, code := "apiCode", seen.APICode
	if seen.PushCode != "" {
		codeName, code = "pushCode", seen.PushCode
	}
	var data []byte
	if xmlFormat {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "<data><success>%t</success><requestId>%s</requestId><message>%s</message><esbBody><%s>",
			success, requestID, message, codeName)
		_ = xml.EscapeText(&buf, []byte(code))
		var received string
		_ = json.Unmarshal(seen.EsbBody, &received)
		fmt.Fprintf(&buf, "</%s><received>", codeName)
		_ = xml.EscapeText(&buf, []byte(received))
		buf.WriteString("</received></esbBody></data>")
		data = buf.Bytes()
	} else {
		received := seen.EsbBody
		if len(received) == 0 {
			received = json.RawMessage("null")
		}
		data, _ = json.Marshal(map[string]any{"success": success, "requestId": requestID, "message": message,
			"esbBody": map[string]any{codeName: code, "received": received}})
	}
	signed := data
	if faults.TamperSignature {
		signed = append(append([]byte(nil), data...), ' ')
	}
	signature, err := provider.SignESB(e.key, signed)
	if err != nil || faults.Unsigned {
		signature = ""
	}
	if xmlFormat {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<esbresponse>" + string(data) + "<signature>" + signature + "</signature></esbresponse>"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"data":` + string(data) + `,"signature":"` + signature + `"}`))
}
