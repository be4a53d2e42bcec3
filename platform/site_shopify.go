package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ShopifyAPIVersion is the Admin API version the Shopify client calls.
const ShopifyAPIVersion = "2024-10"

// shopifyProductFields are the product fields a listing asks for.
const shopifyProductFields = "id,title,body_html,status,handle,updated_at"

// shopifySite is a shop's Admin REST API, signed with X-Shopify-Access-Token. Products are
// its one content type; their pages follow the Link header's page_info cursors.
type shopifySite struct {
	h     *siteHTTP
	cfg   SiteConfig
	api   string // <shop>/admin/api/2024-10
	store string // the shop's storefront, where a product's handle makes its URL
}

func newShopifySite(in Integration, cfg SiteConfig, h *siteHTTP) *shopifySite {
	shop := shopifyShopURL(in.Credentials.Fields[FieldShopDomain])
	h.header("X-Shopify-Access-Token", in.Credentials.Fields[FieldAccessToken])
	return &shopifySite{h: h, cfg: cfg, api: shop + "/admin/api/" + ShopifyAPIVersion, store: shop}
}

// shopifyShopURL is the shop's address: https://<domain> for a domain, the URL itself (for a
// simulator or a development store proxy) for an absolute URL.
func shopifyShopURL(domain string) string {
	domain = strings.TrimRight(strings.TrimSpace(domain), "/")
	if strings.Contains(domain, "://") {
		return strings.TrimSuffix(strings.TrimSuffix(domain, "/admin/api/"+ShopifyAPIVersion), "/admin")
	}
	return "https://" + strings.ToLower(domain)
}

// ContentTypes are the config's, else product.
func (s *shopifySite) ContentTypes() []string { return s.cfg.contentTypes(Shopify) }

// shopifyProduct is the part of a product the client reads and writes.
type shopifyProduct struct {
	ID        json.Number `json:"id,omitempty"`
	Title     string      `json:"title"`
	BodyHTML  string      `json:"body_html"`
	Status    string      `json:"status,omitempty"`
	Handle    string      `json:"handle,omitempty"`
	UpdatedAt string      `json:"updated_at,omitempty"`
}

func (s *shopifySite) item(p shopifyProduct) SiteItem {
	it := SiteItem{ExternalID: p.ID.String(), Type: "product", Title: p.Title, Body: p.BodyHTML,
		Status: p.Status, ModifiedAt: siteTime(p.UpdatedAt)}
	if p.Handle != "" {
		it.URL = s.store + "/products/" + url.PathEscape(p.Handle)
	}
	return it
}

// fail is the APIError of a Shopify error answer: {"errors": "text"} or {"errors": {field:
// [problems]}}.
func (s *shopifySite) fail(a siteAnswer) *APIError {
	var e struct {
		Errors json.RawMessage `json:"errors"`
	}
	_ = json.Unmarshal(a.body, &e)
	return s.h.fail(a, "", shopifyErrors(e.Errors))
}

