package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func TestConnectorPathsResolveToTheirOperations(t *testing.T) {
	t.Parallel()
	doc, err := api.OpenAPI()
	require.NoError(t, err)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	base := api.ConnectorsBase
	for _, tc := range []struct {
		method, path, operation string
		params                  map[string]string
	}{
		{"POST", base + "/erp/sync", "erp_sync", nil},
		{"POST", base + "/erp/sync/", "erp_sync", nil},
		{"POST", base + "/erp/batch_sync", "erp_batch_sync", nil},
		{"POST", base + "/erp/customer", provider.OpERPEntityCreate, map[string]string{"entity_type": "customer"}},
		{"POST", base + "/erp/sync_log", provider.OpERPEntityCreate, map[string]string{"entity_type": "sync_log"}},
		{"PUT", base + "/erp/customer/cus_000001", provider.OpERPEntityUpdate,
			map[string]string{"entity_type": "customer", "id": "cus_000001"}},
		{"DELETE", base + "/erp/invoice/inv_000002/", provider.OpERPEntityDelete,
			map[string]string{"entity_type": "invoice", "id": "inv_000002"}},
		{"GET", base + "/erp/status", "connector_status", map[string]string{"name": "erp"}},
		{"GET", base + "/payments/status", "connector_status", map[string]string{"name": "payments"}},
		{"GET", base + "/payments/charges/ch_x", provider.OpPaymentChargeGet, map[string]string{"id": "ch_x"}},
		{"GET", base + "/payments/charges/status", provider.OpPaymentChargeGet, map[string]string{"id": "status"}},
		{"POST", base + "/payments/charges", provider.OpPaymentChargeCreate, nil},
		{"POST", base + "/payments/refunds", provider.OpPaymentRefundCreate, nil},
		{"POST", base + "/payments/payment-methods", provider.OpPaymentMethodCreate, nil},
		{"POST", base + "/payments/subscriptions", provider.OpPaymentSubscriptionCreate, nil},
		{"POST", base + "/payments/subscriptions/sub_1/cancel", provider.OpPaymentSubscriptionCancel,
			map[string]string{"id": "sub_1"}},
	} {
		t.Run(tc.method+" "+tc.path+" is "+tc.operation, func(t *testing.T) {
			route, params, err := router.FindRoute(&http.Request{Method: tc.method, URL: &url.URL{Path: tc.path}})
			require.NoError(t, err)
			require.Equal(t, tc.operation, route.Operation.OperationID)
			for k, v := range tc.params {
				require.Equal(t, v, params[k], k)
			}
		})
	}
	t.Run("what the API does not serve is not documented", func(t *testing.T) {
		for _, r := range [][2]string{{"GET", base + "/erp/customer"}, {"POST", base + "/erp/status/x"},
			{"PATCH", base + "/erp/customer/cus_1"}, {"GET", base + "/payments/refunds"}} {
			_, _, err := router.FindRoute(&http.Request{Method: r[0], URL: &url.URL{Path: r[1]}})
			require.Error(t, err, "%s %s", r[0], r[1])
		}
	})
}

func TestConnectorRequestsOfferOnlyWhatClientsSend(t *testing.T) {
	t.Parallel()
	doc, err := api.OpenAPI()
	require.NoError(t, err)
	body := func(path string) map[string]any {
		op := doc.Paths.Find(api.ConnectorsBase + path).Post
		require.NotNil(t, op, path)
		raw, err := json.Marshal(op.RequestBody.Value.Content.Get("application/json").Schema.Value)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out))
		return out
	}
	card := body("/payments/payment-methods")["properties"].(map[string]any)["card"].(map[string]any)
	props := card["properties"].(map[string]any)
	for _, hub := range []string{"sealed_number", "sealed_cvc", "last4"} {
		require.NotContains(t, props, hub, "the hub fills %s itself", hub)
	}
	require.ElementsMatch(t, []any{"number", "exp_month", "exp_year", "cvc"}, keys(props))
	require.Equal(t, false, card["additionalProperties"])
	require.ElementsMatch(t, []any{"number", "exp_month", "exp_year"}, card["required"])

	charge := body("/payments/charges")
	require.ElementsMatch(t, []any{"amount", "currency", "source"}, charge["required"])
	amount := charge["properties"].(map[string]any)["amount"].(map[string]any)
	require.Equal(t, 1.0, amount["minimum"], "bounds come from the validate tags")
	require.Equal(t, 99999999.0, amount["maximum"])
	metadata := charge["properties"].(map[string]any)["metadata"].(map[string]any)
	require.Equal(t, 50.0, metadata["maxProperties"])
	require.Equal(t, map[string]any{"type": "string", "maxLength": 500.0}, metadata["additionalProperties"],
		"the keys' rules do not bound the values")

	reason := body("/payments/refunds")["properties"].(map[string]any)["reason"].(map[string]any)
	require.ElementsMatch(t, []any{"duplicate", "fraudulent", "requested_by_customer"}, reason["enum"])
}

