package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// connectorsBase is the prefix of the connectors' routes (the API's ConnectorsBase).
const connectorsBase = "/api/v1/connectors"

// paymentOperations are the payment connector's operations (seed 003's PaymentConnector). The
// provider is Stripe-shaped: form-encoded requests in bracket notation, JSON answers.
var paymentOperations = []Operation{
	{Key: OpPaymentChargeCreate, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/charges", Form: true, ProviderBody: chargeForm, FromProvider: chargeResponse,
		NewRequest: func() any { return &ChargeCreateRequest{} }, NewResponse: func() any { return &Charge{} }},
	{Key: OpPaymentChargeGet, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/charges/{charge_id}", FromProvider: chargeResponse,
		NewRequest: func() any { return &ChargeGetRequest{} }, NewResponse: func() any { return &Charge{} }},
	{Key: OpPaymentRefundCreate, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/refunds", Form: true, ProviderBody: refundForm, FromProvider: refundResponse,
		NewRequest: func() any { return &RefundCreateRequest{} }, NewResponse: func() any { return &Refund{} }},
	{Key: OpPaymentMethodCreate, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/payment-methods", Form: true, ProviderBody: paymentMethodForm, FromProvider: paymentMethodResponse,
		NewRequest: func() any { return &PaymentMethodCreateRequest{} }, NewResponse: func() any { return &PaymentMethod{} }},
	{Key: OpPaymentSubscriptionCreate, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/subscriptions", Form: true, ProviderBody: subscriptionForm, FromProvider: subscriptionResponse,
		NewRequest: func() any { return &SubscriptionCreateRequest{} }, NewResponse: func() any { return &Subscription{} }},
	{Key: OpPaymentSubscriptionCancel, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/subscriptions/{subscription_id}/cancel", Form: true, ProviderBody: cancelAtPeriodEndForm,
		FromProvider: subscriptionResponse,
		NewRequest:   func() any { return &SubscriptionCancelRequest{} }, NewResponse: func() any { return &Subscription{} }},
	{Key: OpPaymentSubscriptionCancelNow, Issuer: IssuerPayments, Permission: IssuerPayments, Base: connectorsBase,
		Route: "/payments/subscriptions/{subscription_id}/cancel", FromProvider: subscriptionResponse,
		NewRequest: func() any { return &SubscriptionCancelRequest{} }, NewResponse: func() any { return &Subscription{} }},
}

// Charge statuses (seed 003's PaymentStatus).
const (
	ChargeSucceeded         = "succeeded"
	ChargeFailed            = "failed"
	ChargePending           = "pending"
	ChargeRefunded          = "refunded"
	ChargePartiallyRefunded = "partially_refunded"
)

// --- requests ---------------------------------------------------------------------------------

// ChargeCreateRequest charges a payment source (seed 003's create_charge).
type ChargeCreateRequest struct {
	// Amount is in the currency's smallest unit (cents).
	Amount      int64  `json:"amount" validate:"required,min=1,max=99999999"`
	Currency    string `json:"currency" validate:"required,len=3,alpha"`
	Source      string `json:"source" validate:"required,min=1,max=255,printascii,excludes= "`
	Description string `json:"description,omitempty" validate:"omitempty,max=1000"`
	// Metadata (here and in the other requests): at most 50 keys of at most 40 characters,
	// without brackets (the form's bracket notation carries them), values of at most 500.
	Metadata map[string]string `json:"metadata,omitempty" validate:"omitempty,max=50,dive,keys,min=1,max=40,excludesall=[],nocontrol,endkeys,max=500"`
}

// ChargeGetRequest names a charge. The ids of the payment requests go into the provider's
// paths: each starts with a letter or digit and holds no / (the validator's resourceid).
type ChargeGetRequest struct {
	ChargeID string `json:"charge_id" validate:"required,min=1,max=255,printascii,excludes= ,resourceid"`
}

// RefundCreateRequest refunds a charge, all of what is left unless Amount says less (seed 003's
// create_refund).
type RefundCreateRequest struct {
	ChargeID string            `json:"charge_id" validate:"required,min=1,max=255,printascii,excludes= ,resourceid"`
	Amount   *int64            `json:"amount,omitempty" validate:"omitempty,min=1,max=99999999"`
	Reason   string            `json:"reason,omitempty" validate:"omitempty,oneof=duplicate fraudulent requested_by_customer"`
	Metadata map[string]string `json:"metadata,omitempty" validate:"omitempty,max=50,dive,keys,min=1,max=40,excludesall=[],nocontrol,endkeys,max=500"`
}

