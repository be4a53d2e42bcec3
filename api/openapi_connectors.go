package api

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Component schemas the connectors' answers are documented under.
const (
	schemaPaymentCharge       = "PaymentCharge"
	schemaPaymentRefund       = "PaymentRefund"
	schemaPaymentMethod       = "PaymentMethod"
	schemaPaymentSubscription = "PaymentSubscription"
	schemaERPRecord           = "ERPRecord"
	schemaConnectorStatus     = "ConnectorStatus"
)

// Operation ids of the connectors' routes that are not one catalogue operation.
const (
	opIDERPSync         = "erp_sync"
	opIDERPBatchSync    = "erp_batch_sync"
	opIDConnectorStatus = "connector_status"
)

// tagConnectors is the connectors' tag in the document.
const tagConnectors = "connectors"

// cardHubFields are the card fields the API fills itself (the sealed number and CVC, the last
// four digits): a client sending them is refused, so the document does not offer them.
var cardHubFields = []string{"sealed_number", "sealed_cvc", "last4"}

// connectorErrorsCommon is what every connector route answers in errors.
const connectorErrorsCommon = "Every error answer is seed 003's envelope under its codes: `error_code` is one of " +
	"`AUTHENTICATION_ERROR`, `RATE_LIMIT_ERROR`, `API_ERROR`, `CONFIGURATION_ERROR`, `CONNECTOR_ERROR`, " +
	"`PAYMENT_ERROR`, `ERP_ERROR`, `SYNC_ERROR`, `VALIDATION_ERROR`, `TIMEOUT_ERROR`, and the hub's own code, when it " +
	"differs, is in `details.hub_code`. `401` `AUTHENTICATION_ERROR`: no or wrong client credentials; `403` " +
	"`AUTHENTICATION_ERROR`: the client lacks the connector's permission (`details.permission`); `429` " +
	"`RATE_LIMIT_ERROR` with `details.retry_after` and `Retry-After` (seconds): the client's rate limit " +
	"(`rate_limit_per_minute`, else `CONNECTOR_RATE_LIMIT_PER_MINUTE`). While a limit applies, every answer to an " +
	"authenticated client, errors included, carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and " +
	"`X-RateLimit-Reset` (unix seconds)."

// connectorErrorsOperation is what the routes that run a provider operation answer in errors.
const connectorErrorsOperation = " `400` `VALIDATION_ERROR`: a field (`details.field`, or `details.fields` by " +
	"field) or malformed JSON; `413` `VALIDATION_ERROR`: the body is too large; `422` `VALIDATION_ERROR` " +
	"(`details.hub_code` `IDEMPOTENCY_KEY_REUSED`): an `Idempotency-Key` repeated with another request. When the " +
	"provider gave no usable answer after the connector's retries (`MAX_RETRIES`, `RETRY_BACKOFF`): `502` " +
	"`API_ERROR` (`details.provider_status`, the last attempt's), or `AUTHENTICATION_ERROR` when it refused the " +
	"connector's credentials; `429` `RATE_LIMIT_ERROR` with `details.retry_after` and `Retry-After` when its rate " +
	"limit held every attempt back; `504` `TIMEOUT_ERROR` when it did not answer in time; `503` " +
	"`CONFIGURATION_ERROR` when the connector is not configured, `CONNECTOR_ERROR` when its circuit breaker is " +
	"open or the workflow service is unavailable; `409` `CONNECTOR_ERROR` when whether the provider acted is " +
	"unknown. An operation's failure carries `details.correlation_id`, `attempts` and `status_url`."

// connectorRun is how the routes that start an operation run.
const connectorRun = "Runs as a ProviderOperation workflow (ID op:<correlation_id>); an `Idempotency-Key` names " +
	"the run and is sent to the provider, so a repeat joins or answers the first run and a retry after a " +
	"timeout cannot act twice. Sync by default (`INTEGRATION_TIMEOUT`, then `202`); `?async=true` or " +
	"`Prefer: respond-async` answers `202` at once with the status URL."

