package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

func providerBody(t *testing.T, key string, req any) string {
	t.Helper()
	o := op(key)
	require.NotNil(t, o.ProviderBody, key)
	b, err := o.ProviderBody(req, provider.Config{})
	require.NoError(t, err)
	return string(b)
}

func TestPaymentFormsUseBracketNotationInAFixedOrder(t *testing.T) {
	charge := &provider.ChargeCreateRequest{Amount: 2000, Currency: "usd", Source: "tok_visa", Description: "Order #42 & co",
		Metadata: map[string]string{"order": "42", "customer": "c 1", "batch": "b"}}
	body := providerBody(t, provider.OpPaymentChargeCreate, charge)
	require.Equal(t, "amount=2000&currency=usd&source=tok_visa&description=Order+%2342+%26+co"+
		"&metadata%5Bbatch%5D=b&metadata%5Bcustomer%5D=c+1&metadata%5Border%5D=42", body)
	for range 20 {
		require.Equal(t, body, providerBody(t, provider.OpPaymentChargeCreate, charge),
			"the same request makes the same bytes, which an idempotent replay compares")
	}
	values, err := url.ParseQuery(body)
	require.NoError(t, err)
	require.Equal(t, "42", values.Get("metadata[order]"))
	require.Equal(t, "Order #42 & co", values.Get("description"))

	require.Equal(t, "amount=500&currency=usd&source=tok_visa", providerBody(t, provider.OpPaymentChargeCreate,
		&provider.ChargeCreateRequest{Amount: 500, Currency: "usd", Source: "tok_visa"}), "no description, no metadata: none sent")

	amount := int64(700)
	require.Equal(t, "charge=ch_1&amount=700&reason=requested_by_customer&metadata%5Bticket%5D=T-9",
		providerBody(t, provider.OpPaymentRefundCreate, &provider.RefundCreateRequest{ChargeID: "ch_1", Amount: &amount,
			Reason: "requested_by_customer", Metadata: map[string]string{"ticket": "T-9"}}))
	require.Equal(t, "charge=ch_1", providerBody(t, provider.OpPaymentRefundCreate, &provider.RefundCreateRequest{ChargeID: "ch_1"}),
		"no amount: the provider refunds what is left")

	values, err = url.ParseQuery(providerBody(t, provider.OpPaymentMethodCreate, &provider.PaymentMethodCreateRequest{
		Type: "card", Card: provider.CardDetails{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		Metadata: map[string]string{"k": "v"}}))
	require.NoError(t, err)
	require.Equal(t, url.Values{"type": {"card"}, "card[number]": {"4242424242424242"}, "card[exp_month]": {"12"},
		"card[exp_year]": {"2030"}, "card[cvc]": {"123"}, "metadata[k]": {"v"}}, values)

	require.Equal(t, "customer=cus_1&items%5B0%5D%5Bprice%5D=price_basic_monthly&items%5B0%5D%5Bquantity%5D=2"+
		"&items%5B1%5D%5Bprice%5D=price_pro_monthly",
		providerBody(t, provider.OpPaymentSubscriptionCreate, &provider.SubscriptionCreateRequest{Customer: "cus_1",
			Items: []provider.SubscriptionItem{{Price: "price_basic_monthly", Quantity: 2}, {Price: "price_pro_monthly"}}}),
		"a quantity of zero is left to the provider's default of one")

	require.Equal(t, "cancel_at_period_end=true", providerBody(t, provider.OpPaymentSubscriptionCancel,
		&provider.SubscriptionCancelRequest{SubscriptionID: "sub_1"}))
}

// fakeSeal stands for the vault: it writes a value as letters only (a-p per hex digit), so a
// digit in the sealed request can only come from somewhere else.
func fakeSeal(s string) (string, error) {
	var b strings.Builder
	b.WriteString("sealed:")
	for _, c := range []byte(s) {
		b.WriteByte('a' + c>>4)
		b.WriteByte('a' + c&0x0f)
	}
	return b.String(), nil
}

func fakeOpen(s string) (string, error) {
	enc, ok := strings.CutPrefix(s, "sealed:")
	if !ok || len(enc)%2 != 0 {
		return "", errors.New("not sealed here")
	}
	out := make([]byte, len(enc)/2)
	for i := range out {
		out[i] = (enc[2*i]-'a')<<4 | (enc[2*i+1] - 'a')
	}
	return string(out), nil
}

func TestCardSealRoundTrip(t *testing.T) {
	const number, cvc = "4000056655665556", "737"
	req := &provider.PaymentMethodCreateRequest{Type: "card", Card: provider.CardDetails{Number: number, ExpMonth: 3,
		ExpYear: 2031, CVC: cvc}}
	require.NoError(t, req.Seal(fakeSeal))
	require.Equal(t, "5556", req.Card.Last4)
	require.Empty(t, req.Card.Number)
	require.Empty(t, req.Card.CVC)
	require.NoError(t, provider.NewValidator().Struct(req), "a sealed card validates: the API checks what it stores")

	sealedJSON, err := json.Marshal(req)
	require.NoError(t, err)
	require.NotContains(t, string(sealedJSON), `"number"`)
	require.NotContains(t, string(sealedJSON), `"cvc"`)
	require.Contains(t, string(sealedJSON), `"last4":"5556"`)
	for i := 0; i+5 <= len(number); i++ {
		require.NotContains(t, string(sealedJSON), number[i:i+5], "no run of the number's digits but the last four")
	}
	values := strings.ReplaceAll(string(sealedJSON), `"last4":`, "") // the key's own digit
	digits := regexp.MustCompile(`[0-9]+`).FindAllString(values, -1)
	require.ElementsMatch(t, []string{"3", "2031", "5556"}, digits, "the only digits are the expiry and last4")

	t.Run("a sealed card cannot be sent", func(t *testing.T) {
		_, err := op(provider.OpPaymentMethodCreate).ProviderBody(req, provider.Config{})
		require.ErrorIs(t, err, provider.ErrCardSealed)
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
		defer srv.Close()
		c := connectorClient(t, provider.IssuerPayments, srv, nil)
		_, _, err = c.Call(context.Background(), op(provider.OpPaymentMethodCreate), req, "c")
		var ce *provider.CallError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, provider.KindMisconfigured, ce.Kind)
		require.Contains(t, ce.Reason, "the card number is sealed")
		require.Zero(t, hits.Load())
	})

	var worker provider.PaymentMethodCreateRequest // what the worker decodes from the workflow's input
	require.NoError(t, json.Unmarshal(sealedJSON, &worker))
	var sealed provider.SealedRequest = &worker
	require.NoError(t, sealed.OpenSealed(fakeOpen))
	require.Equal(t, provider.CardDetails{Number: number, ExpMonth: 3, ExpYear: 2031, CVC: cvc, Last4: "5556"}, worker.Card)
	form, err := url.ParseQuery(providerBody(t, provider.OpPaymentMethodCreate, &worker))
	require.NoError(t, err)
	require.Equal(t, number, form.Get("card[number]"))
	require.Equal(t, cvc, form.Get("card[cvc]"))

	t.Run("a card without CVC seals without one; sealing twice changes nothing", func(t *testing.T) {
		req := &provider.PaymentMethodCreateRequest{Type: "card", Card: provider.CardDetails{Number: number, ExpMonth: 3, ExpYear: 2031}}
		require.NoError(t, req.Seal(fakeSeal))
		once := req.Card
		require.NoError(t, req.Seal(fakeSeal))
		require.Equal(t, once, req.Card)
		require.Empty(t, req.Card.SealedCVC)
	})
	t.Run("a failing seal leaves no half-sealed card", func(t *testing.T) {
		req := &provider.PaymentMethodCreateRequest{Type: "card", Card: provider.CardDetails{Number: number, CVC: cvc}}
		boom := errors.New("vault down")
		require.ErrorIs(t, req.Seal(func(string) (string, error) { return "", boom }), boom)
		require.Equal(t, number, req.Card.Number)
		require.Empty(t, req.Card.SealedNumber)
		require.Error(t, (&provider.PaymentMethodCreateRequest{Card: provider.CardDetails{SealedNumber: "x"}}).OpenSealed(fakeOpen))
	})
}

