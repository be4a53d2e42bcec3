package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// ISOSender sends a request to the card switch and returns its response; *iso.Pool satisfies it.
type ISOSender interface {
	Send(ctx context.Context, msg *iso8583.Message) (*iso8583.Message, error)
	Config() iso.Config
	// Spec is the message spec the switch speaks (ISO_SPEC).
	Spec() *iso8583.MessageSpec
}

// ISO is what the ISO 8583 activities need: the pool and the STAN and RRN sources.
type ISO struct {
	Pool  ISOSender
	STANs iso.STANSource
	RRNs  iso.RRNSource
}

// send0200 sends a financial request with the pool's acquirer, terminal, merchant and
// currency and the local time: the one place transfers and balance inquiries build a 0200.
func (x ISO) send0200(ctx context.Context, req iso.Financial) (iso.Financial, provider.Attempt, error) {
	cfg := x.Pool.Config()
	now := time.Now()
	req.MTI = iso.MTIFinancial
	if req.TransmissionDateTime == "" {
		req.TransmissionDateTime = iso.TransmissionTime(now)
	}
	req.LocalTime, req.LocalDate = now.Format("150405"), now.Format("0102")
	req.AcquirerID, req.TerminalID, req.MerchantID, req.Currency = cfg.AcquirerID, cfg.TerminalID, cfg.MerchantID, cfg.Currency
	var out iso.Financial
	attempt, err := x.exchange(ctx, &req, &out, req.MTI, req.ProcessingCode, req.STAN)
	return out, attempt, err
}

// exchange packs req with the pool's spec, sends it and reads the answer into resp. The
// attempt describes the exchange for the audit: the MTI as the method, the processing code
// and STAN as the path, the response code as the status. Never the PAN.
func (x ISO) exchange(ctx context.Context, req, resp any, mti, proc string, stan int64) (provider.Attempt, error) {
	start := time.Now()
	attempt := provider.Attempt{Method: mti, Host: strings.Join(x.Pool.Config().Addrs(), ","),
		Path: fmt.Sprintf("proc=%s stan=%06d", proc, stan)}
	msg, err := iso.Pack(x.Pool.Spec(), req)
	var answer *iso8583.Message
	if err == nil {
		answer, err = x.Pool.Send(ctx, msg)
	} else {
		err = fmt.Errorf("%v: %w", err, iso.ErrInvalidMessage)
	}
	code := ""
	if err == nil {
		code, _ = answer.GetString(39)
		err = answer.Unmarshal(resp)
	}
	attempt.Latency = time.Since(start)
	attempt.Outcome = isoOutcome(code, err)
	if n, convErr := strconv.Atoi(code); convErr == nil {
		attempt.Status = n
	}
	return attempt, err
}

// isoOutcome names an exchange's result for the audit.
func isoOutcome(code string, err error) string {
	switch {
	case errors.Is(err, iso.ErrUnavailable):
		return schema.AuditUnreachable
	case errors.Is(err, iso.ErrOutcomeUnknown):
		return schema.AuditTimeout
	case err != nil:
		return schema.AuditRejected
	case code == iso.CodeApproved:
		return schema.AuditOK
	}
	return schema.AuditClientError
}

// isoError maps a failed exchange to its application error.
func isoError(err error, details any) error {
	opts := temporal.ApplicationErrorOptions{Details: []any{details}}
	switch {
	case errors.Is(err, iso.ErrUnavailable):
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeISOUnavailable, opts)
	case errors.Is(err, iso.ErrOutcomeUnknown):
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeOutcomeUnknown, opts)
	}
	opts.NonRetryable = true
	return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeISOInvalid, opts)
}

// --- transfers ------------------------------------------------------------------------------

// TransferSend is one 0200 transfer request. STAN and transmission time are fixed for the
// transfer (a resend carries the same, and the switch dedupes by RRN); the reversal refers to them.
type TransferSend struct {
	CorrelationID        string
	RRN                  string
	STAN                 int64
	TransmissionDateTime string
	FromAccount          string
	ToAccount            string
	Amount               int64 // minor units
	Card                 iso.Card
}

// TransferAnswer is the switch's answer: approved (00) or a decline code, both results.
type TransferAnswer struct {
	ResponseCode string
	AuthCode     string
	Attempt      int32
}

// AttemptNumber is the attempt that got the answer.
func (r TransferAnswer) AttemptNumber() int32 { return r.Attempt }

// ISOFailure travels as the details of a failed ISO exchange.
type ISOFailure struct {
	Attempt int32
}

// errNoSwitch fails ISO work in a process without a configured switch.
var errNoSwitch = temporal.NewNonRetryableApplicationError(
	"the card switch is not configured: set ISO_HOSTS or ISO_SIMULATE=true", transaction.ErrTypeISOInvalid, nil)