// addConnectorPaths documents the enterprise connectors' routes under ConnectorsBase: payments,
// ERP records, sync and batch sync, and each connector's status. Request bodies and answers are
// generated from the Go types the handlers bind and answer (the catalogue's for the provider
// operations), bounds from their validate tags, so the document follows the code.
func addConnectorPaths(doc *openapi3.T) error {
	d := &connectorDocs{doc: doc}
	for _, name := range []string{"Error", "Accepted"} {
		if doc.Components.Responses[name] == nil {
			return fmt.Errorf("the document has no %s response", name)
		}
	}
	d.errRef = d.response("Error")
	d.accepted = d.response("Accepted")
	if err := d.payments(); err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	if err := d.erp(); err != nil {
		return fmt.Errorf("ERP: %w", err)
	}
	if err := d.status(); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// connectorDocs adds the connectors' operations to doc.
type connectorDocs struct {
	doc      *openapi3.T
	errRef   *openapi3.ResponseRef
	accepted *openapi3.ResponseRef
}

// response references a response of the document; references made after loading carry their
// values (the loader resolved the others).
func (d *connectorDocs) response(name string) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + name, Value: d.doc.Components.Responses[name].Value}
}

// schemaRef references a schema of the document.
func (d *connectorDocs) schemaRef(name string) (*openapi3.SchemaRef, error) {
	s := d.doc.Components.Schemas[name]
	if s == nil || s.Value == nil {
		return nil, fmt.Errorf("the document has no schema %s", name)
	}
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + name, Value: s.Value}, nil
}

// component generates the answer schema of v's type as the component name and references it.
func (d *connectorDocs) component(name string, v any) (*openapi3.SchemaRef, error) {
	s, err := connectorSchema(v, false)
	if err != nil {
		return nil, err
	}
	return d.addComponent(name, s.Value)
}

func (d *connectorDocs) addComponent(name string, s *openapi3.Schema) (*openapi3.SchemaRef, error) {
	if d.doc.Components.Schemas == nil {
		d.doc.Components.Schemas = openapi3.Schemas{}
	}
	if _, taken := d.doc.Components.Schemas[name]; taken {
		return nil, fmt.Errorf("the schema %s is documented twice", name)
	}
	d.doc.Components.Schemas[name] = &openapi3.SchemaRef{Value: s}
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + name, Value: s}, nil
}

// connectorRoute is one route to document.
type connectorRoute struct {
	method, path string
	operationID  string
	summary      string
	description  string
	params       openapi3.Parameters
	// starts: the route starts an operation (?async, Idempotency-Key).
	starts bool
	// body is the request body's schema; nil for none. bodyOptional: an empty body reads as {}.
	body         *openapi3.SchemaRef
	bodyOptional bool
	answers      map[int]*openapi3.ResponseRef
	errors       []int
}

func (d *connectorDocs) add(r connectorRoute) {
	responses := openapi3.NewResponses()
	for status, answer := range r.answers {
		responses.Set(strconv.Itoa(status), answer)
	}
	for _, status := range r.errors {
		responses.Set(strconv.Itoa(status), d.errRef)
	}
	op := &openapi3.Operation{
		OperationID: r.operationID,
		Tags:        []string{tagConnectors},
		Summary:     r.summary,
		Description: r.description,
		Security:    &openapi3.SecurityRequirements{{"clientId": {}, "clientSecret": {}}, {"basic": {}}},
		Parameters:  append(openapi3.Parameters{}, r.params...),
		Responses:   responses,
	}
	if r.starts {
		op.Parameters = append(op.Parameters,
			&openapi3.ParameterRef{Value: openapi3.NewQueryParameter("async").
				WithSchema(openapi3.NewStringSchema().WithEnum("true", "false"))},
			&openapi3.ParameterRef{Value: openapi3.NewHeaderParameter("Idempotency-Key").
				WithDescription("Names the run (a repeat joins or answers it) and goes to the provider.").
				WithSchema(openapi3.NewStringSchema().WithMaxLength(maxIdempotencyKeyLength))})
	}
	if r.body != nil {
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!r.bodyOptional).
			WithJSONSchemaRef(r.body)}
	}
	d.doc.AddOperation(ConnectorsBase+r.path, r.method, op)
}

