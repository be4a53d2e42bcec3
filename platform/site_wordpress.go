package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wordPressREST is the WordPress REST API's core namespace, under <site>/wp-json.
const wordPressREST = "/wp-json/wp/v2"

// wordPressBases are the REST bases of the types every WordPress site has; other post types
// are looked up in /types.
var wordPressBases = map[string]string{"post": "posts", "page": "pages", ContentCategory: "categories", ContentTag: "tags"}

// wordPressInternalTypes are the post types WordPress keeps for itself: they are not content a
// sync carries.
var wordPressInternalTypes = map[string]bool{"attachment": true, "nav_menu_item": true, "wp_block": true,
	"wp_template": true, "wp_template_part": true, "wp_navigation": true, "wp_global_styles": true,
	"wp_font_family": true, "wp_font_face": true}

// wordPressPlugins name plugins by the REST namespaces they add (the site index lists them).
var wordPressPlugins = map[string]string{"wc/": "woocommerce", "yoast/": "yoast_seo", "acf/": "acf",
	"elementor/": "elementor", "rankmath/": "rank_math", "jetpack/": "jetpack"}

// wordPressSite is a WordPress site's REST API (wp/v2), signed with an application password
// (HTTP Basic auth; WordPress ignores the spaces it shows the password with).
type wordPressSite struct {
	h    *siteHTTP
	cfg  SiteConfig
	root string // the site's address, without /wp-json
	api  string // root + /wp-json/wp/v2

	mu    sync.Mutex
	bases map[string]string // post type → REST base, from /types
}

func newWordPressSite(in Integration, cfg SiteConfig, h *siteHTTP) *wordPressSite {
	root := strings.TrimRight(in.Credentials.Fields[FieldSiteURL], "/")
	root = strings.TrimSuffix(strings.TrimSuffix(root, "/wp/v2"), "/wp-json")
	root = strings.TrimRight(root, "/")
	password := strings.ReplaceAll(in.Credentials.Fields[FieldApplicationPassword], " ", "")
	h.basicAuth(in.Credentials.Fields[FieldUsername], password)
	return &wordPressSite{h: h, cfg: cfg, root: root, api: root + wordPressREST}
}

// ContentTypes are the config's, else post and page.
func (wp *wordPressSite) ContentTypes() []string { return wp.cfg.contentTypes(WordPress) }

// wpItem is a post, page, custom post or taxonomy term as wp/v2 answers it.
type wpItem struct {
	ID          json.Number `json:"id"`
	Title       wpField     `json:"title"`
	Content     wpField     `json:"content"`
	Status      string      `json:"status"`
	Link        string      `json:"link"`
	ModifiedGMT string      `json:"modified_gmt"`
	Modified    string      `json:"modified"`
	// Terms.
	Name        string `json:"name"`
	Description string `json:"description"`
}

// wpField is a rendered field: raw (context=edit) and rendered HTML.
type wpField struct {
	Raw      *string `json:"raw"`
	Rendered string  `json:"rendered"`
}

func (f wpField) text() string {
	if f.Raw != nil {
		return *f.Raw
	}
	return f.Rendered
}

// wpError is WordPress's error shape.
type wpError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (it wpItem) item(contentType string) SiteItem {
	out := SiteItem{ExternalID: it.ID.String(), Type: contentType, URL: it.Link}
	if isTaxonomy(contentType) {
		out.Title, out.Body = it.Name, it.Description
		return out
	}
	out.Title, out.Body, out.Status = it.Title.text(), it.Content.text(), it.Status
	out.ModifiedAt = siteTime(it.ModifiedGMT)
	if out.ModifiedAt.IsZero() {
		out.ModifiedAt = siteTime(it.Modified)
	}
	return out
}

func isTaxonomy(contentType string) bool {
	return contentType == ContentCategory || contentType == ContentTag
}

// fail is the APIError of a WordPress error answer.
func (wp *wordPressSite) fail(a siteAnswer) *APIError {
	var e wpError
	_ = json.Unmarshal(a.body, &e)
	return wp.h.fail(a, e.Code, e.Message)
}

// missing reports whether a 404 answer is WordPress saying the item does not exist (and not
// that the route does not: a site without the REST API, or a wrong address).
func missing(a siteAnswer) bool {
	var e wpError
	return a.status == http.StatusNotFound && json.Unmarshal(a.body, &e) == nil &&
		e.Code != "" && e.Code != "rest_no_route"
}

// restBase is the REST base of a content type: the known ones, else the site's /types.
func (wp *wordPressSite) restBase(ctx context.Context, contentType string) (string, error) {
	if !validContentType(contentType) {
		return "", wp.h.refused("unknown_content_type", "%q is not a content type name", contentType)
	}
	if b, ok := wordPressBases[contentType]; ok {
		return b, nil
	}
	wp.mu.Lock()
	b, ok := wp.bases[contentType]
	wp.mu.Unlock()
	if ok {
		return b, nil
	}
	types, err := wp.types(ctx)
	if err != nil {
		return "", err
	}
	bases := map[string]string{}
	for slug, t := range types {
		if t.RestBase != "" && (t.RestNamespace == "" || t.RestNamespace == "wp/v2") {
			bases[slug] = t.RestBase
		}
	}
	wp.mu.Lock()
	wp.bases = bases
	wp.mu.Unlock()
	if b, ok := bases[contentType]; ok {
		return b, nil
	}
	return "", wp.h.refused("unknown_content_type", "the WordPress site has no content type %q", contentType)
}

