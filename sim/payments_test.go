package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
)

// demoPayments serves the payment simulator with its default configuration and the demo key
// on a loopback server; webhook tries are 10 ms apart.
func demoPayments(t *testing.T) (*Payments, *httptest.Server) {
	t.Helper()
	var cfg PaymentsConfig
	require.NoError(t, envconfig.Process("", &cfg))
	p := NewPayments(cfg, nil)
	p.retryWait = 10 * time.Millisecond
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, srv
}

// pay calls the payment API with the demo key and a form body, and extra header pairs.
func pay(t *testing.T, srv *httptest.Server, method, path, form string, header ...string) answer {
	t.Helper()
	h := append([]string{"Authorization", "Bearer " + DemoPaymentsKey,
		"Content-Type", "application/x-www-form-urlencoded"}, header...)
	return call(t, method, srv.URL+"/payments"+path, form, h...)
}

// payRaw is pay, answering the raw body.
func payRaw(t *testing.T, srv *httptest.Server, method, path, form string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	h := append([]string{"Authorization", "Bearer " + DemoPaymentsKey,
		"Content-Type", "application/x-www-form-urlencoded"}, header...)
	return exchange(t, method, srv.URL+"/payments"+path, form, h...)
}

// requirePayError checks a provider error answer and gives its error object.
func requirePayError(t *testing.T, a answer, status int, typ, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, a.status, "%v", a.body)
	e, ok := a.body["error"].(map[string]any)
	require.True(t, ok, "%v", a.body)
	require.Equal(t, typ, e["type"], "%v", e)
	if code != "" {
		require.Equal(t, code, e["code"], "%v", e)
	}
	return e
}

