package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// IntegrationBase is the prefix of the typed integration routes.
const IntegrationBase = "/api/v1/integration"

// Providers is what the API shows of the provider stack its embedded worker runs: the
// breaker states (for /ready). The API never reads an issuer's configuration itself.
type Providers interface {
	Breakers() map[string]string
}

func (s *Server) registerIntegration(r gin.IRouter) {
	for _, op := range provider.Catalogue {
		if isConnector(op) {
			continue // the connectors' routes take path parameters (registerConnectors)
		}
		r.POST(routeOf(op), s.requireClient, s.requirePermission(op.Permission), s.operation(op))
	}
	r.GET(IntegrationBase+"/simulator/download", s.requireClient, s.requirePermission(PermissionSimulatorReports),
		s.simulatorDownload)
	r.POST(ISOBase+"/transfer", s.requireClient, s.requirePermission(PermissionISOTransfer), s.isoTransfer)
}

// routeOf is an operation's full route.
func routeOf(op provider.Operation) string {
	if op.Base != "" {
		return op.Base + op.Route
	}
	return IntegrationBase + op.Route
}

// requirePermission lets through clients holding perm (or "*").
func (s *Server) requirePermission(perm string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := currentClient(c).require(perm); err != nil {
			writeError(c, err)
			return
		}
		c.Next()
	}
}

// require answers nil when the client holds perm (or "*"), else the 403 naming it.
func (c Client) require(perm string) error {
	if c.holds(perm) {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "client lacks the permission " + perm,
		Details: map[string]any{"permission": perm}}
}

// operation serves one typed route: validate the body, start ProviderOperation, answer.
func (s *Server) operation(op provider.Operation) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := op.NewRequest()
		if err := s.bindJSON(c, req, true); err != nil {
			writeError(c, err)
			return
		}
		s.startOperation(c, op, req, nil, writeOperationResult)
	}
}

// startOperation starts (or, under the same Idempotency-Key, joins) a ProviderOperation of op
// with the validated typed request req, and answers with write, or 202 in async mode or when
// the result takes longer than INTEGRATION_TIMEOUT. fingerprintOf, when set, is the request as
// its fingerprint sees it (a request carrying sealed values fingerprints their clear marks).
func (s *Server) startOperation(c *gin.Context, op provider.Operation, req, fingerprintOf any,
	write func(*gin.Context, workflows.OperationResult)) {
	who := currentClient(c)
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	key := c.GetHeader("Idempotency-Key")
	correlationID, err := s.keyedCorrelationID(c.Request.Context(), who.ID, transaction.KindOperation, routeOf(op), key)
	if err != nil {
		writeError(c, err)
		return
	}
	params, _ := json.Marshal(req)
	printed := params
	if fingerprintOf != nil {
		printed, _ = json.Marshal(fingerprintOf)
	}
	in := workflows.OperationInput{CorrelationID: correlationID, ClientID: who.ID, Operation: op.Key,
		Issuer: op.Issuer, Route: routeOf(op), Params: params, Keyed: key != "", LogOnce: true,
		WorkerPolicy: true,
		Fingerprint:  transaction.Fingerprint(transaction.KindOperation, http.MethodPost, routeOf(op), printed)}
	if isConnector(op) {
		// Connector routes share templates between operations (an update and a delete, the two
		// cancels) and carry ids in their paths: the log shows the request as it came, and the
		// fingerprint names the operation, so one key never joins two different requests.
		in.Method, in.Route = c.Request.Method, c.Request.URL.Path
		in.Fingerprint = transaction.Fingerprint(transaction.KindOperation, in.Method, routeOf(op)+"#"+op.Key, printed)
	}
	s.runWorkflow(c, workflowStart{kind: transaction.KindOperation, correlationID: correlationID, keyed: in.Keyed,
		taskQueue: workflows.TaskQueueIntegration, workflowType: workflows.WorkflowProviderOperation, input: in,
		memo: transaction.Memo{ClientID: who.ID, Label: op.Key, Method: in.HTTPMethod(), Path: in.Route,
			Fingerprint: in.Fingerprint}},
		async, s.cfg.IntegrationTimeout, answerWith(c, write))
}