// wpType is one entry of /types.
type wpType struct {
	Slug          string   `json:"slug"`
	RestBase      string   `json:"rest_base"`
	RestNamespace string   `json:"rest_namespace"`
	Taxonomies    []string `json:"taxonomies"`
}

func (wp *wordPressSite) types(ctx context.Context) (map[string]wpType, error) {
	a, err := wp.h.do(ctx, http.MethodGet, wp.api+"/types", nil)
	if err != nil {
		return nil, err
	}
	if !a.ok() {
		return nil, wp.fail(a)
	}
	var types map[string]wpType
	if json.Unmarshal(a.body, &types) != nil {
		return nil, wp.h.unexpected(a, "the post types")
	}
	return types, nil
}

// List reads one page of a type, oldest id first. The cursor is the page number. Post types
// are listed in every status but trash (an item trashed at the site drops out, as a deleted
// one does), in the edit context so titles and bodies come raw; since filters on modified_gmt
// (modified_after). Taxonomy terms have no modification time: since does not filter them. A
// page past the last (the site lost items since the cursor was taken) is an empty last page.
func (wp *wordPressSite) List(ctx context.Context, contentType, cursor string, since time.Time) (SitePage, error) {
	page := 1
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 1 {
			return SitePage{}, wp.h.refused("invalid_cursor", "a WordPress cursor is a page number, not %q", cursor)
		}
		page = n
	}
	base, err := wp.restBase(ctx, contentType)
	if err != nil {
		return SitePage{}, err
	}
	perPage := wp.cfg.pageSize(WordPress)
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)},
		"orderby": {"id"}, "order": {"asc"}, "context": {"edit"}}
	if !isTaxonomy(contentType) {
		q.Set("status", "any")
		if !since.IsZero() {
			q.Set("modified_after", since.UTC().Format(time.RFC3339))
		}
	}
	a, err := wp.h.do(ctx, http.MethodGet, wp.api+"/"+url.PathEscape(base)+"?"+q.Encode(), nil)
	if err != nil {
		return SitePage{}, err
	}
	total := headerInt(a.header, "X-WP-Total")
	if !a.ok() {
		var e wpError
		if a.status == http.StatusBadRequest && json.Unmarshal(a.body, &e) == nil && e.Code == "rest_post_invalid_page_number" {
			return SitePage{Items: []SiteItem{}, Total: total}, nil
		}
		return SitePage{}, wp.fail(a)
	}
	var raw []wpItem
	if json.Unmarshal(a.body, &raw) != nil {
		return SitePage{}, wp.h.unexpected(a, "a list of "+base)
	}
	out := SitePage{Items: make([]SiteItem, 0, len(raw)), Total: total}
	for _, it := range raw {
		out.Items = append(out.Items, it.item(contentType))
	}
	if pages := headerInt(a.header, "X-WP-TotalPages"); pages >= 0 {
		if page < pages {
			out.Next = strconv.Itoa(page + 1)
		}
	} else if len(raw) == perPage {
		out.Next = strconv.Itoa(page + 1)
	}
	return out, nil
}

