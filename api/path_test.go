package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"/", "/probe/payments", "/probe/payments/", "/probe/a.b/..c/...", "/probe/x;v=1",
		"/probe/%41bc", "/probe/a%20b"} {
		u, err := url.ParseRequestURI(ok)
		require.NoError(t, err)
		require.NoError(t, checkPath(u), ok)
	}
	for _, bad := range []string{
		"/probe/x/../payments", "/probe//payments", "/probe/./payments", "/probe/..", "/probe/.",
		"/probe/..;/payments", "/probe/.;x/payments",
		"/probe/..%2fpayments", "/probe/..%2F..%2Fadmin", "/probe/%2e%2e/payments", "/probe/%2E/payments",
		"/probe/a%2fb", "/probe/a%5cb", `/probe/a\b`, "/probe/%252e%252e/x", "/probe/a%00b", "/probe/a%0ab",
		"*",
	} {
		u, err := url.ParseRequestURI(bad)
		require.NoError(t, err)
		err = checkPath(u)
		var e *Error
		require.True(t, errors.As(err, &e), "%s: want an error, got %v", bad, err)
		require.Equal(t, http.StatusBadRequest, e.Status, bad)
		require.Equal(t, CodeInvalidPath, e.Code, bad)
	}
}
