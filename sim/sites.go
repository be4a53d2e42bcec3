package sim

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// SitesConfig is the site simulators' environment: the credentials the WordPress and Shopify
// APIs accept, how much content they hold and the seed it is generated from. The defaults are
// demo credentials.
type SitesConfig struct {
	WordPressUsername string `envconfig:"SIM_WP_USERNAME" default:"demo"`
	// WordPressApplicationPassword is accepted with or without the spaces WordPress shows it with.
	WordPressApplicationPassword string `envconfig:"SIM_WP_APPLICATION_PASSWORD" default:"abcd efgh ijkl mnop qrst uvwx"`
	// WordPressPosts is how many posts the site starts with (it also has 20 pages, 8 categories
	// and 15 tags).
	WordPressPosts int `envconfig:"SIM_WP_POSTS" default:"200"`

	ShopifyAccessToken string `envconfig:"SIM_SHOPIFY_ACCESS_TOKEN" default:"shpat_demo_token"`
	ShopifyProducts    int    `envconfig:"SIM_SHOPIFY_PRODUCTS" default:"120"`

	// Seed makes the generated content: the same seed, the same sites.
	Seed int64 `envconfig:"SIM_SITES_SEED" default:"2024"`
}

// maxSiteItems bounds the posts and products a site is generated with.
const maxSiteItems = 100000

// Validate reports settings the site simulators cannot work with.
func (c SitesConfig) Validate() error {
	switch {
	case c.WordPressUsername == "":
		return errors.New("SIM_WP_USERNAME must not be empty")
	case strings.ReplaceAll(c.WordPressApplicationPassword, " ", "") == "":
		return errors.New("SIM_WP_APPLICATION_PASSWORD must not be empty")
	case c.WordPressPosts < 0 || c.WordPressPosts > maxSiteItems:
		return errors.New("SIM_WP_POSTS must be between 0 and 100000")
	case c.ShopifyAccessToken == "":
		return errors.New("SIM_SHOPIFY_ACCESS_TOKEN must not be empty")
	case c.ShopifyProducts < 0 || c.ShopifyProducts > maxSiteItems:
		return errors.New("SIM_SHOPIFY_PRODUCTS must be between 0 and 100000")
	}
	return nil
}

// The simulated sites, by the names faults and stats give them.
const (
	siteWordPress = "wordpress"
	siteShopify   = "shopify"
)

// sitePrefixes are where each site is served.
var sitePrefixes = map[string]string{siteWordPress: "/wordpress", siteShopify: "/shopify"}

// Sites simulates a WordPress site's REST API (/wordpress) and a Shopify shop's Admin API
// (/shopify), in memory, with content generated from a seed. Each accepts only its configured
// credentials, answers with the platform's own shapes and errors, counts its calls by route and
// can be rate limited, failed or slowed through /_sim/sites/faults. Control routes edit and
// delete content behind the APIs' backs, as a site's own users would.
type Sites struct {
	cfg    SitesConfig
	faults *siteFaults
	stats  *siteStats
	wp     *wordPress
	shop   *shopify
}

// NewSites builds the site simulators and generates their content.
func NewSites(cfg SitesConfig) (*Sites, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sites{cfg: cfg, faults: &siteFaults{bySite: map[string]*SiteFault{}}, stats: &siteStats{},
		wp: &wordPress{cfg: cfg}, shop: &shopify{cfg: cfg}}
	s.reset()
	return s, nil
}

// reset regenerates both sites and forgets their stats and faults.
func (s *Sites) reset() {
	s.wp.generate()
	s.shop.generate()
	s.stats.clear()
	s.faults.clearAll()
}