func shopifyErrors(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	parts := make([]string, 0, len(fields))
	for k, v := range fields {
		switch v := v.(type) {
		case []any:
			for _, p := range v {
				parts = append(parts, fmt.Sprint(k, " ", p))
			}
		default:
			parts = append(parts, fmt.Sprint(k, " ", v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// shopifyAnswered reports whether an answer is in Shopify's error shape: a 404 without it comes
// from something else than the shop (a wrong address), not from a missing product.
func shopifyAnswered(a siteAnswer) bool {
	var e struct {
		Errors json.RawMessage `json:"errors"`
	}
	return json.Unmarshal(a.body, &e) == nil && len(e.Errors) > 0
}

func (s *shopifySite) checkType(contentType string) error {
	if contentType != "product" {
		return s.h.refused("unknown_content_type", "shopify syncs product, not %q", contentType)
	}
	return nil
}

// List reads one page of products by id. The first page asks for updated_at_min (inclusive,
// as Shopify filters) when since is set; the following ones send only the cursor (the Link
// header's page_info, which carries the filter) and the limit, as Shopify requires. Shopify
// gives no total: it is -1.
func (s *shopifySite) List(ctx context.Context, contentType, cursor string, since time.Time) (SitePage, error) {
	if err := s.checkType(contentType); err != nil {
		return SitePage{}, err
	}
	if len(cursor) > 4096 {
		return SitePage{}, s.h.refused("invalid_cursor", "a Shopify cursor of %d bytes", len(cursor))
	}
	q := url.Values{"limit": {strconv.Itoa(s.cfg.pageSize(Shopify))}, "fields": {shopifyProductFields}}
	if cursor != "" {
		q.Set("page_info", cursor)
	} else if !since.IsZero() {
		q.Set("updated_at_min", since.UTC().Format(time.RFC3339))
	}
	a, err := s.h.do(ctx, http.MethodGet, s.api+"/products.json?"+q.Encode(), nil)
	if err != nil {
		return SitePage{}, err
	}
	if !a.ok() {
		return SitePage{}, s.fail(a)
	}
	var body struct {
		Products []shopifyProduct `json:"products"`
	}
	if json.Unmarshal(a.body, &body) != nil || body.Products == nil {
		return SitePage{}, s.h.unexpected(a, "products")
	}
	out := SitePage{Items: make([]SiteItem, 0, len(body.Products)), Total: -1,
		Next: linkPageInfo(a.header.Values("Link"), "next")}
	for _, p := range body.Products {
		out.Items = append(out.Items, s.item(p))
	}
	return out, nil
}

// linkPageInfo is the page_info of the Link header's entry with relation rel, or "".
func linkPageInfo(links []string, rel string) string {
	for _, header := range links {
		for entry := range strings.SplitSeq(header, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(entry), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			matches := false
			for p := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.ContainsFunc(strings.Fields(strings.Trim(v, `"`)),
					func(r string) bool { return strings.EqualFold(r, rel) }) {
					matches = true
				}
			}
			if !matches {
				continue
			}
			u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">"))
			if err == nil {
				return u.Query().Get("page_info")
			}
		}
	}
	return ""
}

// Get reads one product.
func (s *shopifySite) Get(ctx context.Context, contentType, externalID string) (SiteItem, error) {
	if err := s.checkType(contentType); err != nil {
		return SiteItem{}, err
	}
	if !digitsID(externalID) {
		return SiteItem{}, notFound(Shopify, contentType, externalID)
	}
	a, err := s.h.do(ctx, http.MethodGet, s.api+"/products/"+externalID+".json", nil)
	if err != nil {
		return SiteItem{}, err
	}
	return s.answerProduct(a, externalID)
}

func (s *shopifySite) answerProduct(a siteAnswer, externalID string) (SiteItem, error) {
	if a.status == http.StatusNotFound && externalID != "" && shopifyAnswered(a) {
		return SiteItem{}, notFound(Shopify, "product", externalID)
	}
	if !a.ok() {
		return SiteItem{}, s.fail(a)
	}
	var body struct {
		Product *shopifyProduct `json:"product"`
	}
	if json.Unmarshal(a.body, &body) != nil || body.Product == nil || body.Product.ID.String() == "" {
		return SiteItem{}, s.h.unexpected(a, "the product")
	}
	return s.item(*body.Product), nil
}

// Put creates (POST products.json) or updates (PUT products/<id>.json) a product's title,
// description (body_html) and, when set, status (active, draft or archived).
func (s *shopifySite) Put(ctx context.Context, item SiteItem) (SiteItem, error) {
	if err := s.checkType(item.Type); err != nil {
		return SiteItem{}, err
	}
	p := shopifyProduct{Title: item.Title, BodyHTML: item.Body, Status: item.Status}
	method, target := http.MethodPost, s.api+"/products.json"
	if item.ExternalID != "" {
		if !digitsID(item.ExternalID) {
			return SiteItem{}, notFound(Shopify, item.Type, item.ExternalID)
		}
		p.ID = json.Number(item.ExternalID)
		method, target = http.MethodPut, s.api+"/products/"+item.ExternalID+".json"
	}
	a, err := s.h.do(ctx, method, target, map[string]any{"product": p})
	if err != nil {
		return SiteItem{}, err
	}
	return s.answerProduct(a, item.ExternalID)
}

// Structure is a shop's: products, no taxonomies. It asks the shop nothing.
func (s *shopifySite) Structure(context.Context) (SiteStructure, error) {
	return SiteStructure{PostTypes: []string{"product"}, Taxonomies: []string{}, Timestamp: time.Now().UTC()}, nil
}

// Test reads shop.json: the shop's name, domain and plan.
func (s *shopifySite) Test(ctx context.Context) SiteTest {
	start := time.Now()
	a, err := s.h.do(ctx, http.MethodGet, s.api+"/shop.json", nil)
	if err != nil {
		return testFailure(err)
	}
	if !a.ok() {
		return testFailure(s.fail(a))
	}
	var body struct {
		Shop *struct {
			ID              json.Number `json:"id"`
			Name            string      `json:"name"`
			Domain          string      `json:"domain"`
			MyshopifyDomain string      `json:"myshopify_domain"`
			PlanName        string      `json:"plan_name"`
			Currency        string      `json:"currency"`
			IANATimezone    string      `json:"iana_timezone"`
		} `json:"shop"`
	}
	if json.Unmarshal(a.body, &body) != nil || body.Shop == nil {
		return testFailure(s.h.unexpected(a, "the shop"))
	}
	shop := body.Shop
	details := map[string]any{"api_version": ShopifyAPIVersion, "latency_ms": time.Since(start).Milliseconds()}
	setNonEmpty(details, "shop_id", shop.ID.String())
	setNonEmpty(details, "shop_name", shop.Name)
	setNonEmpty(details, "domain", shop.Domain)
	setNonEmpty(details, "myshopify_domain", shop.MyshopifyDomain)
	setNonEmpty(details, "plan_name", shop.PlanName)
	setNonEmpty(details, "currency", shop.Currency)
	setNonEmpty(details, "timezone", shop.IANATimezone)
	return SiteTest{Success: true, Message: "connected to Shopify shop " + strconv.Quote(shop.Name), Details: details}
}
