package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

// integration calls a typed route as the demo integrator.
func integration(t *testing.T, route, body string, headers ...string) response {
	t.Helper()
	return h.do(t, request{method: "POST", path: "/api/v1/integration" + route, body: body}.
		asClient(demoClient, demoSecret).header(headers...))
}

// simAccount is an active home-bank account of a customer, straight from the simulator's tables.
func simAccount(t *testing.T) sim.AccountRow {
	t.Helper()
	var a sim.AccountRow
	require.NoError(t, h.store.DB().Get(&a, `SELECT account_number, bank_code, customer_id, account_name, currency,
		balance::text AS balance, available_balance::text AS available_balance, status, product, branch, opened_at,
		updated_at FROM sim_accounts WHERE bank_code = 'SWYD' AND customer_id IS NOT NULL AND status = 'active'
		ORDER BY account_number LIMIT 1`))
	return a
}

// fault injects a misbehaviour into a simulated provider; clearFaults removes them all.
func fault(t *testing.T, spec string) {
	t.Helper()
	resp, err := http.Post(h.simURL+"/_sim/faults", "application/json", strings.NewReader(spec))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}

func clearFaults(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, h.simURL+"/_sim/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
}

func simJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(h.simURL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func audit(t *testing.T, correlationID string) []schema.ProviderAuditRow {
	t.Helper()
	rows, err := h.store.ProviderAuditFor(context.Background(), correlationID)
	require.NoError(t, err)
	return rows
}

func TestIntegrationRoutesAgainstTheSimulators(t *testing.T) {
	t.Parallel()
	acct := simAccount(t)
	var other sim.AccountRow
	require.NoError(t, h.store.DB().Get(&other, `SELECT account_number, bank_code, account_name FROM sim_accounts
		WHERE bank_code = 'KCBL' ORDER BY account_number LIMIT 1`))
	var customer sim.CustomerRow
	require.NoError(t, h.store.DB().Get(&customer, `SELECT customer_id, full_name, phone FROM sim_customers
		WHERE customer_id = $1`, *acct.CustomerID))

	cases := []struct {
		route, body string
		check       func(t *testing.T, data map[string]any)
	}{
		{"/customer/search", fmt.Sprintf(`{"phone":"+%s"}`, customer.Phone), func(t *testing.T, d map[string]any) {
			found := d["customers"].([]any)
			require.NotEmpty(t, found)
			require.Equal(t, customer.FullName, found[0].(map[string]any)["full_name"])
		}},
		{"/account/search", fmt.Sprintf(`{"customer_id":%q}`, customer.CustomerID), func(t *testing.T, d map[string]any) {
			require.Contains(t, fmt.Sprint(d["accounts"]), acct.AccountNumber)
		}},
		{"/account/details", fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber), func(t *testing.T, d map[string]any) {
			require.Equal(t, acct.AccountName, d["account_name"])
			require.Equal(t, customer.CustomerID, d["customer_id"])
		}},
		{"/statement/search", fmt.Sprintf(`{"account_number":%q,"limit":5}`, acct.AccountNumber), func(t *testing.T, d map[string]any) {
			entries := d["entries"].([]any)
			require.Len(t, entries, 5)
			require.Equal(t, acct.Balance, entries[0].(map[string]any)["balance_after"], "the newest entry ends at the balance")
		}},
		{"/account/balance", fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber), func(t *testing.T, d map[string]any) {
			require.Equal(t, acct.Balance, d["balance"])
			require.Equal(t, acct.AvailableBalance, d["available_balance"])
			require.Equal(t, "TZS", d["currency"])
		}},
		{"/mno/validate", fmt.Sprintf(`{"msisdn":%q}`, customer.Phone), func(t *testing.T, d map[string]any) {
			require.Equal(t, true, d["valid"])
			require.Equal(t, customer.FullName, d["registered_name"])
			require.NotEmpty(t, d["operator"])
		}},
		{"/dictionary/bank", ``, func(t *testing.T, d map[string]any) {
			require.Len(t, d["banks"], 5)
		}},
		{"/interbank/account-name", fmt.Sprintf(`{"bank_code":"KCBL","account_number":%q}`, other.AccountNumber),
			func(t *testing.T, d map[string]any) { require.Equal(t, other.AccountName, d["account_name"]) }},
		{"/biller/category", `{}`, func(t *testing.T, d map[string]any) {
			require.Contains(t, fmt.Sprint(d["categories"]), "electricity", "decoded from the biller's XML")
		}},
		{"/biller/fetch", `{"category":"tv"}`, func(t *testing.T, d map[string]any) {
			require.Contains(t, fmt.Sprint(d["billers"]), "AZAMTV")
		}},
		{"/biller/package", `{"biller_id":"LUKU"}`, func(t *testing.T, d map[string]any) {
			require.Len(t, d["packages"], 3)
		}},
		{"/sms/send", `{"to":"+255712345678","message":"Your balance is ready","sender_id":"SWYD"}`,
			func(t *testing.T, d map[string]any) { require.Equal(t, "accepted", d["status"]) }},
		{"/push/send", `{"token":"device-token-abc123","title":"Hello","body":"From Switchyard","data":{"k":"v"}}`,
			func(t *testing.T, d map[string]any) {
				require.True(t, strings.HasPrefix(d["message_id"].(string), "projects/switchyard-test/messages/"))
			}},
		{"/email/send", `{"to":["amina@example.com"],"subject":"Statement ready","text":"Hello","html":"<p>Hello</p>"}`,
			func(t *testing.T, d map[string]any) { require.Equal(t, []any{"amina@example.com"}, d["accepted"]) }},
	}
	for _, tc := range cases {
		t.Run(tc.route, func(t *testing.T) {
			r := integration(t, tc.route, tc.body)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			tc.check(t, r.data(t))
			id := r.json(t)["metadata"].(map[string]any)["correlation_id"].(string)
			row := h.row(t, id)
			require.Equal(t, transaction.KindOperation, row.Kind)
			require.Equal(t, transaction.StatusSuccessful, row.Status)
			attempts := audit(t, id)
			require.Len(t, attempts, 1)
			require.Equal(t, schema.AuditOK, attempts[0].Outcome)
			require.NotContains(t, attempts[0].Path, acct.AccountNumber, "the audit never holds a full account number")
		})
	}

	t.Run("the SMS travelled to the gateway once", func(t *testing.T) {
		var msgs []map[string]any
		simJSON(t, "/_sim/sms/messages", &msgs)
		n := 0
		for _, m := range msgs {
			if m["message"] == "Your balance is ready" {
				n++
			}
		}
		require.Equal(t, 1, n)
	})

	t.Run("the e-mail travelled over SMTP with STARTTLS and AUTH", func(t *testing.T) {
		var mail []map[string]any
		simJSON(t, "/_sim/mail/messages", &mail)
		require.NotEmpty(t, mail)
		last := mail[len(mail)-1]
		require.Equal(t, true, last["tls"])
		require.Equal(t, "switchyard", last["auth_user"])
		require.Contains(t, last["data"], "Subject: Statement ready")
		require.Contains(t, last["data"], "multipart/alternative")
	})
}