// PaymentMethodCreateRequest saves a card with the provider (seed 003's create_payment_method).
// The API seals the card number and CVC (Seal) before the request reaches a workflow; the worker
// opens them in its memory only (OpenSealed) to build the provider's form.
type PaymentMethodCreateRequest struct {
	Type     string            `json:"type" validate:"required,oneof=card"`
	Card     CardDetails       `json:"card" validate:"required"`
	Metadata map[string]string `json:"metadata,omitempty" validate:"omitempty,max=50,dive,keys,min=1,max=40,excludesall=[],nocontrol,endkeys,max=500"`
}

// CardDetails is a card: its number and CVC in clear as the client sends them, sealed (and the
// last four digits kept) once the API has them.
type CardDetails struct {
	Number       string `json:"number,omitempty" validate:"required_without=SealedNumber,omitempty,numeric,min=12,max=19"`
	ExpMonth     int    `json:"exp_month" validate:"required,min=1,max=12"`
	ExpYear      int    `json:"exp_year" validate:"required,min=2000,max=2100"`
	CVC          string `json:"cvc,omitempty" validate:"omitempty,numeric,min=3,max=4"`
	SealedNumber string `json:"sealed_number,omitempty" validate:"omitempty,max=1024,printascii"`
	SealedCVC    string `json:"sealed_cvc,omitempty" validate:"omitempty,max=1024,printascii"`
	Last4        string `json:"last4,omitempty" validate:"omitempty,len=4,numeric"`
}

// SealedRequest is a typed request carrying sealed fields that the worker opens, in its memory
// only, before the call.
type SealedRequest interface {
	OpenSealed(open func(string) (string, error)) error
}

// ErrCardSealed is a card whose number is still sealed when the provider's form is built.
var ErrCardSealed = errors.New("the card number is sealed: the worker opens it before the call")

// Seal replaces the card number and CVC with what seal makes of them, keeping the number's last
// four digits: what follows the request (workflow input and history, the log) holds no card
// data in clear. A card already sealed is left as it is.
func (r *PaymentMethodCreateRequest) Seal(seal func(string) (string, error)) error {
	c := &r.Card
	if c.Number == "" {
		if c.SealedNumber != "" {
			return nil
		}
		return errors.New("the card has no number to seal")
	}
	sealedNumber, err := seal(c.Number)
	if err != nil {
		return fmt.Errorf("sealing the card number: %w", err)
	}
	var sealedCVC string
	if c.CVC != "" {
		if sealedCVC, err = seal(c.CVC); err != nil {
			return fmt.Errorf("sealing the card's CVC: %w", err)
		}
	}
	if len(c.Number) >= 4 {
		c.Last4 = c.Number[len(c.Number)-4:]
	}
	c.SealedNumber, c.SealedCVC = sealedNumber, sealedCVC
	c.Number, c.CVC = "", ""
	return nil
}

// OpenSealed restores the card number and CVC that Seal sealed, for the call to the provider.
func (r *PaymentMethodCreateRequest) OpenSealed(open func(string) (string, error)) error {
	c := &r.Card
	if c.SealedNumber != "" {
		number, err := open(c.SealedNumber)
		if err != nil {
			return fmt.Errorf("opening the card number: %w", err)
		}
		c.Number, c.SealedNumber = number, ""
	}
	if c.SealedCVC != "" {
		cvc, err := open(c.SealedCVC)
		if err != nil {
			return fmt.Errorf("opening the card's CVC: %w", err)
		}
		c.CVC, c.SealedCVC = cvc, ""
	}
	return nil
}

// SubscriptionItem is a price a subscription bills, Quantity times (1 when zero).
type SubscriptionItem struct {
	Price    string `json:"price" validate:"required,min=1,max=255,printascii,excludes= "`
	Quantity int    `json:"quantity,omitempty" validate:"min=0,max=10000"`
}

