package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// ProviderData is what the provider simulators read; *Store satisfies it.
type ProviderData interface {
	SearchCustomers(ctx context.Context, f CustomerFilter, limit int) ([]CustomerRow, error)
	AccountsOf(ctx context.Context, customerID string) ([]AccountRow, error)
	Account(ctx context.Context, bankCode, accountNumber string) (AccountRow, error)
	Statement(ctx context.Context, accountNumber string, limit int) ([]TransactionRow, error)
	Banks(ctx context.Context) ([]BankRow, error)
	Billers(ctx context.Context, category string) ([]BillerRow, error)
	Biller(ctx context.Context, billerID string) (BillerRow, error)
}

// hmacTolerance is how far a signed request's timestamp may be from the simulator's clock.
const hmacTolerance = 5 * time.Minute

// Providers simulates the hub's providers over HTTP: core banking (/cbs), billers (/bill), an
// SMS gateway (/sms), FCM-shaped push (/push) and an OAuth2 token endpoint (/oauth/token). Each
// demands the auth its issuer is configured with (the same environment as the hub's), and can
// be made to fail through /_sim/faults.
type Providers struct {
	store   ProviderData
	configs map[string]provider.Config
	faults  *faults
	sms     *records
	push    *records
	tokens  *tokens
	now     func() time.Time
	// inFlight tracks each issuer's concurrent requests, for tests of the hub's concurrency caps.
	inFlight *inFlight
}

// NewProviders builds the simulators for the issuers' configurations.
func NewProviders(store ProviderData, configs map[string]provider.Config, tokenTTL time.Duration) *Providers {
	return &Providers{store: store, configs: configs, faults: &faults{}, sms: newRecords(), push: newRecords(),
		tokens: &tokens{ttl: tokenTTL, issued: map[string]time.Time{}}, now: time.Now,
		inFlight: &inFlight{now: map[string]int{}, max: map[string]int{}}}
}

// Register mounts the simulators on mux.
func (p *Providers) Register(mux *http.ServeMux) {
	cbs := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, p.guard(provider.IssuerCBS, h)) }
	cbs("POST /cbs/customers/search", p.customerSearch)
	cbs("POST /cbs/accounts/search", p.accountSearch)
	cbs("GET /cbs/accounts/{account}", p.accountDetails)
	cbs("GET /cbs/accounts/{account}/statement", p.statement)
	cbs("GET /cbs/accounts/{account}/balance", p.balance)
	cbs("POST /cbs/mno/validate", p.mnoValidate)
	cbs("GET /cbs/banks", p.banks)
	cbs("POST /cbs/interbank/name-lookup", p.interbankName)
	bill := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, p.guard(provider.IssuerBill, h)) }
	bill("GET /bill/categories", p.billerCategories)
	bill("GET /bill/billers", p.billersOf)
	bill("GET /bill/billers/{biller}/packages", p.billerPackages)
	mux.Handle("POST /sms/messages", p.guard(provider.IssuerSMS, p.sendSMS))
	mux.Handle("POST /push/v1/projects/{project}/messages:send", p.guard(provider.IssuerPush, p.sendPush))
	mux.HandleFunc("POST /oauth/token", p.token)
	mux.HandleFunc("/_sim/faults", p.faults.serve)
	mux.HandleFunc("GET /_sim/providers/concurrency", p.inFlight.serve)
	mux.HandleFunc("DELETE /_sim/providers/concurrency", p.inFlight.serve)
	mux.HandleFunc("GET /_sim/sms/messages", p.sms.serve)
	mux.HandleFunc("GET /_sim/push/messages", p.push.serve)
	mux.HandleFunc("POST /_sim/oauth/revoke", func(w http.ResponseWriter, _ *http.Request) {
		p.tokens.revokeAll()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/oauth", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"issued": p.tokens.count()})
	})
}

// guard checks the issuer's auth, then plays any injected fault, then serves.
func (p *Providers) guard(issuer string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			providerError(w, http.StatusBadRequest, "INVALID_REQUEST", "unreadable body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := p.authorize(issuer, r, body); err != nil {
			providerError(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
			return
		}
		defer p.inFlight.enter(issuer)()
		p.faults.around(issuer, h)(w, r)
	})
}

// inFlight counts each issuer's requests being served and the most there ever were at once.
type inFlight struct {
	mu  sync.Mutex
	now map[string]int
	max map[string]int
}

// enter counts one request in; the function it returns counts it out.
func (f *inFlight) enter(issuer string) func() {
	f.mu.Lock()
	f.now[issuer]++
	f.max[issuer] = max(f.max[issuer], f.now[issuer])
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.now[issuer]--
		f.mu.Unlock()
	}
}

