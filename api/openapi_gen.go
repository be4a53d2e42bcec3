package api

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/switchyard-hub/switchyard/provider"
)

// addIntegrationPaths documents the typed integration routes from the operation catalogue:
// request and response schemas are generated from the Go types, constraints from their
// validate tags, so the document cannot drift from what the handlers check.
func addIntegrationPaths(doc *openapi3.T) error {
	// References made after loading must carry their values: the loader resolved the others.
	ref := func(name string) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Ref: "#/components/responses/" + name, Value: doc.Components.Responses[name].Value}
	}
	errRef := ref("Error")
	for _, op := range provider.Catalogue {
		if isConnector(op) {
			continue // the connectors' routes take path parameters: addConnectorPaths
		}
		req, err := schemaFor(op.NewRequest(), true)
		if err != nil {
			return err
		}
		resp, err := schemaFor(op.NewResponse(), false)
		if err != nil {
			return err
		}
		envelope := openapi3.NewObjectSchema().
			WithProperty("success", openapi3.NewBoolSchema().WithEnum(true)).
			WithPropertyRef("data", resp).
			WithProperty("metadata", openapi3.NewObjectSchema().
				WithProperty("correlation_id", openapi3.NewStringSchema()).
				WithProperty("attempts", openapi3.NewIntegerSchema()))
		envelope.Required = []string{"success", "data", "metadata"}
		responses := openapi3.NewResponses()
		responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().
			WithDescription("The provider's answer, typed.").WithJSONSchema(envelope)})
		responses.Set("202", ref("Accepted"))
		for _, code := range []int{400, 401, 402, 403, 404, 409, 413, 422, 429, 502, 503, 504} {
			responses.Set(strconv.Itoa(code), errRef)
		}
		operation := &openapi3.Operation{
			OperationID: op.Key,
			Tags:        []string{"integration"},
			Summary:     strings.ReplaceAll(op.Key, "_", " ") + " (issuer " + op.Issuer + ", permission " + op.Permission + ")",
			Description: "Runs as a ProviderOperation workflow (ID op:<correlation_id>). Sync by default (INTEGRATION_TIMEOUT, " +
				"then 202); ?async=true or Prefer: respond-async answers 202 with the status URL. A provider's 4xx is " +
				"answered with its status and details.provider_code.",
			Security: &openapi3.SecurityRequirements{{"clientId": {}, "clientSecret": {}}, {"basic": {}}},
			Parameters: openapi3.Parameters{
				{Value: openapi3.NewQueryParameter("async").WithSchema(openapi3.NewStringSchema().WithEnum("true", "false"))},
				{Value: openapi3.NewHeaderParameter("Idempotency-Key").WithSchema(openapi3.NewStringSchema().WithMaxLength(255))},
			},
			RequestBody: &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
				WithJSONSchemaRef(req)},
			Responses: responses,
		}
		if op.Base == ISOBase {
			operation.Tags = []string{"iso"}
		}
		doc.AddOperation(routeOf(op), http.MethodPost, operation)
	}
	if err := addTransferPath(doc, errRef, ref("Accepted")); err != nil {
		return err
	}
	download := openapi3.NewResponses()
	download.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("CSV, header row first.").
		WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"text/csv"}))})
	download.Set("400", errRef)
	download.Set("401", errRef)
	download.Set("403", errRef)
	download.Set("404", errRef)
	doc.AddOperation(IntegrationBase+"/simulator/download", http.MethodGet, &openapi3.Operation{
		OperationID: "simulator_download", Tags: []string{"integration"},
		Summary: "The simulated core banking system's data as CSV (permission simulator_reports; 404 while " +
			"the core banking system is not simulated)",
		Security: &openapi3.SecurityRequirements{{"clientId": {}, "clientSecret": {}}, {"basic": {}}},
		Parameters: openapi3.Parameters{
			{Value: openapi3.NewQueryParameter("report").WithSchema(openapi3.NewStringSchema().
				WithEnum("transactions", "customers", "accounts"))},
			{Value: openapi3.NewQueryParameter("limit").WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(10000))},
		},
		Responses: download,
	})
	return nil
}

