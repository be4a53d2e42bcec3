package provider

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
)

// Issuers: the providers the hub calls, each configured by the environment variables with its
// prefix (CBS_, BILL_, SMS_, EMAIL_, PUSH_).
const (
	IssuerCBS   = "cbs"
	IssuerBill  = "bill"
	IssuerSMS   = "sms"
	IssuerEmail = "email"
	IssuerPush  = "push"
	// IssuerISO is the card switch, reached over ISO 8583 rather than HTTP.
	IssuerISO = "iso"
)

// Operation keys: the keys of an issuer's uri_map, and the permission a client needs to call them.
const (
	OpCustomerSearch       = "customer_search"
	OpAccountSearch        = "account_search"
	OpAccountDetails       = "account_details"
	OpMiniStatement        = "mini_statement"
	OpAccountBalance       = "account_balance"
	OpMNOValidate          = "mno_validate"
	OpBankDictionary       = "bank_dictionary"
	OpInterbankAccountName = "interbank_account_name"
	OpBillerCategory       = "biller_category"
	OpBillerFetch          = "biller_fetch"
	OpBillerPackage        = "biller_package"
	OpSendSMS              = "send_sms"
	OpSendEmail            = "send_email"
	OpSendPush             = "send_push"
	OpISOBalance           = "iso_balance"
)

// Operation describes one typed integration route.
type Operation struct {
	Key        string // uri_map key and workflow input
	Issuer     string
	Permission string
	// Base is the route's prefix: /api/v1/integration unless set.
	Base  string
	Route string
	// NewRequest and NewResponse allocate the typed bodies.
	NewRequest  func() any
	NewResponse func() any
	// ProviderBody builds the provider's request body from the typed request; nil sends the
	// request as JSON (methods with a body only).
	ProviderBody func(req any, cfg Config) ([]byte, error)
	// Form sends the body ProviderBody builds as application/x-www-form-urlencoded.
	Form bool
	// FromProvider maps the provider's answer onto the typed response; nil decodes it directly.
	FromProvider func(body []byte, format string) (any, error)
}

// Catalogue lists every operation, in route order: the issuers', then the connectors'.
var Catalogue = slices.Concat(issuerOperations, paymentOperations, erpOperations)

// issuerOperations are the operations of the issuers (cbs, bill, sms, email, push, iso).
var issuerOperations = []Operation{
	{Key: OpCustomerSearch, Issuer: IssuerCBS, Route: "/customer/search",
		NewRequest: func() any { return &CustomerSearchRequest{} }, NewResponse: func() any { return &CustomerSearchResponse{} }},
	{Key: OpAccountSearch, Issuer: IssuerCBS, Route: "/account/search",
		NewRequest: func() any { return &AccountSearchRequest{} }, NewResponse: func() any { return &AccountSearchResponse{} }},
	{Key: OpAccountDetails, Issuer: IssuerCBS, Route: "/account/details",
		NewRequest: func() any { return &AccountRequest{} }, NewResponse: func() any { return &AccountDetailsResponse{} }},
	{Key: OpMiniStatement, Issuer: IssuerCBS, Route: "/statement/search",
		NewRequest: func() any { return &MiniStatementRequest{} }, NewResponse: func() any { return &MiniStatementResponse{} }},
	{Key: OpAccountBalance, Issuer: IssuerCBS, Route: "/account/balance",
		NewRequest: func() any { return &AccountRequest{} }, NewResponse: func() any { return &BalanceResponse{} }},
	{Key: OpMNOValidate, Issuer: IssuerCBS, Route: "/mno/validate",
		NewRequest: func() any { return &MNOValidateRequest{} }, NewResponse: func() any { return &MNOValidateResponse{} }},
	{Key: OpBankDictionary, Issuer: IssuerCBS, Route: "/dictionary/bank",
		NewRequest: func() any { return &BankDictionaryRequest{} }, NewResponse: func() any { return &BankDictionaryResponse{} }},
	{Key: OpInterbankAccountName, Issuer: IssuerCBS, Route: "/interbank/account-name",
		NewRequest: func() any { return &InterbankNameRequest{} }, NewResponse: func() any { return &InterbankNameResponse{} }},
	{Key: OpBillerCategory, Issuer: IssuerBill, Route: "/biller/category",
		NewRequest: func() any { return &BillerCategoryRequest{} }, NewResponse: func() any { return &BillerCategoryResponse{} }},
	{Key: OpBillerFetch, Issuer: IssuerBill, Route: "/biller/fetch",
		NewRequest: func() any { return &BillerFetchRequest{} }, NewResponse: func() any { return &BillerFetchResponse{} }},
	{Key: OpBillerPackage, Issuer: IssuerBill, Route: "/biller/package",
		NewRequest: func() any { return &BillerPackageRequest{} }, NewResponse: func() any { return &BillerPackageResponse{} }},
	{Key: OpSendSMS, Issuer: IssuerSMS, Route: "/sms/send",
		NewRequest: func() any { return &SendSMSRequest{} }, NewResponse: func() any { return &SendSMSResponse{} }},
	{Key: OpSendEmail, Issuer: IssuerEmail, Route: "/email/send",
		NewRequest: func() any { return &SendEmailRequest{} }, NewResponse: func() any { return &SendEmailResponse{} }},
	{Key: OpSendPush, Issuer: IssuerPush, Route: "/push/send",
		NewRequest: func() any { return &SendPushRequest{} }, NewResponse: func() any { return &SendPushResponse{} },
		ProviderBody: fcmBody, FromProvider: fcmResponse},
	{Key: OpISOBalance, Issuer: IssuerISO, Base: "/api/v1/iso", Route: "/balance",
		NewRequest: func() any { return &ISOBalanceRequest{} }, NewResponse: func() any { return &ISOBalanceResponse{} }},
}

