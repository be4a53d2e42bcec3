package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ERPSite is the client of the hub's ERP connector (platform erp), whose records a sync keeps
// in the content store as a site's content: one content type per entity type. It speaks the
// ERP's REST API under base_url (the ERP's base with its version, http://erp.example/v1),
// signed with the connector's key: auth_type api_key (the default) sends api_key in header
// (X-API-Key by default), bearer sends it as a bearer token.
//
//	GET  {base}/{type}s?limit=&starting_after=&updated_since=
//	                          → {"data": [record, ...], "has_more": true, "next_cursor": "<last id>"}
//	GET  {base}/{type}s/{id}  → record (404 {"error": {"code": "not_found", ...}})
//	POST {base}/{type}s       fields → 201 record
//	PUT  {base}/{type}s/{id}  fields → record (the fields given replace those fields)
//
// A record is a JSON object with the ERP's id, created_at and updated_at (RFC 3339). As an item
// its title is the first non-empty of name, number, sku and title (else its id), its body the
// record without id, created_at and updated_at as canonical JSON (keys sorted, no spaces, HTML
// characters as they are), its status the record's status (else "active"). A pushed item's
// body is the record sent: its title and status are read from the record, never written into
// it. Errors are {"error": {"code", "message", "fields"?}}; 429 and 5xx come with Retry-After.
type ERPSite struct {
	h    *siteHTTP
	cfg  SiteConfig
	base string
}

// ERPAuthTypes lists the ERP connector's auth types: an API key in a header, or as a bearer
// token.
var ERPAuthTypes = []string{AuthAPIKey, AuthBearer}

// ErrERPNotConfigured is NewSiteClient's answer for an erp integration when the hub's ERP
// connector has no base URL or key to fill its credentials with.
var ErrERPNotConfigured = errors.New("the ERP connector is not configured")

// erpFields are the credentials the worker fills an erp integration with; all optional, as a
// stored erp integration has none.
var erpFields = []field{
	{FieldBaseURL, siteURL},
	{FieldAuthType, erpAuthType},
	{FieldAPIKey, headerValue},
	{FieldHeader, headerName},
}

func erpAuthType(v string) string {
	if !slices.Contains(ERPAuthTypes, v) {
		return "one of " + strings.Join(ERPAuthTypes, ", ")
	}
	return ""
}

// erpAuth refuses a header with the bearer auth type, which sends none.
func erpAuth(fields map[string]string, problems map[string]string) {
	if _, present := fields[FieldHeader]; present && fields[FieldAuthType] == AuthBearer {
		problems["credentials."+FieldHeader] = "not used by auth_type " + AuthBearer
	}
}

// erpConfigured checks that the worker filled in the connector's base URL and key.
func erpConfigured(in Integration) error {
	f := in.Credentials.Fields
	switch {
	case f[FieldBaseURL] == "":
		return fmt.Errorf("%w: set ERP_BASE_URL or ERP_SIMULATE=true", ErrERPNotConfigured)
	case f[FieldAPIKey] == "":
		return fmt.Errorf("%w: set ERP_API_KEY", ErrERPNotConfigured)
	}
	return nil
}

func newERPSite(in Integration, cfg SiteConfig, h *siteHTTP) *ERPSite {
	f := in.Credentials.Fields
	if f[FieldAuthType] == AuthBearer {
		h.header("Authorization", "Bearer "+f[FieldAPIKey])
	} else {
		h.header(orDefault(f[FieldHeader], DefaultAPIKeyHeader), f[FieldAPIKey])
	}
	return &ERPSite{h: h, cfg: cfg, base: strings.TrimRight(f[FieldBaseURL], "/")}
}

// ContentTypes are the config's, else customer, invoice and product.
func (e *ERPSite) ContentTypes() []string { return e.cfg.contentTypes(ERP) }

// maxERPID bounds a record id (and so a cursor) sent to the ERP.
const maxERPID = 256

// erpRecord is a record as the ERP gave it, its numbers kept as written.
type erpRecord map[string]any

// Fields of a record the client reads; the ERP sets id, created_at and updated_at.
const (
	erpID        = "id"
	erpCreatedAt = "created_at"
	erpUpdatedAt = "updated_at"
	erpStatus    = "status"
)

// erpTitleFields are the fields a record's title is read from, the first non-empty one.
var erpTitleFields = []string{"name", "number", "sku", "title"}