// paymentsStats reads the simulator's counters.
func paymentsStats(t *testing.T, srv *httptest.Server) PaymentsStats {
	t.Helper()
	status, _, raw := exchange(t, http.MethodGet, srv.URL+"/_sim/payments/stats", "")
	require.Equal(t, http.StatusOK, status)
	var out PaymentsStats
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// paymentsWebhooks reads the events the simulator made.
func paymentsWebhooks(t *testing.T, srv *httptest.Server) []PaymentsWebhook {
	t.Helper()
	status, _, raw := exchange(t, http.MethodGet, srv.URL+"/_sim/payments/webhooks", "")
	require.Equal(t, http.StatusOK, status)
	var out []PaymentsWebhook
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

func setPaymentsFaults(t *testing.T, srv *httptest.Server, faults string) {
	t.Helper()
	require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/payments/faults", faults).status)
}

var chargeID = regexp.MustCompile(`^ch_[0-9A-Za-z]{24}$`)

func TestPaymentsConfigAndKeys(t *testing.T) {
	t.Parallel()
	var cfg PaymentsConfig
	require.NoError(t, envconfig.Process("", &cfg))
	require.Equal(t, PaymentsConfig{WebhookSecret: "whsec_demo_payments"}, cfg)

	t.Run("without a key configured the demo key is accepted, and no other", func(t *testing.T) {
		_, srv := demoPayments(t)
		requirePayError(t, call(t, http.MethodGet, srv.URL+"/payments/v1/charges/ch_x", ""),
			http.StatusUnauthorized, "invalid_request_error", "api_key_invalid")
		a := call(t, http.MethodGet, srv.URL+"/payments/v1/charges/ch_x", "", "Authorization", "Bearer sk_test_other")
		e := requirePayError(t, a, http.StatusUnauthorized, "invalid_request_error", "api_key_invalid")
		require.Equal(t, "Invalid API Key provided", e["message"])
		requirePayError(t, pay(t, srv, http.MethodGet, "/v1/charges/ch_x", ""), http.StatusNotFound,
			"invalid_request_error", "resource_missing")
	})
	t.Run("HTTP Basic with the key as the user name and no password is accepted", func(t *testing.T) {
		_, srv := demoPayments(t)
		basic := func(user, password string) answer {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/payments/v1/charges/ch_x", nil)
			require.NoError(t, err)
			req.SetBasicAuth(user, password)
			return call(t, http.MethodGet, srv.URL+"/payments/v1/charges/ch_x", "", "Authorization", req.Header.Get("Authorization"))
		}
		requirePayError(t, basic(DemoPaymentsKey, ""), http.StatusNotFound, "invalid_request_error", "resource_missing")
		requirePayError(t, basic(DemoPaymentsKey, "secret"), http.StatusUnauthorized, "invalid_request_error", "api_key_invalid")
		requirePayError(t, basic("sk_test_other", ""), http.StatusUnauthorized, "invalid_request_error", "api_key_invalid")
		form := "amount=500&currency=usd&source=tok_visa"
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/payments/v1/charges", strings.NewReader(form))
		require.NoError(t, err)
		req.SetBasicAuth(DemoPaymentsKey, "")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("the hub's configured key replaces the demo key", func(t *testing.T) {
		p := NewPayments(cfg, map[string]provider.Config{provider.IssuerPayments: {Auth: provider.Auth{
			Type: provider.AuthBearer, Token: "sk_test_hub"}}})
		mux := http.NewServeMux()
		p.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		require.Equal(t, http.StatusUnauthorized, pay(t, srv, http.MethodGet, "/v1/charges/ch_x", "").status)
		a := call(t, http.MethodGet, srv.URL+"/payments/v1/charges/ch_x", "", "Authorization", "Bearer sk_test_hub")
		require.Equal(t, http.StatusNotFound, a.status)
	})
}

func TestPaymentsCharges(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)

	t.Run("a test token is charged", func(t *testing.T) {
		a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=2000&currency=USD&source=tok_visa&metadata[order]=42")
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		require.Regexp(t, chargeID, a.body["id"])
		require.Equal(t, "charge", a.body["object"])
		require.EqualValues(t, 2000, a.body["amount"])
		require.EqualValues(t, 0, a.body["amount_refunded"])
		require.Equal(t, "usd", a.body["currency"])
		require.Equal(t, "succeeded", a.body["status"])
		require.Equal(t, true, a.body["paid"])
		require.Equal(t, false, a.body["refunded"])
		require.Nil(t, a.body["description"])
		require.Contains(t, a.body, "description")
		require.Equal(t, map[string]any{"order": "42"}, a.body["metadata"])
		require.Regexp(t, `^pm_[0-9A-Za-z]{24}$`, a.body["payment_method"])
		details := a.body["payment_method_details"].(map[string]any)
		require.Equal(t, "card", details["type"])
		card := details["card"].(map[string]any)
		require.Equal(t, "visa", card["brand"])
		require.Equal(t, "4242", card["last4"])
		require.Equal(t, "credit", card["funding"])
		require.Equal(t, map[string]any{"object": "list", "data": []any{}, "has_more": false, "total_count": float64(0)},
			a.body["refunds"])
		require.InDelta(t, time.Now().Unix(), a.body["created"], 5)

		got := pay(t, srv, http.MethodGet, "/v1/charges/"+a.body["id"].(string), "")
		require.Equal(t, http.StatusOK, got.status)
		require.Equal(t, a.body, got.body)
	})
	t.Run("a mastercard token names its brand, a description is kept", func(t *testing.T) {
		a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=150&currency=eur&source=tok_mastercard&description=Order+7")
		require.Equal(t, http.StatusOK, a.status)
		card := a.body["payment_method_details"].(map[string]any)["card"].(map[string]any)
		require.Equal(t, "mastercard", card["brand"])
		require.Equal(t, "4444", card["last4"])
		require.Equal(t, "Order 7", a.body["description"])
		require.Equal(t, map[string]any{}, a.body["metadata"])
	})
	t.Run("decline tokens are refused with their decline codes, and the failed charge is kept", func(t *testing.T) {
		for source, want := range map[string][2]string{
			"tok_chargeDeclined":                  {"generic_decline", "Your card was declined."},
			"tok_chargeDeclinedInsufficientFunds": {"insufficient_funds", "Your card has insufficient funds."},
		} {
			a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=500&currency=usd&source="+source)
			e := requirePayError(t, a, http.StatusPaymentRequired, "card_error", "card_declined")
			require.Equal(t, want[0], e["decline_code"])
			require.Equal(t, want[1], e["message"])
			require.Regexp(t, chargeID, e["charge"])
			got := pay(t, srv, http.MethodGet, "/v1/charges/"+e["charge"].(string), "")
			require.Equal(t, http.StatusOK, got.status)
			require.Equal(t, "failed", got.body["status"])
			require.Equal(t, false, got.body["paid"])
			require.Equal(t, "card_declined", got.body["failure_code"])
		}
	})
	t.Run("payment methods of decline card numbers are declined", func(t *testing.T) {
		for number, code := range map[string]string{"4000000000000002": "generic_decline",
			"4000000000009995": "insufficient_funds"} {
			pm := pay(t, srv, http.MethodPost, "/v1/payment_methods",
				"type=card&card[number]="+number+"&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123")
			require.Equal(t, http.StatusOK, pm.status, "%v", pm.body)
			a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=900&currency=usd&source="+pm.body["id"].(string))
			e := requirePayError(t, a, http.StatusPaymentRequired, "card_error", "card_declined")
			require.Equal(t, code, e["decline_code"])
		}
		pm := pay(t, srv, http.MethodPost, "/v1/payment_methods", "type=card&card[number]=4242424242424242&card[exp_month]=1&card[exp_year]=2040")
		a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=900&currency=usd&source="+pm.body["id"].(string))
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, pm.body["id"], a.body["payment_method"])
		require.Equal(t, pm.body["card"], a.body["payment_method_details"].(map[string]any)["card"])
	})
	t.Run("an unknown source and bad parameters are refused", func(t *testing.T) {
		e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_nope"),
			http.StatusBadRequest, "invalid_request_error", "resource_missing")
		require.Equal(t, "source", e["param"])
		for form, want := range map[string][2]string{
			"currency=usd&source=tok_visa":                        {"parameter_missing", "amount"},
			"amount=abc&currency=usd&source=tok_visa":             {"parameter_invalid_integer", "amount"},
			"amount=0&currency=usd&source=tok_visa":               {"parameter_invalid_integer", "amount"},
			"amount=100&source=tok_visa":                          {"parameter_missing", "currency"},
			"amount=100&currency=dollars&source=tok_visa":         {"parameter_invalid_string", "currency"},
			"amount=100&currency=usd":                             {"parameter_missing", "source"},
			"amount=100&currency=usd&source=tok_visa&metadata[]=": {"parameter_invalid_string", "metadata"},
		} {
			e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", form), http.StatusBadRequest,
				"invalid_request_error", want[0])
			require.Equal(t, want[1], e["param"], form)
		}
		var many []string
		for i := range 51 {
			many = append(many, "metadata[k"+string(rune('a'+i%26))+strings.Repeat("x", i/26)+"]=v")
		}
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", "amount=1&currency=usd&source=tok_visa&"+strings.Join(many, "&")),
			http.StatusBadRequest, "invalid_request_error", "parameter_invalid_string")
		big := "amount=1&currency=usd&source=tok_visa&description=" + strings.Repeat("x", 64<<10)
		require.Equal(t, http.StatusRequestEntityTooLarge, pay(t, srv, http.MethodPost, "/v1/charges", big).status)
		a := call(t, http.MethodPost, srv.URL+"/payments/v1/charges", `{"amount":1}`, "Authorization", "Bearer "+DemoPaymentsKey)
		requirePayError(t, a, http.StatusBadRequest, "invalid_request_error", "")
	})
	t.Run("an unknown charge or route is not found", func(t *testing.T) {
		requirePayError(t, pay(t, srv, http.MethodGet, "/v1/charges/ch_missing", ""), http.StatusNotFound,
			"invalid_request_error", "resource_missing")
		requirePayError(t, pay(t, srv, http.MethodGet, "/v1/customers", ""), http.StatusNotFound,
			"invalid_request_error", "")
	})
}

