package sim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The generated shop's fixed parts.
const (
	shopifyShopName     = "Switchyard Demo"
	shopifyShopDomain   = "switchyard-demo.myshopify.com"
	shopifyShopID       = 60000000001
	shopifyFirstProduct = 8000000000000
	shopifyFirstVariant = 45000000000000
	shopifyDefaultLimit = 50
	shopifyMaxLimit     = 250
)

var (
	// shopifyZone is the shop's timezone: Shopify gives times with the shop's offset.
	shopifyZone    = time.FixedZone("EST", -5*3600)
	shopifyVersion = regexp.MustCompile(`^(\d{4}-(01|04|07|10)|unstable)$`)
	shopifyVendors = []string{"Harbor Goods", "Summit Supply", "Lantern & Co", "Willow Works", "Quarry Outfitters"}
	shopifyTypes   = []string{"Apparel", "Accessories", "Home", "Outdoor", "Stationery", "Kitchen"}
)

// shopify simulates one shop's Admin REST API: products with Shopify's cursor pagination.
type shopify struct {
	cfg SitesConfig

	mu          sync.Mutex
	products    map[int64]*shopifyProduct
	nextID      int64
	nextVariant int64
	lastUpdated time.Time // the latest updated_at, so every edit gets a later one
}

// shopifyProduct is a product and its variants.
type shopifyProduct struct {
	ID                int64            `json:"id"`
	Title             string           `json:"title"`
	BodyHTML          string           `json:"body_html"`
	Vendor            string           `json:"vendor"`
	ProductType       string           `json:"product_type"`
	Handle            string           `json:"handle"`
	Status            string           `json:"status"`
	Tags              string           `json:"tags"`
	CreatedAt         time.Time        `json:"created_at"`
	UpdatedAt         time.Time        `json:"updated_at"`
	PublishedAt       *time.Time       `json:"published_at"`
	PublishedScope    string           `json:"published_scope"`
	AdminGraphqlAPIID string           `json:"admin_graphql_api_id"`
	Variants          []shopifyVariant `json:"variants"`
	Images            []any            `json:"images"`
	revision          int
}