// erpDefaultStatus is the status of a record that has none.
const erpDefaultStatus = "active"

// decodeERP reads one JSON value into v, numbers as json.Number; anything after it is an
// error.
func decodeERP(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// erpText is a string or number field as text; "" for anything else.
func erpText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// canonicalJSON is v compact, object keys sorted, HTML characters unescaped.
func canonicalJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// item is the record as an item of contentType; false when it has no id.
func (r erpRecord) item(contentType string) (SiteItem, bool) {
	id := erpText(r[erpID])
	if id == "" {
		return SiteItem{}, false
	}
	it := SiteItem{ExternalID: id, Type: contentType, Title: id, Status: erpDefaultStatus,
		ModifiedAt: siteTime(erpText(r[erpUpdatedAt]))}
	for _, f := range erpTitleFields {
		if t := erpText(r[f]); t != "" {
			it.Title = t
			break
		}
	}
	if s, ok := r[erpStatus].(string); ok && s != "" {
		it.Status = s
	}
	fields := make(map[string]any, len(r))
	for k, v := range r {
		if k != erpID && k != erpCreatedAt && k != erpUpdatedAt {
			fields[k] = v
		}
	}
	body, err := canonicalJSON(fields)
	if err != nil {
		return SiteItem{}, false
	}
	it.Body = body
	return it, true
}

// fail is the APIError of an ERP error answer: {"error": {"code", "message", "fields"}}, the
// fields' problems following the message.
func (e *ERPSite) fail(a siteAnswer) *APIError {
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(a.body, &body)
	var detail struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Fields  map[string]any `json:"fields"`
	}
	var text string
	if json.Unmarshal(body.Error, &text) == nil {
		detail.Message = text
	} else {
		_ = json.Unmarshal(body.Error, &detail)
	}
	msg := detail.Message
	if len(detail.Fields) > 0 {
		names := make([]string, 0, len(detail.Fields))
		for k := range detail.Fields {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = fmt.Sprintf("%s: %v", k, detail.Fields[k])
		}
		msg = strings.TrimSpace(msg + " (" + strings.Join(parts, "; ") + ")")
	}
	return e.h.fail(a, detail.Code, msg)
}

// erpAnswered reports whether an answer is in the ERP's error shape: a 404 without it comes
// from something else than the ERP (a wrong base_url), not from a missing record.
func erpAnswered(a siteAnswer) bool {
	var body struct {
		Error map[string]any `json:"error"`
	}
	return json.Unmarshal(a.body, &body) == nil && len(body.Error) > 0
}

// typeURL is the collection of an entity type: {base}/{type}s.
func (e *ERPSite) typeURL(contentType string) (string, error) {
	if !validContentType(contentType) {
		return "", e.h.refused("unknown_content_type", "%q is not an entity type name", contentType)
	}
	return e.base + "/" + contentType + "s", nil
}

func (e *ERPSite) recordURL(contentType, externalID string) (string, error) {
	target, err := e.typeURL(contentType)
	if err != nil {
		return "", err
	}
	if externalID == "" || len(externalID) > maxERPID {
		return "", notFound(ERP, contentType, externalID)
	}
	return target + "/" + url.PathEscape(externalID), nil
}

