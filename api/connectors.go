package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// ConnectorsBase is the prefix of the enterprise connectors' routes (seed 003).
const ConnectorsBase = "/api/v1/connectors"

// Error codes of the connectors' routes: seed 003's error hierarchy. On these routes every
// error answer carries one of them (the hub's own code, when it differs, in details.hub_code).
const (
	CodeAuthenticationError = "AUTHENTICATION_ERROR"
	CodeRateLimitError      = "RATE_LIMIT_ERROR"
	CodeAPIError            = "API_ERROR"
	CodeConfigurationError  = "CONFIGURATION_ERROR"
	CodeConnectorError      = "CONNECTOR_ERROR"
	CodePaymentError        = "PAYMENT_ERROR"
	CodeERPError            = "ERP_ERROR"
	CodeSyncError           = "SYNC_ERROR"
	CodeWebhookError        = "WEBHOOK_ERROR"
	CodeTimeoutError        = "TIMEOUT_ERROR"
	// CodeValidation (VALIDATION_ERROR) is the seed's ValidationError too.
)

// ConnectorInfo is what the API knows of a connector's configuration (from the same
// PAYMENTS_* / ERP_* environment the workers read): never its secrets.
type ConnectorInfo struct {
	Configured   bool
	APIVersion   string
	AuthType     string
	Timeout      time.Duration
	MaxRetries   int
	RateLimit    float64
	BurstLimit   int
	TenantID     string
	EnterpriseID string
	Region       string
	// EntityTypes are the ERP's entity types (ERP_ENTITY_TYPES).
	EntityTypes []string
}

// ConnectorStore is what the connectors' routes read: the client's calls and outcomes
// through a connector, its last ERP sync, and its ERP integration.
type ConnectorStore interface {
	ConnectorCalls(ctx context.Context, issuer, clientID string, since time.Time) ([]schema.ConnectorCallStats, error)
	ConnectorOutcomes(ctx context.Context, issuer, clientID string, since time.Time) (map[string]int64, error)
	LastPlatformSync(ctx context.Context, clientID, platform string) (*time.Time, error)
	IntegrationOnPlatform(ctx context.Context, clientID, platform string) (schema.IntegrationRow, error)
}

// connectorFamilyKey marks a request to a connector route with the code of its family
// (PAYMENT_ERROR, ERP_ERROR, SYNC_ERROR, CONNECTOR_ERROR): writeError answers it in the seed's
// hierarchy.
const connectorFamilyKey = "switchyard.connector_family"

// isConnector reports whether an operation belongs to a connector (routes of their own).
func isConnector(op provider.Operation) bool { return provider.IsConnector(op.Issuer) }

// erpEntityTypes are the entity types the ERP routes take.
func (s *Server) erpEntityTypes() []string {
	if info, ok := s.connectors[provider.IssuerERP]; ok && len(info.EntityTypes) > 0 {
		return info.EntityTypes
	}
	return provider.DefaultERPEntityTypes
}

// registerConnectors wires the payment and ERP connectors' routes and their status.
func (s *Server) registerConnectors(r gin.IRouter) {
	pay := r.Group(ConnectorsBase+"/payments", s.connectorFamily(CodePaymentError), s.requireClient,
		s.connectorLimit, s.requirePermission(provider.IssuerPayments))
	both(pay, http.MethodPost, "/charges", s.createCharge)
	both(pay, http.MethodGet, "/charges/:id", s.getCharge)
	both(pay, http.MethodPost, "/refunds", s.createRefund)
	both(pay, http.MethodPost, "/payment-methods", s.createPaymentMethod)
	both(pay, http.MethodPost, "/subscriptions", s.createPaymentSubscription)
	both(pay, http.MethodPost, "/subscriptions/:id/cancel", s.cancelSubscription)

	erpSync := r.Group(ConnectorsBase+"/erp", s.connectorFamily(CodeSyncError), s.requireClient, s.connectorLimit,
		s.requirePermission(provider.IssuerERP))
	both(erpSync, http.MethodPost, "/sync", s.erpSync)
	erp := r.Group(ConnectorsBase+"/erp", s.connectorFamily(CodeERPError), s.requireClient, s.connectorLimit,
		s.requirePermission(provider.IssuerERP))
	both(erp, http.MethodPost, "/batch_sync", s.erpBatchSync)
	both(erp, http.MethodPost, "/:entity_type", s.erpEntity(provider.OpERPEntityCreate))
	both(erp, http.MethodPut, "/:entity_type/:id", s.erpEntity(provider.OpERPEntityUpdate))
	both(erp, http.MethodDelete, "/:entity_type/:id", s.erpEntity(provider.OpERPEntityDelete))

	both(r, http.MethodGet, ConnectorsBase+"/:name/status", s.connectorFamily(CodeConnectorError), s.requireClient,
		s.connectorLimit, s.connectorStatus)
}