func TestPaymentsPaymentMethods(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)

	t.Run("a card's brand comes from its number, the number itself is never answered", func(t *testing.T) {
		for number, brand := range map[string]string{"4242424242424242": "visa", "5555555555554444": "mastercard",
			"2223003122003222": "mastercard", "378282246310005": "amex", "6011111111111117": "discover",
			"3566002020360505": "unknown"} {
			status, _, raw := payRaw(t, srv, http.MethodPost, "/v1/payment_methods",
				"type=card&card[number]="+number+"&card[exp_month]=3&card[exp_year]=40&metadata[user]=u1")
			require.Equal(t, http.StatusOK, status, string(raw))
			require.NotContains(t, string(raw), number)
			var pm map[string]any
			require.NoError(t, json.Unmarshal(raw, &pm))
			require.Regexp(t, `^pm_[0-9A-Za-z]{24}$`, pm["id"])
			require.Equal(t, "payment_method", pm["object"])
			require.Equal(t, map[string]any{"brand": brand, "last4": number[len(number)-4:], "exp_month": float64(3),
				"exp_year": float64(2040), "funding": "credit"}, pm["card"])
			require.Equal(t, map[string]any{"user": "u1"}, pm["metadata"])
		}
	})
	t.Run("a wrong number, an expired card and missing fields are refused", func(t *testing.T) {
		e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/payment_methods",
			"type=card&card[number]=4242424242424241&card[exp_month]=12&card[exp_year]=2040"),
			http.StatusPaymentRequired, "card_error", "incorrect_number")
		require.Equal(t, "card[number]", e["param"])
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/payment_methods",
			"type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2001"),
			http.StatusPaymentRequired, "card_error", "invalid_expiry_year")
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/payment_methods",
			"type=card&card[number]=4242424242424242&card[exp_month]=13&card[exp_year]=2040"),
			http.StatusPaymentRequired, "card_error", "invalid_expiry_month")
		e = requirePayError(t, pay(t, srv, http.MethodPost, "/v1/payment_methods", "type=card&card[exp_month]=1&card[exp_year]=2040"),
			http.StatusBadRequest, "invalid_request_error", "parameter_missing")
		require.Equal(t, "card[number]", e["param"])
	})
	require.Equal(t, 6, paymentsStats(t, srv).PaymentMethodsCreated)
}