// The permission of an issuer's operation is its key; a connector's operations share the
// connector's name as theirs.
func init() {
	for i := range Catalogue {
		if Catalogue[i].Permission == "" {
			Catalogue[i].Permission = Catalogue[i].Key
		}
	}
}

// Lookup finds an operation by key.
func Lookup(key string) (Operation, bool) {
	for _, op := range Catalogue {
		if op.Key == key {
			return op, true
		}
	}
	return Operation{}, false
}

// --- core banking (cbs) -----------------------------------------------------------------------

// CustomerSearchRequest finds customers by any one of its fields.
type CustomerSearchRequest struct {
	CustomerID string `json:"customer_id,omitempty" validate:"omitempty,max=32,alphanum"`
	Phone      string `json:"phone,omitempty" validate:"omitempty,msisdn"`
	NationalID string `json:"national_id,omitempty" validate:"omitempty,max=32,alphanum"`
	Name       string `json:"name,omitempty" validate:"omitempty,min=2,max=100"`
}

// Customer is a core banking customer.
type Customer struct {
	CustomerID string `json:"customer_id" xml:"customer_id"`
	FullName   string `json:"full_name" xml:"full_name"`
	Phone      string `json:"phone" xml:"phone"`
	Email      string `json:"email" xml:"email"`
	KYCStatus  string `json:"kyc_status" xml:"kyc_status"`
}

// CustomerSearchResponse lists matching customers.
type CustomerSearchResponse struct {
	Customers []Customer `json:"customers" xml:"customers>customer"`
}

// AccountSearchRequest lists a customer's accounts.
type AccountSearchRequest struct {
	CustomerID string `json:"customer_id" validate:"required,max=32,alphanum"`
}

// AccountSummary is an account in a listing.
type AccountSummary struct {
	AccountNumber string `json:"account_number" xml:"account_number"`
	AccountName   string `json:"account_name" xml:"account_name"`
	Currency      string `json:"currency" xml:"currency"`
	Status        string `json:"status" xml:"status"`
	Product       string `json:"product" xml:"product"`
	Branch        string `json:"branch" xml:"branch"`
}

// AccountSearchResponse lists a customer's accounts.
type AccountSearchResponse struct {
	CustomerID string           `json:"customer_id" xml:"customer_id"`
	Accounts   []AccountSummary `json:"accounts" xml:"accounts>account"`
}

// AccountRequest names one account.
type AccountRequest struct {
	AccountNumber string `json:"account_number" validate:"required,numeric,min=8,max=20"`
}

// AccountDetailsResponse describes one account. Amounts are decimal strings.
type AccountDetailsResponse struct {
	AccountSummary
	CustomerID       string `json:"customer_id" xml:"customer_id"`
	Balance          string `json:"balance" xml:"balance"`
	AvailableBalance string `json:"available_balance" xml:"available_balance"`
	OpenedAt         string `json:"opened_at" xml:"opened_at"`
}

