package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// ISOBase is the prefix of the card switch routes.
const ISOBase = "/api/v1/iso"

// PermissionISOTransfer lets a client move money through the card switch.
const PermissionISOTransfer = "iso_transfer"

// TransferRequest is a card transfer between two accounts. The amount is a decimal string in
// the switch's currency.
type TransferRequest struct {
	FromAccount string `json:"from_account" validate:"required,numeric,min=8,max=20"`
	ToAccount   string `json:"to_account" validate:"required,numeric,min=8,max=20,nefield=FromAccount"`
	Amount      string `json:"amount" validate:"required,max=16"`
	// PAN, when the transfer is card-present; checked with Luhn, masked everywhere, never stored.
	PAN string `json:"pan,omitempty" validate:"omitempty,numeric,min=12,max=19,luhn_checksum"`
}

// TransferResponse is an approved transfer.
type TransferResponse struct {
	RRN          string `json:"rrn"`
	STAN         string `json:"stan"`
	Status       string `json:"status"`
	ResponseCode string `json:"response_code"`
	Meaning      string `json:"meaning"`
	AuthCode     string `json:"auth_code"`
}

var amountPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)

// maxMinorUnits is the largest amount field 4 carries: 12 digits of minor units
// (9999999999.99). A larger one could not be packed, and would fail only after the transfer
// had started and taken a STAN.
const maxMinorUnits = 999_999_999_999

// minorUnits parses "1500.5" as 150050.
func minorUnits(amount string) (int64, error) {
	if !amountPattern.MatchString(amount) {
		return 0, fieldError("amount", "must be a decimal amount such as 1500.00")
	}
	whole, frac, _ := strings.Cut(amount, ".")
	frac = (frac + "00")[:2]
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 {
		return 0, fieldError("amount", "must be positive")
	}
	if n > maxMinorUnits {
		return 0, fieldError("amount", "must be at most 9999999999.99: the card switch's amount field holds 12 digits of minor units")
	}
	return n, nil
}

// isoTransfer starts a CardTransfer (POST /api/v1/iso/transfer). Its workflow ID derives
// from the correlation id, itself from the client's Idempotency-Key when given: a repeat joins
// the first transfer and never sends twice. The worker allocates the RRN.
func (s *Server) isoTransfer(c *gin.Context) {
	if s.iso == nil {
		writeError(c, newError(http.StatusServiceUnavailable, CodeUnavailable,
			"the card switch is not configured: set ISO_HOSTS or ISO_SIMULATE=true"))
		return
	}
	who := currentClient(c)
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	var req TransferRequest
	if err := s.bindJSON(c, &req, false); err != nil {
		writeError(c, err)
		return
	}
	amount, err := minorUnits(req.Amount)
	if err != nil {
		writeError(c, err)
		return
	}
	key := c.GetHeader("Idempotency-Key")
	correlationID, err := s.keyedCorrelationID(c.Request.Context(), who.ID, transaction.KindISO, ISOBase+"/transfer", key)
	if err != nil {
		writeError(c, err)
		return
	}
	// The card stays out of the fingerprint: a hash of a PAN is card data too.
	summary := req.FromAccount + "\x00" + req.ToAccount + "\x00" + strconv.FormatInt(amount, 10)
	in := workflows.TransferInput{CorrelationID: correlationID, ClientID: who.ID, FromAccount: req.FromAccount,
		ToAccount: req.ToAccount, Amount: amount, Currency: iso.CurrencyAlpha(s.iso.Currency), Card: iso.Card{PAN: req.PAN},
		Fingerprint: transaction.Fingerprint(transaction.KindISO, http.MethodPost, ISOBase+"/transfer", []byte(summary)),
		WorkerPlan:  true}
	s.runWorkflow(c, workflowStart{kind: transaction.KindISO, correlationID: correlationID, keyed: key != "",
		taskQueue: workflows.TaskQueueISO, workflowType: workflows.WorkflowCardTransfer, input: in,
		memo: transaction.Memo{ClientID: who.ID, Label: "transfer", Method: http.MethodPost, Path: ISOBase + "/transfer",
			Fingerprint: in.Fingerprint}},
		async, s.cfg.IntegrationTimeout, answerWith(c, writeTransferResult))
}

// writeTransferResult answers an approved transfer with its references, a decline with 402
// and the ISO code, and a reversed or failed one with the envelope.
func writeTransferResult(c *gin.Context, res workflows.TransferResult) {
	c.Header("X-Correlation-ID", res.CorrelationID)
	stan := fmt.Sprintf("%06d", res.STAN)
	if res.Status == transaction.StatusSuccessful {
		c.JSON(http.StatusOK, success{Success: true, Data: TransferResponse{RRN: res.RRN, STAN: stan, Status: "approved",
			ResponseCode: res.ResponseCode, Meaning: res.Meaning, AuthCode: res.AuthCode},
			Metadata: operationMeta{CorrelationID: res.CorrelationID, Attempts: res.Attempts}})
		return
	}
	details := map[string]any{"correlation_id": res.CorrelationID, "rrn": res.RRN, "stan": stan,
		"status": res.Status, "status_url": statusURL(res.CorrelationID), "attempts": res.Attempts}
	status := http.StatusBadGateway
	switch res.ErrorCode {
	case transaction.ErrorCodeDeclined:
		status = http.StatusPaymentRequired
		details["response_code"], details["meaning"] = res.ResponseCode, res.Meaning
	case transaction.ErrorCodeISOUnavailable:
		status = http.StatusServiceUnavailable
	case transaction.ErrorCodeReversed:
		details["reversals"] = res.Reversals
	}
	writeError(c, &Error{Status: status, Code: res.ErrorCode, Message: res.Error, Details: details})
}