func TestPaymentsRefunds(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)
	charge := func(amount string) string {
		a := pay(t, srv, http.MethodPost, "/v1/charges", "amount="+amount+"&currency=usd&source=tok_visa")
		require.Equal(t, http.StatusOK, a.status)
		return a.body["id"].(string)
	}

	t.Run("a partial refund, then the rest, then nothing is left", func(t *testing.T) {
		id := charge("5000")
		re := pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id+"&amount=2000&reason=requested_by_customer&metadata[ticket]=9")
		require.Equal(t, http.StatusOK, re.status, "%v", re.body)
		require.Regexp(t, `^re_[0-9A-Za-z]{24}$`, re.body["id"])
		require.Equal(t, "refund", re.body["object"])
		require.EqualValues(t, 2000, re.body["amount"])
		require.Equal(t, "usd", re.body["currency"])
		require.Equal(t, id, re.body["charge"])
		require.Equal(t, "succeeded", re.body["status"])
		require.Equal(t, "requested_by_customer", re.body["reason"])
		require.Equal(t, map[string]any{"ticket": "9"}, re.body["metadata"])
		ch := pay(t, srv, http.MethodGet, "/v1/charges/"+id, "").body
		require.EqualValues(t, 2000, ch["amount_refunded"])
		require.Equal(t, false, ch["refunded"])

		rest := pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id)
		require.Equal(t, http.StatusOK, rest.status)
		require.EqualValues(t, 3000, rest.body["amount"])
		require.Nil(t, rest.body["reason"])
		ch = pay(t, srv, http.MethodGet, "/v1/charges/"+id, "").body
		require.EqualValues(t, 5000, ch["amount_refunded"])
		require.Equal(t, true, ch["refunded"])
		refunds := ch["refunds"].(map[string]any)
		require.EqualValues(t, 2, refunds["total_count"])
		require.Equal(t, rest.body["id"], refunds["data"].([]any)[0].(map[string]any)["id"], "newest first")

		e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id+"&amount=1"),
			http.StatusBadRequest, "invalid_request_error", "charge_already_refunded")
		require.Contains(t, e["message"], id)
	})
	t.Run("more than what is left is refused", func(t *testing.T) {
		id := charge("1000")
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id+"&amount=600").status)
		e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id+"&amount=500"),
			http.StatusBadRequest, "invalid_request_error", "amount_too_large")
		require.Equal(t, "amount", e["param"])
		require.Equal(t, "Refund amount ($5.00) is greater than unrefunded amount on charge ($4.00)", e["message"])
		require.EqualValues(t, 600, pay(t, srv, http.MethodGet, "/v1/charges/"+id, "").body["amount_refunded"])
	})
	t.Run("an unknown, a failed charge and a bad reason are refused", func(t *testing.T) {
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", "charge=ch_nope"), http.StatusNotFound,
			"invalid_request_error", "resource_missing")
		failed := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_chargeDeclined"),
			http.StatusPaymentRequired, "card_error", "card_declined")["charge"].(string)
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+failed), http.StatusBadRequest,
			"invalid_request_error", "charge_not_refundable")
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+charge("100")+"&reason=changed_mind"),
			http.StatusBadRequest, "invalid_request_error", "parameter_invalid_string")
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/refunds", ""), http.StatusBadRequest,
			"invalid_request_error", "parameter_missing")
	})
	require.Equal(t, 3, paymentsStats(t, srv).RefundsCreated)
}

func TestPaymentsIdempotency(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)
	const form = "amount=1234&currency=usd&source=tok_visa&metadata[a]=1&metadata[b]=2"

	status, h, first := payRaw(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "corr-1")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, h.Get("Idempotent-Replayed"))

	t.Run("the same key and parameters (in any order) answer the first answer again", func(t *testing.T) {
		reordered := "metadata[b]=2&source=tok_visa&currency=usd&metadata[a]=1&amount=1234"
		status, h, again := payRaw(t, srv, http.MethodPost, "/v1/charges", reordered, "Idempotency-Key", "corr-1")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "true", h.Get("Idempotent-Replayed"))
		require.Equal(t, string(first), string(again))
	})
	t.Run("the same key with other parameters or on another route is refused", func(t *testing.T) {
		a := pay(t, srv, http.MethodPost, "/v1/charges", strings.Replace(form, "1234", "1235", 1), "Idempotency-Key", "corr-1")
		e := requirePayError(t, a, http.StatusBadRequest, "idempotency_error", "")
		require.Equal(t, "Keys for idempotent requests can only be used with the same parameters they were first used with. "+
			"Try using a key other than 'corr-1' if you meant to execute a different request.", e["message"])
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/payment_methods", form, "Idempotency-Key", "corr-1"),
			http.StatusBadRequest, "idempotency_error", "")
	})
	t.Run("a decline is replayed too", func(t *testing.T) {
		decline := "amount=10&currency=usd&source=tok_chargeDeclined"
		s1, _, b1 := payRaw(t, srv, http.MethodPost, "/v1/charges", decline, "Idempotency-Key", "corr-2")
		s2, h2, b2 := payRaw(t, srv, http.MethodPost, "/v1/charges", decline, "Idempotency-Key", "corr-2")
		require.Equal(t, http.StatusPaymentRequired, s1)
		require.Equal(t, s1, s2)
		require.Equal(t, string(b1), string(b2))
		require.Equal(t, "true", h2.Get("Idempotent-Replayed"))
	})
	t.Run("refused parameters do not take the key", func(t *testing.T) {
		require.Equal(t, http.StatusBadRequest, pay(t, srv, http.MethodPost, "/v1/charges", "amount=x", "Idempotency-Key", "corr-3").status)
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "corr-3").status)
	})
	t.Run("without a key every request is new", func(t *testing.T) {
		a := pay(t, srv, http.MethodPost, "/v1/charges", form)
		b := pay(t, srv, http.MethodPost, "/v1/charges", form)
		require.NotEqual(t, a.body["id"], b.body["id"])
	})

	stats := paymentsStats(t, srv)
	require.Equal(t, 5, stats.ChargesCreated)
	require.Equal(t, 2, stats.IdempotentReplays)
	require.Equal(t, map[string]int{"corr-1": 1, "corr-2": 1, "corr-3": 1}, stats.ChargesByIdempotencyKey)
}