// serve answers GET /_sim/providers/concurrency ({issuer: {in_flight, max}}); DELETE forgets
// the maxima.
func (f *inFlight) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodDelete {
		clear(f.max)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out := map[string]map[string]int{}
	for issuer, n := range f.max {
		out[issuer] = map[string]int{"in_flight": f.now[issuer], "max": n}
	}
	writeJSON(w, http.StatusOK, out)
}

func (p *Providers) authorize(issuer string, r *http.Request, body []byte) error {
	a := p.configs[issuer].Auth
	switch a.Type {
	case provider.AuthBearer:
		if !equal(r.Header.Get("Authorization"), "Bearer "+a.Token) {
			return errors.New("bearer token required")
		}
	case provider.AuthBasic:
		user, pass, ok := r.BasicAuth()
		if !ok || !equal(user, a.Username) || !equal(pass, a.Password) {
			return errors.New("basic credentials required")
		}
	case provider.AuthOAuth2:
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !p.tokens.valid(tok, p.now()) {
			return errors.New("valid access token required")
		}
	case provider.AuthHMAC:
		if err := provider.VerifyHMAC(r, body, a.HMACKeyID, a.HMACSecret, hmacTolerance, p.now()); err != nil {
			return err
		}
	}
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// respond writes v as XML when the caller asks for it, JSON otherwise.
func respond(w http.ResponseWriter, r *http.Request, v any) {
	if strings.Contains(r.Header.Get("Accept"), "xml") {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		_ = xml.NewEncoder(w).Encode(v)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		providerError(w, http.StatusBadRequest, "INVALID_REQUEST", "body must be JSON")
		return false
	}
	return true
}

// storeError answers a store failure: not found is the provider's 404, anything else a 500.
func storeError(w http.ResponseWriter, err error, code, what string) {
	if errors.Is(err, ErrNotFound) {
		providerError(w, http.StatusNotFound, code, what+" not found")
		return
	}
	providerError(w, http.StatusInternalServerError, "INTERNAL", "simulator store failed")
}

// --- core banking ---------------------------------------------------------------------------

func (p *Providers) customerSearch(w http.ResponseWriter, r *http.Request) {
	var in provider.CustomerSearchRequest
	if !decode(w, r, &in) {
		return
	}
	if in == (provider.CustomerSearchRequest{}) {
		providerError(w, http.StatusBadRequest, "INVALID_REQUEST", "give customer_id, phone, national_id or name")
		return
	}
	rows, err := p.store.SearchCustomers(r.Context(), CustomerFilter{CustomerID: in.CustomerID,
		Phone: strings.TrimPrefix(in.Phone, "+"), NationalID: in.NationalID, Name: in.Name}, 20)
	if err != nil {
		storeError(w, err, "", "")
		return
	}
	out := provider.CustomerSearchResponse{Customers: []provider.Customer{}}
	for _, c := range rows {
		out.Customers = append(out.Customers, provider.Customer{CustomerID: c.CustomerID, FullName: c.FullName,
			Phone: c.Phone, Email: c.Email, KYCStatus: c.KYCStatus})
	}
	respond(w, r, out)
}

func (p *Providers) accountSearch(w http.ResponseWriter, r *http.Request) {
	var in provider.AccountSearchRequest
	if !decode(w, r, &in) {
		return
	}
	customers, err := p.store.SearchCustomers(r.Context(), CustomerFilter{CustomerID: in.CustomerID}, 1)
	if err == nil && len(customers) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		storeError(w, err, "CUSTOMER_NOT_FOUND", "customer")
		return
	}
	rows, err := p.store.AccountsOf(r.Context(), in.CustomerID)
	if err != nil {
		storeError(w, err, "", "")
		return
	}
	out := provider.AccountSearchResponse{CustomerID: in.CustomerID, Accounts: []provider.AccountSummary{}}
	for _, a := range rows {
		out.Accounts = append(out.Accounts, summary(a))
	}
	respond(w, r, out)
}

func summary(a AccountRow) provider.AccountSummary {
	return provider.AccountSummary{AccountNumber: a.AccountNumber, AccountName: a.AccountName, Currency: a.Currency,
		Status: a.Status, Product: a.Product, Branch: a.Branch}
}

func (p *Providers) account(w http.ResponseWriter, r *http.Request) (AccountRow, bool) {
	a, err := p.store.Account(r.Context(), HomeBank, r.PathValue("account"))
	if err != nil {
		storeError(w, err, "ACCOUNT_NOT_FOUND", "account")
		return a, false
	}
	return a, true
}

func (p *Providers) accountDetails(w http.ResponseWriter, r *http.Request) {
	a, ok := p.account(w, r)
	if !ok {
		return
	}
	customer := ""
	if a.CustomerID != nil {
		customer = *a.CustomerID
	}
	respond(w, r, provider.AccountDetailsResponse{AccountSummary: summary(a), CustomerID: customer, Balance: a.Balance,
		AvailableBalance: a.AvailableBalance, OpenedAt: a.OpenedAt.UTC().Format(time.RFC3339)})
}