// Register mounts the site simulators and their control routes on mux.
func (s *Sites) Register(mux *http.ServeMux) {
	s.wp.register(mux, func(h http.HandlerFunc) http.HandlerFunc { return s.guard(siteWordPress, h) })
	s.shop.register(mux, func(h http.HandlerFunc) http.HandlerFunc { return s.guard(siteShopify, h) })

	mux.HandleFunc("GET /_sim/sites/faults", s.faults.get)
	mux.HandleFunc("PUT /_sim/sites/faults", s.faults.put)
	mux.HandleFunc("DELETE /_sim/sites/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.faults.clearAll()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/sites/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.stats.snapshot())
	})
	mux.HandleFunc("GET /_sim/sites/pages", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.stats.pageSnapshot())
	})
	mux.HandleFunc("DELETE /_sim/sites/stats", func(w http.ResponseWriter, _ *http.Request) {
		s.stats.clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/sites/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

// guard counts an API call, then plays the site's pending fault before the call is looked at:
// a rate limit or a failure answers instead of h; a slow answer is h's, late.
func (s *Sites) guard(site string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		route := strings.Replace(r.Pattern, sitePrefixes[site], "", 1)
		s.stats.count(site, route)
		if page := pageOf(r); page != "" {
			s.stats.countPage(site, route+"?"+page)
		}
		status, wait, delay := s.faults.take(site)
		switch status {
		case http.StatusTooManyRequests:
			if site == siteShopify {
				// Shopify gives the wait in fractional seconds.
				w.Header().Set("Retry-After", formatSeconds(wait))
				writeJSON(w, status, map[string]any{"errors": shopifyRateLimited})
				return
			}
			setRetryAfter(w, wait)
			wpError(w, status, "rest_too_many_requests", "Too many requests. Please slow down.", nil)
			return
		case http.StatusInternalServerError:
			if site == siteShopify {
				writeJSON(w, status, map[string]any{"errors": "Internal Server Error"})
				return
			}
			wpError(w, status, "internal_server_error",
				"<p>There has been a critical error on this website.</p>", nil)
			return
		}
		if !sleepFor(r, delay) {
			return
		}
		h(w, r)
	}
}

// shopifyRateLimited is the body of Shopify's 429.
const shopifyRateLimited = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."

// formatSeconds is d in seconds with one decimal, rounded up ("2.0").
func formatSeconds(d time.Duration) string {
	tenths := max(1, math.Ceil(d.Seconds()*10))
	return strconv.FormatFloat(tenths/10, 'f', 1, 64)
}

// --- faults ---------------------------------------------------------------------------------

// SiteFault makes one site simulator misbehave: its next RateLimit API calls answer the
// platform's 429 asking to wait RetryAfter, the next Fail calls its 500, and the next SlowPages
// calls after those answer as usual, Slow late.
type SiteFault struct {
	Site      string `json:"site"`
	RateLimit int    `json:"rate_limit"`
	// RetryAfter is a Go duration (default 1s).
	RetryAfter string `json:"retry_after"`
	Fail       int    `json:"fail"`
	// Slow is a Go duration up to 1m; SlowPages how many answers it delays.
	Slow      string `json:"slow,omitempty"`
	SlowPages int    `json:"slow_pages"`

	retryAfter time.Duration
	slow       time.Duration
}

// siteFaults holds each site's pending fault.
type siteFaults struct {
	mu     sync.Mutex
	bySite map[string]*SiteFault
}

// take consumes one call of site's fault: 429 with the wait, 500, or 0 to answer as usual,
// after delay.
func (f *siteFaults) take(site string) (status int, wait, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.bySite[site]
	if ft == nil {
		return 0, 0, 0
	}
	switch {
	case ft.RateLimit > 0:
		ft.RateLimit--
		status, wait = http.StatusTooManyRequests, ft.retryAfter
	case ft.Fail > 0:
		ft.Fail--
		status = http.StatusInternalServerError
	default:
		ft.SlowPages--
		delay = ft.slow
	}
	if ft.RateLimit == 0 && ft.Fail == 0 && ft.SlowPages == 0 {
		delete(f.bySite, site)
	}
	return status, wait, delay
}

// get lists the pending faults.
func (f *siteFaults) get(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	out := []SiteFault{}
	for _, site := range []string{siteWordPress, siteShopify} {
		if ft := f.bySite[site]; ft != nil {
			out = append(out, *ft)
		}
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// put sets a site's fault, replacing the one pending; zero counts clear it.
func (f *siteFaults) put(w http.ResponseWriter, r *http.Request) {
	var ft SiteFault
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&ft); err != nil ||
		sitePrefixes[ft.Site] == "" {
		http.Error(w, `body: {"site": "wordpress|shopify", "rate_limit", "retry_after", "fail", "slow", "slow_pages"}`,
			http.StatusBadRequest)
		return
	}
	for _, n := range []int{ft.RateLimit, ft.Fail, ft.SlowPages} {
		if n < 0 || n > math.MaxInt32 {
			http.Error(w, "rate_limit, fail and slow_pages must be counts of calls", http.StatusBadRequest)
			return
		}
	}
	ft.retryAfter = time.Second
	if ft.RetryAfter != "" {
		d, err := time.ParseDuration(ft.RetryAfter)
		if err != nil || d <= 0 || d > maxMessagingRetryAfter {
			http.Error(w, "retry_after must be a positive duration up to 1h", http.StatusBadRequest)
			return
		}
		ft.retryAfter = d
	}
	ft.RetryAfter = ft.retryAfter.String()
	if ft.Slow != "" {
		d, err := time.ParseDuration(ft.Slow)
		if err != nil || d < 0 || d > maxSimLatency {
			http.Error(w, "slow must be a duration up to 1m", http.StatusBadRequest)
			return
		}
		ft.slow = d
	}
	if (ft.SlowPages > 0) != (ft.slow > 0) {
		http.Error(w, "slow and slow_pages go together", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	if ft.RateLimit == 0 && ft.Fail == 0 && ft.SlowPages == 0 {
		delete(f.bySite, ft.Site)
	} else {
		f.bySite[ft.Site] = &ft
	}
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *siteFaults) clearAll() {
	f.mu.Lock()
	clear(f.bySite)
	f.mu.Unlock()
}

// --- stats ----------------------------------------------------------------------------------

// siteStats counts each site's API calls by route ("GET /wp-json/wp/v2/posts"), and each page
// of a listing ("GET /wp-json/wp/v2/posts?page=3", "GET /admin/api/2024-10/products.json?
// page_info=…"), faulted ones included.
type siteStats struct {
	mu      sync.Mutex
	byRoute map[string]map[string]int
	byPage  map[string]map[string]int
}

// pageOf names the page a listing call asks for: WordPress's page number (1 when absent),
// Shopify's page_info cursor ("first" when absent); "" for a call that is not a listing.
func pageOf(r *http.Request) string {
	if r.Method != http.MethodGet {
		return ""
	}
	q := r.URL.Query()
	switch {
	case strings.HasSuffix(r.URL.Path, "/products.json"):
		if v := q.Get("page_info"); v != "" {
			return "page_info=" + v
		}
		return "page_info=first"
	case strings.Contains(r.URL.Path, "/wp-json/wp/v2/") && !strings.HasSuffix(r.URL.Path, "/types") &&
		!hasIDSegment(r.URL.Path):
		if v := q.Get("page"); v != "" {
			return "page=" + v
		}
		return "page=1"
	}
	return ""
}

// hasIDSegment reports whether a WordPress path ends in an item id (/posts/12).
func hasIDSegment(path string) bool {
	last := path[strings.LastIndex(path, "/")+1:]
	return last != "" && strings.Trim(last, "0123456789") == ""
}

func (st *siteStats) countPage(site, key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byPage[site] == nil {
		st.byPage[site] = map[string]int{}
	}
	st.byPage[site][key]++
}

// pageSnapshot is every site's page counts.
func (st *siteStats) pageSnapshot() map[string]map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]map[string]int{}
	for site := range sitePrefixes {
		out[site] = map[string]int{}
		for key, n := range st.byPage[site] {
			out[site][key] = n
		}
	}
	return out
}

func (st *siteStats) count(site, route string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byRoute[site] == nil {
		st.byRoute[site] = map[string]int{}
	}
	st.byRoute[site][route]++
}

// snapshot is every site's counts, with an empty object for a site not called yet.
func (st *siteStats) snapshot() map[string]map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]map[string]int{}
	for site := range sitePrefixes {
		out[site] = map[string]int{}
		for route, n := range st.byRoute[site] {
			out[site][route] = n
		}
	}
	return out
}