func TestPaymentsChargesByKeyIsBounded(t *testing.T) {
	t.Parallel()
	p, srv := demoPayments(t)
	const form = "amount=300&currency=usd&source=tok_visa"
	require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "early").status)
	// Keys counted without an answer kept for them, as if the store had forgotten theirs.
	p.mu.Lock()
	for i := len(p.stats.ChargesByIdempotencyKey); i < maxChargeKeysCounted; i++ {
		p.stats.ChargesByIdempotencyKey["filler-"+strconv.Itoa(i)] = 1
	}
	p.mu.Unlock()

	require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "late").status)
	require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "filler-7").status)
	stats := paymentsStats(t, srv)
	require.Len(t, stats.ChargesByIdempotencyKey, maxChargeKeysCounted)
	require.NotContains(t, stats.ChargesByIdempotencyKey, "late", "a key past the cap is not added")
	require.Equal(t, 2, stats.ChargesByIdempotencyKey["filler-7"], "a key counted already still counts")
	require.Equal(t, 1, stats.ChargesByIdempotencyKey["early"])
	require.Equal(t, 3, stats.ChargesCreated)
}

func TestPaymentsFaults(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)
	const form = "amount=700&currency=usd&source=tok_visa"

	t.Run("a delayed answer was charged already: the retry with the same key gets it, charged once", func(t *testing.T) {
		setPaymentsFaults(t, srv, `{"delay":"2s","delay_count":1}`)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/payments/v1/charges", strings.NewReader(form))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+DemoPaymentsKey)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "timeout-1")
		_, err = http.DefaultClient.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 1, paymentsStats(t, srv).ChargesByIdempotencyKey["timeout-1"], "stored before the answer")

		retry := pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "timeout-1")
		require.Equal(t, http.StatusOK, retry.status)
		require.Equal(t, "true", retry.header.Get("Idempotent-Replayed"))
		stats := paymentsStats(t, srv)
		require.Equal(t, 1, stats.ChargesByIdempotencyKey["timeout-1"])
		require.Equal(t, 1, stats.ChargesCreated)
	})
	t.Run("a delayed answer comes after the delay", func(t *testing.T) {
		setPaymentsFaults(t, srv, `{"delay":"250ms"}`)
		start := time.Now()
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form).status)
		require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
		start = time.Now()
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form).status)
		require.Less(t, time.Since(start), 250*time.Millisecond, "one answer only")
	})
	t.Run("rate limits answer 429 with Retry-After, then server errors 500, then all is well", func(t *testing.T) {
		setPaymentsFaults(t, srv, `{"rate_limit":2,"server_error":1}`)
		for range 2 {
			a := pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "limited")
			requirePayError(t, a, http.StatusTooManyRequests, "rate_limit_error", "rate_limit")
			require.Equal(t, "1", a.header.Get("Retry-After"))
		}
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "limited"),
			http.StatusInternalServerError, "api_error", "")
		a := pay(t, srv, http.MethodPost, "/v1/charges", form, "Idempotency-Key", "limited")
		require.Equal(t, http.StatusOK, a.status)
		require.Empty(t, a.header.Get("Idempotent-Replayed"), "a refused request kept nothing for its key")
		stats := paymentsStats(t, srv)
		require.Equal(t, 2, stats.RateLimited)
		require.Equal(t, 1, stats.ChargesByIdempotencyKey["limited"])
	})
	t.Run("DELETE clears the faults; bad faults are refused", func(t *testing.T) {
		setPaymentsFaults(t, srv, `{"rate_limit":5}`)
		status, _, _ := exchange(t, http.MethodDelete, srv.URL+"/_sim/payments/faults", "")
		require.Equal(t, http.StatusNoContent, status)
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/charges", form).status)
		for _, bad := range []string{`{"rate_limit":-1}`, `{"delay":"2h"}`, `{"delay":"soon"}`, `[`} {
			status, _, _ := exchange(t, http.MethodPut, srv.URL+"/_sim/payments/faults", bad)
			require.Equal(t, http.StatusBadRequest, status, bad)
		}
	})
}