func TestPaymentRequestsValidate(t *testing.T) {
	v := provider.NewValidator()
	amount := func(n int64) *int64 { return &n }
	card := func(edit func(*provider.CardDetails)) *provider.PaymentMethodCreateRequest {
		r := &provider.PaymentMethodCreateRequest{Type: "card", Card: provider.CardDetails{Number: "4242424242424242",
			ExpMonth: 12, ExpYear: 2030, CVC: "123"}}
		edit(&r.Card)
		return r
	}
	manyKeys := map[string]string{}
	for i := range 51 {
		manyKeys["k"+strconv.Itoa(i)] = "v"
	}
	items := make([]provider.SubscriptionItem, 21)
	for i := range items {
		items[i] = provider.SubscriptionItem{Price: "price_basic_monthly"}
	}
	charge := func(edit func(*provider.ChargeCreateRequest)) *provider.ChargeCreateRequest {
		r := &provider.ChargeCreateRequest{Amount: 2000, Currency: "usd", Source: "tok_visa"}
		edit(r)
		return r
	}
	valid := []any{
		charge(func(*provider.ChargeCreateRequest) {}),
		charge(func(r *provider.ChargeCreateRequest) {
			r.Amount, r.Currency, r.Description = 99999999, "TZS", strings.Repeat("d", 1000)
			r.Metadata = map[string]string{strings.Repeat("k", 40): strings.Repeat("v", 500)}
		}),
		&provider.ChargeGetRequest{ChargeID: "ch_1"},
		&provider.RefundCreateRequest{ChargeID: "ch_1"},
		&provider.RefundCreateRequest{ChargeID: "ch_1", Amount: amount(1), Reason: "fraudulent"},
		card(func(*provider.CardDetails) {}),
		card(func(c *provider.CardDetails) { c.Number, c.CVC = "378282246310005", "1234" }),
		card(func(c *provider.CardDetails) { c.Number, c.SealedNumber, c.Last4 = "", "k1:abc", "4242" }),
		&provider.SubscriptionCreateRequest{Customer: "cus_1", Items: []provider.SubscriptionItem{{Price: "price_basic_monthly"}}},
		&provider.SubscriptionCancelRequest{SubscriptionID: "sub_1"},
	}
	for i, r := range valid {
		require.NoError(t, v.Struct(r), "valid[%d]", i)
	}
	invalid := map[string]any{
		"amount 0":                charge(func(r *provider.ChargeCreateRequest) { r.Amount = 0 }),
		"amount over the cap":     charge(func(r *provider.ChargeCreateRequest) { r.Amount = 100000000 }),
		"currency of 2 letters":   charge(func(r *provider.ChargeCreateRequest) { r.Currency = "us" }),
		"currency of digits":      charge(func(r *provider.ChargeCreateRequest) { r.Currency = "840" }),
		"source with a space":     charge(func(r *provider.ChargeCreateRequest) { r.Source = "tok visa" }),
		"no source":               charge(func(r *provider.ChargeCreateRequest) { r.Source = "" }),
		"long description":        charge(func(r *provider.ChargeCreateRequest) { r.Description = strings.Repeat("d", 1001) }),
		"51 metadata keys":        charge(func(r *provider.ChargeCreateRequest) { r.Metadata = manyKeys }),
		"metadata key 41 long":    charge(func(r *provider.ChargeCreateRequest) { r.Metadata = map[string]string{strings.Repeat("k", 41): "v"} }),
		"metadata key bracket":    charge(func(r *provider.ChargeCreateRequest) { r.Metadata = map[string]string{"a][b": "v"} }),
		"metadata value 501":      charge(func(r *provider.ChargeCreateRequest) { r.Metadata = map[string]string{"k": strings.Repeat("v", 501)} }),
		"no charge id":            &provider.ChargeGetRequest{},
		"refund amount 0":         &provider.RefundCreateRequest{ChargeID: "ch_1", Amount: amount(0)},
		"refund reason unknown":   &provider.RefundCreateRequest{ChargeID: "ch_1", Reason: "changed_mind"},
		"type other than card":    &provider.PaymentMethodCreateRequest{Type: "sepa_debit", Card: card(func(*provider.CardDetails) {}).Card},
		"card number letters":     card(func(c *provider.CardDetails) { c.Number = "4242abcd42424242" }),
		"card number 11 digits":   card(func(c *provider.CardDetails) { c.Number = "42424242424" }),
		"card number 20 digits":   card(func(c *provider.CardDetails) { c.Number = "42424242424242424242" }),
		"no card number":          card(func(c *provider.CardDetails) { c.Number = "" }),
		"exp month 13":            card(func(c *provider.CardDetails) { c.ExpMonth = 13 }),
		"exp year 1999":           card(func(c *provider.CardDetails) { c.ExpYear = 1999 }),
		"cvc of 2":                card(func(c *provider.CardDetails) { c.CVC = "12" }),
		"no subscription items":   &provider.SubscriptionCreateRequest{Customer: "cus_1"},
		"21 subscription items":   &provider.SubscriptionCreateRequest{Customer: "cus_1", Items: items},
		"item quantity 10001":     &provider.SubscriptionCreateRequest{Customer: "cus_1", Items: []provider.SubscriptionItem{{Price: "p", Quantity: 10001}}},
		"item without price":      &provider.SubscriptionCreateRequest{Customer: "cus_1", Items: []provider.SubscriptionItem{{Quantity: 1}}},
		"no customer":             &provider.SubscriptionCreateRequest{Items: []provider.SubscriptionItem{{Price: "p"}}},
		"no subscription id":      &provider.SubscriptionCancelRequest{},
		"subscription id control": &provider.SubscriptionCancelRequest{SubscriptionID: "sub_1\n"},
	}
	for name, r := range invalid {
		require.Error(t, v.Struct(r), name)
	}
}

