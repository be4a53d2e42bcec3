package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// CustomSite is the client of a custom site (platform custom), which speaks the hub's content
// protocol: a small JSON API under
// the integration's base_url, signed with its auth_type (none; basic: username and password;
// bearer: token; api_key: the api_key in header, X-API-Key by default).
//
//	GET  {base}/                       → {"name": "...", "content_types": ["article", ...],
//	                                      "taxonomies": [...], "timestamp": "RFC 3339"}
//	GET  {base}/{type}?limit=&cursor=&updated_since=
//	                                   → {"data": [item, ...], "next_cursor": "", "total": 42}
//	GET  {base}/{type}/{id}            → item
//	POST {base}/{type}                 {"title", "body", "status"} → item (200 or 201)
//	PUT  {base}/{type}/{id}            {"title", "body", "status"} → item
//
// An item is {"id", "title", "body", "status", "url", "updated_at"}: id a string or a number,
// updated_at RFC 3339. A listing is ordered so that a cursor resumes it; next_cursor is "" (or
// absent) on the last page, total is optional. updated_since (RFC 3339) asks for items updated
// after it; cursor and limit (1 to 1000) come as the hub sends them. A missing item is 404;
// a rate limit 429 or 503 with Retry-After (seconds or an HTTP date); an error's body may be
// {"error": "..."} or {"message": "..."}. The index's taxonomies and timestamp are optional;
// its content types are the types a sync pulls when the integration's config names none.
type CustomSite struct {
	h    *siteHTTP
	cfg  SiteConfig
	base string
}

// Auth types of a custom site: the provider stack's none, basic and bearer, and an API key in
// a header.
const (
	AuthNone   = provider.AuthNone
	AuthBasic  = provider.AuthBasic
	AuthBearer = provider.AuthBearer
	AuthAPIKey = "api_key"
	// DefaultAPIKeyHeader carries an api_key site's key when the credentials name no header.
	DefaultAPIKeyHeader = "X-API-Key"
)

// AuthTypes lists a custom site's auth types.
var AuthTypes = []string{AuthNone, AuthBasic, AuthBearer, AuthAPIKey}

func newCustomSite(in Integration, cfg SiteConfig, h *siteHTTP) *CustomSite {
	f := in.Credentials.Fields
	switch f[FieldAuthType] {
	case AuthBasic:
		h.basicAuth(f[FieldUsername], f[FieldPassword])
	case AuthBearer:
		h.header("Authorization", "Bearer "+f[FieldToken])
	case AuthAPIKey:
		h.header(orDefault(f[FieldHeader], DefaultAPIKeyHeader), f[FieldAPIKey])
	}
	return &CustomSite{h: h, cfg: cfg, base: strings.TrimRight(f[FieldBaseURL], "/")}
}

// ContentTypes are the config's, else the types the site's index last gave (the integration's
// structure); empty until the site has described itself.
func (c *CustomSite) ContentTypes() []string { return c.cfg.contentTypes(Custom) }

// customItem is an item of the protocol.
type customItem struct {
	ID        customID `json:"id"`
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	Status    string   `json:"status"`
	URL       string   `json:"url"`
	UpdatedAt string   `json:"updated_at"`
}

// customID is an id given as a string or a number.
type customID string

func (id *customID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*id = customID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*id = customID(n.String())
	return nil
}

func (it customItem) item(contentType string) SiteItem {
	return SiteItem{ExternalID: string(it.ID), Type: contentType, Title: it.Title, Body: it.Body,
		Status: it.Status, URL: it.URL, ModifiedAt: siteTime(it.UpdatedAt)}
}

func (c *CustomSite) fail(a siteAnswer) *APIError {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Code    string          `json:"code"`
	}
	_ = json.Unmarshal(a.body, &e)
	msg := e.Message
	var text string
	if json.Unmarshal(e.Error, &text) == nil && text != "" {
		msg = text
	}
	return c.h.fail(a, e.Code, msg)
}

func (c *CustomSite) typeURL(contentType string) (string, error) {
	if !validContentType(contentType) {
		return "", c.h.refused("unknown_content_type", "%q is not a content type name", contentType)
	}
	return c.base + "/" + contentType, nil
}

// maxCustomID bounds an item id sent to a custom site.
const maxCustomID = 256