// SubscriptionCreateRequest subscribes a customer to prices (seed 003's create_subscription).
type SubscriptionCreateRequest struct {
	Customer string             `json:"customer" validate:"required,min=1,max=255,printascii,excludes= "`
	Items    []SubscriptionItem `json:"items" validate:"required,min=1,max=20,dive"`
	Metadata map[string]string  `json:"metadata,omitempty" validate:"omitempty,max=50,dive,keys,min=1,max=40,excludesall=[],nocontrol,endkeys,max=500"`
}

// SubscriptionCancelRequest names the subscription to cancel: at the end of its period
// (OpPaymentSubscriptionCancel) or at once (OpPaymentSubscriptionCancelNow).
type SubscriptionCancelRequest struct {
	SubscriptionID string `json:"subscription_id" validate:"required,min=1,max=255,printascii,excludes= ,resourceid"`
}

// --- the provider's forms ---------------------------------------------------------------------

// form is a request body in Stripe's bracket notation (metadata[order]=42, items[0][price]=…),
// its parameters in the order added: the same request always makes the same bytes, which an
// idempotency key's replay compares.
type form struct{ pairs [][2]string }

func (f *form) add(key, value string) { f.pairs = append(f.pairs, [2]string{key, value}) }

func (f *form) addInt(key string, n int64) { f.add(key, strconv.FormatInt(n, 10)) }

// addMetadata adds metadata[key]=value, keys in sorted order.
func (f *form) addMetadata(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f.add("metadata["+k+"]", m[k])
	}
}

func (f *form) encode() []byte {
	var b strings.Builder
	for i, p := range f.pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return []byte(b.String())
}

func chargeForm(req any, _ Config) ([]byte, error) {
	r := req.(*ChargeCreateRequest)
	var f form
	f.addInt("amount", r.Amount)
	f.add("currency", r.Currency)
	f.add("source", r.Source)
	if r.Description != "" {
		f.add("description", r.Description)
	}
	f.addMetadata(r.Metadata)
	return f.encode(), nil
}

func refundForm(req any, _ Config) ([]byte, error) {
	r := req.(*RefundCreateRequest)
	var f form
	f.add("charge", r.ChargeID)
	if r.Amount != nil {
		f.addInt("amount", *r.Amount)
	}
	if r.Reason != "" {
		f.add("reason", r.Reason)
	}
	f.addMetadata(r.Metadata)
	return f.encode(), nil
}

// paymentMethodForm carries the card number in clear: it exists only in the worker's memory
// and on the wire to the provider.
func paymentMethodForm(req any, _ Config) ([]byte, error) {
	r := req.(*PaymentMethodCreateRequest)
	c := r.Card
	switch {
	case c.Number == "" && c.SealedNumber != "":
		return nil, ErrCardSealed
	case c.Number == "":
		return nil, errors.New("the card has no number")
	}
	var f form
	f.add("type", r.Type)
	f.add("card[number]", c.Number)
	f.addInt("card[exp_month]", int64(c.ExpMonth))
	f.addInt("card[exp_year]", int64(c.ExpYear))
	if c.CVC != "" {
		f.add("card[cvc]", c.CVC)
	}
	f.addMetadata(r.Metadata)
	return f.encode(), nil
}

func subscriptionForm(req any, _ Config) ([]byte, error) {
	r := req.(*SubscriptionCreateRequest)
	var f form
	f.add("customer", r.Customer)
	for i, item := range r.Items {
		key := "items[" + strconv.Itoa(i) + "]"
		f.add(key+"[price]", item.Price)
		if item.Quantity > 0 {
			f.addInt(key+"[quantity]", int64(item.Quantity))
		}
	}
	f.addMetadata(r.Metadata)
	return f.encode(), nil
}

func cancelAtPeriodEndForm(any, Config) ([]byte, error) {
	var f form
	f.add("cancel_at_period_end", "true")
	return f.encode(), nil
}

// --- responses (seed 003's models) ------------------------------------------------------------

// Charge is seed 003's Charge. Status is succeeded, failed or pending as the provider says,
// refunded once all of it is refunded, partially_refunded before.
type Charge struct {
	ID          string            `json:"id"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Status      string            `json:"status"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"` // the latest refund's time, else the charge's
	Description *string           `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	// AmountRefunded is the sum of its refunds.
	AmountRefunded       int64          `json:"amount_refunded"`
	Refunds              []Refund       `json:"refunds"`
	PaymentMethodID      string         `json:"payment_method_id,omitempty"`
	PaymentMethodDetails map[string]any `json:"payment_method_details,omitempty"`
}

// Refund is seed 003's Refund.
type Refund struct {
	ID        string            `json:"id"`
	Amount    int64             `json:"amount"`
	Currency  string            `json:"currency"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	ChargeID  string            `json:"charge_id"`
	Reason    *string           `json:"reason"`
	Metadata  map[string]string `json:"metadata"`
}

