package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The generated WordPress site's fixed parts.
const (
	wpSiteName  = "Switchyard Demo"
	wpPageCount = 20
	wpMaxPerPg  = 100
	wpRESTRoot  = "/wp-json/wp/v2"
)

var (
	wpCategories = []string{"Uncategorized", "News", "Guides", "Releases", "Engineering", "Customers", "Events",
		"Opinion"}
	wpTags = []string{"api", "billing", "cloud", "data", "design", "devops", "go", "integration", "mobile",
		"payments", "performance", "release-notes", "security", "support", "webhooks"}
)

// WordPress's post statuses; "any" lists every one but trash.
var wpStatuses = []string{"publish", "future", "draft", "pending", "private", "trash"}

// wordPress simulates one WordPress site's REST API (wp/v2) with application-password auth. The
// site's timezone is UTC, so each date equals its _gmt twin.
type wordPress struct {
	cfg SitesConfig

	mu           sync.Mutex
	posts        map[int]*wpPost // posts and pages share WordPress's id space
	terms        []wpTerm        // categories, then tags
	nextID       int
	lastModified time.Time // the latest modified, so every edit gets a later one
}

// wpPost is a post or a page.
type wpPost struct {
	ID                          int
	Type                        string // post or page
	Date, Modified              time.Time
	Slug, Status                string
	Title, Content, Excerpt     string
	Categories, Tags            []int // posts only
	Parent, MenuOrder, Revision int
}

// wpTerm is a category or a tag.
type wpTerm struct {
	ID                      int
	Taxonomy                string // category or post_tag
	Name, Slug, Description string
}

// wpGenerationEnd is when the generated content was last modified: content spans the two years
// before it.
var wpGenerationEnd = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)

// generate replaces the site's content with the seed's.
func (wp *wordPress) generate() {
	rng := rand.New(rand.NewPCG(uint64(wp.cfg.Seed), 0x77700))
	var terms []wpTerm
	for i, name := range wpCategories {
		terms = append(terms, wpTerm{ID: i + 1, Taxonomy: "category", Name: name, Slug: slugify(name),
			Description: "Posts about " + strings.ToLower(name) + "."})
	}
	for i, name := range wpTags {
		terms = append(terms, wpTerm{ID: len(wpCategories) + i + 1, Taxonomy: "post_tag", Name: name, Slug: name})
	}
	posts := map[int]*wpPost{}
	slugs := map[string]bool{}
	total := wpPageCount + wp.cfg.WordPressPosts
	start := wpGenerationEnd.AddDate(-2, 0, 0)
	step := wpGenerationEnd.Sub(start) / time.Duration(total+1)
	id := 0
	for k := range total {
		// Revisions and attachments take ids too: a site's ids have gaps.
		id += 1 + rng.IntN(3)
		typ := "page"
		if k >= wpPageCount {
			typ = "post"
		}
		title := sentence(rng, 3+rng.IntN(5))
		date := start.Add(step*time.Duration(k) + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Second)
		modified := date.Add(time.Duration(rng.Int64N(int64(min(90*24*time.Hour, wpGenerationEnd.Sub(date)))))).
			Truncate(time.Second)
		p := &wpPost{ID: id, Type: typ, Date: date, Modified: modified, Status: "publish",
			Slug: uniqueSlug(slugs, slugify(title)), Title: title}
		p.Content, p.Excerpt = wpBody(rng)
		if typ == "post" {
			p.Categories = []int{1 + rng.IntN(len(wpCategories))}
			for range rng.IntN(5) {
				tag := len(wpCategories) + 1 + rng.IntN(len(wpTags))
				if !slices.Contains(p.Tags, tag) {
					p.Tags = append(p.Tags, tag)
				}
			}
		} else {
			p.MenuOrder = k
		}
		posts[id] = p
	}
	wp.mu.Lock()
	wp.posts, wp.terms, wp.nextID, wp.lastModified = posts, terms, id, wpGenerationEnd
	wp.mu.Unlock()
}