// answerHeaders are the headers of a connector's success answers.
func answerHeaders(extra ...string) openapi3.Headers {
	h := openapi3.Headers{
		"X-Correlation-ID": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Schema: openapi3.NewStringSchema().NewRef()}}},
	}
	for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		h[name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Schema: openapi3.NewIntegerSchema().NewRef()}}}
	}
	for _, name := range extra {
		h[name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Schema: openapi3.NewStringSchema().NewRef()}}}
	}
	return h
}

// resultAnswer is seed 003's success answer {success, data, metadata} of an operation.
func resultAnswer(description string, data *openapi3.SchemaRef) *openapi3.ResponseRef {
	meta := openapi3.NewObjectSchema().
		WithProperty("correlation_id", openapi3.NewStringSchema()).
		WithProperty("attempts", openapi3.NewIntegerSchema().WithMin(0)).
		WithProperty("status_url", openapi3.NewStringSchema())
	meta.Required = []string{"correlation_id", "attempts", "status_url"}
	envelope := openapi3.NewObjectSchema().
		WithProperty("success", openapi3.NewBoolSchema().WithEnum(true)).
		WithPropertyRef("data", data).
		WithProperty("metadata", meta)
	envelope.Required = []string{"success", "data", "metadata"}
	r := openapi3.NewResponse().WithDescription(description).WithJSONSchema(envelope)
	r.Headers = answerHeaders()
	return &openapi3.ResponseRef{Value: r}
}

// dataAnswer is the hub's {success, data} answer.
func dataAnswer(description string, data *openapi3.SchemaRef, headers ...string) *openapi3.ResponseRef {
	envelope := openapi3.NewObjectSchema().
		WithProperty("success", openapi3.NewBoolSchema().WithEnum(true)).
		WithPropertyRef("data", data)
	envelope.Required = []string{"success", "data"}
	r := openapi3.NewResponse().WithDescription(description).WithJSONSchema(envelope)
	r.Headers = answerHeaders(headers...)
	return &openapi3.ResponseRef{Value: r}
}

// described is s with a description.
func described(s *openapi3.Schema, description string) *openapi3.Schema {
	s.Description = description
	return s
}

// pathParam is a path parameter of a connector route.
func pathParam(name, description string, s *openapi3.Schema) *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: openapi3.NewPathParameter(name).WithDescription(description).WithSchema(s)}
}

// objectID is a provider object's id in a route.
func objectID(what string) *openapi3.ParameterRef {
	return pathParam("id", "The "+what+"'s id: "+providerIDRule,
		openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(128).WithPattern(providerID.String()))
}

const providerIDRule = "1 to 128 letters, digits, '_', '.', ':' or '-'."

// catalogueResponse is the answer type of a catalogue operation.
func catalogueResponse(key string) any { return connectorOp(key).NewResponse() }

// catalogueRequest generates the body schema of a catalogue operation's request.
func catalogueRequest(key string) (*openapi3.SchemaRef, error) {
	return connectorSchema(connectorOp(key).NewRequest(), true)
}

// paymentErrors are the statuses a payment route answers in errors.
var paymentErrors = []int{400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504}

// paymentErrorsText is what the payment routes answer, beyond the common errors.
const paymentErrorsText = " A provider's refusal is answered with its status and `PAYMENT_ERROR`, its error object in " +
	"`details` (`provider_status`, `provider_code`, `type`, `code`, `decline_code`, `param`): a card decline is " +
	"`402` `PAYMENT_ERROR` with `details.decline_code` (a result, never retried), an unknown object `404`, a " +
	"refusal of the request (an amount over what is left to refund, the provider's idempotency conflict) " +
	"`400` or `409`."