// PaymentMethod is seed 003's PaymentMethod: a card's brand, last four digits and expiry, never
// its number.
type PaymentMethod struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	CreatedAt time.Time         `json:"created_at"`
	Metadata  map[string]string `json:"metadata"`
	Brand     string            `json:"brand,omitempty"`
	Last4     string            `json:"last4,omitempty"`
	ExpMonth  int               `json:"exp_month,omitempty"`
	ExpYear   int               `json:"exp_year,omitempty"`
}

// Subscription is seed 003's Subscription. Amount is what a period bills (each item's unit
// amount times its quantity); Currency, Interval and IntervalCount are the first item's price's.
type Subscription struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"` // the latest of created, period start, canceled, ended
	CurrentPeriodStart time.Time         `json:"current_period_start"`
	CurrentPeriodEnd   time.Time         `json:"current_period_end"`
	CustomerID         string            `json:"customer_id"`
	Metadata           map[string]string `json:"metadata"`
	Amount             *int64            `json:"amount"`
	Currency           string            `json:"currency,omitempty"`
	Interval           string            `json:"interval,omitempty"`
	IntervalCount      int               `json:"interval_count,omitempty"`
	TrialStart         *time.Time        `json:"trial_start"`
	TrialEnd           *time.Time        `json:"trial_end"`
	CanceledAt         *time.Time        `json:"canceled_at"`
	EndedAt            *time.Time        `json:"ended_at"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
}

// --- the provider's objects -------------------------------------------------------------------

type stripeRefund struct {
	ID       string            `json:"id"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Charge   string            `json:"charge"`
	Status   string            `json:"status"`
	Reason   *string           `json:"reason"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
}

type stripeCharge struct {
	ID                   string            `json:"id"`
	Amount               int64             `json:"amount"`
	AmountRefunded       int64             `json:"amount_refunded"`
	Currency             string            `json:"currency"`
	Status               string            `json:"status"`
	Refunded             bool              `json:"refunded"`
	Created              int64             `json:"created"`
	Description          *string           `json:"description"`
	Metadata             map[string]string `json:"metadata"`
	PaymentMethod        *string           `json:"payment_method"`
	PaymentMethodDetails map[string]any    `json:"payment_method_details"`
	Refunds              *struct {
		Data []stripeRefund `json:"data"`
	} `json:"refunds"`
}

type stripePaymentMethod struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
	Card     *struct {
		Brand    string `json:"brand"`
		Last4    string `json:"last4"`
		ExpMonth int    `json:"exp_month"`
		ExpYear  int    `json:"exp_year"`
	} `json:"card"`
}

type stripeSubscription struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	Created            int64             `json:"created"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	Customer           string            `json:"customer"`
	Metadata           map[string]string `json:"metadata"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CanceledAt         *int64            `json:"canceled_at"`
	EndedAt            *int64            `json:"ended_at"`
	TrialStart         *int64            `json:"trial_start"`
	TrialEnd           *int64            `json:"trial_end"`
	Items              struct {
		Data []struct {
			Quantity int64 `json:"quantity"`
			Price    struct {
				UnitAmount *int64 `json:"unit_amount"`
				Currency   string `json:"currency"`
				Recurring  *struct {
					Interval      string `json:"interval"`
					IntervalCount int    `json:"interval_count"`
				} `json:"recurring"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

// decodeObject reads a provider object, refusing one without an id (an answer that is not
// the object asked for).
func decodeObject(body []byte, v any, id func() string) error {
	if err := json.Unmarshal(body, v); err != nil {
		return err
	}
	if id() == "" {
		return errors.New("the answer has no id")
	}
	return nil
}

func chargeResponse(body []byte, _ string) (any, error) {
	var c stripeCharge
	if err := decodeObject(body, &c, func() string { return c.ID }); err != nil {
		return nil, err
	}
	return chargeFromProvider(c), nil
}