// AllocateSTAN reserves the next STAN of the pool's terminal.
func (a *Activities) AllocateSTAN(ctx context.Context) (int64, error) {
	if a.ISO.Pool == nil {
		return 0, errNoSwitch
	}
	stan, err := a.ISO.STANs.NextSTAN(ctx, a.ISO.Pool.Config().TerminalID)
	return stan, classify(err)
}

// ISOTransfer sends the 0200 of a transfer. A decline is a result; a timeout or a connection
// lost after the write is transaction.ErrTypeOutcomeUnknown (the workflow reverses, never resends).
func (a *Activities) ISOTransfer(ctx context.Context, in TransferSend) (TransferAnswer, error) {
	if a.ISO.Pool == nil {
		return TransferAnswer{}, errNoSwitch
	}
	attemptNo := activity.GetInfo(ctx).Attempt
	out, attempt, err := a.ISO.send0200(ctx, iso.Financial{PAN: in.Card.PAN, ProcessingCode: iso.ProcTransfer,
		Amount: in.Amount, TransmissionDateTime: in.TransmissionDateTime, STAN: in.STAN, RRN: in.RRN,
		FromAccount: in.FromAccount, ToAccount: in.ToAccount})
	a.audit(ctx, in.CorrelationID, provider.IssuerISO, "transfer", attempt, attemptNo)
	if err != nil {
		return TransferAnswer{}, isoError(err, ISOFailure{Attempt: attemptNo})
	}
	return TransferAnswer{ResponseCode: out.ResponseCode, AuthCode: out.AuthCode, Attempt: attemptNo}, nil
}

// ReversalSend reverses a transfer whose outcome is unknown.
type ReversalSend struct {
	CorrelationID        string
	RRN                  string
	STAN                 int64 // the reversal's own STAN, kept for its repeats
	OriginalSTAN         int64
	OriginalTransmission string
	FromAccount          string
	ToAccount            string
	Amount               int64
	Card                 iso.Card
}

// ReversalAnswer is the switch's 0430.
type ReversalAnswer struct {
	ResponseCode string
	Attempt      int32
}

// ISOReverse sends the reversal advice: 0420 on the first attempt, 0421 (repeat) on every
// later one; Temporal's retry policy spaces them. It succeeds only on a 0430 with code 00.
func (a *Activities) ISOReverse(ctx context.Context, in ReversalSend) (ReversalAnswer, error) {
	if a.ISO.Pool == nil {
		return ReversalAnswer{}, errNoSwitch
	}
	attemptNo := activity.GetInfo(ctx).Attempt
	mti := iso.MTIReversal
	if attemptNo > 1 {
		mti = iso.MTIReversalRepeat
	}
	cfg := a.ISO.Pool.Config()
	var out iso.Reversal
	attempt, err := a.ISO.exchange(ctx, &iso.Reversal{MTI: mti, PAN: in.Card.PAN, ProcessingCode: iso.ProcTransfer,
		Amount: in.Amount, TransmissionDateTime: iso.TransmissionTime(time.Now()), STAN: in.STAN,
		AcquirerID: cfg.AcquirerID, RRN: in.RRN, TerminalID: cfg.TerminalID, Currency: cfg.Currency,
		OriginalData: iso.OriginalData(iso.MTIFinancial, in.OriginalSTAN, in.OriginalTransmission, cfg.AcquirerID),
		FromAccount:  in.FromAccount, ToAccount: in.ToAccount}, &out, mti, iso.ProcTransfer, in.STAN)
	a.audit(ctx, in.CorrelationID, provider.IssuerISO, "reversal", attempt, attemptNo)
	switch {
	case errors.Is(err, iso.ErrOutcomeUnknown), errors.Is(err, iso.ErrUnavailable):
		// Either way the reversal is simply sent again, as a repeat.
		return ReversalAnswer{}, temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeISOUnavailable,
			temporal.ApplicationErrorOptions{Details: []any{ISOFailure{Attempt: attemptNo}}})
	case err != nil:
		return ReversalAnswer{}, isoError(err, ISOFailure{Attempt: attemptNo})
	case out.ResponseCode != iso.CodeApproved:
		return ReversalAnswer{}, temporal.NewApplicationErrorWithOptions("the switch refused the reversal: "+
			iso.Meaning(out.ResponseCode), transaction.ErrTypeReversalRefused,
			temporal.ApplicationErrorOptions{Details: []any{ISOFailure{Attempt: attemptNo}}})
	}
	return ReversalAnswer{ResponseCode: out.ResponseCode, Attempt: attemptNo}, nil
}

// AttemptNumber is the attempt that got the answer.
func (r ReversalAnswer) AttemptNumber() int32 { return r.Attempt }