func TestPaymentIDsAreOnePathSegment(t *testing.T) {
	v := provider.NewValidator()
	requests := map[string]func(id string) any{
		"charge get":          func(id string) any { return &provider.ChargeGetRequest{ChargeID: id} },
		"refund":              func(id string) any { return &provider.RefundCreateRequest{ChargeID: id} },
		"subscription cancel": func(id string) any { return &provider.SubscriptionCancelRequest{SubscriptionID: id} },
	}
	for name, req := range requests {
		for _, id := range []string{"ch_1", "sub_1MowQVLkdIwHu7ixeRlqHVzs", "7", "A.b-c:d", "x..", "ch_1.."} {
			require.NoError(t, v.Struct(req(id)), "%s: %q", name, id)
		}
		for _, id := range []string{".", "..", ".ch_1", "_ch_1", "-1", ":1", "~1", "ch/1", "ch_1/..", "%2e%2e", "é1"} {
			require.Error(t, v.Struct(req(id)), "%s: %q", name, id)
		}
	}
	for _, id := range []string{".", "..", "_1", "-1", "a/b"} {
		require.False(t, provider.ValidResourceID(id), id)
		require.Error(t, v.Struct(&provider.ERPEntityRequest{EntityType: "customer", ID: id}), "the ERP's ids alike: %q", id)
	}
}

