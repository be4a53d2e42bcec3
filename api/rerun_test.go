package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

func TestRerunFilterIsValidatedBeforeAnythingIsRead(t *testing.T) {
	t.Parallel()
	s := &Server{} // no store: a filter without a channel reads nothing
	for _, tc := range []struct {
		name  string
		spec  RerunFilterSpec
		field string
	}{
		{"an empty filter", RerunFilterSpec{}, "filter"},
		{"an unknown status", RerunFilterSpec{Status: []string{"lost"}}, "filter.status"},
		{"a client id with a control character", RerunFilterSpec{ClientID: "a\nb"}, "filter.client_id"},
		{"an id that is not a uuid", RerunFilterSpec{IDs: []string{"1"}}, "filter.ids"},
		{"a time that is not RFC 3339", RerunFilterSpec{To: "2026-13-01"}, "filter.to"},
		{"an empty window", RerunFilterSpec{From: "2026-01-01T00:00:00Z", To: "2026-01-01T00:00:00Z"}, "filter.to"},
		{"a window of 32 days", RerunFilterSpec{From: "2026-01-01T00:00:00Z", To: "2026-02-02T00:00:00Z"}, "filter.to"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := s.rerunFilter(context.Background(), tc.spec)
			e := toError(err)
			require.Equal(t, http.StatusBadRequest, e.Status)
			require.Equal(t, tc.field, e.Details["field"])
		})
	}

	t.Run("a valid filter is normalized", func(t *testing.T) {
		f, err := s.rerunFilter(context.Background(), RerunFilterSpec{Status: []string{"failed", "failed"},
			IDs: []string{"0D6F3C1E-5A7B-4E8F-9C2D-1B3A5E7F9D04"}, From: "2026-01-01T00:00:00+03:00"})
		require.NoError(t, err)
		require.Equal(t, []string{"failed"}, f.Status)
		require.Equal(t, []string{"0d6f3c1e-5a7b-4e8f-9c2d-1b3a5e7f9d04"}, f.IDs)
		require.True(t, f.From.Equal(time.Date(2025, 12, 31, 21, 0, 0, 0, time.UTC)))
		require.Nil(t, f.To)
	})
}

// A bulk or auto-retry rerun is checked in the worker by transaction.CheckPath and
// schema.ChannelRow.Admits: they must refuse and admit exactly what a request and a single
// rerun are refused and admitted by here.
func TestRerunChecksAreTheRequestChecks(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"/", "/probe/payments", "/probe/payments/", "/probe/a.b/..c/...", "/probe/x;v=1",
		"/probe/%41bc", "/probe/x/../payments", "/probe//payments", "/probe/..;/payments", "/probe/..%2fpayments",
		"/probe/%2E/payments", "/probe/a%5cb", `/probe/a\b`, "/probe/%252e%252e/x", "/probe/a%0ab", "*"} {
		u, err := url.ParseRequestURI(raw)
		require.NoError(t, err)
		here, shared := checkPath(u), transaction.CheckPath(u)
		require.Equal(t, here == nil, shared == nil, raw)
		var e *transaction.InvalidPathError
		if errors.As(shared, &e) {
			require.Equal(t, e.Reason, toError(here).Details["reason"], raw)
		}
		// A single rerun checks its recovered path so; StartRerun by CheckLoggedPath.
		require.Equal(t, checkPath(&url.URL{Path: raw, RawPath: raw}) == nil, transaction.CheckLoggedPath(raw) == nil, raw)
	}

	client := Client{ID: "acme", Roles: []string{"integrator"}}
	for _, tc := range []struct {
		name           string
		clients, roles []string
		admits         bool
	}{
		{"open to all", nil, nil, true},
		{"listing the client", []string{"other", "acme"}, nil, true},
		{"listing another client", []string{"other"}, nil, false},
		{"naming a role it holds", nil, []string{"auditor", "integrator"}, true},
		{"naming a role it lacks", nil, []string{"auditor"}, false},
		{"listing another client and a role it holds", []string{"other"}, []string{"integrator"}, true},
	} {
		rt := &route{RouteRow: schema.RouteRow{ChannelRow: schema.ChannelRow{AllowedClients: tc.clients,
			AllowedRoles: tc.roles}}}
		require.Equal(t, tc.admits, channelAdmits(rt, client), tc.name)
		require.Equal(t, channelAdmits(rt, client), rt.Admits(client.ID, client.Roles), tc.name)
	}
}