// wpBody is generated content and its excerpt, as WordPress renders them.
func wpBody(rng *rand.Rand) (content, excerpt string) {
	var b strings.Builder
	var first string
	for i := range 2 + rng.IntN(3) {
		para := sentence(rng, 20+rng.IntN(20)) + "."
		if i == 0 {
			first = para
		}
		b.WriteString("<p>" + para + "</p>\n")
	}
	words := strings.Fields(first)
	return b.String(), "<p>" + strings.Join(words[:min(len(words), 20)], " ") + " [&hellip;]</p>\n"
}

// register mounts the site under /wordpress; guard wraps every API route.
func (wp *wordPress) register(mux *http.ServeMux, guard func(http.HandlerFunc) http.HandlerFunc) {
	const root = "/wordpress" + wpRESTRoot
	mux.HandleFunc("GET /wordpress/wp-json/{$}", guard(wp.index))
	mux.HandleFunc("GET /wordpress/wp-json", guard(wp.index))
	// Posts and pages have the same routes under their REST bases.
	for typ, base := range map[string]string{"post": "/posts", "page": "/pages"} {
		mux.HandleFunc("GET "+root+base, guard(wp.list(typ)))
		mux.HandleFunc("POST "+root+base, guard(wp.create(typ)))
		mux.HandleFunc("GET "+root+base+"/{id}", guard(wp.get(typ)))
		for _, method := range []string{"POST", "PUT", "PATCH"} {
			mux.HandleFunc(method+" "+root+base+"/{id}", guard(wp.update(typ)))
		}
		mux.HandleFunc("DELETE "+root+base+"/{id}", guard(wp.delete(typ)))
	}
	mux.HandleFunc("GET "+root+"/categories", guard(wp.listTerms("category")))
	mux.HandleFunc("GET "+root+"/tags", guard(wp.listTerms("post_tag")))
	mux.HandleFunc("GET "+root+"/types", guard(wp.types))
	mux.HandleFunc("/wordpress/", guard(func(w http.ResponseWriter, _ *http.Request) {
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.", nil)
	}))

	mux.HandleFunc("POST /_sim/wordpress/posts/{id}/touch", wp.touch)
	mux.HandleFunc("DELETE /_sim/wordpress/posts/{id}", wp.remove)
}

// wpError answers in WordPress's error shape.
func wpError(w http.ResponseWriter, status int, code, message string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["status"] = status
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": data})
}

// wpInvalidParam is WordPress's answer to a query parameter it refuses.
func wpInvalidParam(w http.ResponseWriter, param, why string) {
	wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+param,
		map[string]any{"params": map[string]string{param: why}})
}

// auth reports whether the call carries the site's application password. A wrong one has been
// answered with WordPress's 401 (ok false); none is an anonymous call.
func (wp *wordPress) auth(w http.ResponseWriter, r *http.Request) (authed, ok bool) {
	if r.Header.Get("Authorization") == "" {
		return false, true
	}
	user, pass, _ := r.BasicAuth()
	if !equal(user, wp.cfg.WordPressUsername) ||
		!equal(strings.ReplaceAll(pass, " ", ""), strings.ReplaceAll(wp.cfg.WordPressApplicationPassword, " ", "")) {
		wpError(w, http.StatusUnauthorized, "incorrect_password",
			"The provided password is an invalid application password.", nil)
		return false, false
	}
	return true, true
}

// requireAuth answers WordPress's 401 unless the call carries the application password.
func (wp *wordPress) requireAuth(w http.ResponseWriter, r *http.Request) bool {
	authed, ok := wp.auth(w, r)
	if ok && !authed {
		wpError(w, http.StatusUnauthorized, "rest_not_logged_in", "You are not currently logged in.", nil)
	}
	return authed
}