func chargeFromProvider(c stripeCharge) *Charge {
	out := &Charge{ID: c.ID, Amount: c.Amount, Currency: c.Currency, Status: c.Status, CreatedAt: unixTime(c.Created),
		Description: c.Description, Metadata: metadataOf(c.Metadata), AmountRefunded: c.AmountRefunded,
		Refunds: []Refund{}, PaymentMethodDetails: c.PaymentMethodDetails}
	if c.PaymentMethod != nil {
		out.PaymentMethodID = *c.PaymentMethod
	}
	out.UpdatedAt = out.CreatedAt
	if c.Refunds != nil {
		for _, r := range c.Refunds.Data {
			refund := refundFromProvider(r)
			out.Refunds = append(out.Refunds, *refund)
			if refund.CreatedAt.After(out.UpdatedAt) {
				out.UpdatedAt = refund.CreatedAt
			}
		}
	}
	switch {
	case c.Refunded || (c.Amount > 0 && c.AmountRefunded >= c.Amount):
		out.Status = ChargeRefunded
	case c.AmountRefunded > 0:
		out.Status = ChargePartiallyRefunded
	}
	return out
}

func refundResponse(body []byte, _ string) (any, error) {
	var r stripeRefund
	if err := decodeObject(body, &r, func() string { return r.ID }); err != nil {
		return nil, err
	}
	return refundFromProvider(r), nil
}

func refundFromProvider(r stripeRefund) *Refund {
	created := unixTime(r.Created)
	return &Refund{ID: r.ID, Amount: r.Amount, Currency: r.Currency, Status: r.Status, CreatedAt: created,
		UpdatedAt: created, ChargeID: r.Charge, Reason: r.Reason, Metadata: metadataOf(r.Metadata)}
}

func paymentMethodResponse(body []byte, _ string) (any, error) {
	var pm stripePaymentMethod
	if err := decodeObject(body, &pm, func() string { return pm.ID }); err != nil {
		return nil, err
	}
	out := &PaymentMethod{ID: pm.ID, Type: pm.Type, CreatedAt: unixTime(pm.Created), Metadata: metadataOf(pm.Metadata)}
	if pm.Card != nil {
		out.Brand, out.Last4, out.ExpMonth, out.ExpYear = pm.Card.Brand, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear
	}
	return out, nil
}

func subscriptionResponse(body []byte, _ string) (any, error) {
	var s stripeSubscription
	if err := decodeObject(body, &s, func() string { return s.ID }); err != nil {
		return nil, err
	}
	out := &Subscription{ID: s.ID, Status: s.Status, CreatedAt: unixTime(s.Created),
		CurrentPeriodStart: unixTime(s.CurrentPeriodStart), CurrentPeriodEnd: unixTime(s.CurrentPeriodEnd),
		CustomerID: s.Customer, Metadata: metadataOf(s.Metadata), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		TrialStart: unixTimePtr(s.TrialStart), TrialEnd: unixTimePtr(s.TrialEnd), CanceledAt: unixTimePtr(s.CanceledAt),
		EndedAt: unixTimePtr(s.EndedAt)}
	out.UpdatedAt = out.CreatedAt
	for _, t := range []*time.Time{&out.CurrentPeriodStart, out.CanceledAt, out.EndedAt} {
		if t != nil && t.After(out.UpdatedAt) {
			out.UpdatedAt = *t
		}
	}
	var amount int64
	priced := false
	for i, item := range s.Items.Data {
		if i == 0 {
			out.Currency = item.Price.Currency
			if r := item.Price.Recurring; r != nil {
				out.Interval, out.IntervalCount = r.Interval, r.IntervalCount
			}
		}
		if item.Price.UnitAmount != nil {
			amount += *item.Price.UnitAmount * item.Quantity
			priced = true
		}
	}
	if priced {
		out.Amount = &amount
	}
	return out, nil
}

// unixTime is a provider's unix seconds as UTC time.
func unixTime(secs int64) time.Time { return time.Unix(secs, 0).UTC() }

func unixTimePtr(secs *int64) *time.Time {
	if secs == nil {
		return nil
	}
	t := unixTime(*secs)
	return &t
}

// metadataOf is metadata that is never null in JSON.
func metadataOf(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
