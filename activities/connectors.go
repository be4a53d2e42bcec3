package activities

import (
	"context"
	"maps"
	"net/http"
	"slices"
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
	if pm, ok := req.(*provider.PaymentMethodCreateRequest); ok && (pm.Card.Number != "" || pm.Card.CVC != "") {
		// Only the API's connector route starts these, sealed: a clear number came another way.
		return &InvalidRequestError{Reason: "card data must arrive sealed"}
	}
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
	return a.Connectors.waitToken(ctx, cfg, 0)
}

// waitToken is takeProviderToken waiting at most maxWait (0: until the deadline).
func (c Connectors) waitToken(ctx context.Context, cfg provider.Config, maxWait time.Duration) error {
	if cfg.RateLimit <= 0 || c.Buckets == nil {
		return nil
	}
	burst := max(cfg.BurstLimit, 1)
	period := time.Duration(float64(burst) / cfg.RateLimit * float64(time.Second))
	budget := time.Now().Add(maxWait) // the whole wait, however many takes it needs
	for {
		take, err := c.Buckets.TakeToken(ctx, providerBucketKey(cfg.Issuer), burst, period)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if activity.IsActivity(ctx) {
				activity.GetLogger(ctx).Warn("Provider rate limit unavailable: the call goes through unlimited",
					"issuer", cfg.Issuer, "error", err.Error())
			}
			return nil
		}
		if take.Taken {
			return nil
		}
		wait := max(take.RetryAfter(burst, period), time.Millisecond)
		deadline, ok := ctx.Deadline()
		if (ok && time.Now().Add(wait+cfg.Timeout).After(deadline)) || (maxWait > 0 && time.Now().Add(wait).After(budget)) {
			var attempt int32
			if activity.IsActivity(ctx) {
				attempt = activity.GetInfo(ctx).Attempt
			}
			return temporal.NewApplicationErrorWithOptions("the connector's rate limit ("+cfg.Prefix+
				"_RATE_LIMIT) holds the call back", transaction.ErrTypeProviderUnavailable,
				temporal.ApplicationErrorOptions{NextRetryDelay: wait,
					Details: []any{OperationFailure{Attempt: attempt, Status: 429}}})
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

// DetailFieldPrefix prefixes a validation error's field names in OperationAnswer.ProviderDetail.
const DetailFieldPrefix = "fields."

// maxDetailFields bounds the fields a result carries.
const maxDetailFields = 50

// detailMap is a provider's error object as the result carries it: its non-empty fields.
func detailMap(d *provider.ErrorDetail) map[string]string {
	if d == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range map[string]string{"type": d.Type, "code": d.Code, "decline_code": d.DeclineCode, "param": d.Param,
		"charge": d.Charge} {
		if v != "" {
			out[k] = truncateText(v, 200)
		}
	}
	// A validation error's fields, as fields.<name>: at most maxDetailFields of them.
	names := slices.Sorted(maps.Keys(d.Fields))
	for _, name := range names[:min(len(names), maxDetailFields)] {
		out[DetailFieldPrefix+truncateText(name, 100)] = truncateText(d.Fields[name], 200)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ConnectorWait bounds a connector call's wait for its token when it is made by a sync rather
// than an operation: a sync's chunk heartbeats per page.
const ConnectorWait = 5 * time.Second

// Transport carries a connector's calls made outside its operations (the ERP's sync
// pages and pushes) as its operations go: with its default headers (tenant, enterprise,
// region) and a token of its RATE_LIMIT per request, from the buckets every worker shares. A
// token further off than ConnectorWait fails the request as unavailable (the sync retries);
// the client using it allows its timeout plus ConnectorWait per request.
func (c Connectors) Transport(cfg provider.Config, base http.RoundTripper) http.RoundTripper {
	return connectorTransport{c: c, cfg: cfg, base: base}
}

type connectorTransport struct {
	c    Connectors
	cfg  provider.Config
	base http.RoundTripper
}

func (t connectorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.c.waitToken(r.Context(), t.cfg, ConnectorWait); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	out := r.Clone(r.Context())
	for k, v := range t.cfg.Headers {
		if out.Header.Get(k) == "" {
			out.Header.Set(k, v)
		}
	}
	return t.base.RoundTrip(out)
}