// addTransferPath documents POST /api/v1/iso/transfer.
func addTransferPath(doc *openapi3.T, errRef, accepted *openapi3.ResponseRef) error {
	req, err := schemaFor(&TransferRequest{}, true)
	if err != nil {
		return err
	}
	req.Value.Properties["amount"].Value.Pattern = amountPattern.String()
	resp, err := schemaFor(&TransferResponse{}, false)
	if err != nil {
		return err
	}
	envelope := openapi3.NewObjectSchema().
		WithProperty("success", openapi3.NewBoolSchema().WithEnum(true)).
		WithPropertyRef("data", resp).
		WithProperty("metadata", openapi3.NewObjectSchema())
	envelope.Required = []string{"success", "data"}
	responses := openapi3.NewResponses()
	responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("Approved.").WithJSONSchema(envelope)})
	responses.Set("202", accepted)
	for _, code := range []int{400, 401, 402, 403, 409, 413, 422, 429, 502, 503} {
		responses.Set(strconv.Itoa(code), errRef)
	}
	doc.AddOperation(ISOBase+"/transfer", http.MethodPost, &openapi3.Operation{
		OperationID: "iso_transfer", Tags: []string{"iso"},
		Summary: "Transfer between two accounts through the card switch (permission iso_transfer)",
		Description: "Runs as a CardTransfer workflow (ID iso:<correlation_id>); the worker allocates the RRN. " +
			"A repeated Idempotency-Key with another transfer is 422 IDEMPOTENCY_KEY_REUSED. A decline is 402 with details.response_code " +
			"and details.meaning. When the outcome is unknown the transfer is reversed (0420, then 0421 repeats) and " +
			"answered 502 TRANSFER_REVERSED; a reversal that cannot complete escalates the transfer.",
		Security: &openapi3.SecurityRequirements{{"clientId": {}, "clientSecret": {}}, {"basic": {}}},
		Parameters: openapi3.Parameters{
			{Value: openapi3.NewQueryParameter("async").WithSchema(openapi3.NewStringSchema().WithEnum("true", "false"))},
			{Value: openapi3.NewHeaderParameter("Idempotency-Key").WithSchema(openapi3.NewStringSchema().WithMaxLength(255))},
		},
		RequestBody: &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(req)},
		Responses:   responses,
	})
	return nil
}

// schemaFor generates the schema of a typed body. Requests take required fields and bounds from
// their validate tags and refuse unknown fields; responses require every field not marked
// omitempty.
func schemaFor(v any, request bool) (*openapi3.SchemaRef, error) {
	return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(
		func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
			if t.Kind() == reflect.Struct {
				s.Required = requiredFields(t, request)
				if request {
					s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
				}
			}
			if request {
				applyBounds(tag.Get("validate"), t, s)
			}
			return nil
		}))
}

func requiredFields(t reflect.Type, request bool) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, requiredFields(f.Type, request)...)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		required := !strings.Contains(opts, "omitempty")
		if request {
			required = strings.HasPrefix(f.Tag.Get("validate"), "required,") || f.Tag.Get("validate") == "required"
		}
		if required {
			out = append(out, name)
		}
	}
	return out
}

// applyBounds copies min/max/numeric from a validate tag onto a field's schema. The generator
// calls it for a slice and again for its items, with the same tag: rules before "dive" bound
// the slice, rules after it the items.
func applyBounds(validate string, t reflect.Type, s *openapi3.Schema) {
	own, items, dives := strings.Cut(validate, ",dive")
	if dives && t.Kind() != reflect.Slice {
		own = items
	}
	rules := strings.Split(own, ",")
	for _, rule := range rules {
		key, val, _ := strings.Cut(rule, "=")
		n, err := strconv.ParseUint(val, 10, 64)
		switch {
		case key == "min" && err == nil && t.Kind() == reflect.String:
			s.MinLength = n
		case key == "max" && err == nil && t.Kind() == reflect.String:
			s.MaxLength = openapi3.Ptr(n)
		case key == "min" && err == nil && t.Kind() == reflect.Slice:
			s.MinItems = n
		case key == "max" && err == nil && t.Kind() == reflect.Slice:
			s.MaxItems = openapi3.Ptr(n)
		case key == "min" && err == nil && t.Kind() == reflect.Int:
			s.Min = openapi3.Ptr(float64(n))
		case key == "max" && err == nil && t.Kind() == reflect.Int:
			s.Max = openapi3.Ptr(float64(n))
		case key == "numeric":
			s.Pattern = "^[0-9]+$"
		}
	}
}