func TestIntegrationAsyncAndStatus(t *testing.T) {
	t.Parallel()
	acct := simAccount(t)
	r := integration(t, "/account/balance?async=true", fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber))
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	id := r.data(t)["correlation_id"].(string)
	d := h.waitStatus(t, id, transaction.StatusSuccessful)
	require.Equal(t, "operation", d["kind"])
	require.Equal(t, "account_balance", d["operation"])
	result := d["result"].(map[string]any)
	require.Equal(t, acct.AccountNumber, result["account_number"], "the full answer, from the workflow's result")
	require.Equal(t, acct.Balance, result["balance"])

	row := h.row(t, id)
	require.NotContains(t, string(row.ResponseBody), acct.AccountNumber, "the log keeps account numbers masked")
	require.NotContains(t, string(row.RequestBody), acct.AccountNumber)

	again := h.do(t, request{method: "POST", path: "/transactions/" + id + "/rerun"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusConflict, again.Status, "operations are called again, not rerun")
}

func TestIntegrationInputErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, route, body string
		status            int
		code, field       string
	}{
		{"missing field", "/account/balance", `{}`, 400, "VALIDATION_ERROR", "account_number"},
		{"wrong type", "/account/balance", `{"account_number": 12345678}`, 400, "VALIDATION_ERROR", "account_number"},
		{"not digits", "/account/balance", `{"account_number": "12ab5678"}`, 400, "VALIDATION_ERROR", "account_number"},
		{"bad msisdn", "/sms/send", `{"to": "call me", "message": "hi"}`, 400, "VALIDATION_ERROR", "to"},
		{"bad e-mail", "/email/send", `{"to": ["not-an-address"], "subject": "s", "text": "t"}`, 400, "VALIDATION_ERROR", "to[0]"},
		{"no body at all", "/email/send", `{"to": ["a@example.com"], "subject": "s"}`, 400, "VALIDATION_ERROR", "text"},
		{"unknown field", "/biller/fetch", `{"category": "tv", "colour": "red"}`, 400, "VALIDATION_ERROR", "colour"},
		{"malformed", "/biller/fetch", `{"category": `, 400, "MALFORMED_JSON", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := integration(t, tc.route, tc.body)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			require.Equal(t, tc.code, r.errorCode(t))
			if tc.field != "" {
				require.Equal(t, tc.field, r.json(t)["details"].(map[string]any)["field"])
			}
		})
	}

	t.Run("a client without the permission is refused", func(t *testing.T) {
		r := h.do(t, request{method: "POST", path: "/api/v1/integration/customer/search", body: `{"name":"Amina"}`}.
			asClient("demo-partner", "partner-secret"))
		require.Equal(t, http.StatusForbidden, r.Status)
		require.Equal(t, "customer_search", r.json(t)["details"].(map[string]any)["permission"])
	})

	t.Run("an unknown account is the provider's 404 with its code", func(t *testing.T) {
		r := integration(t, "/account/balance", `{"account_number":"99999999999"}`)
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		require.Equal(t, "NOT_FOUND", r.errorCode(t))
		require.Equal(t, "ACCOUNT_NOT_FOUND", r.json(t)["details"].(map[string]any)["provider_code"])
		id := r.Header.Get("X-Correlation-ID")
		require.Len(t, audit(t, id), 1, "a 4xx is not retried")
		require.Equal(t, schema.AuditClientError, audit(t, id)[0].Outcome)
	})

	t.Run("an unregistered device token is FCM's 404", func(t *testing.T) {
		r := integration(t, "/push/send", `{"token":"unregistered-token-1","title":"t","body":"b"}`)
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		require.Equal(t, "UNREGISTERED", r.json(t)["details"].(map[string]any)["provider_code"])
	})

	t.Run("a refused recipient is a 422 with the SMTP code", func(t *testing.T) {
		r := integration(t, "/email/send", `{"to":["nobody@invalid.example"],"subject":"s","text":"t"}`)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		require.Equal(t, "RECIPIENTS_REFUSED", r.json(t)["details"].(map[string]any)["provider_code"])
	})
}