func (wp *wordPress) index(w http.ResponseWriter, r *http.Request) {
	if _, ok := wp.auth(w, r); !ok {
		return
	}
	site := siteBase(r, siteWordPress)
	writeJSON(w, http.StatusOK, map[string]any{
		"name": wpSiteName, "description": "Just another WordPress site", "url": site, "home": site,
		"gmt_offset": "0", "timezone_string": "UTC", "site_logo": 0, "site_icon": 0,
		"namespaces": []string{"oembed/1.0", "wp/v2", "wp-site-health/v1"},
		"authentication": map[string]any{"application-passwords": map[string]any{
			"endpoints": map[string]string{"authorization": site + "/wp-admin/authorize-application.php"}}},
	})
}

func (wp *wordPress) types(w http.ResponseWriter, r *http.Request) {
	if _, ok := wp.auth(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"post": map[string]any{"description": "", "hierarchical": false, "has_archive": false, "name": "Posts",
			"slug": "post", "icon": "dashicons-admin-post", "taxonomies": []string{"category", "post_tag"},
			"rest_base": "posts", "rest_namespace": "wp/v2"},
		"page": map[string]any{"description": "", "hierarchical": true, "has_archive": false, "name": "Pages",
			"slug": "page", "icon": "dashicons-admin-page", "taxonomies": []string{},
			"rest_base": "pages", "rest_namespace": "wp/v2"},
	})
}

// wpPaging reads page and per_page, answering WordPress's 400 for values it refuses.
func wpPaging(w http.ResponseWriter, q url.Values) (page, perPage int, ok bool) {
	page, perPage = 1, 10
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			wpInvalidParam(w, "page", "page must be greater than or equal to 1")
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > wpMaxPerPg {
			wpInvalidParam(w, "per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
			return 0, 0, false
		}
		perPage = n
	}
	return page, perPage, true
}