// MiniStatementRequest asks for an account's latest entries.
type MiniStatementRequest struct {
	AccountNumber string `json:"account_number" validate:"required,numeric,min=8,max=20"`
	Limit         int    `json:"limit,omitempty" validate:"omitempty,min=1,max=50"`
}

// StatementEntry is one posted entry.
type StatementEntry struct {
	Reference    string `json:"reference" xml:"reference"`
	PostedAt     string `json:"posted_at" xml:"posted_at"`
	Narration    string `json:"narration" xml:"narration"`
	Direction    string `json:"direction" xml:"direction"`
	Amount       string `json:"amount" xml:"amount"`
	BalanceAfter string `json:"balance_after" xml:"balance_after"`
}

// MiniStatementResponse is an account's latest entries, newest first.
type MiniStatementResponse struct {
	AccountNumber string           `json:"account_number" xml:"account_number"`
	Currency      string           `json:"currency" xml:"currency"`
	Entries       []StatementEntry `json:"entries" xml:"entries>entry"`
}

// BalanceResponse is an account's balance.
type BalanceResponse struct {
	AccountNumber    string `json:"account_number" xml:"account_number"`
	Currency         string `json:"currency" xml:"currency"`
	Balance          string `json:"balance" xml:"balance"`
	AvailableBalance string `json:"available_balance" xml:"available_balance"`
	AsOf             string `json:"as_of" xml:"as_of"`
}

// MNOValidateRequest checks a mobile-money number.
type MNOValidateRequest struct {
	MSISDN string `json:"msisdn" validate:"required,msisdn"`
}

// MNOValidateResponse says whether the number is registered and to whom.
type MNOValidateResponse struct {
	MSISDN         string `json:"msisdn" xml:"msisdn"`
	Valid          bool   `json:"valid" xml:"valid"`
	Operator       string `json:"operator" xml:"operator"`
	RegisteredName string `json:"registered_name,omitempty" xml:"registered_name"`
}

// BankDictionaryRequest lists banks (no filter yet; an empty object).
type BankDictionaryRequest struct{}

// Bank is a bank in the dictionary.
type Bank struct {
	BankCode  string `json:"bank_code" xml:"bank_code"`
	Name      string `json:"name" xml:"name"`
	SwiftCode string `json:"swift_code" xml:"swift_code"`
}

// BankDictionaryResponse lists banks.
type BankDictionaryResponse struct {
	Banks []Bank `json:"banks" xml:"banks>bank"`
}

// InterbankNameRequest looks up the name on an account at another bank.
type InterbankNameRequest struct {
	BankCode      string `json:"bank_code" validate:"required,alphanum,min=2,max=11"`
	AccountNumber string `json:"account_number" validate:"required,numeric,min=8,max=20"`
}

// InterbankNameResponse is the name on the account.
type InterbankNameResponse struct {
	BankCode      string `json:"bank_code" xml:"bank_code"`
	AccountNumber string `json:"account_number" xml:"account_number"`
	AccountName   string `json:"account_name" xml:"account_name"`
}

// ISOBalanceRequest is a balance inquiry through the card switch.
type ISOBalanceRequest struct {
	AccountNumber string `json:"account_number" validate:"required,numeric,min=8,max=20"`
}

// ISOBalanceResponse is the switch's approved answer to a balance inquiry. Declines are
// answered 402 with the ISO response code and its meaning.
type ISOBalanceResponse struct {
	AccountNumber    string `json:"account_number"`
	Currency         string `json:"currency"`
	Balance          string `json:"balance"`
	AvailableBalance string `json:"available_balance"`
	ResponseCode     string `json:"response_code"`
	STAN             string `json:"stan"`
	RRN              string `json:"rrn"`
}

// --- billers (bill) ---------------------------------------------------------------------------

// BillerCategoryRequest lists biller categories (an empty object).
type BillerCategoryRequest struct{}

// BillerCategory is a kind of biller.
type BillerCategory struct {
	Code string `json:"code" xml:"code"`
	Name string `json:"name" xml:"name"`
}

