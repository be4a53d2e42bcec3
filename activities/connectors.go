package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Connectors serves the enterprise connectors' operations (payments, ERP): the token buckets
// that hold a connector's RATE_LIMIT toward its provider across every worker, and the vault
// that opens the card data the API sealed.
type Connectors struct {
	Buckets ProviderBuckets
	Vault   CardVault
}

// ProviderBuckets are the token buckets every worker shares (schema.Store's rate_limits).
type ProviderBuckets interface {
	TakeToken(ctx context.Context, key string, limit int, period time.Duration) (schema.Take, error)
}

// CardVault opens card data the API sealed (*platform.Vault).
type CardVault interface {
	OpenCardSecret(sealed string) (string, error)
}

// providerBucketKey names an issuer's bucket toward its provider.
func providerBucketKey(issuer string) string { return "provider:" + issuer }

// openSealed opens the sealed fields of a request (a card number) in this worker's memory
// only: the workflow's input, its history and the log keep them sealed.
func (a *Activities) openSealed(req any) error {
	sealed, ok := req.(provider.SealedRequest)
	if !ok {
		return nil
	}
	if a.Connectors.Vault == nil {
		return &InvalidRequestError{Reason: "this worker cannot open card data (no SECRET_KEYS or PAYLOAD_KEYS)"}
	}
	if err := sealed.OpenSealed(a.Connectors.Vault.OpenCardSecret); err != nil {
		return &InvalidRequestError{Reason: "the sealed card data does not open with this worker's keys"}
	}
	return nil
}

// takeProviderToken holds a call back until the issuer's rate limit (RATE_LIMIT requests per
// second, BURST_LIMIT at once) has a token for it, in buckets every worker shares. The wait is
// for capacity, not a retry of the provider: when the token would come after this attempt's
// deadline, the attempt fails as unavailable and Temporal retries it when a token is due. A
// bucket store that does not answer lets the call through (the limit protects the provider's
// quota, not a secret), logged.
func (a *Activities) takeProviderToken(ctx context.Context, cfg provider.Config) error {
	if cfg.RateLimit <= 0 || a.Connectors.Buckets == nil {
		return nil
	}
	burst := max(cfg.BurstLimit, 1)
	period := time.Duration(float64(burst) / cfg.RateLimit * float64(time.Second))
	every := period / time.Duration(burst)
	for {
		take, err := a.Connectors.Buckets.TakeToken(ctx, providerBucketKey(cfg.Issuer), burst, period)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			activity.GetLogger(ctx).Warn("Provider rate limit unavailable: the call goes through unlimited",
				"issuer", cfg.Issuer, "error", err.Error())
			return nil
		}
		if take.Taken {
			return nil
		}
		wait := max(take.FullAt.Add(every-period).Sub(take.Now), time.Millisecond)
		if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait+cfg.Timeout).After(deadline) {
			return temporal.NewApplicationErrorWithOptions("the connector's rate limit ("+cfg.Prefix+
				"_RATE_LIMIT) holds the call back", transaction.ErrTypeProviderUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: wait,
					Details: []any{OperationFailure{Attempt: activity.GetInfo(ctx).Attempt, Status: 429}}})
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// detailMap is a provider's error object as the result carries it: its non-empty fields.
func detailMap(d *provider.ErrorDetail) map[string]string {
	if d == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range map[string]string{"type": d.Type, "code": d.Code, "decline_code": d.DeclineCode, "param": d.Param} {
		if v != "" {
			out[k] = truncateText(v, 200)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