const stripeCharge = `{"id":"ch_1","object":"charge","amount":2000,"amount_refunded":%d,"currency":"usd",
	"status":"%s","paid":true,"refunded":%t,"created":1700000000,"description":null,"metadata":{},
	"payment_method":"pm_1","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242",
	"exp_month":12,"exp_year":2030,"funding":"credit"}},
	"refunds":{"object":"list","data":[%s],"has_more":false,"total_count":%d}}`

const stripeRefundFmt = `{"id":"re_%d","object":"refund","amount":%d,"currency":"usd","charge":"ch_1",
	"status":"succeeded","reason":%s,"created":%d,"metadata":{}}`

func decode(t *testing.T, key, body string) any {
	t.Helper()
	typed, err := provider.DecodeResponse(op(key), []byte(body), provider.FormatJSON)
	require.NoError(t, err)
	return typed
}

func TestStripeObjectsBecomeTheSeedModels(t *testing.T) {
	created := time.Unix(1700000000, 0).UTC()
	t.Run("a charge not refunded keeps the provider's status", func(t *testing.T) {
		ch := decode(t, provider.OpPaymentChargeCreate, fmt.Sprintf(stripeCharge, 0, "succeeded", false, "", 0)).(*provider.Charge)
		require.Equal(t, provider.ChargeSucceeded, ch.Status)
		require.Equal(t, created, ch.CreatedAt)
		require.Equal(t, created, ch.UpdatedAt)
		require.Nil(t, ch.Description)
		require.Equal(t, "pm_1", ch.PaymentMethodID)
		require.Equal(t, "4242", ch.PaymentMethodDetails["card"].(map[string]any)["last4"])
		b, err := json.Marshal(ch)
		require.NoError(t, err)
		require.Contains(t, string(b), `"created_at":"2023-11-14T22:13:20Z"`, "RFC 3339")
		require.Contains(t, string(b), `"metadata":{}`, "never null")
		require.Contains(t, string(b), `"refunds":[]`, "never null")
		require.Contains(t, string(b), `"description":null`)
	})
	t.Run("a partial refund makes it partially_refunded, updated when refunded", func(t *testing.T) {
		refund := fmt.Sprintf(stripeRefundFmt, 1, 500, `"requested_by_customer"`, 1700000600)
		ch := decode(t, provider.OpPaymentChargeGet, fmt.Sprintf(stripeCharge, 500, "succeeded", false, refund, 1)).(*provider.Charge)
		require.Equal(t, provider.ChargePartiallyRefunded, ch.Status)
		require.EqualValues(t, 500, ch.AmountRefunded)
		require.Equal(t, created.Add(10*time.Minute), ch.UpdatedAt)
		require.Len(t, ch.Refunds, 1)
		reason := "requested_by_customer"
		require.Equal(t, provider.Refund{ID: "re_1", Amount: 500, Currency: "usd", Status: "succeeded",
			CreatedAt: created.Add(10 * time.Minute), UpdatedAt: created.Add(10 * time.Minute), ChargeID: "ch_1",
			Reason: &reason, Metadata: map[string]string{}}, ch.Refunds[0])
	})
	t.Run("refunded in full it is refunded", func(t *testing.T) {
		refunds := fmt.Sprintf(stripeRefundFmt, 1, 500, "null", 1700000600) + "," + fmt.Sprintf(stripeRefundFmt, 2, 1500, "null", 1700000900)
		ch := decode(t, provider.OpPaymentChargeGet, fmt.Sprintf(stripeCharge, 2000, "succeeded", true, refunds, 2)).(*provider.Charge)
		require.Equal(t, provider.ChargeRefunded, ch.Status)
		require.Equal(t, created.Add(15*time.Minute), ch.UpdatedAt, "the latest refund")
		require.Len(t, ch.Refunds, 2)
	})
	t.Run("a declined charge is failed", func(t *testing.T) {
		ch := decode(t, provider.OpPaymentChargeGet, fmt.Sprintf(stripeCharge, 0, "failed", false, "", 0)).(*provider.Charge)
		require.Equal(t, provider.ChargeFailed, ch.Status)
	})
	t.Run("a refund", func(t *testing.T) {
		r := decode(t, provider.OpPaymentRefundCreate, fmt.Sprintf(stripeRefundFmt, 3, 700, "null", 1700000000)).(*provider.Refund)
		require.Equal(t, provider.Refund{ID: "re_3", Amount: 700, Currency: "usd", Status: "succeeded", CreatedAt: created,
			UpdatedAt: created, ChargeID: "ch_1", Metadata: map[string]string{}}, *r)
	})
	t.Run("a payment method has the card's brand, last4 and expiry", func(t *testing.T) {
		pm := decode(t, provider.OpPaymentMethodCreate, `{"id":"pm_1","object":"payment_method","type":"card",
			"created":1700000000,"metadata":{"k":"v"},"card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,
			"funding":"credit"}}`).(*provider.PaymentMethod)
		require.Equal(t, provider.PaymentMethod{ID: "pm_1", Type: "card", CreatedAt: created, Metadata: map[string]string{"k": "v"},
			Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030}, *pm)
	})
	t.Run("a subscription bills each item's unit amount times its quantity", func(t *testing.T) {
		sub := decode(t, provider.OpPaymentSubscriptionCancel, `{"id":"sub_1","object":"subscription","status":"active",
			"created":1700000000,"current_period_start":1700000000,"current_period_end":1702592000,"customer":"cus_1",
			"metadata":{},"cancel_at_period_end":true,"canceled_at":1700000300,"ended_at":null,"trial_start":null,"trial_end":null,
			"items":{"object":"list","data":[
			 {"id":"si_1","quantity":2,"price":{"id":"price_basic_monthly","unit_amount":1500,"currency":"usd","recurring":{"interval":"month","interval_count":1}}},
			 {"id":"si_2","quantity":1,"price":{"id":"price_pro_monthly","unit_amount":4900,"currency":"usd","recurring":{"interval":"month","interval_count":1}}}]}}`,
		).(*provider.Subscription)
		canceled := created.Add(5 * time.Minute)
		amount := int64(2*1500 + 4900)
		require.Equal(t, provider.Subscription{ID: "sub_1", Status: "active", CreatedAt: created, UpdatedAt: canceled,
			CurrentPeriodStart: created, CurrentPeriodEnd: time.Unix(1702592000, 0).UTC(), CustomerID: "cus_1",
			Metadata: map[string]string{}, Amount: &amount, Currency: "usd", Interval: "month", IntervalCount: 1,
			CanceledAt: &canceled, CancelAtPeriodEnd: true}, *sub)
	})
	t.Run("an answer that is not the object is refused", func(t *testing.T) {
		_, err := provider.DecodeResponse(op(provider.OpPaymentChargeGet), []byte(`{"object":"list","data":[]}`), provider.FormatJSON)
		require.Error(t, err)
		_, err = provider.DecodeResponse(op(provider.OpPaymentChargeGet), []byte(`not json`), provider.FormatJSON)
		require.Error(t, err)
	})
}