// BillerCategoryResponse lists categories.
type BillerCategoryResponse struct {
	Categories []BillerCategory `json:"categories" xml:"categories>category"`
}

// BillerFetchRequest lists the billers of a category.
type BillerFetchRequest struct {
	Category string `json:"category" validate:"required,max=32,alphanum"`
}

// Biller is a company bills are paid to.
type Biller struct {
	BillerID string `json:"biller_id" xml:"biller_id"`
	Name     string `json:"name" xml:"name"`
	Category string `json:"category" xml:"category"`
}

// BillerFetchResponse lists billers.
type BillerFetchResponse struct {
	Billers []Biller `json:"billers" xml:"billers>biller"`
}

// BillerPackageRequest lists a biller's packages.
type BillerPackageRequest struct {
	BillerID string `json:"biller_id" validate:"required,max=32,alphanum"`
}

// BillerPackage is something a biller sells.
type BillerPackage struct {
	Code     string `json:"code" xml:"code"`
	Name     string `json:"name" xml:"name"`
	Amount   string `json:"amount" xml:"amount"`
	Currency string `json:"currency" xml:"currency"`
}

// BillerPackageResponse lists a biller's packages.
type BillerPackageResponse struct {
	BillerID string          `json:"biller_id" xml:"biller_id"`
	Packages []BillerPackage `json:"packages" xml:"packages>package"`
}

// --- messaging (sms, email, push) -------------------------------------------------------------

// SendSMSRequest is one text message.
type SendSMSRequest struct {
	To       string `json:"to" validate:"required,msisdn"`
	Message  string `json:"message" validate:"required,min=1,max=918"`
	SenderID string `json:"sender_id,omitempty" validate:"omitempty,max=11,alphanum"`
}

// SendSMSResponse is the gateway's receipt.
type SendSMSResponse struct {
	MessageID string `json:"message_id" xml:"message_id"`
	Status    string `json:"status" xml:"status"`
	To        string `json:"to" xml:"to"`
}

// SendEmailRequest is one e-mail; text, html or both.
type SendEmailRequest struct {
	To      []string `json:"to" validate:"required,min=1,max=50,dive,email,max=254"`
	Cc      []string `json:"cc,omitempty" validate:"omitempty,max=50,dive,email,max=254"`
	Subject string   `json:"subject" validate:"required,max=998,nocontrol"`
	Text    string   `json:"text,omitempty" validate:"required_without=HTML,max=1000000"`
	HTML    string   `json:"html,omitempty" validate:"max=1000000"`
}

// SendEmailResponse is what the SMTP server accepted.
type SendEmailResponse struct {
	MessageID string   `json:"message_id"`
	Accepted  []string `json:"accepted"`
}

// SendPushRequest is one push notification to a device token.
type SendPushRequest struct {
	Token string            `json:"token" validate:"required,min=8,max=4096"`
	Title string            `json:"title" validate:"required,max=200"`
	Body  string            `json:"body" validate:"required,max=4000"`
	Data  map[string]string `json:"data,omitempty" validate:"omitempty,max=50"`
}

// SendPushResponse is the push service's receipt.
type SendPushResponse struct {
	MessageID string `json:"message_id"`
}

// fcmBody wraps a push in the FCM HTTP v1 shape: {"message": {"token", "notification", "data"}}.
func fcmBody(req any, _ Config) ([]byte, error) {
	r := req.(*SendPushRequest)
	return json.Marshal(map[string]any{"message": map[string]any{
		"token":        r.Token,
		"notification": map[string]string{"title": r.Title, "body": r.Body},
		"data":         r.Data,
	}})
}

// fcmResponse maps FCM's {"name": "projects/<p>/messages/<id>"} onto the receipt.
func fcmResponse(body []byte, _ string) (any, error) {
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return &SendPushResponse{MessageID: v.Name}, nil
}

// DecodeResponse maps a provider's successful answer onto op's typed response.
func DecodeResponse(op Operation, body []byte, format string) (any, error) {
	if op.FromProvider != nil {
		return op.FromProvider(body, format)
	}
	out := op.NewResponse()
	var err error
	if format == FormatXML {
		err = xml.Unmarshal(body, out)
	} else {
		err = json.Unmarshal(body, out)
	}
	return out, err
}

// HasBody reports whether an HTTP method carries a request body.
func HasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}