func (p *Providers) balance(w http.ResponseWriter, r *http.Request) {
	a, ok := p.account(w, r)
	if !ok {
		return
	}
	respond(w, r, provider.BalanceResponse{AccountNumber: a.AccountNumber, Currency: a.Currency, Balance: a.Balance,
		AvailableBalance: a.AvailableBalance, AsOf: p.now().UTC().Format(time.RFC3339)})
}

func (p *Providers) statement(w http.ResponseWriter, r *http.Request) {
	a, ok := p.account(w, r)
	if !ok {
		return
	}
	limit := 10
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n >= 1 && n <= 50 {
		limit = n
	}
	rows, err := p.store.Statement(r.Context(), a.AccountNumber, limit)
	if err != nil {
		storeError(w, err, "", "")
		return
	}
	out := provider.MiniStatementResponse{AccountNumber: a.AccountNumber, Currency: a.Currency,
		Entries: []provider.StatementEntry{}}
	for _, t := range rows {
		out.Entries = append(out.Entries, provider.StatementEntry{Reference: t.Reference,
			PostedAt: t.PostedAt.UTC().Format(time.RFC3339), Narration: t.Narration, Direction: t.Direction,
			Amount: t.Amount, BalanceAfter: t.BalanceAfter})
	}
	respond(w, r, out)
}

// operators maps mobile prefixes (after the 255 country code) to networks.
var operators = map[string]string{"71": "Tigo", "65": "Tigo", "67": "Tigo", "74": "Vodacom", "75": "Vodacom",
	"76": "Vodacom", "68": "Airtel", "69": "Airtel", "78": "Airtel", "62": "Halotel", "72": "Vodacom", "73": "TTCL",
	"77": "Zantel"}

func (p *Providers) mnoValidate(w http.ResponseWriter, r *http.Request) {
	var in provider.MNOValidateRequest
	if !decode(w, r, &in) {
		return
	}
	msisdn := strings.TrimPrefix(in.MSISDN, "+")
	out := provider.MNOValidateResponse{MSISDN: msisdn}
	if len(msisdn) == 12 && strings.HasPrefix(msisdn, "255") {
		out.Operator = operators[msisdn[3:5]]
	}
	if out.Operator != "" {
		if rows, err := p.store.SearchCustomers(r.Context(), CustomerFilter{Phone: msisdn}, 1); err == nil && len(rows) == 1 {
			out.Valid, out.RegisteredName = true, rows[0].FullName
		}
	}
	respond(w, r, out)
}

func (p *Providers) banks(w http.ResponseWriter, r *http.Request) {
	rows, err := p.store.Banks(r.Context())
	if err != nil {
		storeError(w, err, "", "")
		return
	}
	out := provider.BankDictionaryResponse{Banks: []provider.Bank{}}
	for _, b := range rows {
		out.Banks = append(out.Banks, provider.Bank{BankCode: b.BankCode, Name: b.Name, SwiftCode: b.SwiftCode})
	}
	respond(w, r, out)
}

func (p *Providers) interbankName(w http.ResponseWriter, r *http.Request) {
	var in provider.InterbankNameRequest
	if !decode(w, r, &in) {
		return
	}
	a, err := p.store.Account(r.Context(), in.BankCode, in.AccountNumber)
	if err != nil {
		storeError(w, err, "ACCOUNT_NOT_FOUND", "account")
		return
	}
	respond(w, r, provider.InterbankNameResponse{BankCode: a.BankCode, AccountNumber: a.AccountNumber,
		AccountName: a.AccountName})
}

// --- billers --------------------------------------------------------------------------------

func (p *Providers) billerCategories(w http.ResponseWriter, r *http.Request) {
	rows, err := p.store.Billers(r.Context(), "")
	if err != nil {
		storeError(w, err, "", "")
		return
	}
	seen := map[string]bool{}
	out := provider.BillerCategoryResponse{Categories: []provider.BillerCategory{}}
	for _, b := range rows {
		if !seen[b.Category] {
			seen[b.Category] = true
			out.Categories = append(out.Categories, provider.BillerCategory{Code: b.Category, Name: billerCategories[b.Category]})
		}
	}
	sort.Slice(out.Categories, func(i, j int) bool { return out.Categories[i].Code < out.Categories[j].Code })
	respond(w, r, out)
}

func (p *Providers) billersOf(w http.ResponseWriter, r *http.Request) {
	category := r.URL.Query().Get("category")
	rows, err := p.store.Billers(r.Context(), category)
	if err == nil && len(rows) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		storeError(w, err, "CATEGORY_NOT_FOUND", "category")
		return
	}
	out := provider.BillerFetchResponse{Billers: []provider.Biller{}}
	for _, b := range rows {
		out.Billers = append(out.Billers, provider.Biller{BillerID: b.BillerID, Name: b.Name, Category: b.Category})
	}
	respond(w, r, out)
}