func (d *connectorDocs) payments() error {
	refund, err := d.component(schemaPaymentRefund, catalogueResponse(provider.OpPaymentRefundCreate))
	if err != nil {
		return err
	}
	chargeSchema, err := connectorSchema(catalogueResponse(provider.OpPaymentChargeCreate), false)
	if err != nil {
		return err
	}
	if refunds := chargeSchema.Value.Properties["refunds"]; refunds != nil && refunds.Value.Items != nil {
		refunds.Value.Items = refund
	}
	charge, err := d.addComponent(schemaPaymentCharge, chargeSchema.Value)
	if err != nil {
		return err
	}
	method, err := d.component(schemaPaymentMethod, catalogueResponse(provider.OpPaymentMethodCreate))
	if err != nil {
		return err
	}
	subscription, err := d.component(schemaPaymentSubscription, catalogueResponse(provider.OpPaymentSubscriptionCreate))
	if err != nil {
		return err
	}
	chargeReq, err := catalogueRequest(provider.OpPaymentChargeCreate)
	if err != nil {
		return err
	}
	chargeReq.Value.Properties["amount"].Value.Description = "In the currency's smallest unit (cents)."
	chargeReq.Value.Properties["currency"].Value.Description = "ISO 4217, three letters (answered in lower case)."
	refundReq, err := catalogueRequest(provider.OpPaymentRefundCreate)
	if err != nil {
		return err
	}
	refundReq.Value.Properties["amount"].Value.Description = "What to refund; all that is left of the charge when absent."
	methodReq, err := catalogueRequest(provider.OpPaymentMethodCreate)
	if err != nil {
		return err
	}
	card := methodReq.Value.Properties["card"]
	if card == nil || card.Value == nil {
		return fmt.Errorf("the payment method request has no card")
	}
	for _, field := range cardHubFields {
		delete(card.Value.Properties, field)
	}
	// The API refuses a card without its number; the validator's rule (required without the
	// sealed number) is the worker's.
	card.Value.Required = append([]string{"number"}, slices.DeleteFunc(card.Value.Required,
		func(f string) bool { return f == "number" })...)
	card.Value.Description = "Sealed by the API before anything is kept: the number and CVC never reach the " +
		"workflow's history or the log in clear."
	subscriptionReq, err := catalogueRequest(provider.OpPaymentSubscriptionCreate)
	if err != nil {
		return err
	}
	cancelReq, err := connectorSchema(&CancelSubscriptionRequest{}, true)
	if err != nil {
		return err
	}
	atPeriodEnd := cancelReq.Value.Properties["at_period_end"]
	atPeriodEnd.Value.Default = true
	atPeriodEnd.Value.Description = "Cancel at the end of the current period (the default), or at once (false)."

	description := func(what string) string {
		return what + " " + connectorRun + " " + connectorErrorsCommon + connectorErrorsOperation + paymentErrorsText
	}
	answers := func(what string, data *openapi3.SchemaRef) map[int]*openapi3.ResponseRef {
		return map[int]*openapi3.ResponseRef{http.StatusOK: resultAnswer(what, data), http.StatusAccepted: d.accepted}
	}
	d.add(connectorRoute{method: http.MethodPost, path: "/payments/charges", operationID: provider.OpPaymentChargeCreate,
		summary: "Charge a payment source (permission payments)", starts: true, body: chargeReq,
		description: description("Charges `amount` (minor units) in `currency` from `source`."),
		answers:     answers("The charge.", charge), errors: paymentErrors})
	d.add(connectorRoute{method: http.MethodGet, path: "/payments/charges/{id}", operationID: provider.OpPaymentChargeGet,
		summary: "A charge, as the provider has it now (permission payments)", starts: true,
		params:      openapi3.Parameters{objectID("charge")},
		description: description("Reads the charge from the provider, with its refunds."),
		answers:     answers("The charge.", charge), errors: paymentErrors})
	d.add(connectorRoute{method: http.MethodPost, path: "/payments/refunds", operationID: provider.OpPaymentRefundCreate,
		summary: "Refund a charge, all that is left of it or amount (permission payments)", starts: true, body: refundReq,
		description: description("Refunds a charge, partially or fully; never more than what is left of it."),
		answers:     answers("The refund.", refund), errors: paymentErrors})
	d.add(connectorRoute{method: http.MethodPost, path: "/payments/payment-methods", operationID: provider.OpPaymentMethodCreate,
		summary: "Save a card with the provider (permission payments)", starts: true, body: methodReq,
		description: description("Saves a card. The answer holds its brand, last four digits and expiry, never its " +
			"number. `503` `CONFIGURATION_ERROR` when the hub has no key to seal card data (`SECRET_KEYS`, `PAYLOAD_KEYS`)."),
		answers: answers("The payment method.", method), errors: paymentErrors})
	d.add(connectorRoute{method: http.MethodPost, path: "/payments/subscriptions", operationID: provider.OpPaymentSubscriptionCreate,
		summary: "Subscribe a customer to prices (permission payments)", starts: true, body: subscriptionReq,
		description: description("Subscribes `customer` to `items` (a price and a quantity each)."),
		answers:     answers("The subscription.", subscription), errors: paymentErrors})
	d.add(connectorRoute{method: http.MethodPost, path: "/payments/subscriptions/{id}/cancel",
		operationID: provider.OpPaymentSubscriptionCancel,
		summary:     "Cancel a subscription at the end of its period, or at once (permission payments)", starts: true,
		params: openapi3.Parameters{objectID("subscription")}, body: cancelReq, bodyOptional: true,
		description: description("Cancels at the end of the current period unless `at_period_end` is false (then " +
			"at once); an empty body is `{}`."),
		answers: answers("The subscription.", subscription), errors: paymentErrors})
	return nil
}