// connectorFamily marks the request as a connector route answering errors as family.
func (s *Server) connectorFamily(family string) gin.HandlerFunc {
	return func(c *gin.Context) { c.Set(connectorFamilyKey, family) }
}

// connectorLimit gives a client without a rate limit of its own the connectors' per-client
// limit (CONNECTOR_RATE_LIMIT_PER_MINUTE, in the buckets every instance shares), so every
// connector answer carries X-RateLimit-Limit, -Remaining and -Reset as seed 003 promises; a
// client with its own limit already has them from authentication.
func (s *Server) connectorLimit(c *gin.Context) {
	who := currentClient(c)
	if who.RateLimitPerMinute > 0 || s.cfg.ConnectorRateLimitPerMinute <= 0 {
		return
	}
	limited := who
	limited.ID, limited.RateLimitPerMinute = "connector:"+who.ID, s.cfg.ConnectorRateLimitPerMinute
	if err := s.limiter.allow(c, limited); err != nil {
		writeError(c, err)
	}
}

// seedError answers e in seed 003's error hierarchy on a connector route of family.
func seedError(e *Error, family string) *Error {
	out := *e
	switch e.Code {
	case CodeRateLimitError, CodeAuthenticationError, CodeAPIError, CodeConfigurationError, CodeConnectorError,
		CodePaymentError, CodeERPError, CodeSyncError, CodeWebhookError, CodeTimeoutError, CodeValidation:
		return &out
	}
	details := map[string]any{}
	for k, v := range e.Details {
		details[k] = v
	}
	details["hub_code"] = e.Code
	out.Details = details
	switch e.Code {
	case CodeRateLimited, CodeTooManyFailures:
		out.Code = CodeRateLimitError
		if wait, err := strconv.Atoi(e.Header["Retry-After"]); err == nil {
			details["retry_after"] = wait
		}
	case CodeAuthRequired, CodeInvalidCreds, CodeClientInactive, CodeIPNotAllowed, CodeForbidden:
		out.Code = CodeAuthenticationError
	case CodeMalformedJSON, CodeBodyTooLarge, CodeBodyRequired, CodeUnsupportedMedia, CodeIdempotencyKeyReused:
		out.Code = CodeValidation
	case CodeUnavailable, CodeInternal, CodeTransactionFailed:
		out.Code = CodeConnectorError
	default:
		out.Code = family
	}
	return &out
}

// connectorResult writes an operation's outcome on a connector route: the seed's success
// answer {success, data, metadata} (status ok), or its error envelope under the seed's codes.
func connectorResult(ok int, family string) func(*gin.Context, workflows.OperationResult) {
	return func(c *gin.Context, res workflows.OperationResult) {
		c.Header("X-Correlation-ID", res.CorrelationID)
		meta := map[string]any{"correlation_id": res.CorrelationID, "attempts": res.Attempts,
			"status_url": statusURL(res.CorrelationID)}
		if res.Status == transaction.StatusSuccessful {
			c.JSON(ok, success{Success: true, Data: res.Body, Metadata: meta})
			return
		}
		writeError(c, connectorFailure(res, family, meta))
	}
}