// wpPageHeaders sets X-WP-Total, X-WP-TotalPages and the Link to the neighbouring pages, and
// returns how many pages there are.
func wpPageHeaders(w http.ResponseWriter, r *http.Request, base string, page, perPage, total int) int {
	pages := (total + perPage - 1) / perPage
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return "<" + base + "?" + q.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 && page-1 <= pages {
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		links = append(links, link(page+1, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return pages
}

// list serves the posts or pages of a type, filtered, ordered and paged as WordPress does.
func (wp *wordPress) list(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		authed, ok := wp.auth(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		page, perPage, ok := wpPaging(w, q)
		if !ok {
			return
		}
		statuses := map[string]bool{"publish": true}
		if v := q.Get("status"); v != "" {
			clear(statuses)
			for s := range strings.SplitSeq(v, ",") {
				switch {
				case s == "any":
					for _, st := range wpStatuses[:len(wpStatuses)-1] {
						statuses[st] = true
					}
				case slices.Contains(wpStatuses, s):
					statuses[s] = true
				default:
					wpInvalidParam(w, "status", "status[0] is not one of publish, future, draft, pending, private, trash, any.")
					return
				}
			}
			if !authed && (len(statuses) > 1 || !statuses["publish"]) {
				wpError(w, http.StatusUnauthorized, "rest_forbidden_status", "Status is forbidden.", nil)
				return
			}
		}
		var after time.Time
		if v := q.Get("modified_after"); v != "" {
			t, err := parseSiteTime(v, time.UTC)
			if err != nil {
				wpInvalidParam(w, "modified_after", "Invalid date.")
				return
			}
			after = t
		}
		orderby, desc := q.Get("orderby"), q.Get("order") != "asc"
		if orderby == "" {
			orderby = "date"
		}
		if o := q.Get("order"); o != "" && o != "asc" && o != "desc" {
			wpInvalidParam(w, "order", "order is not one of asc and desc.")
			return
		}
		if !slices.Contains([]string{"date", "modified", "id", "title", "slug"}, orderby) {
			wpInvalidParam(w, "orderby", "orderby is not one of date, modified, id, title and slug.")
			return
		}

		wp.mu.Lock()
		var items []wpPost
		for _, p := range wp.posts {
			if p.Type == typ && statuses[p.Status] && (after.IsZero() || p.Modified.After(after)) {
				items = append(items, *p)
			}
		}
		wp.mu.Unlock()
		slices.SortFunc(items, func(a, b wpPost) int {
			c := 0
			switch orderby {
			case "date":
				c = a.Date.Compare(b.Date)
			case "modified":
				c = a.Modified.Compare(b.Modified)
			case "title":
				c = strings.Compare(a.Title, b.Title)
			case "slug":
				c = strings.Compare(a.Slug, b.Slug)
			}
			c = cmp.Or(c, cmp.Compare(a.ID, b.ID))
			if desc {
				return -c
			}
			return c
		})

		site := siteBase(r, siteWordPress)
		total := len(items)
		pages := wpPageHeaders(w, r, site+wpRESTRoot+"/"+typ+"s", page, perPage, total)
		if page > pages && total > 0 {
			wpError(w, http.StatusBadRequest, "rest_post_invalid_page_number",
				"The page number requested is larger than the number of pages available.", nil)
			return
		}
		out := []map[string]any{}
		for _, p := range items[min(total, (page-1)*perPage):min(total, page*perPage)] {
			out = append(out, p.json(site))
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// find is the post or page id of typ.
func (wp *wordPress) find(w http.ResponseWriter, r *http.Request, typ string) (*wpPost, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	p := wp.posts[id]
	if err != nil || p == nil || p.Type != typ {
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.", nil)
		return nil, false
	}
	return p, true
}

func (wp *wordPress) get(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		authed, ok := wp.auth(w, r)
		if !ok {
			return
		}
		wp.mu.Lock()
		defer wp.mu.Unlock()
		p, ok := wp.find(w, r, typ)
		if !ok {
			return
		}
		if p.Status != "publish" && !authed {
			wpError(w, http.StatusUnauthorized, "rest_forbidden", "Sorry, you are not allowed to do that.", nil)
			return
		}
		writeJSON(w, http.StatusOK, p.json(siteBase(r, siteWordPress)))
	}
}

// wpPostRequest is a create or update body; absent fields are left as they are.
type wpPostRequest struct {
	Title      *wpText `json:"title"`
	Content    *wpText `json:"content"`
	Excerpt    *wpText `json:"excerpt"`
	Status     *string `json:"status"`
	Slug       *string `json:"slug"`
	Categories *[]int  `json:"categories"`
	Tags       *[]int  `json:"tags"`
}

// wpText is a field WordPress takes as a string or as {"raw": "..."}.
type wpText string

func (t *wpText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = wpText(s)
		return nil
	}
	var o struct {
		Raw string `json:"raw"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*t = wpText(o.Raw)
	return nil
}

// readPostRequest reads a JSON or form body, answering WordPress's 400 for one it refuses.
func readPostRequest(w http.ResponseWriter, r *http.Request) (wpPostRequest, bool) {
	var in wpPostRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): body", nil)
			return in, false
		}
		text := func(k string) *wpText {
			if !r.PostForm.Has(k) {
				return nil
			}
			t := wpText(r.PostForm.Get(k))
			return &t
		}
		in.Title, in.Content, in.Excerpt = text("title"), text("content"), text("excerpt")
		if r.PostForm.Has("status") {
			s := r.PostForm.Get("status")
			in.Status = &s
		}
		if r.PostForm.Has("slug") {
			s := r.PostForm.Get("slug")
			in.Slug = &s
		}
	} else {
		body, err := readBody(r)
		if err == nil && len(strings.TrimSpace(string(body))) > 0 {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			wpError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.", nil)
			return in, false
		}
	}
	if in.Status != nil && (!slices.Contains(wpStatuses, *in.Status) || *in.Status == "trash") {
		wpInvalidParam(w, "status", "status is not one of publish, future, draft, pending, private.")
		return in, false
	}
	return in, true
}

// apply writes the request's fields onto p.
func (in wpPostRequest) apply(p *wpPost, slugs map[string]bool) {
	if in.Title != nil {
		p.Title = string(*in.Title)
	}
	if in.Content != nil {
		p.Content = string(*in.Content)
	}
	if in.Excerpt != nil {
		p.Excerpt = string(*in.Excerpt)
	}
	if in.Status != nil {
		p.Status = *in.Status
	}
	if in.Categories != nil {
		p.Categories = append([]int{}, *in.Categories...)
	}
	if in.Tags != nil {
		p.Tags = append([]int{}, *in.Tags...)
	}
	if in.Slug != nil && *in.Slug != "" && slugify(*in.Slug) != p.Slug {
		p.Slug = uniqueSlug(slugs, slugify(*in.Slug))
	} else if p.Slug == "" {
		p.Slug = uniqueSlug(slugs, cmp.Or(slugify(p.Title), strconv.Itoa(p.ID)))
	}
}

// slugsLocked is every slug in use; wp.mu is held.
func (wp *wordPress) slugsLocked() map[string]bool {
	slugs := map[string]bool{}
	for _, p := range wp.posts {
		slugs[p.Slug] = true
	}
	return slugs
}

// bumpLocked is a modified time later than every other; wp.mu is held.
func (wp *wordPress) bumpLocked() time.Time {
	t := later(time.Now().UTC().Truncate(time.Second), wp.lastModified.Add(time.Second))
	wp.lastModified = t
	return t
}

// restBase is the REST base of a post type.
func restBase(typ string) string {
	if typ == "page" {
		return "/pages"
	}
	return "/posts"
}

// create makes a post or a page (a draft unless the request says otherwise).
func (wp *wordPress) create(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !wp.requireAuth(w, r) {
			return
		}
		in, ok := readPostRequest(w, r)
		if !ok {
			return
		}
		wp.mu.Lock()
		defer wp.mu.Unlock()
		wp.nextID++
		p := &wpPost{ID: wp.nextID, Type: typ, Status: "draft"}
		if typ == "post" {
			p.Categories = []int{1}
		}
		p.Date = wp.bumpLocked()
		p.Modified = p.Date
		in.apply(p, wp.slugsLocked())
		wp.posts[p.ID] = p
		site := siteBase(r, siteWordPress)
		w.Header().Set("Location", site+wpRESTRoot+restBase(typ)+"/"+strconv.Itoa(p.ID))
		writeJSON(w, http.StatusCreated, p.json(site))
	}
}

func (wp *wordPress) update(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !wp.requireAuth(w, r) {
			return
		}
		in, ok := readPostRequest(w, r)
		if !ok {
			return
		}
		wp.mu.Lock()
		defer wp.mu.Unlock()
		p, ok := wp.find(w, r, typ)
		if !ok {
			return
		}
		in.apply(p, wp.slugsLocked())
		p.Modified = wp.bumpLocked()
		writeJSON(w, http.StatusOK, p.json(siteBase(r, siteWordPress)))
	}
}

// delete trashes a post or page, or deletes it for good with force=true.
func (wp *wordPress) delete(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !wp.requireAuth(w, r) {
			return
		}
		force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
		wp.mu.Lock()
		defer wp.mu.Unlock()
		p, ok := wp.find(w, r, typ)
		if !ok {
			return
		}
		site := siteBase(r, siteWordPress)
		switch {
		case force:
			delete(wp.posts, p.ID)
			writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "previous": p.json(site)})
		case p.Status == "trash":
			wpError(w, http.StatusGone, "rest_already_trashed", "The post has already been deleted.", nil)
		default:
			p.Status, p.Slug = "trash", p.Slug+"__trashed"
			p.Modified = wp.bumpLocked()
			writeJSON(w, http.StatusOK, p.json(site))
		}
	}
}

// listTerms serves categories or tags, ordered by name unless asked otherwise, with each one's
// count of published posts.
func (wp *wordPress) listTerms(taxonomy string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := wp.auth(w, r); !ok {
			return
		}
		q := r.URL.Query()
		page, perPage, ok := wpPaging(w, q)
		if !ok {
			return
		}
		orderby, desc := cmp.Or(q.Get("orderby"), "name"), q.Get("order") == "desc"
		if !slices.Contains([]string{"name", "id", "slug", "count"}, orderby) {
			wpInvalidParam(w, "orderby", "orderby is not one of id, name, slug and count.")
			return
		}
		type termCount struct {
			wpTerm
			count int
		}
		wp.mu.Lock()
		var items []termCount
		for _, t := range wp.terms {
			if t.Taxonomy != taxonomy {
				continue
			}
			n := 0
			for _, p := range wp.posts {
				if p.Status == "publish" && (slices.Contains(p.Categories, t.ID) || slices.Contains(p.Tags, t.ID)) {
					n++
				}
			}
			items = append(items, termCount{t, n})
		}
		wp.mu.Unlock()
		slices.SortFunc(items, func(a, b termCount) int {
			c := 0
			switch orderby {
			case "name":
				c = strings.Compare(a.Name, b.Name)
			case "slug":
				c = strings.Compare(a.Slug, b.Slug)
			case "count":
				c = cmp.Compare(a.count, b.count)
			}
			c = cmp.Or(c, cmp.Compare(a.ID, b.ID))
			if desc {
				return -c
			}
			return c
		})
		site := siteBase(r, siteWordPress)
		base, path := "categories", "category"
		if taxonomy == "post_tag" {
			base, path = "tags", "tag"
		}
		total := len(items)
		wpPageHeaders(w, r, site+wpRESTRoot+"/"+base, page, perPage, total)
		out := []map[string]any{}
		for _, t := range items[min(total, (page-1)*perPage):min(total, page*perPage)] {
			m := map[string]any{"id": t.ID, "count": t.count, "description": t.Description,
				"link": site + "/" + path + "/" + t.Slug + "/", "name": t.Name, "slug": t.Slug,
				"taxonomy": t.Taxonomy, "meta": []any{}}
			if taxonomy == "category" {
				m["parent"] = 0
			}
			out = append(out, m)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// touch edits a post as the site's own editor would: new content, a later modified.
func (wp *wordPress) touch(w http.ResponseWriter, r *http.Request) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p, ok := wp.find(w, r, "post")
	if !ok {
		return
	}
	p.Revision++
	p.Content = fmt.Sprintf("<p>Revision %d, edited at the site.</p>\n", p.Revision) + p.Content
	p.Modified = wp.bumpLocked()
	writeJSON(w, http.StatusOK, p.json(siteBase(r, siteWordPress)))
}

// remove deletes a post for good, as the site's own editor would.
func (wp *wordPress) remove(w http.ResponseWriter, r *http.Request) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	p, ok := wp.find(w, r, "post")
	if !ok {
		return
	}
	delete(wp.posts, p.ID)
	w.WriteHeader(http.StatusNoContent)
}

// wpTime is WordPress's date format: no zone.
func wpTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// json is the post as wp/v2 answers it.
func (p wpPost) json(site string) map[string]any {
	link := site + "/" + p.Slug + "/"
	if p.Type == "post" {
		link = site + p.Date.Format("/2006/01/02/") + p.Slug + "/"
	}
	if p.Status != "publish" {
		link = site + "/?p=" + strconv.Itoa(p.ID)
	}
	m := map[string]any{
		"id": p.ID, "date": wpTime(p.Date), "date_gmt": wpTime(p.Date),
		"modified": wpTime(p.Modified), "modified_gmt": wpTime(p.Modified),
		"guid": map[string]string{"rendered": site + "/?p=" + strconv.Itoa(p.ID)},
		"slug": p.Slug, "status": p.Status, "type": p.Type, "link": link,
		"title":   map[string]any{"rendered": p.Title},
		"content": map[string]any{"rendered": p.Content, "protected": false},
		"excerpt": map[string]any{"rendered": p.Excerpt, "protected": false},
		"author":  1, "featured_media": 0, "comment_status": "open", "ping_status": "open", "template": "",
		"meta": []any{},
	}
	if p.Type == "post" {
		m["categories"], m["tags"] = append([]int{}, p.Categories...), append([]int{}, p.Tags...)
		m["sticky"], m["format"] = false, "standard"
	} else {
		m["parent"], m["menu_order"] = p.Parent, p.MenuOrder
		m["comment_status"] = "closed"
	}
	return m
}
