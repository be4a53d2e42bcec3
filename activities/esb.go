package activities

import (
	"context"
	"errors"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
)

// relayESB sends a proxied request through the National ESB: the engine is called with the
// route's code and the client's body, signed with the worker's key, and its verified esbBody is
// the transaction's 200 answer. The channel's timeout bounds the whole relay, token included.
func (a *Activities) relayESB(ctx context.Context, in ForwardInput) (transaction.Response, error) {
	if a.ESB == nil {
		return transaction.Response{}, &provider.ESBError{Type: transaction.ErrTypeESBNotConfigured,
			Reason: "the ESB relay is not configured on this worker"}
	}
	if in.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.Timeout)
		defer cancel()
	}
	res, err := a.ESB.Relay(ctx, provider.ESBRequest{Mode: in.ESB.Mode, Code: in.ESB.Code, Body: in.Request.Body})
	if err != nil {
		return transaction.Response{}, err
	}
	header := http.Header{"Content-Type": {res.ContentType}}
	if res.RequestID != "" {
		header.Set("X-ESB-Request-Id", res.RequestID)
	}
	return transaction.Response{StatusCode: http.StatusOK, Header: header, Body: res.Body}, nil
}

// classifyESB is classify for the relay: the ESB's own failures (not configured, credentials
// refused, a bad signature, a refusal) are never retried; the engine's transport failures and
// 502/503/504 are retried as a mediator's would be.
func classifyESB(err error, details ...any) error {
	var esbErr *provider.ESBError
	if !errors.As(err, &esbErr) {
		return classify(err, details...)
	}
	switch esbErr.Type {
	case transaction.ErrTypeESBNotConfigured, transaction.ErrTypeESBAuthFailed, transaction.ErrTypeESBSignatureInvalid,
		transaction.ErrTypeESBRequestFailed:
		return temporal.NewApplicationErrorWithOptions(esbErr.Reason, esbErr.Type,
			temporal.ApplicationErrorOptions{NonRetryable: true, Details: details})
	}
	return classify(&UpstreamError{Kind: esbErr.Type, Reason: esbErr.Reason}, details...)
}