// connectorFailure is a failed operation as seed 003 names it.
func connectorFailure(res workflows.OperationResult, family string, details map[string]any) *Error {
	if res.HTTPStatus >= 400 {
		// The provider's answer: a decline, a refusal, a validation error, a missing object.
		details["provider_status"] = res.HTTPStatus
		if res.ProviderCode != "" {
			details["provider_code"] = res.ProviderCode
		}
		for k, v := range res.ProviderDetail {
			if !strings.HasPrefix(k, workflows.DetailFieldPrefix) {
				details[k] = v
			}
		}
		if fields := detailFields(res.ProviderDetail); fields != nil {
			details["fields"] = fields
		}
		msg := res.Message
		if msg == "" {
			msg = "the provider answered " + strconv.Itoa(res.HTTPStatus) + " " + http.StatusText(res.HTTPStatus)
		}
		code := family
		if family == CodeERPError && (res.HTTPStatus == http.StatusBadRequest || res.HTTPStatus == http.StatusUnprocessableEntity) {
			code = CodeValidation
		}
		return &Error{Status: res.HTTPStatus, Code: code, Message: msg, Details: details}
	}
	details["hub_code"] = res.ErrorCode
	if res.ProviderStatus != 0 {
		details["provider_status"] = res.ProviderStatus
	}
	msg := res.Error
	if msg == "" {
		msg = "the provider gave no usable answer"
	}
	e := &Error{Status: http.StatusBadGateway, Code: CodeAPIError, Message: msg, Details: details}
	switch {
	case res.ProviderStatus == http.StatusTooManyRequests:
		wait := max(1, int((res.RetryAfter+time.Second-1)/time.Second))
		// The provider's 429s, or the connector's own RATE_LIMIT: res.Error says which.
		e.Status, e.Code = http.StatusTooManyRequests, CodeRateLimitError
		details["retry_after"] = wait
		e.Header = map[string]string{"Retry-After": strconv.Itoa(wait)}
	case res.ProviderStatus == http.StatusUnauthorized || res.ProviderStatus == http.StatusForbidden:
		e.Code = CodeAuthenticationError
	case res.ErrorCode == transaction.ErrorCodeProviderTimeout:
		e.Status, e.Code = http.StatusGatewayTimeout, CodeTimeoutError
	case res.ErrorCode == transaction.ErrorCodeProviderMisconfigured:
		e.Status, e.Code = http.StatusServiceUnavailable, CodeConfigurationError
	case res.ErrorCode == transaction.ErrorCodeCircuitOpen:
		e.Status, e.Code = http.StatusServiceUnavailable, CodeConnectorError
	case res.ErrorCode == transaction.ErrorCodeOperationInDoubt:
		e.Status, e.Code = http.StatusConflict, CodeConnectorError
	}
	return e
}

// detailFields are the field problems of a provider's error object (nil when none).
func detailFields(detail map[string]string) map[string]string {
	var fields map[string]string
	for k, v := range detail {
		if name, ok := strings.CutPrefix(k, workflows.DetailFieldPrefix); ok {
			if fields == nil {
				fields = map[string]string{}
			}
			fields[name] = v
		}
	}
	return fields
}

// --- payments -------------------------------------------------------------------------------

// paymentResult answers a payment operation: 200 with the seed's object, or PAYMENT_ERROR.
var paymentResult = connectorResult(http.StatusOK, CodePaymentError)

// connectorOp is a connector operation of the catalogue.
func connectorOp(key string) provider.Operation {
	op, ok := provider.Lookup(key)
	if !ok {
		panic("the catalogue has no connector operation " + key)
	}
	return op
}

