package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

// rawDo sends one request as written, bypassing the harness's checks, and reads the answer.
func rawDo(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func TestUnknownMethodsShareOneMetricLabel(t *testing.T) {
	t.Parallel()
	// 32 KB each: under the API's 64 KiB header limit, so they reach the metrics middleware.
	method := strings.Repeat("A", 32<<10)
	before := rawDo(t, "GET", h.apiURL+"/metrics", nil)
	require.Equal(t, http.StatusOK, before.Status)
	for i := range 20 {
		r := rawDo(t, method+fmt.Sprint(i), h.apiURL+"/e2e/methods/x", nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
	}
	metrics := rawDo(t, "GET", h.apiURL+"/metrics", nil)
	require.Equal(t, http.StatusOK, metrics.Status)
	// Not require.NotContains: on failure it would print megabytes.
	require.False(t, strings.Contains(string(metrics.Body), strings.Repeat("A", 64)), "a client's method never becomes a label")
	require.Contains(t, string(metrics.Body), `method="OTHER"`)
	// 20 methods of 32 KB would add 640 KB as labels; as one OTHER label they add a few series
	// (other tests running in parallel add some too).
	require.Less(t, len(metrics.Body)-len(before.Body), 128<<10, "/metrics stays small")
	require.False(t, strings.Contains(hubLogs.String(), strings.Repeat("A", 64)), "logs keep a method's first bytes only")
}

func TestRequestHeadersPastTheLimitAreRefused(t *testing.T) {
	t.Parallel()
	// A request must fit in workflow history: headers past api.MaxHeaderBytes never reach a workflow.
	r := rawDo(t, strings.Repeat("A", 2*api.MaxHeaderBytes), h.apiURL+"/e2e/methods/x", nil)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, r.Status)
}

// recordingUpstream is a mediator that records the paths it was asked for, exactly as they
// arrived, without normalising them as a ServeMux would.
type recordingUpstream struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.paths = append(u.paths, r.RequestURI)
		u.mu.Unlock()
		_, _ = w.Write([]byte("reached " + r.RequestURI))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.paths...)
}

func TestPathTricksCannotReachAnotherChannel(t *testing.T) {
	t.Parallel()
	upstream := newRecordingUpstream(t)
	urn := "urn:test:paths"
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/mediators",
		body: fmt.Sprintf(`{"urn":%q,"name":"paths","version":"1","endpoint_url":%q,"is_online":true}`,
			urn, upstream.URL+"/base")}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	for _, ch := range []string{
		// Only the payments role may pay; everyone may use the rest of /e2e/paths.
		`{"name":"paths-payments","path_pattern":"/e2e/paths/payments","methods":["GET"],"priority":10,"allowed_roles":["payments-only"]}`,
		`{"name":"paths-rest","path_pattern":"/e2e/paths/**","methods":["GET"],"priority":1}`,
	} {
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/channels",
			body: strings.Replace(ch, "{", fmt.Sprintf(`{"mediator_urn":%q,`, urn), 1)}.asAdmin())
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	as := map[string]string{"X-Client-Id": demoClient, "X-Client-Secret": demoSecret}

	r = rawDo(t, "GET", h.apiURL+"/e2e/paths/payments", as)
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)

	for _, trick := range []string{
		"/e2e/paths/x/../payments", "/e2e/paths//payments", "/e2e/paths/./payments", "/e2e/paths/..;/paths/payments",
		"/e2e/paths/x/..%2fpayments", "/e2e/paths/%2e%2e/paths/payments", "/e2e/paths/x%2f..%2f..%2f..%2fadmin",
		"/e2e/paths/..%2f..%2f..%2fadmin", "/e2e/paths/a%5c..%5cpayments", "/e2e/paths/%252e%252e/payments",
		"/e2e//paths/payments",
	} {
		r := rawDo(t, "GET", h.apiURL+trick, as)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", trick, r.Body)
		require.Equal(t, api.CodeInvalidPath, r.errorCode(t), trick)
	}
	require.Empty(t, upstream.seen(), "no trick reached the upstream")

	t.Run("ordinary paths still go through, under the mediator's base path", func(t *testing.T) {
		r := rawDo(t, "GET", h.apiURL+"/e2e/paths/a.b/..c/?q=1", as)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, []string{"/base/e2e/paths/a.b/..c/?q=1"}, upstream.seen())
	})
}