// headerInt is a header's non-negative integer, or -1.
func headerInt(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// Get reads one item by id.
func (wp *wordPressSite) Get(ctx context.Context, contentType, externalID string) (SiteItem, error) {
	if !digitsID(externalID) {
		return SiteItem{}, notFound(WordPress, contentType, externalID)
	}
	base, err := wp.restBase(ctx, contentType)
	if err != nil {
		return SiteItem{}, err
	}
	a, err := wp.h.do(ctx, http.MethodGet, wp.api+"/"+url.PathEscape(base)+"/"+externalID+"?context=edit", nil)
	if err != nil {
		return SiteItem{}, err
	}
	return wp.answerItem(a, contentType, externalID)
}

func (wp *wordPressSite) answerItem(a siteAnswer, contentType, externalID string) (SiteItem, error) {
	if missing(a) {
		return SiteItem{}, notFound(WordPress, contentType, externalID)
	}
	if !a.ok() {
		return SiteItem{}, wp.fail(a)
	}
	var it wpItem
	if json.Unmarshal(a.body, &it) != nil || it.ID.String() == "" {
		return SiteItem{}, wp.h.unexpected(a, "the item")
	}
	return it.item(contentType), nil
}

// Put creates (POST /<base>) or updates (POST /<base>/<id>) a post, page or custom post with
// its title, content and, when set, status; a new item without a status is a draft, as
// WordPress makes it. Taxonomy terms are pulled by metadata syncs, not pushed.
func (wp *wordPressSite) Put(ctx context.Context, item SiteItem) (SiteItem, error) {
	if isTaxonomy(item.Type) {
		return SiteItem{}, wp.h.refused("unsupported", "WordPress %s terms are read, not written", item.Type)
	}
	if item.ExternalID != "" && !digitsID(item.ExternalID) {
		return SiteItem{}, notFound(WordPress, item.Type, item.ExternalID)
	}
	base, err := wp.restBase(ctx, item.Type)
	if err != nil {
		return SiteItem{}, err
	}
	body := map[string]any{"title": item.Title, "content": item.Body}
	if item.Status != "" {
		body["status"] = item.Status
	}
	target := wp.api + "/" + url.PathEscape(base)
	if item.ExternalID != "" {
		target += "/" + item.ExternalID
	}
	a, err := wp.h.do(ctx, http.MethodPost, target+"?context=edit", body)
	if err != nil {
		return SiteItem{}, err
	}
	if item.ExternalID == "" && missing(a) {
		// A create has no item to miss: the route itself is refused.
		return SiteItem{}, wp.fail(a)
	}
	return wp.answerItem(a, item.Type, item.ExternalID)
}

// Structure reads the site's post types (/types, without WordPress's own: attachments, menus,
// blocks, templates), the taxonomies they use (post_tag as tag, the hub's name for it) and the
// plugins its REST namespaces show.
func (wp *wordPressSite) Structure(ctx context.Context) (SiteStructure, error) {
	types, err := wp.types(ctx)
	if err != nil {
		return SiteStructure{}, err
	}
	st := structureOf(types)
	if idx, err := wp.index(ctx); err == nil {
		st.Plugins = map[string]bool{}
		for prefix, name := range wordPressPlugins {
			st.Plugins[name] = slices.ContainsFunc(idx.Namespaces, func(ns string) bool { return strings.HasPrefix(ns, prefix) })
		}
	}
	return st, nil
}

// structureOf is the structure /types describes, stamped now.
func structureOf(types map[string]wpType) SiteStructure {
	st := SiteStructure{PostTypes: []string{}, Taxonomies: []string{}, Timestamp: time.Now().UTC()}
	for slug, t := range types {
		if wordPressInternalTypes[slug] {
			continue
		}
		st.PostTypes = append(st.PostTypes, slug)
		for _, tax := range t.Taxonomies {
			if tax == "post_tag" {
				tax = ContentTag
			}
			if !slices.Contains(st.Taxonomies, tax) {
				st.Taxonomies = append(st.Taxonomies, tax)
			}
		}
	}
	sort.Strings(st.PostTypes)
	sort.Strings(st.Taxonomies)
	return st
}

// wpIndex is the part of the site index (/wp-json/) the client reads.
type wpIndex struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	Home       string   `json:"home"`
	Namespaces []string `json:"namespaces"`
}

func (wp *wordPressSite) index(ctx context.Context) (wpIndex, error) {
	a, err := wp.h.do(ctx, http.MethodGet, wp.root+"/wp-json/", nil)
	if err != nil {
		return wpIndex{}, err
	}
	if !a.ok() {
		return wpIndex{}, wp.fail(a)
	}
	var idx wpIndex
	if json.Unmarshal(a.body, &idx) != nil {
		return wpIndex{}, wp.h.unexpected(a, "the REST API index (is site_url a WordPress site?)")
	}
	return idx, nil
}

// Test reads the site index (name, address, the wp/v2 namespace), then lists one post in
// every status, which only an authenticated user may: a wrong username or application
// password fails the test, naming the credentials.
func (wp *wordPressSite) Test(ctx context.Context) SiteTest {
	start := time.Now()
	idx, err := wp.index(ctx)
	if err != nil {
		return testFailure(err)
	}
	if !slices.Contains(idx.Namespaces, "wp/v2") {
		return SiteTest{Success: false, Message: "the site's REST API has no wp/v2 namespace",
			Details: map[string]any{"site_name": idx.Name, "url": idx.URL}}
	}
	a, err := wp.h.do(ctx, http.MethodGet, wp.api+"/posts?per_page=1&status=any&context=edit", nil)
	if err != nil {
		return testFailure(err)
	}
	if !a.ok() {
		return testFailure(wp.fail(a))
	}
	details := map[string]any{"site_name": idx.Name, "url": idx.URL, "api": wp.api}
	if n := headerInt(a.header, "X-WP-Total"); n >= 0 {
		details["post_count"] = n
	}
	if types, err := wp.types(ctx); err == nil {
		st := structureOf(types)
		details["post_types"], details["taxonomies"] = st.PostTypes, st.Taxonomies
	}
	details["latency_ms"] = time.Since(start).Milliseconds()
	return SiteTest{Success: true, Message: "connected to WordPress site " + strconv.Quote(idx.Name) + " as an authenticated user",
		Details: details}
}