// bindJSON decodes the body strictly into v and validates it. With emptyOK, an empty body
// reads as {} (routes without parameters may be called without one).
func (s *Server) bindJSON(c *gin.Context, v any, emptyOK bool) error {
	body, err := readBody(c, s.cfg.MaxRequestBodyBytes)
	if err != nil {
		return err
	}
	if emptyOK && len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := decodeStrict(body, v); err != nil {
		return err
	}
	return validationError(s.validate.Struct(v))
}

// operationMeta travels in the metadata of an operation's answer.
type operationMeta struct {
	CorrelationID string `json:"correlation_id"`
	Attempts      int    `json:"attempts"`
}

// writeOperationResult answers with the typed response, or with the envelope: the provider's
// 4xx under its own status carrying the provider's code, or the hub's failure.
func writeOperationResult(c *gin.Context, res workflows.OperationResult) {
	c.Header("X-Correlation-ID", res.CorrelationID)
	meta := map[string]any{"correlation_id": res.CorrelationID, "attempts": res.Attempts,
		"status_url": statusURL(res.CorrelationID)}
	if res.Status == "successful" {
		c.JSON(http.StatusOK, success{Success: true, Data: res.Body,
			Metadata: operationMeta{CorrelationID: res.CorrelationID, Attempts: res.Attempts}})
		return
	}
	if res.HTTPStatus >= 400 {
		meta["provider_code"] = res.ProviderCode
		if res.HTTPStatus == http.StatusPaymentRequired {
			meta["meaning"] = res.Message // a card switch's decline: its ISO code and what it means
		}
		msg := res.Message
		if msg == "" {
			msg = "the provider answered " + strconv.Itoa(res.HTTPStatus) + " " + http.StatusText(res.HTTPStatus)
		}
		writeError(c, &Error{Status: res.HTTPStatus, Code: providerStatusCode(res.HTTPStatus), Message: msg, Details: meta})
		return
	}
	status := http.StatusBadGateway
	switch res.ErrorCode {
	case transaction.ErrorCodeProviderTimeout:
		status = http.StatusGatewayTimeout
	case transaction.ErrorCodeCircuitOpen:
		status = http.StatusServiceUnavailable
	case transaction.ErrorCodeProviderResponseTooLarge:
		status = http.StatusBadGateway // the provider's answer was refused, as an invalid one is
	}
	writeError(c, &Error{Status: status, Code: res.ErrorCode, Message: res.Error, Details: meta})
}

// providerStatusCode names a provider's 4xx for the envelope.
func providerStatusCode(status int) string {
	switch status {
	case http.StatusPaymentRequired:
		return "DECLINED"
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusUnprocessableEntity:
		return "UNPROCESSABLE"
	case http.StatusBadRequest:
		return "PROVIDER_BAD_REQUEST"
	}
	return "PROVIDER_REJECTED"
}

// validationError turns validator errors into a 400 naming every offending field.
func validationError(err error) error {
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		if err != nil {
			return newError(http.StatusBadRequest, CodeValidation, err.Error())
		}
		return nil
	}
	fields := map[string]string{}
	var names []string
	for _, fe := range verrs {
		name := fe.Namespace()
		if i := strings.Index(name, "."); i >= 0 {
			name = name[i+1:]
		}
		fields[name] = problem(fe)
		names = append(names, name+": "+fields[name])
	}
	first := verrs[0].Namespace()
	if i := strings.Index(first, "."); i >= 0 {
		first = first[i+1:]
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeValidation, Message: strings.Join(names, "; "),
		Details: map[string]any{"field": first, "fields": fields}}
}

func problem(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "required_without":
		return "required"
	case "min":
		return "must be at least " + fe.Param() + lengthUnit(fe)
	case "max":
		return "must be at most " + fe.Param() + lengthUnit(fe)
	case "numeric":
		return "must be digits"
	case "alphanum":
		return "must be letters and digits"
	case "msisdn":
		return "must be a phone number of 10 to 15 digits (+ optional)"
	case "email":
		return "must be an e-mail address"
	case "nocontrol":
		return "must not contain control characters"
	}
	return "is invalid (" + fe.Tag() + ")"
}

func lengthUnit(fe validator.FieldError) string {
	switch fe.Kind().String() {
	case "string":
		return " characters"
	case "slice", "map":
		return " entries"
	}
	return ""
}
