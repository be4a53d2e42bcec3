package iso

import "errors"

// Sentinel errors of Send. Callers test them with errors.Is.
var (
	// ErrUnavailable means nothing was sent: no signed-on connection, the breaker is open, or
	// the deadline passed before sending. Safe to retry.
	ErrUnavailable = errors.New("switch unavailable: nothing was sent")
	// ErrOutcomeUnknown means the message may have reached the switch but no answer came (a
	// timeout, or the connection closed after the write). Never resend: reverse.
	ErrOutcomeUnknown = errors.New("outcome unknown: the message may have been processed")
	// ErrInvalidMessage means the message cannot be packed; no retry can help.
	ErrInvalidMessage = errors.New("invalid message")
)