func (p *Providers) billerPackages(w http.ResponseWriter, r *http.Request) {
	b, err := p.store.Biller(r.Context(), r.PathValue("biller"))
	if err != nil {
		storeError(w, err, "BILLER_NOT_FOUND", "biller")
		return
	}
	out := provider.BillerPackageResponse{BillerID: b.BillerID, Packages: []provider.BillerPackage{}}
	if err := json.Unmarshal(b.Packages, &out.Packages); err != nil {
		storeError(w, err, "", "")
		return
	}
	respond(w, r, out)
}

// --- messaging ------------------------------------------------------------------------------

// records keeps what a messaging simulator received, deduplicated by Idempotency-Key: each
// message says how many requests carried its key ("received"), so a test can tell a repeat.
type records struct {
	mu    sync.Mutex
	list  []map[string]any
	byKey map[string]string // Idempotency-Key → message id
}

func newRecords() *records { return &records{byKey: map[string]string{}} }

// add records a message under key unless the key was seen (then it counts the repeat); it
// returns the message id and whether it is new.
func (rs *records) add(key string, msg map[string]any) (string, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if id, ok := rs.byKey[key]; ok && key != "" {
		for _, m := range rs.list {
			if m["message_id"] == id {
				m["received"] = m["received"].(int) + 1
			}
		}
		return id, false
	}
	id := randomID()
	msg["message_id"], msg["idempotency_key"], msg["received"] = id, key, 1
	rs.list = append(rs.list, msg)
	if key != "" {
		rs.byKey[key] = id
	}
	return id, true
}

func (rs *records) serve(w http.ResponseWriter, _ *http.Request) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	writeJSON(w, http.StatusOK, rs.list)
}

func (p *Providers) sendSMS(w http.ResponseWriter, r *http.Request) {
	var in provider.SendSMSRequest
	if !decode(w, r, &in) {
		return
	}
	if in.To == "" || in.Message == "" {
		providerError(w, http.StatusBadRequest, "INVALID_REQUEST", "to and message are required")
		return
	}
	id, _ := p.sms.add(r.Header.Get("Idempotency-Key"), map[string]any{"to": in.To, "message": in.Message,
		"sender_id": in.SenderID, "received_at": p.now().UTC()})
	respond(w, r, provider.SendSMSResponse{MessageID: id, Status: "accepted", To: in.To})
}

func (p *Providers) sendPush(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message struct {
			Token        string            `json:"token"`
			Notification map[string]string `json:"notification"`
			Data         map[string]string `json:"data"`
		} `json:"message"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Message.Token == "" {
		providerError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "message.token is required")
		return
	}
	if strings.HasPrefix(in.Message.Token, "unregistered") {
		providerError(w, http.StatusNotFound, "UNREGISTERED", "the registration token is not registered")
		return
	}
	id, _ := p.push.add(r.Header.Get("Idempotency-Key"), map[string]any{"project": r.PathValue("project"),
		"token": in.Message.Token, "notification": in.Message.Notification, "data": in.Message.Data})
	writeJSON(w, http.StatusOK, map[string]string{"name": "projects/" + r.PathValue("project") + "/messages/" + id})
}

// --- OAuth2 ---------------------------------------------------------------------------------

// tokens issues and checks the simulator's OAuth2 access tokens.
type tokens struct {
	ttl    time.Duration
	mu     sync.Mutex
	issued map[string]time.Time // token → expiry
	total  int
}

func (t *tokens) issue(now time.Time) string {
	tok := randomID() + randomID()
	t.mu.Lock()
	t.issued[tok] = now.Add(t.ttl)
	t.total++
	t.mu.Unlock()
	return tok
}

func (t *tokens) valid(tok string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.issued[tok]
	return ok && now.Before(exp)
}

func (t *tokens) revokeAll() {
	t.mu.Lock()
	t.issued = map[string]time.Time{}
	t.mu.Unlock()
}

func (t *tokens) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// token is the client-credentials grant: the client authenticates as any issuer configured
// with oauth2_client_credentials.
func (p *Providers) token(w http.ResponseWriter, r *http.Request) {
	if p.faults.apply("oauth", w, r) {
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	for _, cfg := range p.configs {
		if cfg.Auth.Type == provider.AuthOAuth2 && equal(id, cfg.Auth.ClientID) && equal(secret, cfg.Auth.ClientSecret) {
			writeJSON(w, http.StatusOK, map[string]any{"access_token": p.tokens.issue(p.now()), "token_type": "Bearer",
				"expires_in": int(p.tokens.ttl.Seconds())})
			return
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