// erpErrorsText is what the ERP record routes answer, beyond the common errors.
const erpErrorsText = " An entity type outside `ERP_ENTITY_TYPES` is `404` `VALIDATION_ERROR` (`details.field` " +
	"`entity_type`). The ERP's refusal is answered with its status and its error in `details` (`provider_status`, " +
	"`provider_code`, the fields at fault): `400` or `422` `VALIDATION_ERROR`, other statuses (`404` no such " +
	"record, `409` a conflict such as a duplicate) `ERP_ERROR`."

func (d *connectorDocs) erp() error {
	record := openapi3.NewObjectSchema().
		WithProperty("id", described(openapi3.NewStringSchema(), "The ERP's id of the record.")).
		WithProperty("created_at", openapi3.NewStringSchema()).
		WithProperty("updated_at", openapi3.NewStringSchema()).
		WithAnyAdditionalProperties()
	record.Description = "A record as the ERP answers it: its fields, with its id and times."
	recordRef, err := d.addComponent(schemaERPRecord, record)
	if err != nil {
		return err
	}
	deleted := openapi3.NewObjectSchema().
		WithProperty("id", openapi3.NewStringSchema()).
		WithProperty("deleted", openapi3.NewBoolSchema()).
		WithAnyAdditionalProperties()
	deleted.Description = "What the ERP answers a delete."
	fields := openapi3.NewObjectSchema().WithAnyAdditionalProperties().WithMaxProperties(maxERPFields)
	fields.Description = "The record's fields (at most " + strconv.Itoa(maxERPFields) + "), as the ERP takes them."

	entityType := pathParam("entity_type", "An entity type of ERP_ENTITY_TYPES (by default customer, invoice, product).",
		openapi3.NewStringSchema().WithPattern(`^[a-z][a-z0-9_]{0,31}$`))
	description := func(what string) string {
		return what + " " + connectorRun + " " + connectorErrorsCommon + connectorErrorsOperation + erpErrorsText
	}
	recordErrors := []int{400, 401, 403, 404, 409, 413, 422, 429, 502, 503, 504}
	answers := func(status int, what string, data *openapi3.SchemaRef) map[int]*openapi3.ResponseRef {
		return map[int]*openapi3.ResponseRef{status: resultAnswer(what, data), http.StatusAccepted: d.accepted}
	}
	d.add(connectorRoute{method: http.MethodPost, path: "/erp/{entity_type}", operationID: provider.OpERPEntityCreate,
		summary: "Create an ERP record (permission erp)", starts: true, params: openapi3.Parameters{entityType},
		body: fields.NewRef(), description: description("Creates a record of `entity_type`; the ERP assigns its id."),
		answers: answers(http.StatusCreated, "The record created.", recordRef), errors: recordErrors})
	d.add(connectorRoute{method: http.MethodPut, path: "/erp/{entity_type}/{id}", operationID: provider.OpERPEntityUpdate,
		summary: "Update an ERP record (permission erp)", starts: true,
		params: openapi3.Parameters{entityType, objectID("record")}, body: fields.NewRef(),
		description: description("Replaces the fields given of the record."),
		answers:     answers(http.StatusOK, "The record updated.", recordRef), errors: recordErrors})
	d.add(connectorRoute{method: http.MethodDelete, path: "/erp/{entity_type}/{id}", operationID: provider.OpERPEntityDelete,
		summary: "Delete an ERP record (permission erp)", starts: true,
		params:      openapi3.Parameters{entityType, objectID("record")},
		description: description("Deletes the record."),
		answers:     answers(http.StatusOK, "The record deleted.", deleted.NewRef()), errors: recordErrors})

	syncReq, err := connectorSchema(&ERPSyncRequest{}, true)
	if err != nil {
		return err
	}
	syncReq.Value.Properties["since"].Value.Description = "RFC 3339: only records updated after it."
	syncReq.Value.Properties["filters"].Value.Description = "entity_types (comma-separated, of ERP_ENTITY_TYPES), status."
	started, err := d.schemaRef("SyncStarted")
	if err != nil {
		return err
	}
	d.add(connectorRoute{method: http.MethodPost, path: "/erp/sync", operationID: opIDERPSync,
		summary: "Sync the ERP's records into the hub's content store (a Sync workflow; permission erp)",
		body:    syncReq,
		description: "Starts a `Sync` workflow (ID `sync:<integration id>`, task queue `sync`) over the client's ERP " +
			"integration, made on its first sync: cursor pages, a checkpoint per page, counts. The answer is `202` at " +
			"once with the sync's id and its status URL (progress, counts, events). " + connectorErrorsCommon +
			" `400` `VALIDATION_ERROR`: `since` is no RFC 3339 time, `filters.entity_types` names an unknown type, or " +
			"the JSON is malformed (the body is required, `{}` at least); `413` `VALIDATION_ERROR`: the body is over " +
			"16 KiB; `409` `SYNC_ERROR`: a sync of the ERP runs already (`details.hub_code` `SYNC_RUNNING`, its " +
			"`sync_id`, `status` and `progress`), or the integration is inactive or has syncs turned off; `503` " +
			"`CONFIGURATION_ERROR` when the integration cannot be made (no `SECRET_KEYS` or `PAYLOAD_KEYS`), " +
			"`CONNECTOR_ERROR` when the workflow service is unavailable.",
		answers: map[int]*openapi3.ResponseRef{http.StatusAccepted: dataAnswer("Started; read its progress at status_url.",
			started, "Location")},
		errors: []int{400, 401, 403, 409, 413, 429, 503}})

	batchReq, err := connectorSchema(&ERPBatchSyncRequest{}, true)
	if err != nil {
		return err
	}
	batchReq.Value.Required = []string{"entity_type", "records"}
	batchReq.Value.Properties["entity_type"].Value.Description = "An entity type of ERP_ENTITY_TYPES."
	records := batchReq.Value.Properties["records"].Value
	records.MinItems, records.MaxItems = 1, openapi3.Ptr(uint64(workflows.MaxBatchOperations))
	records.Description = "Records without an id are created; those with one, a string of " + providerIDRule +
		" are updated with their other fields."
	records.Items.Value.MaxProps = openapi3.Ptr(uint64(maxERPFields))
	concurrent := batchReq.Value.Properties["max_concurrent"].Value
	concurrent.Min, concurrent.Max = openapi3.Ptr(1.0), openapi3.Ptr(float64(workflows.MaxBatchConcurrent))
	concurrent.Default = workflows.DefaultBatchConcurrent
	batch, err := d.schemaRef("Batch")
	if err != nil {
		return err
	}
	d.add(connectorRoute{method: http.MethodPost, path: "/erp/batch_sync", operationID: opIDERPBatchSync,
		summary: "Create and update ERP records as one Batch workflow, at most max_concurrent at a time (permission erp)",
		starts:  true, body: batchReq,
		description: "Every record is checked before anything starts (the first invalid one is `400` " +
			"`VALIDATION_ERROR` naming `records[<index>]`). The `Batch` workflow (ID `batch:<batch_id>`) runs each " +
			"record as a child ProviderOperation keyed by its index, so a batch run again sends nothing twice. Done " +
			"within `BATCH_SYNC_WAIT` the answer is `200` with every record's outcome in request order; a record the " +
			"ERP refused is a result (`status: failed`, its `error.code` `VALIDATION_ERROR`, `ERP_ERROR`, " +
			"`TIMEOUT_ERROR` or `API_ERROR`). Otherwise, or with `?async=true` / `Prefer: respond-async`, `202` with " +
			"the status URL (`GET /api/v1/integration/batch/{id}/`). " + connectorErrorsCommon +
			" `400` `VALIDATION_ERROR`: `entity_type`, `records`, `max_concurrent` or a record; `413` " +
			"`VALIDATION_ERROR`: the body is too large; `422` `VALIDATION_ERROR` (`details.hub_code` " +
			"`IDEMPOTENCY_KEY_REUSED`): an `Idempotency-Key` repeated with another batch; `502` `CONNECTOR_ERROR`: " +
			"the batch could not be completed; `503` `CONNECTOR_ERROR`: the workflow service is unavailable.",
		answers: map[int]*openapi3.ResponseRef{
			http.StatusOK:       dataAnswer("Done: every record's outcome, in request order.", batch),
			http.StatusAccepted: dataAnswer("Still running; poll status_url.", batch, "Location"),
		},
		errors: []int{400, 401, 403, 409, 413, 422, 429, 502, 503}})
	return nil
}

