package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/switchyard-hub/switchyard/schema"
)

// Error codes of the envelope, for clients to branch on.
const (
	CodeValidation        = "VALIDATION_ERROR"
	CodeMalformedJSON     = "MALFORMED_JSON"
	CodeNotFound          = "NOT_FOUND"
	CodeNoChannel         = "NO_CHANNEL"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodeConflict          = "CONFLICT"
	CodeAuthRequired      = "AUTHENTICATION_REQUIRED"
	CodeInvalidCreds      = "INVALID_CREDENTIALS"
	CodeClientInactive    = "CLIENT_INACTIVE"
	CodeIPNotAllowed      = "IP_NOT_ALLOWED"
	CodeForbidden         = "FORBIDDEN"
	CodeAdminDisabled     = "ADMIN_API_DISABLED"
	CodeBodyTooLarge      = "REQUEST_BODY_TOO_LARGE"
	CodeBodyRequired      = "REQUEST_BODY_REQUIRED"
	CodeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	CodeMediatorOffline   = "MEDIATOR_OFFLINE"
	CodeRateLimited       = "RATE_LIMITED"
	CodeNotEscalated      = "NOT_ESCALATED"
	CodeRerunUnavailable  = "RERUN_UNAVAILABLE"
	CodeUnavailable       = "SERVICE_UNAVAILABLE"
	CodeInternal          = "INTERNAL_ERROR"
	CodeTransactionFailed = "TRANSACTION_FAILED"
	// CodeIdempotencyKeyReused: a repeated Idempotency-Key came with a different request.
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// CodeTooManyFailures: the client id or the source address failed to authenticate too often.
	CodeTooManyFailures = "TOO_MANY_FAILURES"
	// CodeInvalidSignature: an inbound webhook's signature (or secret token, or signed
	// timestamp) did not verify.
	CodeInvalidSignature = "INVALID_SIGNATURE"
	// CodeCheckFailed: an integration check (IntegrationCheck) could not be completed.
	CodeCheckFailed = "CHECK_FAILED"
	// CodeCheckTimeout: an integration check did not finish within its wait.
	CodeCheckTimeout = "CHECK_TIMEOUT"
	// CodeReplayFailed: a webhook replay (WebhookReplay) could not be completed.
	CodeReplayFailed = "REPLAY_FAILED"
)

// Error is an error with its HTTP answer. Handlers return these; writeError renders them.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
	Header  map[string]string // set on the answer (Allow, say)
}

func (e *Error) Error() string { return e.Message }

func newError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// fieldError is a 400 naming the offending field.
func fieldError(field, problem string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation, Message: field + ": " + problem,
		Details: map[string]any{"field": field}}
}

// envelope is the body of every error answer (DESIGN §6).
type envelope struct {
	Success   bool           `json:"success"`
	Error     string         `json:"error"`
	ErrorCode string         `json:"error_code"`
	Details   map[string]any `json:"details,omitempty"`
}

// writeError answers with the error envelope. Known errors map to their status; anything else
// is a 500 logged with the request id, its text never echoed.
func writeError(c *gin.Context, err error) {
	e := toError(err)
	if e.Status >= 500 && e.Code == CodeInternal {
		logger(c).Error("Request failed", "error", err.Error())
	}
	if family, ok := c.Get(connectorFamilyKey); ok {
		e = seedError(e, family.(string))
	}
	for name, value := range e.Header {
		c.Header(name, value)
	}
	c.AbortWithStatusJSON(e.Status, envelope{Error: e.Message, ErrorCode: e.Code, Details: e.Details})
}

func toError(err error) *Error {
	var e *Error
	var notFound *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, schema.ErrBadCursor):
		return fieldError("starting_after", "names no item of this listing (unknown, deleted, or another's)")
	case errors.Is(err, schema.ErrInvalidNotification):
		// The store's own bounds (bytes, not characters) refused what the route let through.
		return newError(http.StatusBadRequest, CodeValidation, err.Error())
	case errors.Is(err, schema.ErrNotFound), errors.As(err, &notFound):
		return newError(http.StatusNotFound, CodeNotFound, "not found")
	case errors.Is(err, schema.ErrConflict), errors.As(err, &started):
		return newError(http.StatusConflict, CodeConflict, "already exists")
	case errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "a dependency did not answer in time")
	}
	return newError(http.StatusInternalServerError, CodeInternal, "internal error")
}

// success is the body of hub resources' answers.
type success struct {
	Success  bool `json:"success"`
	Data     any  `json:"data"`
	Metadata any  `json:"metadata,omitempty"`
}

func writeData(c *gin.Context, status int, data any) {
	c.JSON(status, success{Success: true, Data: data})
}

// logger returns the request-scoped logger set by the request-id middleware.
func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}