func TestForwardingHeadersAreTheHubs(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, demoSecret).header(
		"Connection", "close, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto",
		"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.example", "Forwarded", "for=6.6.6.6"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	echo := echoOf(t, r)
	require.Equal(t, []string{"127.0.0.1"}, echo.Headers["X-Forwarded-For"],
		"the connection's address, not the client's claim, and a Connection header cannot remove it")
	require.Equal(t, []string{strings.TrimPrefix(h.apiURL, "http://")}, echo.Headers["X-Forwarded-Host"])
	require.Equal(t, []string{"http"}, echo.Headers["X-Forwarded-Proto"])
	require.NotContains(t, echo.Headers, "Forwarded")
}

func TestTheLogRedactsCredentialsByName(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "GET", path: "/integrations/redaction?region=north&access_token=tok-e2e-1"}.
		asClient(demoClient, demoSecret).header("X-Upstream-Api-Key", "key-e2e-1", "X-Partner-Auth", "auth-e2e-1",
		"X-Trace", "t1"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	echo := echoOf(t, r)
	require.Equal(t, []string{"key-e2e-1"}, echo.Headers["X-Upstream-Api-Key"], "upstreams get the real values")
	require.Equal(t, []string{"auth-e2e-1"}, echo.Headers["X-Partner-Auth"])
	require.Equal(t, "region=north&access_token=tok-e2e-1", echo.Query)

	id := r.Header.Get("X-Correlation-ID")
	row := h.row(t, id)
	require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Upstream-Api-Key"])
	require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Partner-Auth"])
	require.Equal(t, []string{"t1"}, row.RequestHeaders["X-Trace"])
	require.Equal(t, "region=north&access_token=[REDACTED]", row.Query)
}

// slowAPI serves the hub's API, wired as `switchyard api` wires it, with short server timeouts.
func slowAPI(t *testing.T, read, write time.Duration) string {
	t.Helper()
	cfg := h.env.API
	cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = read, write, 2*read
	return strings.TrimPrefix(instance(t, cfg).apiURL, "http://")
}

// dribble writes head at once, then body one byte every interval, and returns the first line
// of the answer (empty when the server just closed) and how long until the connection ended.
func dribble(t *testing.T, addr, head, body string, interval time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range len(body) {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	_, err = io.Copy(io.Discard, conn)
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the server never closed the connection")
	return strings.TrimSpace(line), time.Since(start)
}

func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	const read = 1500 * time.Millisecond
	addr := slowAPI(t, read, syncWait+6*time.Second)

	t.Run("a body sent one byte every 2 s", func(t *testing.T) {
		t.Parallel()
		head := "POST /integrations/teachers HTTP/1.1\r\nHost: hub\r\nX-Client-Id: " + demoClient +
			"\r\nX-Client-Secret: " + demoSecret + "\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
		status, took := dribble(t, addr, head, `{"teacher_id":"T-slow","padding":"xxxx"}`, 2*time.Second)
		require.Equal(t, "HTTP/1.1 408 Request Timeout", status)
		require.Less(t, took, read+time.Second, "cut off at API_READ_TIMEOUT")
	})

	t.Run("headers sent one byte every 2 s", func(t *testing.T) {
		t.Parallel()
		_, took := dribble(t, addr, "", "GET /health HTTP/1.1\r\nHost: hub\r\nX-Trace: slow\r\n\r\n", 2*time.Second)
		require.Less(t, took, read+time.Second, "cut off at API_READ_TIMEOUT")
	})

	t.Run("an idle keep-alive connection", func(t *testing.T) {
		t.Parallel()
		status, took := dribble(t, addr, "GET /health HTTP/1.1\r\nHost: hub\r\n\r\n", "", 0)
		require.Equal(t, "HTTP/1.1 200 OK", status)
		require.Less(t, took, 2*read+time.Second, "closed at API_IDLE_TIMEOUT")
	})

	t.Run("requests that outlive API_READ_TIMEOUT still get their answer", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/demo/env/ping", ""},
			{"POST", "/integrations/teachers", `{"teacher_id":"T-1"}`},
		} {
			req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("X-Client-Id", demoClient)
			req.Header.Set("X-Client-Secret", demoSecret)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(sim.HeaderLatency, (read + 500*time.Millisecond).String())
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", tc.method, tc.path, b)
		}
	})
}
