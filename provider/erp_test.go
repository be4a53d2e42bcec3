package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

func TestERPEntityTypeValidationIsThePattern(t *testing.T) {
	v := provider.NewValidator()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"customer", true}, {"sales_order", true}, {"a", true}, {"x9", true}, {"a_1_b", true},
		{strings.Repeat("a", 32), true}, {strings.Repeat("a", 33), false},
		{"", false}, {"Customer", false}, {"9lives", false}, {"_hidden", false}, {"sales-order", false},
		{"sales order", false}, {"a/b", false}, {"a.b", false}, {"a,b", false}, {"a|b", false}, {"a`b", false},
		{`a"b`, false}, {`a\b`, false}, {"a\nb", false}, {"café", false}, {"a?b", false}, {"a%2f", false},
	} {
		err := v.Struct(&provider.ERPEntityRequest{EntityType: tc.name})
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.name, err)
		require.Equal(t, tc.ok, provider.ValidERPEntityType(tc.name), tc.name)
	}
}

func TestERPEntityRequestBounds(t *testing.T) {
	v := provider.NewValidator()
	big := map[string]any{}
	for i := range 201 {
		big["f"+strconv.Itoa(i)] = i
	}
	require.NoError(t, v.Struct(&provider.ERPEntityRequest{EntityType: "customer", ID: "cus_000001",
		Data: map[string]any{"name": "Amina"}}))
	for name, r := range map[string]*provider.ERPEntityRequest{
		"an id with a slash":  {EntityType: "customer", ID: "cus/1"},
		"an id of ..":         {EntityType: "customer", ID: ".."},
		"an id too long":      {EntityType: "customer", ID: strings.Repeat("c", 129)},
		"an id with newline":  {EntityType: "customer", ID: "cus\n1"},
		"more than 200 field": {EntityType: "customer", Data: big},
	} {
		require.Error(t, v.Struct(r), name)
	}
}

func TestERPOperationsCallTheRESTAPI(t *testing.T) {
	type seen struct{ method, path, contentType, body string }
	var got seen
	status, answer := http.StatusCreated, `{"id":"cus_000001","name":"Amina","created_at":"2024-01-01T00:00:00.000Z"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := connectorClient(t, provider.IssuerERP, srv, map[string]string{"ERP_API_KEY": "erp-key"})
	call := func(key string, req *provider.ERPEntityRequest) provider.Response {
		t.Helper()
		resp, _, err := c.Call(context.Background(), op(key), req, "corr-erp")
		require.NoError(t, err)
		return resp
	}

	resp := call(provider.OpERPEntityCreate, &provider.ERPEntityRequest{EntityType: "customer",
		Data: map[string]any{"name": "Amina", "email": "amina@example.org"}})
	require.Equal(t, seen{"POST", "/v1/customers", "application/json", `{"email":"amina@example.org","name":"Amina"}`}, got,
		"the body is the record's fields")
	record, err := provider.DecodeResponse(op(provider.OpERPEntityCreate), resp.Body, provider.FormatJSON)
	require.NoError(t, err)
	require.Equal(t, &provider.ERPRecord{"id": "cus_000001", "name": "Amina", "created_at": "2024-01-01T00:00:00.000Z"}, record)

	status = http.StatusOK
	call(provider.OpERPEntityUpdate, &provider.ERPEntityRequest{EntityType: "invoice", ID: "inv_000001",
		Data: map[string]any{"status": "paid"}})
	require.Equal(t, seen{"PUT", "/v1/invoices/inv_000001", "application/json", `{"status":"paid"}`}, got)

	answer = `{"id":"prd_000001","deleted":true}`
	resp = call(provider.OpERPEntityDelete, &provider.ERPEntityRequest{EntityType: "product", ID: "prd_000001"})
	require.Equal(t, seen{"DELETE", "/v1/products/prd_000001", "", ""}, got)
	record, err = provider.DecodeResponse(op(provider.OpERPEntityDelete), resp.Body, provider.FormatJSON)
	require.NoError(t, err)
	require.Equal(t, &provider.ERPRecord{"id": "prd_000001", "deleted": true}, record)

	t.Run("a create without fields sends an empty object", func(t *testing.T) {
		call(provider.OpERPEntityCreate, &provider.ERPEntityRequest{EntityType: "customer"})
		require.Equal(t, "{}", got.body)
	})
	t.Run("an id is escaped into the path", func(t *testing.T) {
		call(provider.OpERPEntityDelete, &provider.ERPEntityRequest{EntityType: "product", ID: "prd 1?x"})
		require.Equal(t, "/v1/products/prd 1?x", got.path)
	})
	t.Run("a validation error's fields come with the detail", func(t *testing.T) {
		status = http.StatusUnprocessableEntity
		answer = `{"error":{"code":"validation_error","message":"invalid customer","fields":{"email":"must be an e-mail address","age":3}}}`
		resp := call(provider.OpERPEntityCreate, &provider.ERPEntityRequest{EntityType: "customer",
			Data: map[string]any{"name": "Amina", "email": "nope"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.Status)
		require.Equal(t, "validation_error", resp.ProviderCode)
		require.Equal(t, &provider.ErrorDetail{Code: "validation_error", Message: "invalid customer",
			Fields: map[string]string{"email": "must be an e-mail address", "age": "3"}}, resp.Detail)
	})
	t.Run("an answer without an error object has no detail", func(t *testing.T) {
		status, answer = http.StatusNotFound, `{"message":"no such route"}`
		require.Nil(t, call(provider.OpERPEntityDelete, &provider.ERPEntityRequest{EntityType: "product", ID: "x"}).Detail)
		status, answer = http.StatusNotFound, `{"error":"not_found"}`
		require.Nil(t, call(provider.OpERPEntityDelete, &provider.ERPEntityRequest{EntityType: "product", ID: "x"}).Detail)
	})
}

func TestERPRecordsKeepEveryField(t *testing.T) {
	body := `{"id":"inv_000001","amount":1500,"lines":[{"sku":"A"}],"custom":{"x":null}}`
	record, err := provider.DecodeResponse(op(provider.OpERPEntityUpdate), []byte(body), provider.FormatJSON)
	require.NoError(t, err)
	b, err := json.Marshal(record)
	require.NoError(t, err)
	require.JSONEq(t, body, string(b))
}

func TestERPRecordsKeepTheirNumbersAsWritten(t *testing.T) {
	body := `{"amount":12345678901234567890,"id":12345678901234567891,"lines":[{"qty":3,"rate":0.10000000000000000001}],` +
		`"total":-1e400}`
	for _, key := range []string{provider.OpERPEntityCreate, provider.OpERPEntityUpdate, provider.OpERPEntityDelete} {
		typed, err := provider.DecodeResponse(op(key), []byte(body), provider.FormatJSON)
		require.NoError(t, err, key)
		record := typed.(*provider.ERPRecord)
		require.Equal(t, json.Number("12345678901234567890"), (*record)["amount"], key)
		b, err := json.Marshal(record)
		require.NoError(t, err)
		require.Equal(t, body, string(b), "%s: every digit comes back", key)
	}

	for _, bad := range []string{`{"id":1} {"id":2}`, `{"id":1}]`, `{"id":`, `[1]`} {
		_, err := provider.DecodeResponse(op(provider.OpERPEntityCreate), []byte(bad), provider.FormatJSON)
		require.Error(t, err, bad)
	}
	_, err := provider.DecodeResponse(op(provider.OpERPEntityCreate), []byte("{\"id\":1}\n"), provider.FormatJSON)
	require.NoError(t, err, "a line break after the record is no second value")
}