// shopifyVariant is one of a product's variants.
type shopifyVariant struct {
	ID                int64     `json:"id"`
	ProductID         int64     `json:"product_id"`
	Title             string    `json:"title"`
	Price             string    `json:"price"`
	SKU               string    `json:"sku"`
	Position          int       `json:"position"`
	InventoryQuantity int       `json:"inventory_quantity"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
}

// shopifyGenerationEnd is when the generated products were last updated.
var shopifyGenerationEnd = time.Date(2024, 6, 30, 0, 0, 0, 0, shopifyZone)

// generate replaces the shop's products with the seed's.
func (sh *shopify) generate() {
	rng := rand.New(rand.NewPCG(uint64(sh.cfg.Seed), 0x5409))
	products := map[int64]*shopifyProduct{}
	handles := map[string]bool{}
	n := sh.cfg.ShopifyProducts
	start := shopifyGenerationEnd.AddDate(-2, 0, 0)
	step := shopifyGenerationEnd.Sub(start) / time.Duration(n+1)
	id, variant := int64(shopifyFirstProduct), int64(shopifyFirstVariant)
	for k := range n {
		id += 1 + rng.Int64N(1000)
		created := start.Add(step*time.Duration(k) + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Second)
		updated := created.Add(time.Duration(rng.Int64N(int64(min(120*24*time.Hour, shopifyGenerationEnd.Sub(created)))))).
			Truncate(time.Second)
		title := sentence(rng, 2+rng.IntN(3))
		p := &shopifyProduct{ID: id, Title: title, Handle: uniqueSlug(handles, slugify(title)),
			BodyHTML: "<p>" + sentence(rng, 12+rng.IntN(20)) + ".</p>", Status: "active",
			Vendor: shopifyVendors[rng.IntN(len(shopifyVendors))], ProductType: shopifyTypes[rng.IntN(len(shopifyTypes))],
			Tags:      strings.Join([]string{siteWords[rng.IntN(len(siteWords))], siteWords[rng.IntN(len(siteWords))]}, ", "),
			CreatedAt: created, UpdatedAt: updated}
		if k%10 == 9 {
			p.Status = "draft"
		}
		for v := range 1 + rng.IntN(3) {
			variant += 1 + rng.Int64N(100)
			p.Variants = append(p.Variants, shopifyVariant{ID: variant,
				Price: fmt.Sprintf("%d.%02d", 5+rng.IntN(195), rng.IntN(100)),
				SKU:   fmt.Sprintf("SY-%05d-%d", k+1, v+1), InventoryQuantity: rng.IntN(500),
				CreatedAt: created, UpdatedAt: updated})
		}
		products[id] = p
	}
	sh.mu.Lock()
	sh.products, sh.nextID, sh.nextVariant, sh.lastUpdated = products, id, variant, shopifyGenerationEnd
	sh.mu.Unlock()
}

// register mounts the shop under /shopify; guard wraps every API route.
func (sh *shopify) register(mux *http.ServeMux, guard func(http.HandlerFunc) http.HandlerFunc) {
	const api = "/shopify/admin/api/{version}"
	mux.HandleFunc("GET "+api+"/shop.json", guard(sh.api(sh.shop)))
	mux.HandleFunc("GET "+api+"/products.json", guard(sh.api(sh.list)))
	mux.HandleFunc("POST "+api+"/products.json", guard(sh.api(sh.create)))
	// The ServeMux matches whole segments: "{id}.json" is read by the handlers.
	mux.HandleFunc("GET "+api+"/products/{file}", guard(sh.api(sh.get)))
	mux.HandleFunc("PUT "+api+"/products/{file}", guard(sh.api(sh.update)))
	mux.HandleFunc("DELETE "+api+"/products/{file}", guard(sh.api(sh.delete)))
	mux.HandleFunc("/shopify/", guard(func(w http.ResponseWriter, _ *http.Request) {
		shopifyError(w, http.StatusNotFound, "Not Found")
	}))

	mux.HandleFunc("POST /_sim/shopify/products/{id}/touch", sh.touch)
	mux.HandleFunc("DELETE /_sim/shopify/products/{id}", sh.remove)
}

// shopifyError answers in Shopify's error shape: {"errors": a message or fields' messages}.
func shopifyError(w http.ResponseWriter, status int, errs any) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// api checks the API version and the access token, then serves.
func (sh *shopify) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		version := r.PathValue("version")
		if !shopifyVersion.MatchString(version) {
			shopifyError(w, http.StatusNotFound, "Not Found")
			return
		}
		if !equal(r.Header.Get("X-Shopify-Access-Token"), sh.cfg.ShopifyAccessToken) {
			shopifyError(w, http.StatusUnauthorized,
				"[API] Invalid API key or access token (unrecognized login or wrong password)")
			return
		}
		w.Header().Set("X-Shopify-API-Version", version)
		h(w, r)
	}
}

func (sh *shopify) shop(w http.ResponseWriter, _ *http.Request) {
	created := time.Date(2022, 3, 1, 9, 0, 0, 0, shopifyZone)
	writeJSON(w, http.StatusOK, map[string]any{"shop": map[string]any{
		"id": shopifyShopID, "name": shopifyShopName, "email": "owner@switchyard-demo.example",
		"domain": shopifyShopDomain, "myshopify_domain": shopifyShopDomain, "country_code": "US",
		"currency": "USD", "timezone": "(GMT-05:00) Eastern Time (US & Canada)", "iana_timezone": "America/New_York",
		"plan_name": "basic", "created_at": created, "updated_at": created,
	}})
}

// shopifyCursor is what a page_info carries: the walk's direction, where it stands and its
// filter, as Shopify's opaque cursors do.
type shopifyCursor struct {
	Direction    string    `json:"d"` // next or prev
	LastID       int64     `json:"id"`
	UpdatedAtMin time.Time `json:"u,omitzero"`
}

func (c shopifyCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeShopifyCursor(s string) (shopifyCursor, bool) {
	var c shopifyCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || (c.Direction != "next" && c.Direction != "prev") {
		return c, false
	}
	return c, true
}

// list serves products by id, a page at a time, with Shopify's Link header to the next and
// previous pages. With a page_info only limit may be given: the cursor carries the filter.
func (sh *shopify) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := shopifyDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			shopifyError(w, http.StatusBadRequest, map[string]string{"limit": "Invalid value."})
			return
		}
		limit = min(n, shopifyMaxLimit)
	}
	cursor := shopifyCursor{Direction: "next"}
	if v := q.Get("page_info"); v != "" {
		c, ok := decodeShopifyCursor(v)
		for k := range q {
			ok = ok && (k == "page_info" || k == "limit" || k == "fields")
		}
		if !ok {
			shopifyError(w, http.StatusBadRequest, map[string]string{"page_info": "Invalid value."})
			return
		}
		cursor = c
	} else if v := q.Get("updated_at_min"); v != "" {
		t, err := parseSiteTime(v, shopifyZone)
		if err != nil {
			shopifyError(w, http.StatusBadRequest, map[string]string{"updated_at_min": "Invalid value."})
			return
		}
		cursor.UpdatedAtMin = t
	}

	sh.mu.Lock()
	var all []shopifyProduct
	for _, p := range sh.products {
		if cursor.UpdatedAtMin.IsZero() || !p.UpdatedAt.Before(cursor.UpdatedAtMin) {
			all = append(all, *p)
		}
	}
	sh.mu.Unlock()
	slices.SortFunc(all, func(a, b shopifyProduct) int { return cmp.Compare(a.ID, b.ID) })

	// from..to is the page: the limit after the cursor, or the limit before it going back.
	from, to := 0, min(limit, len(all))
	if cursor.LastID != 0 {
		at, _ := slices.BinarySearchFunc(all, cursor.LastID, func(p shopifyProduct, id int64) int { return cmp.Compare(p.ID, id) })
		if cursor.Direction == "next" {
			for at < len(all) && all[at].ID <= cursor.LastID {
				at++
			}
			from, to = at, min(at+limit, len(all))
		} else {
			from, to = max(0, at-limit), at
		}
	}
	page := all[from:to]

	var links []string
	link := func(c shopifyCursor, rel string) string {
		return "<" + siteBase(r, siteShopify) + "/admin/api/" + r.PathValue("version") + "/products.json?limit=" +
			strconv.Itoa(limit) + "&page_info=" + c.encode() + `>; rel="` + rel + `"`
	}
	if from > 0 && len(page) > 0 {
		links = append(links, link(shopifyCursor{"prev", page[0].ID, cursor.UpdatedAtMin}, "previous"))
	}
	if to < len(all) && len(page) > 0 {
		links = append(links, link(shopifyCursor{"next", page[len(page)-1].ID, cursor.UpdatedAtMin}, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := []shopifyProduct{}
	for _, p := range page {
		out = append(out, p.view())
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": out})
}

// view is the product as the API answers it: ids and graphql ids filled in.
func (p shopifyProduct) view() shopifyProduct {
	p.AdminGraphqlAPIID = "gid://shopify/Product/" + strconv.FormatInt(p.ID, 10)
	p.PublishedScope, p.Images = "web", []any{}
	if p.Status == "active" {
		p.PublishedAt = &p.CreatedAt
	}
	p.Variants = slices.Clone(p.Variants)
	for i := range p.Variants {
		v := &p.Variants[i]
		v.ProductID, v.Position = p.ID, i+1
		v.AdminGraphqlAPIID = "gid://shopify/ProductVariant/" + strconv.FormatInt(v.ID, 10)
		if v.Title == "" {
			v.Title = "Default Title"
		}
	}
	return p
}

// find is the product the path's "{id}.json" names, answering Shopify's 404 otherwise.
func (sh *shopify) find(w http.ResponseWriter, r *http.Request, name string) (*shopifyProduct, bool) {
	raw := r.PathValue(name)
	if name == "file" {
		var ok bool
		if raw, ok = strings.CutSuffix(raw, ".json"); !ok {
			shopifyError(w, http.StatusNotFound, "Not Found")
			return nil, false
		}
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	p := sh.products[id]
	if err != nil || p == nil {
		shopifyError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return p, true
}

func (sh *shopify) get(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("file") == "count.json" {
		sh.count(w, r)
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.find(w, r, "file")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"product": p.view()})
}

// count serves products/count.json, with the listing's updated_at_min.
func (sh *shopify) count(w http.ResponseWriter, r *http.Request) {
	var minTime time.Time
	if v := r.URL.Query().Get("updated_at_min"); v != "" {
		t, err := parseSiteTime(v, shopifyZone)
		if err != nil {
			shopifyError(w, http.StatusBadRequest, map[string]string{"updated_at_min": "Invalid value."})
			return
		}
		minTime = t
	}
	sh.mu.Lock()
	n := 0
	for _, p := range sh.products {
		if !p.UpdatedAt.Before(minTime) {
			n++
		}
	}
	sh.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"count": n})
}

// shopifyProductRequest is a create or update body's product; absent fields are left as they are.
type shopifyProductRequest struct {
	Title       *string `json:"title"`
	BodyHTML    *string `json:"body_html"`
	Vendor      *string `json:"vendor"`
	ProductType *string `json:"product_type"`
	Handle      *string `json:"handle"`
	Status      *string `json:"status"`
	Tags        *string `json:"tags"`
	Variants    *[]struct {
		ID    int64  `json:"id"`
		Price string `json:"price"`
		SKU   string `json:"sku"`
		Title string `json:"title"`
	} `json:"variants"`
}

// readProductRequest reads {"product": {...}}, answering Shopify's 400 or 422 for one it refuses.
func readProductRequest(w http.ResponseWriter, r *http.Request) (shopifyProductRequest, bool) {
	var in struct {
		Product *shopifyProductRequest `json:"product"`
	}
	body, err := readBody(r)
	if err != nil || json.Unmarshal(body, &in) != nil || in.Product == nil {
		shopifyError(w, http.StatusBadRequest, map[string]string{"product": "Required parameter missing or invalid"})
		return shopifyProductRequest{}, false
	}
	if s := in.Product.Status; s != nil && !slices.Contains([]string{"active", "archived", "draft"}, *s) {
		shopifyError(w, http.StatusUnprocessableEntity, map[string][]string{"status": {"is not included in the list"}})
		return shopifyProductRequest{}, false
	}
	return *in.Product, true
}

// apply writes the request's fields onto p, stamped now.
func (sh *shopify) applyLocked(in shopifyProductRequest, p *shopifyProduct, now time.Time) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Title, in.Title)
	set(&p.BodyHTML, in.BodyHTML)
	set(&p.Vendor, in.Vendor)
	set(&p.ProductType, in.ProductType)
	set(&p.Status, in.Status)
	set(&p.Tags, in.Tags)
	if in.Handle != nil || p.Handle == "" {
		taken := map[string]bool{}
		for _, o := range sh.products {
			if o.ID != p.ID {
				taken[o.Handle] = true
			}
		}
		h := p.Title
		if in.Handle != nil {
			h = *in.Handle
		}
		p.Handle = uniqueSlug(taken, slugify(h))
	}
	if in.Variants != nil {
		var vs []shopifyVariant
		for _, v := range *in.Variants {
			nv := shopifyVariant{ID: v.ID, Price: v.Price, SKU: v.SKU, Title: v.Title, CreatedAt: now}
			if i := slices.IndexFunc(p.Variants, func(o shopifyVariant) bool { return o.ID == v.ID }); v.ID != 0 && i >= 0 {
				nv.CreatedAt, nv.InventoryQuantity = p.Variants[i].CreatedAt, p.Variants[i].InventoryQuantity
			} else {
				sh.nextVariant++
				nv.ID = sh.nextVariant
			}
			nv.Price = cmp.Or(nv.Price, "0.00")
			nv.UpdatedAt = now
			vs = append(vs, nv)
		}
		p.Variants = vs
	}
	if len(p.Variants) == 0 {
		sh.nextVariant++
		p.Variants = []shopifyVariant{{ID: sh.nextVariant, Price: "0.00", CreatedAt: now, UpdatedAt: now}}
	}
	p.UpdatedAt = now
}

// bumpLocked is an updated_at later than every other; sh.mu is held.
func (sh *shopify) bumpLocked() time.Time {
	t := later(time.Now().Truncate(time.Second), sh.lastUpdated.Add(time.Second)).In(shopifyZone)
	sh.lastUpdated = t
	return t
}

func (sh *shopify) create(w http.ResponseWriter, r *http.Request) {
	in, ok := readProductRequest(w, r)
	if !ok {
		return
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		shopifyError(w, http.StatusUnprocessableEntity, map[string][]string{"title": {"can't be blank"}})
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.nextID++
	now := sh.bumpLocked()
	p := &shopifyProduct{ID: sh.nextID, Status: "active", CreatedAt: now}
	sh.applyLocked(in, p, now)
	sh.products[p.ID] = p
	writeJSON(w, http.StatusCreated, map[string]any{"product": p.view()})
}

func (sh *shopify) update(w http.ResponseWriter, r *http.Request) {
	in, ok := readProductRequest(w, r)
	if !ok {
		return
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		shopifyError(w, http.StatusUnprocessableEntity, map[string][]string{"title": {"can't be blank"}})
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.find(w, r, "file")
	if !ok {
		return
	}
	sh.applyLocked(in, p, sh.bumpLocked())
	writeJSON(w, http.StatusOK, map[string]any{"product": p.view()})
}

func (sh *shopify) delete(w http.ResponseWriter, r *http.Request) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.find(w, r, "file")
	if !ok {
		return
	}
	delete(sh.products, p.ID)
	writeJSON(w, http.StatusOK, map[string]any{})
}

// touch edits a product as the shop's own staff would: a new description, a later updated_at.
func (sh *shopify) touch(w http.ResponseWriter, r *http.Request) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.find(w, r, "id")
	if !ok {
		return
	}
	p.revision++
	p.BodyHTML = fmt.Sprintf("<p>Revision %d, edited in the shop.</p>", p.revision) + p.BodyHTML
	p.UpdatedAt = sh.bumpLocked()
	writeJSON(w, http.StatusOK, map[string]any{"product": p.view()})
}

// remove deletes a product as the shop's own staff would.
func (sh *shopify) remove(w http.ResponseWriter, r *http.Request) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, ok := sh.find(w, r, "id")
	if !ok {
		return
	}
	delete(sh.products, p.ID)
	w.WriteHeader(http.StatusNoContent)
}