// List reads one page of a type.
func (c *CustomSite) List(ctx context.Context, contentType, cursor string, since time.Time) (SitePage, error) {
	target, err := c.typeURL(contentType)
	if err != nil {
		return SitePage{}, err
	}
	if len(cursor) > 4096 {
		return SitePage{}, c.h.refused("invalid_cursor", "a cursor of %d bytes", len(cursor))
	}
	q := url.Values{"limit": {strconv.Itoa(c.cfg.pageSize(Custom))}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if !since.IsZero() {
		q.Set("updated_since", since.UTC().Format(time.RFC3339))
	}
	a, err := c.h.do(ctx, http.MethodGet, target+"?"+q.Encode(), nil)
	if err != nil {
		return SitePage{}, err
	}
	if !a.ok() {
		return SitePage{}, c.fail(a)
	}
	var body struct {
		Data       []customItem `json:"data"`
		NextCursor string       `json:"next_cursor"`
		Total      *int         `json:"total"`
	}
	if json.Unmarshal(a.body, &body) != nil || body.Data == nil {
		return SitePage{}, c.h.unexpected(a, `{"data": [...]}`)
	}
	out := SitePage{Items: make([]SiteItem, 0, len(body.Data)), Next: body.NextCursor, Total: -1}
	if body.Total != nil && *body.Total >= 0 {
		out.Total = *body.Total
	}
	if out.Next == cursor && out.Next != "" {
		// A cursor that does not move would loop for ever.
		return SitePage{}, c.h.unexpected(a, "a next_cursor past the one asked for")
	}
	for _, it := range body.Data {
		if it.ID == "" {
			return SitePage{}, c.h.unexpected(a, "an id on every item")
		}
		out.Items = append(out.Items, it.item(contentType))
	}
	return out, nil
}

func (c *CustomSite) itemURL(contentType, externalID string) (string, error) {
	target, err := c.typeURL(contentType)
	if err != nil {
		return "", err
	}
	if externalID == "" || len(externalID) > maxCustomID {
		return "", notFound(Custom, contentType, externalID)
	}
	return target + "/" + url.PathEscape(externalID), nil
}

// Get reads one item.
func (c *CustomSite) Get(ctx context.Context, contentType, externalID string) (SiteItem, error) {
	target, err := c.itemURL(contentType, externalID)
	if err != nil {
		return SiteItem{}, err
	}
	a, err := c.h.do(ctx, http.MethodGet, target, nil)
	if err != nil {
		return SiteItem{}, err
	}
	return c.answerItem(a, contentType, externalID)
}

func (c *CustomSite) answerItem(a siteAnswer, contentType, externalID string) (SiteItem, error) {
	if a.status == http.StatusNotFound && externalID != "" {
		return SiteItem{}, notFound(Custom, contentType, externalID)
	}
	if !a.ok() {
		return SiteItem{}, c.fail(a)
	}
	var it customItem
	if json.Unmarshal(a.body, &it) != nil || it.ID == "" {
		return SiteItem{}, c.h.unexpected(a, "the item")
	}
	return it.item(contentType), nil
}

// Put creates (POST) or updates (PUT) an item.
func (c *CustomSite) Put(ctx context.Context, item SiteItem) (SiteItem, error) {
	method, target, err := http.MethodPost, "", error(nil)
	if item.ExternalID == "" {
		target, err = c.typeURL(item.Type)
	} else {
		method = http.MethodPut
		target, err = c.itemURL(item.Type, item.ExternalID)
	}
	if err != nil {
		return SiteItem{}, err
	}
	a, err := c.h.do(ctx, method, target, map[string]string{"title": item.Title, "body": item.Body, "status": item.Status})
	if err != nil {
		return SiteItem{}, err
	}
	return c.answerItem(a, item.Type, item.ExternalID)
}

// customIndex is the site's answer at {base}/.
type customIndex struct {
	Name         string   `json:"name"`
	ContentTypes []string `json:"content_types"`
	Taxonomies   []string `json:"taxonomies"`
	Timestamp    string   `json:"timestamp"`
}

func (c *CustomSite) index(ctx context.Context) (customIndex, error) {
	a, err := c.h.do(ctx, http.MethodGet, c.base+"/", nil)
	if err != nil {
		return customIndex{}, err
	}
	if !a.ok() {
		return customIndex{}, c.fail(a)
	}
	var idx customIndex
	if json.Unmarshal(a.body, &idx) != nil || idx.ContentTypes == nil {
		return customIndex{}, c.h.unexpected(a, `{"name", "content_types": [...]}`)
	}
	if len(idx.ContentTypes) > MaxContentTypes ||
		slices.ContainsFunc(idx.ContentTypes, func(t string) bool { return !validContentType(t) }) {
		return customIndex{}, c.h.unexpected(a, "content types named with a-z, A-Z, 0-9, _ and - (at most 32)")
	}
	return idx, nil
}

// Structure reads the site's index: its content types, taxonomies and, when it gives one, the
// time it describes itself at.
func (c *CustomSite) Structure(ctx context.Context) (SiteStructure, error) {
	idx, err := c.index(ctx)
	if err != nil {
		return SiteStructure{}, err
	}
	st := SiteStructure{PostTypes: idx.ContentTypes, Taxonomies: idx.Taxonomies, Timestamp: siteTime(idx.Timestamp)}
	if st.Taxonomies == nil {
		st.Taxonomies = []string{}
	}
	if st.Timestamp.IsZero() {
		st.Timestamp = time.Now().UTC()
	}
	return st, nil
}

// Test reads the site's index with the credentials.
func (c *CustomSite) Test(ctx context.Context) SiteTest {
	start := time.Now()
	idx, err := c.index(ctx)
	if err != nil {
		return testFailure(err)
	}
	details := map[string]any{"content_types": idx.ContentTypes, "latency_ms": time.Since(start).Milliseconds()}
	setNonEmpty(details, "site_name", idx.Name)
	return SiteTest{Success: true, Message: "connected to custom site " + strconv.Quote(idx.Name), Details: details}
}
