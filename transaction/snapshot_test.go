package transaction_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
)

// TestRelaysAreNeverResent: a forward that may have reached its upstream is sent again only
// for an idempotent method or an upstream honouring Idempotency-Key; a relay through the ESB
// (a POST with the code, whatever the client's method, no key) never is.
func TestRelaysAreNeverResent(t *testing.T) {
	mediator := transaction.Channel{Name: "m"}
	keyed := transaction.Channel{Name: "k", HonoursIdempotencyKey: true}
	relay := transaction.Channel{Name: "r", Kind: transaction.ChannelKindESB, HonoursIdempotencyKey: true,
		ESB: &transaction.ESBRoute{Organization: "ORG", Mode: transaction.ESBModePush, Code: "PUSH"}}
	for _, errType := range []string{transaction.ErrTypeUpstreamTimeout, transaction.ErrTypeUpstreamStatus, transaction.ErrTypeUpstreamFailed} {
		require.True(t, mediator.MayRetry(http.MethodGet, errType), errType)
		require.False(t, mediator.MayRetry(http.MethodPost, errType), errType)
		require.True(t, keyed.MayRetry(http.MethodPost, errType), errType)
		require.False(t, relay.MayRetry(http.MethodGet, errType), errType)
		require.True(t, slices.Contains(relay.NonRetryableErrorTypes(http.MethodGet), errType), errType)
	}
	require.True(t, relay.MayRetry(http.MethodPost, transaction.ErrTypeUpstreamUnreachable), "nothing was sent")
}