// List reads one page of an entity type, in id order, from the record after cursor; the
// ERP gives no total (-1).
func (e *ERPSite) List(ctx context.Context, contentType, cursor string, since time.Time) (SitePage, error) {
	target, err := e.typeURL(contentType)
	if err != nil {
		return SitePage{}, err
	}
	if len(cursor) > maxERPID {
		return SitePage{}, e.h.refused("invalid_cursor", "an ERP cursor of %d bytes", len(cursor))
	}
	q := url.Values{"limit": {strconv.Itoa(e.cfg.pageSize(ERP))}}
	if cursor != "" {
		q.Set("starting_after", cursor)
	}
	if !since.IsZero() {
		// Whole seconds, rounded down: a filter a little wider, never narrower.
		q.Set("updated_since", since.UTC().Format(time.RFC3339))
	}
	a, err := e.h.do(ctx, http.MethodGet, target+"?"+q.Encode(), nil)
	if err != nil {
		return SitePage{}, err
	}
	if !a.ok() {
		return SitePage{}, e.fail(a)
	}
	var body struct {
		Data       []erpRecord `json:"data"`
		HasMore    bool        `json:"has_more"`
		NextCursor string      `json:"next_cursor"`
	}
	if decodeERP(a.body, &body) != nil || body.Data == nil {
		return SitePage{}, e.h.unexpected(a, `{"data": [...], "has_more", "next_cursor"}`)
	}
	out := SitePage{Items: make([]SiteItem, 0, len(body.Data)), Total: -1}
	if body.HasMore {
		if body.NextCursor == "" || body.NextCursor == cursor {
			// A cursor that does not move would loop for ever.
			return SitePage{}, e.h.unexpected(a, "a next_cursor past the one asked for")
		}
		out.Next = body.NextCursor
	}
	for _, r := range body.Data {
		it, ok := r.item(contentType)
		if !ok {
			return SitePage{}, e.h.unexpected(a, "an id on every record")
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// Get reads one record.
func (e *ERPSite) Get(ctx context.Context, contentType, externalID string) (SiteItem, error) {
	target, err := e.recordURL(contentType, externalID)
	if err != nil {
		return SiteItem{}, err
	}
	a, err := e.h.do(ctx, http.MethodGet, target, nil)
	if err != nil {
		return SiteItem{}, err
	}
	return e.answerRecord(a, contentType, externalID)
}

func (e *ERPSite) answerRecord(a siteAnswer, contentType, externalID string) (SiteItem, error) {
	if a.status == http.StatusNotFound && externalID != "" && erpAnswered(a) {
		return SiteItem{}, notFound(ERP, contentType, externalID)
	}
	if !a.ok() {
		return SiteItem{}, e.fail(a)
	}
	var r erpRecord
	if decodeERP(a.body, &r) != nil {
		return SiteItem{}, e.h.unexpected(a, "the record")
	}
	it, ok := r.item(contentType)
	if !ok {
		return SiteItem{}, e.h.unexpected(a, "the record")
	}
	return it, nil
}

// Put creates (POST) or updates (PUT) a record with the fields of the item's body, a JSON
// object; id, created_at and updated_at in it are the ERP's, and left out. A body that is not
// a JSON object is refused (invalid_content) without calling the ERP.
func (e *ERPSite) Put(ctx context.Context, item SiteItem) (SiteItem, error) {
	method, target, err := http.MethodPost, "", error(nil)
	if item.ExternalID == "" {
		target, err = e.typeURL(item.Type)
	} else {
		method = http.MethodPut
		target, err = e.recordURL(item.Type, item.ExternalID)
	}
	if err != nil {
		return SiteItem{}, err
	}
	var fields map[string]any
	if decodeERP([]byte(item.Body), &fields) != nil || fields == nil {
		return SiteItem{}, e.h.refused("invalid_content", "an ERP %s's body is a JSON object of its fields", item.Type)
	}
	delete(fields, erpID)
	delete(fields, erpCreatedAt)
	delete(fields, erpUpdatedAt)
	a, err := e.h.do(ctx, method, target, fields)
	if err != nil {
		return SiteItem{}, err
	}
	return e.answerRecord(a, item.Type, item.ExternalID)
}

// Structure is the ERP's: its entity types (the content types), no taxonomies. It asks the
// ERP nothing.
func (e *ERPSite) Structure(context.Context) (SiteStructure, error) {
	return SiteStructure{PostTypes: e.ContentTypes(), Taxonomies: []string{}, Timestamp: time.Now().UTC()}, nil
}

// Test lists one record of the first content type with the connector's key.
func (e *ERPSite) Test(ctx context.Context) SiteTest {
	start := time.Now()
	contentType := e.ContentTypes()[0] // never empty: the config's, else the connector's defaults
	target, err := e.typeURL(contentType)
	if err != nil {
		return testFailure(err)
	}
	a, err := e.h.do(ctx, http.MethodGet, target+"?limit=1", nil)
	if err != nil {
		return testFailure(err)
	}
	if !a.ok() {
		return testFailure(e.fail(a))
	}
	var body struct {
		Data []erpRecord `json:"data"`
	}
	if decodeERP(a.body, &body) != nil || body.Data == nil {
		return testFailure(e.h.unexpected(a, "a list of "+contentType+" records (is base_url the ERP's, with its version?)"))
	}
	details := map[string]any{"entity_types": e.ContentTypes(), "latency_ms": time.Since(start).Milliseconds()}
	return SiteTest{Success: true, Message: "connected to the ERP", Details: details}
}