func TestSimulatorDownload(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, h.apiURL+"/api/v1/integration/simulator/download?report=accounts&limit=3", nil)
	req.Header.Set("X-Client-Id", demoClient)
	req.Header.Set("X-Client-Secret", demoSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4, "a header and three rows")
	require.True(t, strings.HasPrefix(lines[0], "account_number,bank_code,customer_id"))
}

// The tests below inject faults into the core banking simulator, so they run alone: they are
// not parallel, and Go runs them before any parallel test resumes.

func TestProviderOutageThatRecovers(t *testing.T) {
	acct := simAccount(t)
	body := fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber)
	defer clearFaults(t)

	t.Run("5xx twice, then the answer", func(t *testing.T) {
		fault(t, `{"target":"cbs","status":503,"count":2}`)
		r := integration(t, "/account/balance", body)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.EqualValues(t, 3, r.json(t)["metadata"].(map[string]any)["attempts"])
		rows := audit(t, r.Header.Get("X-Correlation-ID"))
		require.Len(t, rows, 3, "every attempt is audited")
		require.Equal(t, []string{"retryable", "retryable", "ok"}, []string{rows[0].Outcome, rows[1].Outcome, rows[2].Outcome})
		require.Equal(t, []int{1, 1, 2}, []int{rows[0].Attempt, rows[1].Attempt, rows[2].Attempt},
			"the local attempt, then the activity's own attempts")
		api := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions/" + r.Header.Get("X-Correlation-ID") + "/audit"}.asAdmin())
		require.Equal(t, http.StatusOK, api.Status)
		require.Len(t, api.json(t)["data"], 3, "operators read the attempts through the admin API")
	})

	t.Run("429 with Retry-After sets the next delay", func(t *testing.T) {
		fault(t, `{"target":"cbs","status":429,"count":1,"retry_after":1}`)
		r := integration(t, "/account/balance", body)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		rows := audit(t, r.Header.Get("X-Correlation-ID"))
		require.Len(t, rows, 2)
		require.EqualValues(t, 429, rows[0].Status.Int32)
		gap := rows[1].CreatedAt.Sub(rows[0].CreatedAt)
		require.GreaterOrEqual(t, gap, 900*time.Millisecond, "waited for Retry-After, not the 100ms policy interval")
	})

	t.Run("a timeout is retried", func(t *testing.T) {
		fault(t, `{"target":"cbs","latency":"1500ms","count":1}`)
		r := integration(t, "/account/balance", body)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		rows := audit(t, r.Header.Get("X-Correlation-ID"))
		require.Equal(t, schema.AuditTimeout, rows[0].Outcome)
	})
}