func (d *connectorDocs) status() error {
	s, err := connectorSchema(&connectorStatusView{}, false)
	if err != nil {
		return err
	}
	config := openapi3.NewObjectSchema().
		WithProperty("api_version", openapi3.NewStringSchema()).
		WithProperty("auth_type", openapi3.NewStringSchema()).
		WithProperty("timeout", described(openapi3.NewFloat64Schema(), "Seconds.")).
		WithProperty("max_retries", openapi3.NewIntegerSchema()).
		WithProperty("rate_limit", described(openapi3.NewFloat64Schema(), "Requests per second toward the provider.")).
		WithProperty("burst_limit", openapi3.NewIntegerSchema()).
		WithProperty("tenant_id", openapi3.NewStringSchema()).
		WithProperty("enterprise_id", openapi3.NewStringSchema()).
		WithProperty("region", openapi3.NewStringSchema()).
		WithProperty("entity_types", described(openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()),
			"The ERP's entity types (erp only).")).
		WithAnyAdditionalProperties()
	config.Required = []string{"api_version", "auth_type", "timeout", "max_retries", "rate_limit", "burst_limit",
		"tenant_id", "enterprise_id", "region"}
	config.Description = "The connector's configuration, without its secrets."
	s.Value.Properties["config"] = config.NewRef()
	s.Value.Properties["last_sync"].Value.Description = "The last successful ERP sync (erp only; null before one)."
	s.Value.Properties["breaker"].Value.Description = "The provider's circuit breaker, when the API process has one."
	s.Value.Properties["metrics"].Value.Description = "The client's last 24 hours through the connector, in seed " +
		"003's metrics format: requests_total, response_time_ms_avg and response_time_ms_p95 by operation and " +
		"outcome, requests and errors_total, operations_total by status."
	view, err := d.addComponent(schemaConnectorStatus, s.Value)
	if err != nil {
		return err
	}
	names := make([]any, len(provider.Connectors))
	for i, n := range provider.Connectors {
		names[i] = n
	}
	d.add(connectorRoute{method: http.MethodGet, path: "/{name}/status", operationID: opIDConnectorStatus,
		summary: "A connector's status and the client's metrics through it (permission: the connector's name)",
		params: openapi3.Parameters{pathParam("name", "The connector.",
			&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Enum: names})},
		description: "Whether the hub is configured for the connector, its last successful sync (erp) and the " +
			"client's last 24 hours through it (the calls `switchyard_provider_calls_total` counts across clients). " +
			connectorErrorsCommon + " `404` `CONNECTOR_ERROR`: no such connector; `503` `CONNECTOR_ERROR`: the " +
			"database is unavailable.",
		answers: map[int]*openapi3.ResponseRef{http.StatusOK: dataAnswer("The connector's status.", view)},
		errors:  []int{401, 403, 404, 429, 503}})
	return nil
}

