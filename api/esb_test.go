package api

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

func esbContext(target string, header ...string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		c.Request.Header.Set(header[i], header[i+1])
	}
	return c
}

func TestESBRouteChoosesTheCode(t *testing.T) {
	t.Parallel()
	both := schema.ESBRegistrationRow{Organization: "ORG", APICode: "A", PushCode: "P"}
	pushOnly := schema.ESBRegistrationRow{Organization: "ORG", PushCode: "P"}
	for _, tc := range []struct {
		name   string
		reg    schema.ESBRegistrationRow
		target string
		header []string
		want   *transaction.ESBRoute
		field  string
	}{
		{"api_code by default", both, "/x", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "normal", Code: "A"}, ""},
		{"push_code when there is no api_code", pushOnly, "/x", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "push", Code: "P"}, ""},
		{"the header asks for push", both, "/x", []string{"X-ESB-Mode", "PUSH"}, &transaction.ESBRoute{Organization: "ORG", Mode: "push", Code: "P"}, ""},
		{"the query asks for normal", both, "/x?esb_mode=normal", nil, &transaction.ESBRoute{Organization: "ORG", Mode: "normal", Code: "A"}, ""},
		{"normal without an api_code", pushOnly, "/x?esb_mode=normal", nil, nil, "esb_mode"},
		{"another mode", both, "/x?esb_mode=turbo", nil, nil, "esb_mode"},
		{"header and query disagree", both, "/x?esb_mode=normal", []string{"X-ESB-Mode", "push"}, nil, "esb_mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := esbRoute(esbContext(tc.target, tc.header...), tc.reg)
			if tc.field != "" {
				require.Equal(t, tc.field, toError(err).Details["field"])
				require.Equal(t, http.StatusBadRequest, toError(err).Status)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRequestOrganization(t *testing.T) {
	t.Parallel()
	org, err := requestOrganization(esbContext("/x?organization=ORG-1"), "")
	require.NoError(t, err)
	require.Equal(t, "ORG-1", org)
	_, err = requestOrganization(esbContext("/x"), "")
	require.Equal(t, CodeOrganizationRequired, toError(err).Code)
	_, err = requestOrganization(esbContext("/x", "X-Organization", "ORG 1"), "")
	require.Equal(t, CodeValidation, toError(err).Code)
}

func TestESBIndexKeepsTheGlobalAndTheChannelRegistrationsOldestFirst(t *testing.T) {
	t.Parallel()
	ch := func(id string) sql.NullString { return sql.NullString{String: id, Valid: true} }
	idx := newESBIndex([]schema.ESBRegistrationRow{ // oldest first, as the store lists them
		{ID: "1", Organization: "ORG", ChannelID: ch("c1"), APICode: "on-c1"},
		{ID: "2", Organization: "ORG", ChannelID: ch("c2"), APICode: "on-c2"},
		{ID: "3", Organization: "ORG", APICode: "global"},
		{ID: "4", Organization: "OTHER", ChannelID: ch("c2"), PushCode: "other-on-c2"},
	})
	require.Equal(t, "3", idx.global["ORG"].ID)
	require.Equal(t, []string{"1", "2"}, []string{idx.bound["ORG"][0].ID, idx.bound["ORG"][1].ID})
	require.Equal(t, "4", idx.bound["OTHER"][0].ID)
	require.Len(t, idx.byChannel["c2"], 2)
	require.Empty(t, idx.byChannel["c3"])
}

// esbRows is an ESB store that lists fixed active registrations.
type esbRows struct {
	ESBStore
	rows []schema.ESBRegistrationRow
}

func (e esbRows) ActiveESBRegistrations(context.Context) ([]schema.ESBRegistrationRow, error) {
	return e.rows, nil
}

// routeRows is a route store that lists fixed active channels.
type routeRows []schema.RouteRow

func (r routeRows) ActiveRoutes(context.Context) ([]schema.RouteRow, error) { return r, nil }

// esbServer is a server with only what channelFor reads: the active channels and registrations.
func esbServer(channels []schema.RouteRow, regs []schema.ESBRegistrationRow) *Server {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Server{routes: newRouteCache(routeRows(channels), time.Hour, logger),
		esb: newESBCache(esbRows{rows: regs}, time.Hour, logger)}
}

func TestChannelForRelays(t *testing.T) {
	t.Parallel()
	bound := func(id string) sql.NullString { return sql.NullString{String: id, Valid: true} }
	active := schema.RouteRow{ChannelRow: schema.ChannelRow{ID: "c-active", Name: "active", PathPattern: "/x", Methods: []string{"POST"},
		HonoursIdempotencyKey: true,
		AllowedClients:        []string{"allowed"}}, MediatorOnline: true}
	regs := []schema.ESBRegistrationRow{ // oldest first
		{ID: "on-inactive", Organization: "ORG", ChannelID: bound("c-inactive"), PushCode: "P-INACTIVE"},
		{ID: "on-active", Organization: "ORG", ChannelID: bound("c-active"), PushCode: "P-ACTIVE"},
		{ID: "only-inactive", Organization: "LOST", ChannelID: bound("c-inactive"), PushCode: "P-LOST"},
	}
	s := esbServer([]schema.RouteRow{active}, regs)
	rt := &route{RouteRow: active}

	t.Run("a relay never counts on the mediator honouring Idempotency-Key", func(t *testing.T) {
		ch, err := s.channelFor(esbContext("/x", "X-Organization", "ORG"), Client{ID: "allowed"}, rt)
		require.NoError(t, err)
		require.Equal(t, &transaction.ESBRoute{Organization: "ORG", Mode: transaction.ESBModePush, Code: "P-ACTIVE"}, ch.ESB)
		require.False(t, ch.HonoursIdempotencyKey, "a POST that may have reached the engine is not sent again")
		require.False(t, ch.MayRetry(http.MethodPost, transaction.ErrTypeUpstreamTimeout))
	})
	t.Run("a channel without registrations keeps its own snapshot", func(t *testing.T) {
		plain := &route{RouteRow: schema.RouteRow{ChannelRow: schema.ChannelRow{ID: "c-plain", HonoursIdempotencyKey: true}}}
		ch, err := s.channelFor(esbContext("/x?organization=ORG"), Client{ID: "anyone"}, plain)
		require.NoError(t, err)
		require.Nil(t, ch.ESB)
		require.True(t, ch.HonoursIdempotencyKey)
	})
	t.Run("pure_esb skips a registration on an inactive channel", func(t *testing.T) {
		ch, err := s.channelFor(esbContext("/x", "X-Organization", "ORG"), Client{ID: "allowed"}, nil)
		require.NoError(t, err)
		require.Equal(t, "P-ACTIVE", ch.ESB.Code)
	})
	t.Run("pure_esb applies the active channel's allowed clients", func(t *testing.T) {
		_, err := s.channelFor(esbContext("/x", "X-Organization", "ORG"), Client{ID: "stranger"}, nil)
		require.Equal(t, http.StatusForbidden, toError(err).Status)
	})
	t.Run("pure_esb takes the oldest registration whose channel admits the client", func(t *testing.T) {
		open := schema.RouteRow{ChannelRow: schema.ChannelRow{ID: "c-open", Name: "open", PathPattern: "/y",
			Methods: []string{"POST"}}, MediatorOnline: true}
		s := esbServer([]schema.RouteRow{active, open}, append(regs,
			schema.ESBRegistrationRow{ID: "on-open", Organization: "ORG", ChannelID: bound("c-open"), PushCode: "P-OPEN"}))
		ch, err := s.channelFor(esbContext("/x", "X-Organization", "ORG"), Client{ID: "stranger"}, nil)
		require.NoError(t, err)
		require.Equal(t, "P-OPEN", ch.ESB.Code, "a newer registration on a channel that admits the client")
		ch, err = s.channelFor(esbContext("/x", "X-Organization", "ORG"), Client{ID: "allowed"}, nil)
		require.NoError(t, err)
		require.Equal(t, "P-ACTIVE", ch.ESB.Code, "the oldest that admits the client")
	})
	t.Run("pure_esb: an organization registered only on inactive channels is not found", func(t *testing.T) {
		_, err := s.channelFor(esbContext("/x", "X-Organization", "LOST"), Client{ID: "allowed"}, nil)
		require.Equal(t, http.StatusNotFound, toError(err).Status)
		require.Equal(t, CodeOrganizationNotFound, toError(err).Code)
	})
}

func TestESBControlsAreDroppedOnlyFromRelayedRequests(t *testing.T) {
	t.Parallel()
	c := esbContext("/crm/accounts?organization=acme&a=1&esb_mode=push&async=true", "X-Organization", "acme",
		"X-ESB-Mode", "push")
	req := forwardedRequest(c, nil, nil)
	require.Equal(t, "organization=acme&a=1&esb_mode=push", req.RawQuery, "a mediator gets the client's parameters")
	require.Equal(t, "acme", http.Header(req.Header).Get("X-Organization"))
	require.Equal(t, "push", http.Header(req.Header).Get("X-ESB-Mode"))

	relayed := withoutESBControls(req)
	require.Equal(t, "a=1", relayed.RawQuery)
	require.Empty(t, http.Header(relayed.Header).Values("X-Organization"))
	require.Empty(t, http.Header(relayed.Header).Values("X-ESB-Mode"))
	require.Equal(t, "acme", http.Header(req.Header).Get("X-Organization"), "the request itself is left as it was")
}

func TestRequestFingerprintCoversTheESBRoute(t *testing.T) {
	t.Parallel()
	req := transaction.Request{Method: http.MethodPost, Path: "/x", RawQuery: "a=1", Body: []byte(`{}`)}
	plain := transaction.Channel{Name: "plain"}
	require.Equal(t, transaction.Fingerprint(transaction.KindProxy, http.MethodPost, "/x?a=1", []byte(`{}`)),
		requestFingerprint(req, plain), "a request that is not relayed keeps its fingerprint")
	relayed := func(org, mode, code string) string {
		return requestFingerprint(req, transaction.Channel{ESB: &transaction.ESBRoute{Organization: org, Mode: mode, Code: code}})
	}
	first := relayed("ORG-1", transaction.ESBModeNormal, "A")
	require.Equal(t, first, relayed("ORG-1", transaction.ESBModeNormal, "A"))
	require.Equal(t, first, relayed("ORG-1", transaction.ESBModeNormal, "B"),
		"an admin's new code does not turn a client's retry into another request")
	for _, other := range []string{relayed("ORG-2", transaction.ESBModeNormal, "A"), relayed("ORG-1", transaction.ESBModePush, "A"),
		requestFingerprint(req, plain)} {
		require.NotEqual(t, first, other)
	}
}