// providerID is what an object id in a connector route may be.
var providerID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// connectorID reads and checks a route's :id.
func connectorID(c *gin.Context, name string) (string, error) {
	id := c.Param(name)
	if !providerID.MatchString(id) {
		return "", fieldError(name, "must be 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
	}
	return id, nil
}

// payment starts a payment operation with the request bound from the body.
func (s *Server) payment(c *gin.Context, key string, req any) {
	if err := s.bindJSON(c, req, false); err != nil {
		writeError(c, err)
		return
	}
	s.startOperation(c, connectorOp(key), req, nil, paymentResult)
}

// createCharge serves POST …/payments/charges: a charge of amount (minor units) in currency
// from source. The Idempotency-Key names the run and goes to the provider.
func (s *Server) createCharge(c *gin.Context) {
	var req provider.ChargeCreateRequest
	if err := s.bindJSON(c, &req, false); err != nil {
		writeError(c, err)
		return
	}
	req.Currency = strings.ToLower(req.Currency)
	s.startOperation(c, connectorOp(provider.OpPaymentChargeCreate), &req, nil,
		paymentResult)
}

// getCharge serves GET …/payments/charges/:id through the provider.
func (s *Server) getCharge(c *gin.Context) {
	id, err := connectorID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	s.startOperation(c, connectorOp(provider.OpPaymentChargeGet), &provider.ChargeGetRequest{ChargeID: id}, nil,
		paymentResult)
}

// createRefund serves POST …/payments/refunds: all that is left of a charge, or amount of it.
func (s *Server) createRefund(c *gin.Context) {
	s.payment(c, provider.OpPaymentRefundCreate, &provider.RefundCreateRequest{})
}

// createPaymentSubscription serves POST …/payments/subscriptions.
func (s *Server) createPaymentSubscription(c *gin.Context) {
	s.payment(c, provider.OpPaymentSubscriptionCreate, &provider.SubscriptionCreateRequest{})
}

// CancelSubscriptionRequest cancels a subscription at the end of its period (the default) or
// at once.
type CancelSubscriptionRequest struct {
	AtPeriodEnd *bool `json:"at_period_end"`
}

// cancelSubscription serves POST …/payments/subscriptions/:id/cancel.
func (s *Server) cancelSubscription(c *gin.Context) {
	id, err := connectorID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var req CancelSubscriptionRequest
	if err := s.bindJSON(c, &req, true); err != nil {
		writeError(c, err)
		return
	}
	key := provider.OpPaymentSubscriptionCancel
	if req.AtPeriodEnd != nil && !*req.AtPeriodEnd {
		key = provider.OpPaymentSubscriptionCancelNow
	}
	s.startOperation(c, connectorOp(key), &provider.SubscriptionCancelRequest{SubscriptionID: id}, nil,
		paymentResult)
}

// createPaymentMethod serves POST …/payments/payment-methods. The card number and CVC are
// sealed here (the vault's card-data purpose) before anything starts: the workflow's input,
// its history and the transaction log carry them sealed, with the last four digits in clear;
// only the worker that sends them to the provider opens them. The request's fingerprint (an
// Idempotency-Key's check) is taken over a keyed digest of the card number (the vault's
// CardFingerprint), not its sealed bytes, which differ on every seal.
func (s *Server) createPaymentMethod(c *gin.Context) {
	var req provider.PaymentMethodCreateRequest
	if err := s.bindJSON(c, &req, false); err != nil {
		writeError(c, err)
		return
	}
	if req.Card.SealedNumber != "" || req.Card.SealedCVC != "" || req.Card.Number == "" {
		writeError(c, fieldError("card.number", "required: the card number (sealed fields are the hub's)"))
		return
	}
	if s.hub.vault == nil {
		writeError(c, newError(http.StatusServiceUnavailable, CodeConfigurationError,
			"card data cannot be sealed: no SECRET_KEYS or PAYLOAD_KEYS are configured"))
		return
	}
	card := s.hub.vault.CardFingerprint(req.Card.Number)
	if err := req.Seal(s.hub.vault.SealCardSecret); err != nil {
		writeError(c, err)
		return
	}
	printed := req
	printed.Card.SealedNumber, printed.Card.SealedCVC = card, ""
	s.startOperation(c, connectorOp(provider.OpPaymentMethodCreate), &req, &printed,
		paymentResult)
}

// --- ERP ------------------------------------------------------------------------------------

// maxERPFields bounds a record's top-level fields.
const maxERPFields = 200

// erpEntityType reads and checks the route's :entity_type against ERP_ENTITY_TYPES.
func (s *Server) erpEntityType(c *gin.Context) (string, error) {
	t := c.Param("entity_type")
	if !slices.Contains(s.erpEntityTypes(), t) {
		return "", &Error{Status: http.StatusNotFound, Code: CodeValidation,
			Message: "unknown entity type " + strconv.Quote(t) + "; one of " + strings.Join(s.erpEntityTypes(), ", "),
			Details: map[string]any{"field": "entity_type"}}
	}
	return t, nil
}

// erpRecord reads a record: a JSON object of at most maxERPFields fields.
func (s *Server) erpRecord(c *gin.Context) (map[string]any, error) {
	body, err := readCapped(c, s.cfg.MaxRequestBodyBytes)
	if err != nil {
		return nil, err
	}
	var data map[string]any
	if err := decodeNumbers(body, &data); err != nil {
		return nil, err
	}
	return data, checkERPRecord(data, "")
}

// checkERPRecord checks one record; field prefixes its name in the error.
func checkERPRecord(data map[string]any, field string) error {
	if field == "" {
		field = "body"
	}
	switch {
	case data == nil:
		return fieldError(field, "required: a JSON object of the record's fields")
	case len(data) > maxERPFields:
		return fieldError(field, "must have at most "+strconv.Itoa(maxERPFields)+" fields")
	}
	return nil
}

// erpEntity serves create (POST …/erp/:entity_type), update (PUT …/:entity_type/:id) and
// delete (DELETE …/:entity_type/:id) as ProviderOperations answering seed 003's
// OperationResult {success, data, metadata} (201 for a create).
func (s *Server) erpEntity(key string) gin.HandlerFunc {
	return func(c *gin.Context) {
		entityType, err := s.erpEntityType(c)
		if err != nil {
			writeError(c, err)
			return
		}
		req := provider.ERPEntityRequest{EntityType: entityType}
		if key != provider.OpERPEntityCreate {
			if req.ID, err = connectorID(c, "id"); err != nil {
				writeError(c, err)
				return
			}
		}
		if key != provider.OpERPEntityDelete {
			if req.Data, err = s.erpRecord(c); err != nil {
				writeError(c, err)
				return
			}
		}
		if err := validationError(s.validate.Struct(&req)); err != nil {
			writeError(c, err)
			return
		}
		ok := http.StatusOK
		if key == provider.OpERPEntityCreate {
			ok = http.StatusCreated
		}
		s.startOperation(c, connectorOp(key), &req, nil, connectorResult(ok, CodeERPError))
	}
}

// ERPSyncRequest asks for a sync of the ERP's records into the hub's content store.
type ERPSyncRequest struct {
	// Since (RFC 3339) limits the sync to records updated after it.
	Since string `json:"since"`
	// Filters narrow it: entity_types (comma-separated), status.
	Filters map[string]string `json:"filters"`
}

// erpSync serves POST …/erp/sync: the Sync family pulls the ERP's records (cursor pages, a
// checkpoint per page, counts) into the client's ERP integration, made on its first sync.
// The answer is 202 with the run's id and its status URL (counts, events, progress).
func (s *Server) erpSync(c *gin.Context) {
	var req ERPSyncRequest
	body, err := readCapped(c, maxSyncBody)
	if err == nil && len(bytes.TrimSpace(body)) > 0 { // {since?, filters?}: no body is {}
		err = decodeStrict(body, &req)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	filters := map[string]string{}
	for k, v := range req.Filters {
		if k == "entity_types" {
			k = platform.SyncFilterContentTypes
		}
		filters[k] = v
	}
	if types, ok := filters[platform.SyncFilterContentTypes]; ok {
		for _, t := range strings.Split(types, ",") {
			if !slices.Contains(s.erpEntityTypes(), strings.TrimSpace(t)) {
				writeError(c, fieldError("filters.entity_types", "names an unknown entity type; known: "+
					strings.Join(s.erpEntityTypes(), ", ")))
				return
			}
		}
	}
	if len(filters) == 0 {
		filters = nil
	}
	row, err := s.erpIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	s.startSyncOf(c, row, SyncRequest{Direction: platform.DirectionFromExternal, Since: req.Since, Filters: filters})
}

// erpIntegration is the client's ERP connector integration, made when it has none.
func (s *Server) erpIntegration(c *gin.Context) (schema.IntegrationRow, error) {
	ctx := c.Request.Context()
	who := currentClient(c)
	row, err := s.store.IntegrationOnPlatform(ctx, who.ID, string(platform.ERP))
	if !errors.Is(err, schema.ErrNotFound) {
		return row, err
	}
	if s.hub.vault == nil {
		return row, newError(http.StatusServiceUnavailable, CodeConfigurationError,
			"the ERP integration cannot be made: no SECRET_KEYS or PAYLOAD_KEYS are configured")
	}
	creds, err := s.hub.vault.SealCredentials(platform.Credentials{Fields: map[string]string{}})
	if err != nil {
		return row, err
	}
	// No content types of its own: the worker's ERP_ENTITY_TYPES apply to every sync.
	config, _ := json.Marshal(platform.SiteConfig{})
	row, err = s.store.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: who.ID,
		Name: "ERP connector", Platform: string(platform.ERP), Credentials: creds, Config: config, IsActive: true,
		PlatformType: platform.ERP.PlatformType(), SyncEnabled: true})
	if errors.Is(err, schema.ErrConflict) {
		// Another first sync made it meanwhile.
		return s.store.IntegrationOnPlatform(ctx, who.ID, string(platform.ERP))
	}
	return row, err
}