func TestPaymentsSubscriptions(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)
	create := func(form string) map[string]any {
		a := pay(t, srv, http.MethodPost, "/v1/subscriptions", form)
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		return a.body
	}

	t.Run("a subscription starts active for one interval of its first price", func(t *testing.T) {
		sub := create("customer=cus_42&items[0][price]=price_basic_monthly&items[0][quantity]=2&items[1][price]=price_pro_monthly&metadata[plan]=team")
		require.Regexp(t, `^sub_[0-9A-Za-z]{24}$`, sub["id"])
		require.Equal(t, "subscription", sub["object"])
		require.Equal(t, "active", sub["status"])
		require.Equal(t, "cus_42", sub["customer"])
		require.Equal(t, false, sub["cancel_at_period_end"])
		for _, k := range []string{"canceled_at", "ended_at", "trial_start", "trial_end"} {
			require.Contains(t, sub, k)
			require.Nil(t, sub[k], k)
		}
		require.Equal(t, map[string]any{"plan": "team"}, sub["metadata"])
		start := time.Unix(int64(sub["current_period_start"].(float64)), 0)
		require.Equal(t, start.AddDate(0, 1, 0).Unix(), int64(sub["current_period_end"].(float64)))
		items := sub["items"].(map[string]any)
		require.Equal(t, "list", items["object"])
		data := items["data"].([]any)
		require.Len(t, data, 2)
		first := data[0].(map[string]any)
		require.Regexp(t, `^si_`, first["id"])
		require.EqualValues(t, 2, first["quantity"])
		require.Equal(t, map[string]any{"id": "price_basic_monthly", "unit_amount": float64(1500), "currency": "usd",
			"recurring": map[string]any{"interval": "month", "interval_count": float64(1)}}, first["price"])
		require.EqualValues(t, 1, data[1].(map[string]any)["quantity"])

		yearly := create("customer=cus_42&items[0][price]=price_pro_yearly")
		start = time.Unix(int64(yearly["current_period_start"].(float64)), 0)
		require.Equal(t, start.AddDate(1, 0, 0).Unix(), int64(yearly["current_period_end"].(float64)))
	})
	t.Run("unknown prices, no items and no customer are refused", func(t *testing.T) {
		e := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/subscriptions", "customer=cus_1&items[0][price]=price_gold"),
			http.StatusBadRequest, "invalid_request_error", "resource_missing")
		require.Equal(t, "items[0][price]", e["param"])
		e = requirePayError(t, pay(t, srv, http.MethodPost, "/v1/subscriptions", "customer=cus_1"),
			http.StatusBadRequest, "invalid_request_error", "parameter_missing")
		require.Equal(t, "items", e["param"])
		e = requirePayError(t, pay(t, srv, http.MethodPost, "/v1/subscriptions", "items[0][price]=price_pro_monthly"),
			http.StatusBadRequest, "invalid_request_error", "parameter_missing")
		require.Equal(t, "customer", e["param"])
		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/subscriptions", "customer=c&items[0][price]=price_pro_monthly&items[0][quantity]=0"),
			http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer")
	})
	t.Run("cancel at period end keeps it active until its period is ended", func(t *testing.T) {
		id := create("customer=cus_7&items[0][price]=price_pro_monthly")["id"].(string)
		a := pay(t, srv, http.MethodPost, "/v1/subscriptions/"+id, "cancel_at_period_end=true")
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		require.Equal(t, "active", a.body["status"])
		require.Equal(t, true, a.body["cancel_at_period_end"])
		require.NotNil(t, a.body["canceled_at"])
		require.Nil(t, a.body["ended_at"])

		ended := call(t, http.MethodPost, srv.URL+"/_sim/payments/subscriptions/"+id+"/end_period", "")
		require.Equal(t, http.StatusOK, ended.status)
		require.Equal(t, "canceled", ended.body["status"])
		require.NotNil(t, ended.body["ended_at"])
		hooks := paymentsWebhooks(t, srv)
		last := hooks[len(hooks)-1]
		require.Equal(t, "customer.subscription.deleted", last.Type)
		require.Equal(t, id, last.ObjectID)
		require.Equal(t, 0, last.Attempts, "no endpoint: only recorded")

		requirePayError(t, pay(t, srv, http.MethodPost, "/v1/subscriptions/"+id, "cancel_at_period_end=false"),
			http.StatusBadRequest, "invalid_request_error", "subscription_canceled")
	})
	t.Run("ending a period of a subscription that goes on starts the next one", func(t *testing.T) {
		sub := create("customer=cus_8&items[0][price]=price_basic_monthly")
		id := sub["id"].(string)
		a := pay(t, srv, http.MethodPost, "/v1/subscriptions/"+id, "cancel_at_period_end=true")
		require.Equal(t, true, a.body["cancel_at_period_end"])
		a = pay(t, srv, http.MethodPost, "/v1/subscriptions/"+id, "cancel_at_period_end=false")
		require.Equal(t, false, a.body["cancel_at_period_end"])
		require.Nil(t, a.body["canceled_at"])
		before := len(paymentsWebhooks(t, srv))
		ended := call(t, http.MethodPost, srv.URL+"/_sim/payments/subscriptions/"+id+"/end_period", "")
		require.Equal(t, http.StatusOK, ended.status)
		require.Equal(t, "active", ended.body["status"])
		require.GreaterOrEqual(t, ended.body["current_period_start"], sub["current_period_start"])
		require.Len(t, paymentsWebhooks(t, srv), before)
		require.Equal(t, http.StatusNotFound, call(t, http.MethodPost, srv.URL+"/_sim/payments/subscriptions/sub_nope/end_period", "").status)
	})
	t.Run("DELETE cancels at once", func(t *testing.T) {
		id := create("customer=cus_9&items[0][price]=price_basic_monthly")["id"].(string)
		a := pay(t, srv, http.MethodDelete, "/v1/subscriptions/"+id, "")
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, "canceled", a.body["status"])
		require.NotNil(t, a.body["canceled_at"])
		require.NotNil(t, a.body["ended_at"])
		hooks := paymentsWebhooks(t, srv)
		require.Equal(t, "customer.subscription.deleted", hooks[len(hooks)-1].Type)
		again := pay(t, srv, http.MethodDelete, "/v1/subscriptions/"+id, "")
		require.Equal(t, a.body, again.body, "already canceled: answered as it is")
		require.Len(t, paymentsWebhooks(t, srv), len(hooks))
		requirePayError(t, pay(t, srv, http.MethodDelete, "/v1/subscriptions/sub_nope", ""), http.StatusNotFound,
			"invalid_request_error", "resource_missing")
	})
	require.Equal(t, 5, paymentsStats(t, srv).SubscriptionsCreated)
}

