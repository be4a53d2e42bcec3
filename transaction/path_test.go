package transaction_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
)

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"/", "/probe/payments", "/probe/payments/", "/probe/a.b/..c/...", "/probe/x;v=1",
		"/probe/%41bc", "/probe/a%20b"} {
		u, err := url.ParseRequestURI(ok)
		require.NoError(t, err)
		require.NoError(t, transaction.CheckPath(u), ok)
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
		var e *transaction.InvalidPathError
		require.True(t, errors.As(transaction.CheckPath(u), &e), "%s is refused", bad)
		require.NotEmpty(t, e.Reason)
	}
	// A logged path is checked as it arrived.
	require.NoError(t, transaction.CheckLoggedPath("/probe/payments"))
	require.Error(t, transaction.CheckLoggedPath("/probe/x/../payments"))
	require.Error(t, transaction.CheckLoggedPath("/probe/..%2fpayments"))
}