// ERPBatchSyncRequest creates (records without an id) and updates (records with one) records
// of one entity type as a Batch, at most max_concurrent at a time.
type ERPBatchSyncRequest struct {
	EntityType    string           `json:"entity_type"`
	Records       []map[string]any `json:"records"`
	MaxConcurrent *int             `json:"max_concurrent"`
}

// erpBatchRoute is where ERP batch syncs are posted (their log rows' path).
const erpBatchRoute = ConnectorsBase + "/erp/batch_sync"

// erpBatchSync serves POST …/erp/batch_sync: each record one child ProviderOperation of a
// Batch (keyed by its index, so a batch run again sends nothing twice), results per record
// in request order, a failed record a result.
func (s *Server) erpBatchSync(c *gin.Context) {
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	var req ERPBatchSyncRequest
	body, err := readCapped(c, s.cfg.MaxRequestBodyBytes)
	if err == nil {
		err = decodeNumbers(body, &req)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if !slices.Contains(s.erpEntityTypes(), req.EntityType) {
		writeError(c, fieldError("entity_type", "required: one of "+strings.Join(s.erpEntityTypes(), ", ")))
		return
	}
	concurrency, err := batchSize("records", len(req.Records), req.MaxConcurrent)
	if err != nil {
		writeError(c, err)
		return
	}
	ops := make([]workflows.BatchOperation, len(req.Records))
	for i, record := range req.Records {
		field := "records[" + strconv.Itoa(i) + "]"
		if err := checkERPRecord(record, field); err != nil {
			writeError(c, err)
			return
		}
		op := connectorOp(provider.OpERPEntityCreate)
		item := provider.ERPEntityRequest{EntityType: req.EntityType, Data: record}
		if id, ok := record["id"]; ok {
			text, isText := id.(string)
			if !isText || !providerID.MatchString(text) {
				writeError(c, fieldError(field+".id", "must be 1 to 128 letters, digits, '_', '.', ':' or '-', "+
					"starting with a letter or digit"))
				return
			}
			op, item.ID = connectorOp(provider.OpERPEntityUpdate), text
			item.Data = make(map[string]any, len(record)-1)
			for k, v := range record {
				if k != "id" {
					item.Data[k] = v
				}
			}
		}
		if err := validationError(s.validate.Struct(&item)); err != nil {
			writeError(c, itemError(i, op.Key, err))
			return
		}
		params, _ := json.Marshal(item)
		ops[i] = workflows.BatchOperation{Operation: op.Key, Issuer: op.Issuer, Route: routeOf(op), Params: params}
	}
	s.runBatch(c, erpBatchRoute, ops, concurrency, async, erpBatchView)
}

// erpBatchView names a batch sync's failed records in the seed's codes, as the ERP routes name
// an operation's failure (connectorFailure).
func erpBatchView(v batchView) batchView {
	for i, it := range v.Results {
		if it.Error == nil {
			continue
		}
		failed := connectorFailure(workflows.OperationResult{HTTPStatus: it.HTTPStatus, ErrorCode: it.Error.Code,
			ProviderStatus: it.providerStatus, Error: it.Error.Message}, CodeERPError, map[string]any{})
		v.Results[i].Error = &batchItemError{Code: failed.Code, Message: it.Error.Message,
			Fields: detailFields(it.providerDetail)}
	}
	return v
}

// --- status ---------------------------------------------------------------------------------

// connectorMetricsWindow is how far back a connector's status counts.
const connectorMetricsWindow = 24 * time.Hour

// connectorMetric is one metric in seed 003's format.
type connectorMetric struct {
	Name  string            `json:"name"`
	Value float64           `json:"value"`
	Tags  map[string]string `json:"tags"`
}

// connectorMetrics is seed 003's metrics document.
type connectorMetrics struct {
	Timestamp time.Time         `json:"timestamp"`
	Source    string            `json:"source"`
	Metrics   []connectorMetric `json:"metrics"`
}

// connectorStatusView answers GET /api/v1/connectors/:name/status.
type connectorStatusView struct {
	Name          string           `json:"name"`
	IsInitialized bool             `json:"is_initialized"`
	LastSync      *time.Time       `json:"last_sync"`
	Breaker       string           `json:"breaker,omitempty"`
	Config        map[string]any   `json:"config"`
	Metrics       connectorMetrics `json:"metrics"`
}

// connectorStatus serves a connector's status for the calling client: whether the hub is
// configured for it, its last successful sync (ERP), and the client's last 24 hours through it
// in seed 003's metrics format (requests by operation and outcome, errors, latency, outcomes
// by status) — the same calls the Prometheus series switchyard_provider_calls_total counts
// across clients.
func (s *Server) connectorStatus(c *gin.Context) {
	name := c.Param("name")
	if !slices.Contains(provider.Connectors, name) {
		writeError(c, &Error{Status: http.StatusNotFound, Code: CodeConnectorError,
			Message: "unknown connector; one of " + strings.Join(provider.Connectors, ", ")})
		return
	}
	who := currentClient(c)
	if err := who.require(name); err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	now := time.Now().UTC()
	since := now.Add(-connectorMetricsWindow)
	calls, err := s.store.ConnectorCalls(ctx, name, who.ID, since)
	if err != nil {
		writeError(c, err)
		return
	}
	outcomes, err := s.store.ConnectorOutcomes(ctx, name, who.ID, since)
	if err != nil {
		writeError(c, err)
		return
	}
	info := s.connectors[name]
	view := connectorStatusView{Name: name, IsInitialized: info.Configured,
		Config: map[string]any{"api_version": info.APIVersion, "auth_type": info.AuthType,
			"timeout": info.Timeout.Seconds(), "max_retries": info.MaxRetries, "rate_limit": info.RateLimit,
			"burst_limit": info.BurstLimit, "tenant_id": info.TenantID, "enterprise_id": info.EnterpriseID,
			"region": info.Region},
		Metrics: connectorMetrics{Timestamp: now, Source: "switchyard", Metrics: []connectorMetric{}}}
	if name == provider.IssuerERP {
		view.Config["entity_types"] = s.erpEntityTypes()
		if view.LastSync, err = s.store.LastPlatformSync(ctx, who.ID, string(platform.ERP)); err != nil {
			writeError(c, err)
			return
		}
	}
	if s.providers != nil {
		view.Breaker = s.providers.Breakers()[name]
	}
	add := func(metric string, value float64, tags map[string]string) {
		view.Metrics.Metrics = append(view.Metrics.Metrics, connectorMetric{Name: metric, Value: value, Tags: tags})
	}
	var total, failed float64
	for _, st := range calls {
		tags := map[string]string{"connector": name, "operation": st.Operation, "outcome": st.Outcome}
		add("requests_total", float64(st.Calls), tags)
		add("response_time_ms_avg", st.AvgMS, tags)
		add("response_time_ms_p95", st.P95MS, tags)
		total += float64(st.Calls)
		if st.Outcome != "ok" {
			failed += float64(st.Calls)
		}
	}
	add("requests", total, map[string]string{"connector": name, "window": "24h"})
	add("errors_total", failed, map[string]string{"connector": name, "window": "24h"})
	for _, st := range slices.Sorted(maps.Keys(outcomes)) {
		add("operations_total", float64(outcomes[st]), map[string]string{"connector": name, "status": st})
	}
	writeData(c, http.StatusOK, view)
}
