package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadInputLosesNothing sends malformed, oversized, unauthenticated and unroutable requests:
// every answer is a 4xx in the error envelope, and no row is written.
func TestBadInputLosesNothing(t *testing.T) {
	// Not parallel: it counts rows and must not see other tests' writes.
	tables := []string{"transactions", "clients", "mediators", "channels"}
	before := map[string]int{}
	for _, table := range tables {
		before[table] = h.count(t, table)
	}
	huge := strings.Repeat("x", int(h.env.API.MaxRequestBodyBytes)+1)
	client := func(r request) request { return r.asClient(demoClient, demoSecret) }
	admin := func(r request) request { return r.asAdmin() }

	cases := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"no credentials", request{method: "GET", path: "/demo/env/ping"}, 401, "AUTHENTICATION_REQUIRED"},
		{"unknown client", request{method: "GET", path: "/demo/env/ping"}.asClient("nobody", "whatever-secret"), 401, "INVALID_CREDENTIALS"},
		{"wrong secret", request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, "wrong-secret"), 401, "INVALID_CREDENTIALS"},
		{"secret too long", request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, strings.Repeat("s", 500)), 401, "INVALID_CREDENTIALS"},
		{"half the headers", request{method: "GET", path: "/demo/env/ping", headers: map[string]string{"X-Client-Id": demoClient}}, 401, "AUTHENTICATION_REQUIRED"},
		{"garbage basic auth", request{method: "GET", path: "/demo/env/ping", headers: map[string]string{"Authorization": "Basic !!!"}}, 401, "AUTHENTICATION_REQUIRED"},
		{"unknown path", client(request{method: "GET", path: "/nowhere/at/all"}), 404, "NO_CHANNEL"},
		{"unknown hub route", client(request{method: "GET", path: "/api/v1/nothing"}), 404, "NOT_FOUND"},
		{"method not allowed", client(request{method: "PATCH", path: "/integrations/teachers"}), 405, "METHOD_NOT_ALLOWED"},
		{"missing body", client(request{method: "POST", path: "/integrations/teachers"}), 400, "REQUEST_BODY_REQUIRED"},
		{"wrong content type", client(request{method: "POST", path: "/integrations/teachers", body: "a=b",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"oversized proxy body", client(request{method: "POST", path: "/integrations/teachers", body: huge}), 413, "REQUEST_BODY_TOO_LARGE"},
		{"async and sync at once", client(request{method: "POST", path: "/integrations/teachers?async=true&sync=true", body: `{}`}), 400, "VALIDATION_ERROR"},
		{"idempotency key too long", client(request{method: "POST", path: "/integrations/teachers", body: `{}`,
			headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}), 400, "VALIDATION_ERROR"},
		{"status of a malformed id", client(request{method: "GET", path: "/transactions/not-a-uuid/"}), 404, "NOT_FOUND"},
		{"status of an unknown id", client(request{method: "GET", path: "/transactions/00000000-0000-4000-8000-000000000000/"}), 404, "NOT_FOUND"},
		{"rerun of an unknown id", client(request{method: "POST", path: "/transactions/00000000-0000-4000-8000-000000000000/rerun"}), 404, "NOT_FOUND"},
		{"status without credentials", request{method: "GET", path: "/transactions/00000000-0000-4000-8000-000000000000/"}, 401, "AUTHENTICATION_REQUIRED"},
		{"admin without token", request{method: "GET", path: "/api/v1/admin/clients"}, 401, "AUTHENTICATION_REQUIRED"},
		{"admin with a wrong token", request{method: "GET", path: "/api/v1/admin/clients", headers: map[string]string{"Authorization": "Bearer nope"}}, 401, "AUTHENTICATION_REQUIRED"},
		{"malformed JSON", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id": "x",`}), 400, "MALFORMED_JSON"},
		{"truncated JSON", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id": "x", "name": "y"`}), 400, "MALFORMED_JSON"},
		{"not an object", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `[1,2]`}), 400, "MALFORMED_JSON"},
		{"empty body", admin(request{method: "POST", path: "/api/v1/admin/clients", body: " "}), 400, "MALFORMED_JSON"},
		{"trailing data", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x","name":"y"} {}`}), 400, "MALFORMED_JSON"},
		{"wrong type", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x","name":"y","allowed_ips":"10.0.0.1"}`}), 400, "VALIDATION_ERROR"},
		{"unknown field", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x","name":"y","colour":"red"}`}), 400, "VALIDATION_ERROR"},
		{"missing name", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x"}`}), 400, "VALIDATION_ERROR"},
		{"bad client id", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"a b","name":"y"}`}), 400, "VALIDATION_ERROR"},
		{"bad IP", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x","name":"y","allowed_ips":["10.0.0.999"]}`}), 400, "VALIDATION_ERROR"},
		{"short secret", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"x","name":"y","client_secret":"short"}`}), 400, "VALIDATION_ERROR"},
		{"oversized admin body", admin(request{method: "POST", path: "/api/v1/admin/clients", body: `{"name":"` + huge + `"}`}), 413, "REQUEST_BODY_TOO_LARGE"},
		{"bad endpoint", admin(request{method: "POST", path: "/api/v1/admin/mediators", body: `{"urn":"urn:x","name":"x","endpoint_url":"ftp://x"}`}), 400, "VALIDATION_ERROR"},
		{"bad pattern", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"^(","methods":["GET"],"mediator_urn":"urn:switchyard:demo:echo"}`}), 400, "VALIDATION_ERROR"},
		{"reserved pattern", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/api/v1/x","methods":["GET"],"mediator_urn":"urn:switchyard:demo:echo"}`}), 400, "VALIDATION_ERROR"},
		{"bad method", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/x","methods":["FETCH"],"mediator_urn":"urn:switchyard:demo:echo"}`}), 400, "VALIDATION_ERROR"},
		{"unknown mediator", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/x","methods":["GET"],"mediator_urn":"urn:none"}`}), 400, "VALIDATION_ERROR"},
		{"bad retry policy", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/x","methods":["GET"],"mediator_urn":"urn:switchyard:demo:echo","retry_policy":{"max_attempts":0}}`}), 400, "VALIDATION_ERROR"},
		{"bad duration", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/x","methods":["GET"],"mediator_urn":"urn:switchyard:demo:echo","timeout":"soon"}`}), 400, "VALIDATION_ERROR"},
		{"iso channels are not available yet", admin(request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"x","path_pattern":"/x","methods":["GET"],"mediator_urn":"urn:switchyard:demo:echo","kind":"iso8583"}`}), 400, "VALIDATION_ERROR"},
		{"unknown client update", admin(request{method: "PATCH", path: "/api/v1/admin/clients/nobody", body: `{"name":"n"}`}), 404, "NOT_FOUND"},
		{"unknown channel", admin(request{method: "GET", path: "/api/v1/admin/channels/not-a-uuid"}), 404, "NOT_FOUND"},
		{"bad page", admin(request{method: "GET", path: "/api/v1/admin/clients?limit=0"}), 400, "VALIDATION_ERROR"},
		{"bad status filter", admin(request{method: "GET", path: "/api/v1/admin/transactions?status=lost"}), 400, "VALIDATION_ERROR"},
		{"unknown signal", admin(request{method: "POST", path: "/api/v1/admin/transactions/00000000-0000-4000-8000-000000000000/signals/explode"}), 400, "VALIDATION_ERROR"},
		{"signal to an unknown transaction", admin(request{method: "POST", path: "/api/v1/admin/transactions/00000000-0000-4000-8000-000000000000/signals/retry"}), 404, "NOT_FOUND"},
		{"wrong method on a hub route", request{method: "POST", path: "/health"}, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.req)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			require.Equal(t, tc.code, r.errorCode(t))
		})
	}
	for _, table := range tables {
		require.Equal(t, before[table], h.count(t, table), "bad input wrote to %s", table)
	}
}

// TestSecretsAreNeverLogged checks the logs so far; TestMain checks them again once every test,
// parallel ones included, has run (see secretsInLogs).
func TestSecretsAreNeverLogged(t *testing.T) {
	r := h.do(t, request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, "a-wrong-secret-value"))
	require.Equal(t, 401, r.Status)
	require.Contains(t, hubLogs.String(), "Client authentication failed", "failures are logged")
	require.Empty(t, secretsInLogs())
}

// knownSecrets are every secret the tests use.
var knownSecrets = []string{demoSecret, "partner-secret", "a-wrong-secret-value", adminToken, "a-new-secret-1",
	"limited-secret", cbsHMACSecret, billToken, smsPassword, pushClientSecret, smtpPassword, paymentsAPIKey, erpAPIKey}

// secretsInLogs lists the known secrets that appear in the hub's logs.
func secretsInLogs() []string {
	logs := hubLogs.String()
	var found []string
	secrets := append([]string(nil), knownSecrets...)
	for _, fields := range h.env.Messaging.DemoCredentials() {
		for name, value := range fields {
			if name != "phone_number_id" && name != "public_key" {
				secrets = append(secrets, value)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			found = append(found, s)
		}
	}
	return found
}