func TestProviderOutageThatDoesNot(t *testing.T) {
	acct := simAccount(t)
	body := fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber)
	defer clearFaults(t)
	fault(t, `{"target":"cbs","status":503}`) // until cleared

	r := integration(t, "/account/balance", body)
	require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
	require.Equal(t, "PROVIDER_UNAVAILABLE", r.errorCode(t))
	require.EqualValues(t, 3, r.json(t)["details"].(map[string]any)["attempts"], "the retry budget was spent")
	require.Equal(t, transaction.StatusFailed, h.row(t, r.Header.Get("X-Correlation-ID")).Status)

	// Three consecutive failures opened the breaker: the next call fails fast, sending nothing.
	start := time.Now()
	r = integration(t, "/account/balance", body)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
	require.Equal(t, "PROVIDER_CIRCUIT_OPEN", r.errorCode(t))
	require.Less(t, time.Since(start), time.Second)
	require.Equal(t, []string{schema.AuditBreakerOpen}, outcomes(audit(t, r.Header.Get("X-Correlation-ID"))))

	ready := h.do(t, request{method: "GET", path: "/ready"})
	require.Equal(t, http.StatusOK, ready.Status, "an open breaker does not make the hub unready")
	require.Equal(t, "open", ready.json(t)["providers"].(map[string]any)["cbs"])
	metrics := h.do(t, request{method: "GET", path: "/metrics"})
	require.Contains(t, string(metrics.Body), `switchyard_provider_breaker_state{issuer="cbs"} 2`)

	t.Run("async, the failure is the status", func(t *testing.T) {
		r := integration(t, "/account/balance?async=true", body)
		require.Equal(t, http.StatusAccepted, r.Status)
		d := h.waitStatus(t, r.data(t)["correlation_id"].(string), transaction.StatusFailed)
		require.Equal(t, "PROVIDER_CIRCUIT_OPEN", d["error_code"])
	})

	t.Run("once the provider is back, the breaker lets a call through and closes", func(t *testing.T) {
		clearFaults(t)
		require.Eventually(t, func() bool {
			return integration(t, "/account/balance", body).Status == http.StatusOK
		}, 10*time.Second, 250*time.Millisecond)
		require.Equal(t, "closed", h.do(t, request{method: "GET", path: "/ready"}).json(t)["providers"].(map[string]any)["cbs"])
	})
}

func TestOAuthTokenIsRenewedOnceAfterA401(t *testing.T) {
	var before map[string]int
	simJSON(t, "/_sim/oauth", &before)
	resp, err := http.Post(h.simURL+"/_sim/oauth/revoke", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	r := integration(t, "/push/send", `{"token":"device-token-renew","title":"t","body":"b"}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var after map[string]int
	simJSON(t, "/_sim/oauth", &after)
	require.Equal(t, before["issued"]+1, after["issued"], "one new token")
	require.Len(t, audit(t, r.Header.Get("X-Correlation-ID")), 1, "renewed within the attempt")
}

func TestProviderSecretsNeverLeak(t *testing.T) {
	acct := simAccount(t)
	ids := []string{}
	for _, call := range []struct{ route, body string }{
		{"/account/balance", fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber)},
		{"/biller/category", `{}`},
		{"/sms/send", `{"to":"+255712345678","message":"secret check"}`},
		{"/push/send", `{"token":"device-token-secret-check","title":"t","body":"b"}`},
		{"/email/send", `{"to":["ops@example.com"],"subject":"secret check","text":"t"}`},
	} {
		r := integration(t, call.route, call.body, "Idempotency-Key", "secret-check-"+uuid.NewString())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		ids = append(ids, r.Header.Get("X-Correlation-ID"))
	}
	secrets := []string{cbsHMACSecret, billToken, smsPassword, pushClientSecret, smtpPassword}
	for _, id := range ids {
		history := historyText(t, "op:"+id)
		rows, _ := json.Marshal(audit(t, id))
		row, _ := json.Marshal(h.row(t, id))
		// What Temporal stores holds not even the account number: every payload is encrypted.
		requireNotInRawHistory(t, "op:"+id, append(secrets, acct.AccountNumber, demoSecret)...)
		for _, s := range secrets {
			require.NotContains(t, history, s, "workflow history of %s", id)
			require.NotContains(t, string(rows), s, "audit rows of %s", id)
			require.NotContains(t, string(row), s, "transaction row of %s", id)
		}
	}
	require.Empty(t, secretsInLogs())
}

func outcomes(rows []schema.ProviderAuditRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Outcome
	}
	return out
}