// connectorSchema generates the schema of a connector route's body or answer. Requests refuse
// unknown fields and take required fields and bounds from their validate tags. Answers require
// the fields always present: neither omitempty nor pointers, which answer null (and are
// nullable).
func connectorSchema(v any, request bool) (*openapi3.SchemaRef, error) {
	return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(
		func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
			if t.Kind() == reflect.Struct && s.Type.Is(openapi3.TypeObject) {
				s.Required = connectorRequired(t, request)
				if request {
					s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
				}
			}
			if request {
				connectorBounds(tag.Get("validate"), t, s)
			}
			return nil
		}))
}

// connectorRequired names the required fields of struct t.
func connectorRequired(t reflect.Type, request bool) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, connectorRequired(f.Type, request)...)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		validate := f.Tag.Get("validate")
		required := !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer
		if request {
			required = validate == "required" || strings.HasPrefix(validate, "required,")
		}
		if required {
			out = append(out, name)
		}
	}
	return out
}

// connectorBounds copies a validate tag's bounds onto a field's schema: min, max and len
// (lengths, items, properties or values by kind), oneof, numeric and alpha. The generator
// calls it for a slice or map and again for its items or values, with the same tag: rules
// before "dive" bound the slice or map, rules after it (keys...endkeys aside) the items.
func connectorBounds(validate string, t reflect.Type, s *openapi3.Schema) {
	if start := strings.Index(validate, ",keys"); start >= 0 {
		if end := strings.Index(validate[start:], ",endkeys"); end >= 0 {
			validate = validate[:start] + validate[start+end+len(",endkeys"):]
		}
	}
	own, items, dives := strings.Cut(validate, ",dive")
	if dives && t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
		own = items
	}
	for _, rule := range strings.Split(own, ",") {
		key, val, _ := strings.Cut(rule, "=")
		if key == "oneof" && t.Kind() == reflect.String {
			for _, option := range strings.Fields(val) {
				s.Enum = append(s.Enum, option)
			}
			continue
		}
		if t.Kind() == reflect.String {
			switch key {
			case "numeric":
				s.Pattern = "^[0-9]+$"
			case "alpha":
				s.Pattern = "^[A-Za-z]+$"
			}
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			continue
		}
		switch t.Kind() {
		case reflect.String:
			switch key {
			case "min":
				s.MinLength = n
			case "max":
				s.MaxLength = openapi3.Ptr(n)
			case "len":
				s.MinLength, s.MaxLength = n, openapi3.Ptr(n)
			}
		case reflect.Slice:
			switch key {
			case "min":
				s.MinItems = n
			case "max":
				s.MaxItems = openapi3.Ptr(n)
			}
		case reflect.Map:
			switch key {
			case "min":
				s.MinProps = n
			case "max":
				s.MaxProps = openapi3.Ptr(n)
			}
		case reflect.Int, reflect.Int32, reflect.Int64:
			switch key {
			case "min":
				s.Min = openapi3.Ptr(float64(n))
			case "max":
				s.Max = openapi3.Ptr(float64(n))
			}
		}
	}
}
