package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
)

func TestPathPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"/integrations/teachers", []string{"/integrations/teachers", "/integrations/teachers/"},
			[]string{"/integrations", "/integrations/teachers/1", "/integrations/teacher"}},
		{"/demo/*/ping", []string{"/demo/env/ping", "/demo/x/ping/"}, []string{"/demo/ping", "/demo/a/b/ping"}},
		{"/integrations/**", []string{"/integrations", "/integrations/a", "/integrations/a/b/c"}, []string{"/integration", "/other/a"}},
		{"/a/*/**", []string{"/a/b", "/a/b/c/d"}, []string{"/a"}},
		{"^/v[0-9]+/orders/[0-9]+$", []string{"/v2/orders/17"}, []string{"/v2/orders/x", "/v2/orders/17/items"}},
		{"/", []string{"/"}, []string{"/a"}},
	}
	for _, tc := range cases {
		p, err := compilePattern(tc.pattern)
		require.NoError(t, err, tc.pattern)
		for _, path := range tc.match {
			require.True(t, p.match(path), "%s should match %s", tc.pattern, path)
		}
		for _, path := range tc.miss {
			require.False(t, p.match(path), "%s should not match %s", tc.pattern, path)
		}
	}
	for _, bad := range []string{"", "relative/path", "/a/**/b", "/a/b*", "^(unclosed"} {
		_, err := compilePattern(bad)
		require.Error(t, err, bad)
	}
}

func TestMatchPrefersPriorityThenReportsAllowedMethods(t *testing.T) {
	mk := func(name, pattern string, priority int, methods ...string) route {
		p, err := compilePattern(pattern)
		require.NoError(t, err)
		return route{RouteRow: schema.RouteRow{ChannelRow: schema.ChannelRow{Name: name, Priority: priority,
			Methods: methods}}, pattern: p}
	}
	// Sorted as the cache sorts them: highest priority first.
	routes := []route{
		mk("payments", "/integrations/payments", 20, "POST"),
		mk("teachers", "/integrations/teachers", 10, "POST"),
		mk("catch-all", "/integrations/**", 0, "GET", "POST", "DELETE"),
	}
	got, _ := match(routes, "/integrations/payments", "POST")
	require.Equal(t, "payments", got.Name)
	got, _ = match(routes, "/integrations/payments", "GET")
	require.Equal(t, "catch-all", got.Name, "a lower-priority channel that allows the method wins over none")
	got, allowed := match(routes, "/integrations/teachers", "PATCH")
	require.Nil(t, got)
	require.Equal(t, []string{"DELETE", "GET", "POST"}, allowed)
	got, allowed = match(routes, "/elsewhere", "GET")
	require.Nil(t, got)
	require.Empty(t, allowed)
}

func TestAsyncRequested(t *testing.T) {
	for _, tc := range []struct {
		url, prefer string
		async       bool
		err         bool
	}{
		{"/x", "", false, false},
		{"/x?async=true", "", true, false},
		{"/x?sync=true", "respond-async", false, false},
		{"/x", "return=minimal, respond-async", true, false},
		{"/x?async=false", "respond-async", false, false},
		{"/x?async=true&sync=true", "", false, true},
	} {
		req := newRequest(t, "GET", tc.url)
		if tc.prefer != "" {
			req.Header.Set("Prefer", tc.prefer)
		}
		async, err := asyncRequested(req)
		require.Equal(t, tc.err, err != nil, tc.url)
		require.Equal(t, tc.async, async, tc.url+" "+tc.prefer)
	}
}

func TestWithoutHubParams(t *testing.T) {
	require.Equal(t, "b=2&a=1", withoutHubParams("b=2&async=true&a=1&sync=true"))
	require.Equal(t, "", withoutHubParams("async=true"))
	require.Equal(t, "q=a%26b", withoutHubParams("q=a%26b"))
}

func TestCorrelationIDFromIdempotencyKey(t *testing.T) {
	a1, err := correlationID("client-a", "order-1")
	require.NoError(t, err)
	a2, _ := correlationID("client-a", "order-1")
	b1, _ := correlationID("client-b", "order-1")
	require.Equal(t, a1, a2, "a repeat maps to the same transaction")
	require.NotEqual(t, a1, b1, "keys are scoped per client")
	r1, _ := correlationID("client-a", "")
	r2, _ := correlationID("client-a", "")
	require.NotEqual(t, r1, r2)
	_, err = correlationID("c", "bad\nkey")
	require.Error(t, err)
}

func TestIPAllowed(t *testing.T) {
	require.True(t, ipAllowed("10.1.2.3", nil))
	require.True(t, ipAllowed("10.1.2.3", []string{"10.0.0.0/8"}))
	require.True(t, ipAllowed("::1", []string{"127.0.0.1", "::1"}))
	require.False(t, ipAllowed("192.168.0.1", []string{"10.0.0.0/8", "127.0.0.1"}))
	require.False(t, ipAllowed("garbage", []string{"10.0.0.0/8"}))
}

func TestConfigTakesTheMediatorModes(t *testing.T) {
	cfg := Config{MediatorMode: ModePureESB, MaxRequestBodyBytes: 1, ForwardTimeout: 1, IntegrationTimeout: 1}
	require.NoError(t, cfg.Validate())
	cfg.MediatorMode = ModeHybrid
	require.NoError(t, cfg.Validate())
	cfg.MediatorMode = "turbo"
	require.ErrorContains(t, cfg.Validate(), `MEDIATOR_MODE="turbo"`)
}

func TestJSONErrorsNameTheField(t *testing.T) {
	var spec ChannelSpec
	err := decodeStrict([]byte(`{"retry_policy":{"max_attempts":"three"}}`), &spec)
	require.Equal(t, "retry_policy.max_attempts: expected a number, got string", err.Error())
	err = decodeStrict([]byte(`{"methods":"GET"}`), &spec)
	require.Equal(t, "methods: expected an array, got string", err.Error())
	err = decodeStrict([]byte(`{"nme":"x"}`), &spec)
	require.Equal(t, "nme: unknown field", err.Error())
	err = decodeStrict([]byte(`{"name": }`), &spec)
	require.Contains(t, err.Error(), "malformed JSON at byte 10")
}
