package transaction

import "time"

// RetryPolicy is how often and how fast a step is attempted again: a channel's, an issuer's
// or the card switch's. Workflows apply it as a Temporal activity retry policy.
type RetryPolicy struct {
	MaxAttempts        int // 0 is unlimited (within the step's budget)
	InitialInterval    time.Duration
	BackoffCoefficient float64
	MaxInterval        time.Duration
}

// AttemptPolicy is a step's retry policy with the time one attempt may take. Workers resolve it
// from their own configuration (an issuer's, the switch's); the workflow records it in its
// history, so a replay uses the policy the run started with.
type AttemptPolicy struct {
	Retry   RetryPolicy
	Timeout time.Duration // one attempt's own deadline
}
