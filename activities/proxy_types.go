package activities

import (
	"time"

	"github.com/switchyard-hub/switchyard/transaction"
)

// ForwardInput is one forward of a request to an upstream.
type ForwardInput struct {
	CorrelationID string
	EndpointURL   string
	Timeout       time.Duration
	Request       transaction.Request
	// ESB, when set, relays the request through the National ESB (see RelayESB) instead of
	// sending it to EndpointURL.
	ESB *transaction.ESBRoute `json:",omitempty"`
}

// ForwardResult is an upstream's answer that is final (not 502/503/504) and which attempt got it.
type ForwardResult struct {
	Response transaction.Response
	Attempt  int32
}

// ForwardFailure travels as the details of a failed forward's application error: the attempt
// and, for a 502/503/504, the upstream's answer.
type ForwardFailure struct {
	Attempt  int32
	Response *transaction.Response
}

// AttemptNumber is the attempt that got the answer.
func (r ForwardResult) AttemptNumber() int32 { return r.Attempt }