func keys(m map[string]any) []any {
	out := make([]any, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestEveryConnectorRouteIsDocumented(t *testing.T) {
	h := newHub(t, api.Config{})
	engine, ok := h.server.Handler().(*gin.Engine)
	require.True(t, ok)
	param := regexp.MustCompile(`:([a-z_]+)`)
	served := map[string]bool{}
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, api.ConnectorsBase+"/") || strings.HasSuffix(r.Path, "/") {
			continue
		}
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	require.NotEmpty(t, served)
	doc, err := api.OpenAPI()
	require.NoError(t, err)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if strings.HasPrefix(path, api.ConnectorsBase+"/") {
			for method := range item.Operations() {
				documented[method+" "+path] = true
			}
		}
	}
	require.Equal(t, served, documented)
}

// connectorTime is when the test's provider objects were made.
var connectorTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// operationResult is a successful operation answering v.
func operationResult(t *testing.T, status int, v any) workflows.OperationResult {
	t.Helper()
	body, err := json.Marshal(v)
	require.NoError(t, err)
	return workflows.OperationResult{Status: string(transaction.StatusSuccessful), HTTPStatus: status, Body: body,
		Attempts: 1}
}

func TestConnectorAnswersMatchTheDocument(t *testing.T) {
	h := newHub(t, api.Config{ConnectorRateLimitPerMinute: 600})
	who := h.client(provider.IssuerPayments, provider.IssuerERP)
	var result any
	h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
		return fakeRun{id: opts.ID, result: result}, nil
	})
	base := api.ConnectorsBase

	t.Run("a charge without a description answers it null", func(t *testing.T) {
		result = operationResult(t, http.StatusOK, provider.Charge{ID: "ch_1", Amount: 1250, Currency: "usd",
			Status: provider.ChargeSucceeded, CreatedAt: connectorTime, UpdatedAt: connectorTime,
			Metadata: map[string]string{"order": "42"}, Refunds: []provider.Refund{}, PaymentMethodID: "pm_1",
			PaymentMethodDetails: map[string]any{"card": map[string]any{"brand": "visa", "last4": "4242"}}})
		a := h.do("POST", base+"/payments/charges", who, map[string]any{"amount": 1250, "currency": "USD",
			"source": "tok_visa", "metadata": map[string]string{"order": "42"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Contains(t, a.data(), "description")
		require.Nil(t, a.data()["description"])
		require.Equal(t, "600", a.header.Get("X-RateLimit-Limit"))
		require.NotEmpty(t, a.body["metadata"].(map[string]any)["status_url"])
	})

	t.Run("a charge read back carries its refunds, a refund without a reason null", func(t *testing.T) {
		refund := provider.Refund{ID: "re_1", Amount: 250, Currency: "usd", Status: "succeeded", CreatedAt: connectorTime,
			UpdatedAt: connectorTime, ChargeID: "ch_1", Metadata: map[string]string{}}
		result = operationResult(t, http.StatusOK, provider.Charge{ID: "ch_1", Amount: 1250, Currency: "usd",
			Status: provider.ChargePartiallyRefunded, CreatedAt: connectorTime, UpdatedAt: connectorTime,
			Description: openapiPtr("order 42"), Metadata: map[string]string{}, AmountRefunded: 250,
			Refunds: []provider.Refund{refund}})
		a := h.do("GET", base+"/payments/charges/ch_1", who, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Nil(t, a.data()["refunds"].([]any)[0].(map[string]any)["reason"])

		result = operationResult(t, http.StatusOK, refund)
		a = h.do("POST", base+"/payments/refunds", who, map[string]any{"charge_id": "ch_1", "amount": 250})
		require.Equal(t, http.StatusOK, a.code, a.raw)
	})

	t.Run("a decline is 402 PAYMENT_ERROR with the decline code", func(t *testing.T) {
		result = workflows.OperationResult{Status: string(transaction.StatusFailed), HTTPStatus: http.StatusPaymentRequired,
			ProviderCode: "card_declined", Message: "Your card has insufficient funds.", Attempts: 1,
			ProviderDetail: map[string]string{"type": "card_error", "code": "card_declined",
				"decline_code": "insufficient_funds"}}
		a := h.do("POST", base+"/payments/charges", who, map[string]any{"amount": 1250, "currency": "usd",
			"source": "tok_chargeDeclinedInsufficientFunds"})
		require.Equal(t, http.StatusPaymentRequired, a.code, a.raw)
		require.Equal(t, api.CodePaymentError, a.errorCode())
		details := a.body["details"].(map[string]any)
		require.Equal(t, "insufficient_funds", details["decline_code"])
		require.Equal(t, "card_declined", details["provider_code"])
	})

	t.Run("the provider's rate limit is 429 RATE_LIMIT_ERROR with Retry-After", func(t *testing.T) {
		result = workflows.OperationResult{Status: string(transaction.StatusFailed), Attempts: 4,
			ErrorCode: transaction.ErrorCodeProviderUnavailable, Error: "the provider answered 429",
			ProviderStatus: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}
		a := h.do("POST", base+"/payments/refunds", who, map[string]any{"charge_id": "ch_1"})
		require.Equal(t, http.StatusTooManyRequests, a.code, a.raw)
		require.Equal(t, api.CodeRateLimitError, a.errorCode())
		require.Equal(t, "2", a.header.Get("Retry-After"))
	})

	t.Run("a provider that does not answer in time is 504 TIMEOUT_ERROR", func(t *testing.T) {
		result = workflows.OperationResult{Status: string(transaction.StatusFailed), Attempts: 4,
			ErrorCode: transaction.ErrorCodeProviderTimeout, Error: "the provider did not answer in time"}
		a := h.do("GET", base+"/payments/charges/ch_1", who, nil)
		require.Equal(t, http.StatusGatewayTimeout, a.code, a.raw)
		require.Equal(t, api.CodeTimeoutError, a.errorCode())
	})

	t.Run("a subscription canceled at period end has not ended", func(t *testing.T) {
		amount := int64(1500)
		canceled := connectorTime.Add(time.Hour)
		result = operationResult(t, http.StatusOK, provider.Subscription{ID: "sub_1", Status: "active",
			CreatedAt: connectorTime, UpdatedAt: canceled, CurrentPeriodStart: connectorTime,
			CurrentPeriodEnd: connectorTime.AddDate(0, 1, 0), CustomerID: "cus_1", Metadata: map[string]string{},
			Amount: &amount, Currency: "usd", Interval: "month", IntervalCount: 1, CanceledAt: &canceled,
			CancelAtPeriodEnd: true})
		a := h.do("POST", base+"/payments/subscriptions/sub_1/cancel", who, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Nil(t, a.data()["ended_at"])
		require.Nil(t, a.data()["trial_start"])
		require.Equal(t, true, a.data()["cancel_at_period_end"])

		a = h.do("POST", base+"/payments/subscriptions", who, map[string]any{"customer": "cus_1",
			"items": []map[string]any{{"price": "price_basic", "quantity": 2}}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
	})

	t.Run("a payment method answers the card's brand and last digits; sealed fields are refused", func(t *testing.T) {
		result = operationResult(t, http.StatusOK, provider.PaymentMethod{ID: "pm_1", Type: "card",
			CreatedAt: connectorTime, Metadata: map[string]string{}, Brand: "visa", Last4: "4242", ExpMonth: 12,
			ExpYear: 2030})
		a := h.do("POST", base+"/payments/payment-methods", who, map[string]any{"type": "card",
			"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "4242", a.data()["last4"])

		a = h.do("POST", base+"/payments/payment-methods", who, map[string]any{"type": "card",
			"card": map[string]any{"sealed_number": "v1:abc", "exp_month": 12, "exp_year": 2030}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, api.CodeValidation, a.errorCode())
	})

	t.Run("async starts answer 202 with the status URL", func(t *testing.T) {
		a := h.do("POST", base+"/payments/charges?async=true", who, map[string]any{"amount": 100, "currency": "usd",
			"source": "tok_visa"})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.NotEmpty(t, a.header.Get("Location"))
	})

	t.Run("ERP records are answered as the ERP gives them", func(t *testing.T) {
		result = operationResult(t, http.StatusCreated, map[string]any{"id": "cus_000001", "name": "Acme",
			"credit_limit": 5000, "tags": []string{"gold"}, "created_at": connectorTime, "updated_at": connectorTime})
		a := h.do("POST", base+"/erp/customer", who, map[string]any{"name": "Acme", "credit_limit": 5000,
			"tags": []string{"gold"}})
		require.Equal(t, http.StatusCreated, a.code, a.raw)
		require.Equal(t, "cus_000001", a.data()["id"])

		a = h.do("PUT", base+"/erp/customer/cus_000001", who, map[string]any{"name": "Acme Ltd"})
		require.Equal(t, http.StatusOK, a.code, a.raw)

		result = operationResult(t, http.StatusOK, map[string]any{"id": "cus_000001", "deleted": true})
		a = h.do("DELETE", base+"/erp/customer/cus_000001", who, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["deleted"])
	})

	t.Run("the ERP's refusals and unknown entity types are VALIDATION_ERROR", func(t *testing.T) {
		result = workflows.OperationResult{Status: string(transaction.StatusFailed), HTTPStatus: http.StatusUnprocessableEntity,
			ProviderCode: "validation_failed", Message: "email is invalid", Attempts: 1,
			ProviderDetail: map[string]string{"code": "validation_failed"}}
		a := h.do("POST", base+"/erp/customer", who, map[string]any{"email": "not-an-address"})
		require.Equal(t, http.StatusUnprocessableEntity, a.code, a.raw)
		require.Equal(t, api.CodeValidation, a.errorCode())

		a = h.do("POST", base+"/erp/spaceship", who, map[string]any{"name": "x"})
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
		require.Equal(t, api.CodeValidation, a.errorCode())
	})

	t.Run("a batch sync answers every record's outcome", func(t *testing.T) {
		created, err := json.Marshal(map[string]any{"id": "cus_000002", "name": "Bolt"})
		require.NoError(t, err)
		result = workflows.BatchResult{Status: string(transaction.StatusFailed), Total: 2, Succeeded: 1, Failed: 1,
			Items: []workflows.BatchItem{
				{Index: 0, Operation: provider.OpERPEntityCreate, Success: true, HTTPStatus: http.StatusCreated,
					Data: created, CorrelationID: "c0"},
				{Index: 1, Operation: provider.OpERPEntityUpdate, HTTPStatus: http.StatusUnprocessableEntity,
					ErrorCode: "UNPROCESSABLE", Error: "email is invalid", CorrelationID: "c1"},
			}}
		a := h.do("POST", base+"/erp/batch_sync", who, map[string]any{"entity_type": "customer", "max_concurrent": 2,
			"records": []map[string]any{{"name": "Bolt"}, {"id": "cus_000001", "email": "nope"}}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		results := a.data()["results"].([]any)
		require.Len(t, results, 2)
		require.Equal(t, api.CodeValidation, results[1].(map[string]any)["error"].(map[string]any)["code"])

		a = h.do("POST", base+"/erp/batch_sync?async=true", who, map[string]any{"entity_type": "customer",
			"records": []map[string]any{{"name": "Coil"}}})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.Equal(t, "processing", a.data()["status"])
	})

	t.Run("an ERP sync starts at once", func(t *testing.T) {
		a := h.do("POST", base+"/erp/sync", who, map[string]any{"filters": map[string]string{"entity_types": "customer"}})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		require.NotEmpty(t, a.data()["sync_id"])
	})

	t.Run("a connector's status before any sync has last_sync null", func(t *testing.T) {
		for _, name := range provider.Connectors {
			a := h.do("GET", base+"/"+name+"/status", who, nil)
			require.Equal(t, http.StatusOK, a.code, a.raw)
			require.Contains(t, a.data(), "last_sync")
			require.Nil(t, a.data()["last_sync"])
			require.Equal(t, name, a.data()["name"])
		}
		a := h.do("GET", base+"/crm/status", who, nil)
		require.Equal(t, http.StatusNotFound, a.code, a.raw)
		require.Equal(t, api.CodeConnectorError, a.errorCode())
	})

	t.Run("a client without credentials or the permission is refused", func(t *testing.T) {
		a := h.do("GET", base+"/payments/status", "", nil)
		require.Equal(t, http.StatusUnauthorized, a.code, a.raw)
		require.Equal(t, api.CodeAuthenticationError, a.errorCode())
		a = h.do("POST", base+"/payments/charges", h.client(provider.IssuerERP), map[string]any{"amount": 1,
			"currency": "usd", "source": "tok_visa"})
		require.Equal(t, http.StatusForbidden, a.code, a.raw)
		require.Equal(t, api.CodeAuthenticationError, a.errorCode())
	})

	require.True(t, slices.ContainsFunc(h.started(), func(s started) bool { return s.workflowType == workflows.WorkflowSync }))
}

func openapiPtr[T any](v T) *T { return &v }