// stripeHub is a hub's webhook endpoint: it keeps what it receives and answers the statuses
// given, then 200.
type stripeHub struct {
	mu       sync.Mutex
	requests []hubRequest
	statuses []int
}

func (h *stripeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := hubRequest{path: r.URL.Path, header: r.Header.Clone(), body: body}
	h.mu.Lock()
	h.requests = append(h.requests, req)
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	h.mu.Unlock()
	if status == http.StatusFound {
		http.Redirect(w, r, "/elsewhere", status)
		return
	}
	w.WriteHeader(status)
}

func (h *stripeHub) received() []hubRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hubRequest{}, h.requests...)
}

func TestPaymentsWebhooks(t *testing.T) {
	t.Parallel()
	_, srv := demoPayments(t)
	hub := &stripeHub{statuses: []int{http.StatusServiceUnavailable}}
	hubSrv := httptest.NewServer(hub)
	defer hubSrv.Close()
	const secret = "whsec_test_hub_secret"
	endpoint := hubSrv.URL + WebhookPath + "int_payments"
	body, _ := json.Marshal(map[string]string{"url": endpoint, "secret": secret})
	require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/payments/webhook_endpoint", string(body)).status)
	stripe := platform.Integration{ID: "int_payments", Platform: platform.Stripe, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{platform.FieldWebhookSecret: secret}}}

	ch := pay(t, srv, http.MethodPost, "/v1/charges", "amount=2500&currency=usd&source=tok_visa")
	require.Equal(t, http.StatusOK, ch.status)
	id := ch.body["id"].(string)

	t.Run("an event is retried while the hub answers 5xx, and the hub's verification accepts it", func(t *testing.T) {
		require.Eventually(t, func() bool {
			hooks := paymentsWebhooks(t, srv)
			return len(hooks) == 1 && hooks[0].Status == http.StatusOK
		}, 5*time.Second, 10*time.Millisecond)
		hook := paymentsWebhooks(t, srv)[0]
		require.Equal(t, "charge.succeeded", hook.Type)
		require.Equal(t, id, hook.ObjectID)
		require.Equal(t, 2, hook.Attempts)
		require.Empty(t, hook.Error)

		got := hub.received()
		require.Len(t, got, 2)
		require.Equal(t, WebhookPath+"int_payments", got[1].path)
		require.Regexp(t, `^t=\d+,v1=[0-9a-f]{64}$`, got[1].header.Get("Stripe-Signature"))
		v, err := platform.Verify(stripe, platform.Inbound{Method: http.MethodPost, Header: got[1].header, Body: got[1].body})
		require.NoError(t, err)
		require.Equal(t, hook.ID, v.DeliveryID)
		require.Equal(t, "charge.succeeded", v.EventType)

		var event map[string]any
		require.NoError(t, json.Unmarshal(got[1].body, &event))
		require.Regexp(t, `^evt_[0-9A-Za-z]{24}$`, event["id"])
		require.Equal(t, "event", event["object"])
		require.Equal(t, "2024-06-20", event["api_version"])
		require.Equal(t, false, event["livemode"])
		require.Equal(t, ch.body, event["data"].(map[string]any)["object"])

		_, err = platform.Verify(platform.Integration{Platform: platform.Stripe, Credentials: platform.Credentials{
			Fields: map[string]string{platform.FieldWebhookSecret: "whsec_other"}}},
			platform.Inbound{Method: http.MethodPost, Header: got[1].header, Body: got[1].body})
		require.ErrorIs(t, err, platform.ErrSignature)
	})
	t.Run("refunds and declines send their events with the charge", func(t *testing.T) {
		require.Equal(t, http.StatusOK, pay(t, srv, http.MethodPost, "/v1/refunds", "charge="+id+"&amount=500").status)
		declined := requirePayError(t, pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_chargeDeclined"),
			http.StatusPaymentRequired, "card_error", "card_declined")["charge"]
		require.Eventually(t, func() bool { return len(hub.received()) == 4 }, 5*time.Second, 10*time.Millisecond)
		byType := map[string]map[string]any{}
		for _, r := range hub.received()[2:] {
			_, err := platform.Verify(stripe, platform.Inbound{Method: http.MethodPost, Header: r.header, Body: r.body})
			require.NoError(t, err)
			var event map[string]any
			require.NoError(t, json.Unmarshal(r.body, &event))
			byType[event["type"].(string)] = event["data"].(map[string]any)["object"].(map[string]any)
		}
		require.Equal(t, id, byType["charge.refunded"]["id"])
		require.EqualValues(t, 500, byType["charge.refunded"]["amount_refunded"])
		require.Equal(t, declined, byType["charge.failed"]["id"])
		require.Equal(t, "failed", byType["charge.failed"]["status"])
	})
	t.Run("a redirect is not followed, an unreachable hub is tried three times", func(t *testing.T) {
		hub.mu.Lock()
		hub.statuses = []int{http.StatusFound}
		hub.mu.Unlock()
		pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_visa")
		require.Eventually(t, func() bool {
			hooks := paymentsWebhooks(t, srv)
			return len(hooks) == 4 && hooks[3].Attempts == 1
		}, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, http.StatusFound, paymentsWebhooks(t, srv)[3].Status)

		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		body, _ := json.Marshal(map[string]string{"url": gone.URL + WebhookPath + "x"})
		require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/payments/webhook_endpoint", string(body)).status)
		pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_visa")
		require.Eventually(t, func() bool {
			hooks := paymentsWebhooks(t, srv)
			return len(hooks) == 5 && hooks[4].Attempts == 3
		}, 5*time.Second, 10*time.Millisecond)
		last := paymentsWebhooks(t, srv)[4]
		require.Equal(t, 0, last.Status)
		require.NotEmpty(t, last.Error)
	})
	t.Run("a bad endpoint is refused", func(t *testing.T) {
		for _, bad := range []string{`{"url":"ftp://hub/x"}`, `{"url":"not a url"}`, `[`} {
			require.Equal(t, http.StatusBadRequest, call(t, http.MethodPut, srv.URL+"/_sim/payments/webhook_endpoint", bad).status, bad)
		}
	})
}