func TestAChargeGoesToTheProviderAsAFormWithTheCorrelationIDAsIdempotencyKey(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r.Clone(context.Background()), string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(fmt.Sprintf(stripeCharge, 0, "succeeded", false, "", 0)))
	}))
	defer srv.Close()
	c := connectorClient(t, provider.IssuerPayments, srv, map[string]string{"PAYMENTS_API_KEY": "sk_test_1",
		"PAYMENTS_TENANT_ID": "tenant-7", "PAYMENTS_ENTERPRISE_ID": "ent-1"})
	resp, attempt, err := c.Call(context.Background(), op(provider.OpPaymentChargeCreate),
		&provider.ChargeCreateRequest{Amount: 2000, Currency: "usd", Source: "tok_visa", Metadata: map[string]string{"order": "42"}},
		"corr-charge-1")
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	require.Nil(t, resp.Detail)
	require.Equal(t, "POST", got.Method)
	require.Equal(t, "/v1/charges", got.URL.Path)
	require.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
	require.Equal(t, "corr-charge-1", got.Header.Get("Idempotency-Key"))
	require.Equal(t, "Bearer sk_test_1", got.Header.Get("Authorization"))
	require.Equal(t, "tenant-7", got.Header.Get("X-Tenant-ID"))
	require.Equal(t, "ent-1", got.Header.Get("X-Enterprise-ID"))
	require.Equal(t, "amount=2000&currency=usd&source=tok_visa&metadata%5Border%5D=42", gotBody)
	require.Equal(t, "/v1/charges", attempt.Path)
	ch := decode(t, provider.OpPaymentChargeCreate, string(resp.Body)).(*provider.Charge)
	require.Equal(t, "ch_1", ch.ID)

	t.Run("a GET names the charge in the path and sends no body", func(t *testing.T) {
		_, _, err := c.Call(context.Background(), op(provider.OpPaymentChargeGet), &provider.ChargeGetRequest{ChargeID: "ch_1"}, "c")
		require.NoError(t, err)
		require.Equal(t, "GET", got.Method)
		require.Equal(t, "/v1/charges/ch_1", got.URL.Path)
		require.Empty(t, gotBody)
		require.Empty(t, got.Header.Get("Content-Type"))
	})
	t.Run("cancel at period end posts the flag, cancel now deletes", func(t *testing.T) {
		_, _, err := c.Call(context.Background(), op(provider.OpPaymentSubscriptionCancel),
			&provider.SubscriptionCancelRequest{SubscriptionID: "sub_1"}, "c")
		require.NoError(t, err)
		require.Equal(t, "POST /v1/subscriptions/sub_1 cancel_at_period_end=true", got.Method+" "+got.URL.Path+" "+gotBody)
		_, _, err = c.Call(context.Background(), op(provider.OpPaymentSubscriptionCancelNow),
			&provider.SubscriptionCancelRequest{SubscriptionID: "sub_1"}, "c")
		require.NoError(t, err)
		require.Equal(t, "DELETE /v1/subscriptions/sub_1 ", got.Method+" "+got.URL.Path+" "+gotBody)
	})
}

func TestADeclineIsAResultWithTheProvidersErrorDetail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPaymentRequired)
		w.Write([]byte(`{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
			"message":"Your card has insufficient funds.","charge":"ch_9","param":""}}`))
	}))
	defer srv.Close()
	c := connectorClient(t, provider.IssuerPayments, srv, nil)
	resp, attempt, err := c.Call(context.Background(), op(provider.OpPaymentChargeCreate),
		&provider.ChargeCreateRequest{Amount: 2000, Currency: "usd", Source: "tok_chargeDeclinedInsufficientFunds"}, "c")
	require.NoError(t, err, "a decline is an answer, not a failure")
	require.Equal(t, http.StatusPaymentRequired, resp.Status)
	require.Equal(t, "card_declined", resp.ProviderCode)
	require.Equal(t, &provider.ErrorDetail{Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds",
		Message: "Your card has insufficient funds.", Charge: "ch_9"}, resp.Detail)
	require.Equal(t, "client_error", attempt.Outcome)
	require.Equal(t, "closed", c.BreakerState())
}
