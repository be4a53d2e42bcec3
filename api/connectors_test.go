package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Every hub error on a connector route is answered in seed 003's hierarchy, the hub's own code
// kept in details.hub_code, its status unchanged.
func TestSeedErrorMapsTheHubsCodes(t *testing.T) {
	for _, tc := range []struct {
		hub, family, want string
	}{
		{CodeRateLimited, CodePaymentError, CodeRateLimitError},
		{CodeInvalidCreds, CodeERPError, CodeAuthenticationError},
		{CodeAuthRequired, CodeSyncError, CodeAuthenticationError},
		{CodeForbidden, CodePaymentError, CodeAuthenticationError},
		{CodeMalformedJSON, CodeERPError, CodeValidation},
		{CodeBodyTooLarge, CodePaymentError, CodeValidation},
		{CodeIdempotencyKeyReused, CodePaymentError, CodeValidation},
		{CodeUnavailable, CodeERPError, CodeConnectorError},
		{CodeNotFound, CodePaymentError, CodePaymentError},
		{CodeConflict, CodeSyncError, CodeSyncError},
		{"SYNC_RUNNING", CodeSyncError, CodeSyncError},
	} {
		in := &Error{Status: 418, Code: tc.hub, Message: "m", Details: map[string]any{"field": "f"},
			Header: map[string]string{"Retry-After": "7"}}
		got := seedError(in, tc.family)
		require.Equal(t, tc.want, got.Code, tc.hub)
		require.Equal(t, 418, got.Status, tc.hub)
		require.Equal(t, tc.hub, got.Details["hub_code"], tc.hub)
		require.Equal(t, "f", got.Details["field"], "details are kept")
		require.Equal(t, tc.hub, in.Code, "the hub's error is not changed in place")
		_, hasHubCode := in.Details["hub_code"]
		require.False(t, hasHubCode)
		if tc.want == CodeRateLimitError {
			require.Equal(t, 7, got.Details["retry_after"])
		}
	}
	seeded := &Error{Status: 402, Code: CodePaymentError}
	require.Equal(t, seeded, seedError(seeded, CodeERPError), "a seed code stays as it is")
}

// An operation's failure on a connector route: the provider's answer under its status (a
// decline with its decline code; an ERP validation error as VALIDATION_ERROR), or the hub's
// failure as the seed names it.
func TestConnectorFailure(t *testing.T) {
	failure := func(res workflows.OperationResult, family string) *Error {
		return connectorFailure(res, family, map[string]any{})
	}
	decline := failure(workflows.OperationResult{HTTPStatus: 402, ProviderCode: "card_declined",
		Message: "Your card was declined.", ProviderDetail: map[string]string{"decline_code": "insufficient_funds",
			"code": "card_declined", "type": "card_error"}}, CodePaymentError)
	require.Equal(t, http.StatusPaymentRequired, decline.Status)
	require.Equal(t, CodePaymentError, decline.Code)
	require.Equal(t, "insufficient_funds", decline.Details["decline_code"])
	require.Equal(t, "Your card was declined.", decline.Message)

	invalid := failure(workflows.OperationResult{HTTPStatus: 422, ProviderCode: "validation_error"}, CodeERPError)
	require.Equal(t, CodeValidation, invalid.Code)
	require.Equal(t, 422, invalid.Status)
	require.Contains(t, invalid.Message, "422", "a provider that says nothing still gets a message")
	missing := failure(workflows.OperationResult{HTTPStatus: 404, ProviderCode: "not_found"}, CodeERPError)
	require.Equal(t, CodeERPError, missing.Code)

	limited := failure(workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderUnavailable,
		ProviderStatus: 429, RetryAfter: 1500 * time.Millisecond}, CodePaymentError)
	require.Equal(t, http.StatusTooManyRequests, limited.Status)
	require.Equal(t, CodeRateLimitError, limited.Code)
	require.Equal(t, 2, limited.Details["retry_after"], "rounded up to whole seconds")
	require.Equal(t, "2", limited.Header["Retry-After"])
	require.NotEmpty(t, limited.Message)

	for _, tc := range []struct {
		res    workflows.OperationResult
		status int
		code   string
	}{
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderTimeout}, 504, CodeTimeoutError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderMisconfigured}, 503, CodeConfigurationError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderMisconfigured, ProviderStatus: 401}, 502,
			CodeAuthenticationError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeCircuitOpen}, 503, CodeConnectorError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeOperationInDoubt}, 409, CodeConnectorError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderUnavailable, ProviderStatus: 503}, 502, CodeAPIError},
		{workflows.OperationResult{ErrorCode: transaction.ErrorCodeProviderInvalidResponse}, 502, CodeAPIError},
	} {
		got := failure(tc.res, CodePaymentError)
		require.Equal(t, tc.status, got.Status, tc.res.ErrorCode)
		require.Equal(t, tc.code, got.Code, tc.res.ErrorCode)
		require.Equal(t, tc.res.ErrorCode, got.Details["hub_code"])
	}
}

// A batch sync's failed records carry the seed's codes.
func TestERPBatchViewNamesFailuresInTheSeedsCodes(t *testing.T) {
	v := erpBatchView(batchView{Results: []batchItemView{
		{Index: 0, Success: true},
		{Index: 1, HTTPStatus: 422, Error: &batchItemError{Code: "UNPROCESSABLE", Message: "name: required"},
			providerDetail: map[string]string{"code": "validation_error", "fields.name": "is required"}},
		{Index: 2, HTTPStatus: 409, Error: &batchItemError{Code: CodeConflict, Message: "sku exists"}},
		{Index: 3, Error: &batchItemError{Code: transaction.ErrorCodeProviderTimeout}},
		{Index: 4, Error: &batchItemError{Code: transaction.ErrorCodeProviderUnavailable}},
		{Index: 5, Error: &batchItemError{Code: transaction.ErrorCodeProviderUnavailable}, providerStatus: 429},
		{Index: 6, Error: &batchItemError{Code: transaction.ErrorCodeProviderMisconfigured}, providerStatus: 401},
	}})
	require.Nil(t, v.Results[0].Error)
	require.Equal(t, CodeValidation, v.Results[1].Error.Code)
	require.Equal(t, "name: required", v.Results[1].Error.Message)
	require.Equal(t, map[string]string{"name": "is required"}, v.Results[1].Error.Fields)
	require.Nil(t, v.Results[2].Error.Fields)
	require.Equal(t, CodeERPError, v.Results[2].Error.Code)
	require.Equal(t, CodeTimeoutError, v.Results[3].Error.Code)
	require.Equal(t, CodeAPIError, v.Results[4].Error.Code)
	require.Equal(t, CodeRateLimitError, v.Results[5].Error.Code)
	require.Equal(t, CodeAuthenticationError, v.Results[6].Error.Code)
}