// TestPaymentsFormParameters checks how bracketed parameters are read.
func TestPaymentsFormParameters(t *testing.T) {
	t.Parallel()
	meta, _, ok := metadata(url.Values{"metadata[order]": {"42"}, "metadata[empty]": {""}, "amount": {"1"}})
	require.True(t, ok)
	require.Equal(t, map[string]string{"order": "42"}, meta)
	items, _, ok := subscriptionItems(url.Values{"items[1][price]": {"price_pro_yearly"}, "items[0][price]": {"price_basic_monthly"},
		"items[0][quantity]": {"3"}})
	require.True(t, ok)
	require.Equal(t, "price_basic_monthly", items[0].Price.ID)
	require.EqualValues(t, 3, items[0].Quantity)
	require.Equal(t, "price_pro_yearly", items[1].Price.ID)
	_, fail, ok := subscriptionItems(url.Values{"items[x][price]": {"p"}})
	require.False(t, ok)
	require.Equal(t, http.StatusBadRequest, fail.status)
	require.True(t, luhn("4242424242424242"))
	require.False(t, luhn("4242424242424243"))
	require.False(t, luhn("42424242"))
}

func TestPaymentsAndERPAreServedByTheSimulators(t *testing.T) {
	t.Parallel()
	o := Options{Issuers: map[string]provider.Config{}}
	for _, part := range []any{&o.Upstream, &o.ISO, &o.Switch, &o.Messaging, &o.Sites, &o.ESB, &o.Payments} {
		require.NoError(t, envconfig.Process("", part))
	}
	o.Payments.WebhookSecret = "whsec_from_options"
	sims, err := New(NewStore(open(t, freshURL)), o)
	require.NoError(t, err)
	srv := httptest.NewServer(sims.Handler())
	defer srv.Close()

	a := pay(t, srv, http.MethodPost, "/v1/charges", "amount=100&currency=usd&source=tok_visa")
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	require.Equal(t, 1, paymentsStats(t, srv).ChargesCreated)
	require.Equal(t, "whsec_from_options", sims.Payments.secret)
	require.Len(t, erpList(t, srv, "/v1/products?limit=1000").Data, 30)
	require.Equal(t, 30, erpStats(t, srv).Records["product"])
}