func (st *siteStats) clear() {
	st.mu.Lock()
	st.byRoute = map[string]map[string]int{}
	st.byPage = map[string]map[string]int{}
	st.mu.Unlock()
}

// --- helpers --------------------------------------------------------------------------------

// siteBase is the URL a site is served at, as the caller reached it.
func siteBase(r *http.Request, site string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host + sitePrefixes[site]
}

// parseSiteTime reads an RFC 3339 time, or one without a zone (a date-time or a date) in loc.
func parseSiteTime(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, loc); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, v, loc)
}

// siteWords make the generated titles and text.
var siteWords = strings.Fields(`switch yard hub signal route ledger ticket harbor river signal bridge
	lantern compass meadow orbit pilot quarry summit timber vessel willow anchor beacon canyon delta
	ember fjord garnet horizon island juniper kestrel lagoon marble nectar opal prairie quartz
	reef saffron tundra umber valley walnut yonder zephyr amber basalt cedar dune ferry glacier
	granite harvest inlet jasper kelp linen mosaic nimbus oasis pebble ripple sierra thistle velvet`)

// sentence is n generated words, the first capitalized.
func sentence(rng *rand.Rand, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = siteWords[rng.IntN(len(siteWords))]
	}
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ")
}

// slugify is s in lower case with every run of other characters than letters and digits a dash.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// uniqueSlug is slug, or slug-2, slug-3... when taken, as WordPress and Shopify make them; it
// takes the one it gives.
func uniqueSlug(taken map[string]bool, slug string) string {
	out := slug
	for n := 2; taken[out]; n++ {
		out = slug + "-" + strconv.Itoa(n)
	}
	taken[out] = true
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
