package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
)

// Issue 8, hole 5: an answer too large to carry is a failed result, recorded as failed, and the
// provider is not asked again.
func TestProviderOperationWithAnAnswerTooLarge(t *testing.T) {
	p := &scriptedProvider{script: []string{transaction.ErrTypeProviderResponseTooLarge, ""}}
	res, statuses := runOperation(t, p, operationInput())
	require.Equal(t, 1, p.calls, "not retried")
	require.Equal(t, transaction.StatusFailed, res.Status)
	require.Equal(t, transaction.ErrorCodeProviderResponseTooLarge, res.ErrorCode)
	require.Equal(t, []string{transaction.StatusFailed}, statuses, "the log says failed, never successful")
}