// --- balance inquiries as a provider ---------------------------------------------------------

// ISOCaller serves balance inquiries through the card switch as a provider.Caller: the
// iso_balance operation, and the CBS balance when CBS_TRANSPORT=iso8583 (same response schema).
type ISOCaller struct {
	ISO    ISO
	Issuer provider.Config // retry policy and timeout of the operations it serves
}

// Config returns the configuration the operation's retry policy is taken from.
func (c *ISOCaller) Config() provider.Config { return c.Issuer }

// BreakerState is the pool's breaker.
func (c *ISOCaller) BreakerState() string {
	if c.ISO.Pool == nil {
		return "not configured"
	}
	if h, ok := c.ISO.Pool.(interface{ Health() iso.Health }); ok {
		return h.Health().Breaker
	}
	return "closed"
}

// Call sends a balance inquiry (0200, processing code 31). Approved: the typed balance as
// JSON; declined: a 402 result carrying the ISO response code and its meaning.
func (c *ISOCaller) Call(ctx context.Context, op provider.Operation, req any, correlationID string) (provider.Response, provider.Attempt, error) {
	if c.ISO.Pool == nil {
		return provider.Response{}, provider.Attempt{Outcome: schema.AuditRejected}, &provider.CallError{
			Kind: provider.KindNotConfigured, Reason: "the card switch is not configured: set ISO_HOSTS or ISO_SIMULATE=true"}
	}
	var account string
	switch r := req.(type) {
	case *provider.ISOBalanceRequest:
		account = r.AccountNumber
	case *provider.AccountRequest:
		account = r.AccountNumber
	default:
		return provider.Response{}, provider.Attempt{Outcome: schema.AuditRejected},
			&provider.CallError{Kind: provider.KindMisconfigured, Reason: "the card switch serves balance inquiries only"}
	}
	cfg := c.ISO.Pool.Config()
	start := time.Now()
	stan, err := c.ISO.STANs.NextSTAN(ctx, cfg.TerminalID)
	if err != nil {
		return provider.Response{}, provider.Attempt{Outcome: schema.AuditRejected},
			&provider.CallError{Kind: provider.KindUnreachable, Reason: "allocating a STAN: " + err.Error()}
	}
	rrn, err := c.ISO.RRNs.NextRRN(ctx)
	if err != nil {
		return provider.Response{}, provider.Attempt{Outcome: schema.AuditRejected},
			&provider.CallError{Kind: provider.KindUnreachable, Reason: "allocating an RRN: " + err.Error()}
	}
	out, attempt, err := c.ISO.send0200(ctx, iso.Financial{ProcessingCode: iso.ProcBalanceInquiry, STAN: stan, RRN: rrn,
		FromAccount: account})
	switch {
	case errors.Is(err, iso.ErrUnavailable):
		return provider.Response{}, attempt, &provider.CallError{Kind: provider.KindUnreachable, Reason: err.Error()}
	case errors.Is(err, iso.ErrOutcomeUnknown):
		// A balance inquiry changes nothing: an unknown outcome is simply asked again.
		return provider.Response{}, attempt, &provider.CallError{Kind: provider.KindTimeout, Reason: err.Error()}
	case err != nil:
		return provider.Response{}, attempt, &provider.CallError{Kind: provider.KindMisconfigured, Reason: err.Error()}
	case out.ResponseCode != iso.CodeApproved:
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": out.ResponseCode,
			"message": iso.Meaning(out.ResponseCode)}})
		return provider.Response{Status: 402, Body: body, ProviderCode: out.ResponseCode}, attempt, nil
	}
	ledger, available, currency, err := iso.ParseBalances(out.AdditionalAmounts)
	if err != nil {
		return provider.Response{}, attempt, &provider.CallError{Kind: provider.KindMisconfigured,
			Reason: "the switch's balances do not parse: " + err.Error()}
	}
	money := func(v int64) string {
		sign := ""
		if v < 0 {
			sign, v = "-", -v
		}
		return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
	}
	var typed any = provider.BalanceResponse{AccountNumber: account, Currency: iso.CurrencyAlpha(currency),
		Balance: money(ledger), AvailableBalance: money(available), AsOf: start.UTC().Format(time.RFC3339)}
	if op.Key == provider.OpISOBalance {
		typed = provider.ISOBalanceResponse{AccountNumber: account, Currency: iso.CurrencyAlpha(currency),
			Balance: money(ledger), AvailableBalance: money(available), ResponseCode: out.ResponseCode,
			STAN: fmt.Sprintf("%06d", stan), RRN: rrn}
	}
	body, _ := json.Marshal(typed)
	return provider.Response{Status: 200, Body: body}, attempt, nil
}
