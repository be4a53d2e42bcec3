package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// Site platforms: an integration with a site syncs content with it.
const (
	WordPress Name = "wordpress"
	Shopify   Name = "shopify"
	// Custom is any site speaking the hub's custom content protocol (see CustomSite), with the
	// provider stack's auth types.
	Custom Name = "custom"
	// ERP is the hub's ERP connector, its records synced into the content store like a site's
	// content (see ERPSite). Its credentials are the connector's, filled in by the worker.
	ERP Name = provider.IssuerERP
)

// SiteNames lists the site platforms.
var SiteNames = []Name{WordPress, Shopify, Custom, ERP}

// Site reports whether the platform is a site (it syncs content; it neither verifies webhooks
// nor sends messages).
func (n Name) Site() bool {
	switch n {
	case WordPress, Shopify, Custom, ERP:
		return true
	}
	return false
}

// PlatformType is the seed's platform_type of a site platform: cms, ecommerce, custom or erp.
func (n Name) PlatformType() string {
	switch n {
	case WordPress:
		return "cms"
	case Shopify:
		return "ecommerce"
	case Custom:
		return "custom"
	case ERP:
		return "erp"
	}
	return ""
}

// Site credential and config field names.
const (
	FieldSiteURL             = "site_url"
	FieldUsername            = "username"
	FieldApplicationPassword = "application_password"
	FieldShopDomain          = "shop_domain"
	FieldBaseURL             = "base_url"
	// FieldAuthType selects a custom site's auth: none, basic (username/password), bearer
	// (token), api_key (header + api_key).
	FieldAuthType = "auth_type"
	FieldPassword = "password"
	FieldToken    = "token"
	FieldAPIKey   = "api_key"
	FieldHeader   = "header"
)

// Directions of a sync.
const (
	// DirectionMetadata fetches the site's structure (post types, taxonomies) and its
	// taxonomy terms.
	DirectionMetadata = "metadata"
	// DirectionFromExternal pulls the site's content into the hub's content store.
	DirectionFromExternal = "from_external"
	// DirectionToExternal pushes content changed in the hub to the site.
	DirectionToExternal = "to_external"
	// DirectionBoth pulls, then pushes.
	DirectionBoth = "both"
)

// Directions lists the directions of a sync.
var Directions = []string{DirectionMetadata, DirectionBoth, DirectionToExternal, DirectionFromExternal}

// SiteConfig is a site integration's non-secret settings (the integration's config JSON, next
// to Config's fields). Empty fields take the platform's defaults.
type SiteConfig struct {
	// ContentTypes are the types a sync pulls (WordPress: post, page; Shopify: product;
	// custom: the site's collections; erp: its entity types). Taxonomies (category, tag) come
	// with metadata syncs.
	ContentTypes []string `json:"content_types,omitempty"`
	// PageSize is how many items one page asks for (WordPress caps it at 100, Shopify at 250).
	PageSize int `json:"page_size,omitempty"`
	// EscalateOnFailure makes a sync that runs out of retries wait for an operator's signal
	// (retry, resolve, abort) instead of failing.
	EscalateOnFailure bool `json:"escalate_on_failure,omitempty"`
	// Structure is what the site last told the hub of itself (update_site_structure, the
	// metadata callback, a metadata sync).
	Structure *SiteStructure `json:"structure,omitempty"`
}

// SiteItem is one piece of content as a site holds it.
type SiteItem struct {
	// ExternalID is the site's id; "" for an item the site has not seen yet.
	ExternalID string `json:"external_id"`
	// Type is post, page, product, category, tag or a custom type.
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Status     string    `json:"status"`
	URL        string    `json:"url,omitempty"`
	ModifiedAt time.Time `json:"modified_at"`
}

// Hash is the content hash change detection compares: sha256 over type, title, body and status,
// hex.
func (it SiteItem) Hash() string {
	h := sha256.New()
	for _, f := range []string{it.Type, it.Title, it.Body, it.Status} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SitePage is one page of a listing.
type SitePage struct {
	Items []SiteItem
	// Next is the cursor of the following page, "" after the last one.
	Next string
	// Total is the site's count of items when it tells one (X-WP-Total), else -1.
	Total int
}

// SiteStructure is what a site is made of: its post types, taxonomies and plugin flags.
type SiteStructure struct {
	PostTypes  []string        `json:"post_types"`
	Taxonomies []string        `json:"taxonomies"`
	Plugins    map[string]bool `json:"plugins,omitempty"`
	// Timestamp is when the site described itself.
	Timestamp time.Time `json:"timestamp"`
}

// SiteTest is the result of a connection test, as the seed answers it.
type SiteTest struct {
	Success bool           `json:"success"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// ErrSiteItemNotFound is returned by SiteClient.Get for an item the site does not have.
var ErrSiteItemNotFound = errors.New("the site has no such item")

// SiteClient talks to one site integration's site. Failures are *APIError (Temporary for 429,
// 5xx and transport failures, with the site's Retry-After), or ErrSiteItemNotFound; error texts
// never hold a credential.
type SiteClient interface {
	// Test makes one real, harmless call proving the credentials; a failure is a result.
	Test(ctx context.Context) SiteTest
	// ContentTypes are the types a full sync pulls: the config's, or the platform's default.
	ContentTypes() []string
	// List reads one page of contentType, starting at cursor ("" for the first page), of items
	// modified after since when it is not zero.
	List(ctx context.Context, contentType, cursor string, since time.Time) (SitePage, error)
	// Get reads one item.
	Get(ctx context.Context, contentType, externalID string) (SiteItem, error)
	// Put creates the item (ExternalID "") or updates it, and returns it as the site now holds it.
	Put(ctx context.Context, item SiteItem) (SiteItem, error)
	// Structure reads the site's post types and taxonomies.
	Structure(ctx context.Context) (SiteStructure, error)
}

// Limits of a site client.
const (
	// MaxSiteAnswerBytes caps one answer of a site (a page of content, one item) and one item
	// sent to it.
	MaxSiteAnswerBytes = 8 << 20
	// DefaultSiteTimeout is the timeout of the client NewSiteClient makes when given none.
	DefaultSiteTimeout = 30 * time.Second
	// MaxContentTypes bounds a site config's content types.
	MaxContentTypes = 32
	// maxContentTypeBytes bounds one content type's name.
	maxContentTypeBytes = 64
	// maxSiteMessage bounds the part of a site's error text an APIError quotes.
	maxSiteMessage = 300
)

// Page sizes of the site platforms: the default when the config sets none, and the most the
// site answers in one page.
const (
	WordPressPageSize    = 100
	ShopifyPageSize      = 250
	CustomPageSize       = 100
	CustomMaxPageSize    = 1000
	ERPPageSize          = 100
	ERPMaxPageSize       = 1000
	wordPressMaxPageSize = 100
	shopifyMaxPageSize   = 250
)

// Taxonomy content types: a metadata sync lists a WordPress site's terms as items of these
// types (name as the title, description as the body).
const (
	ContentCategory = "category"
	ContentTag      = "tag"
)

// DefaultContentTypes are the types a full sync of the platform pulls when the config names
// none: WordPress's posts and pages, Shopify's products, the ERP's customers, invoices and
// products; a custom site's come from its structure.
func DefaultContentTypes(n Name) []string {
	switch n {
	case WordPress:
		return []string{"post", "page"}
	case Shopify:
		return []string{"product"}
	case ERP:
		return slices.Clone(provider.DefaultERPEntityTypes)
	}
	return nil
}

// Validate checks the config of a site integration on platform n: content types named as the
// site names them (Shopify: product only) and a page size the site accepts. The error is an
// *InvalidError.
func (c SiteConfig) Validate(n Name) error {
	problems := map[string]string{}
	if !n.Site() {
		problems["platform"] = "not a site platform; one of " + SiteNamesList()
		return &InvalidError{Fields: problems}
	}
	if len(c.ContentTypes) > MaxContentTypes {
		problems["config.content_types"] = fmt.Sprintf("at most %d content types", MaxContentTypes)
	}
	seen := map[string]bool{}
	for i, t := range c.ContentTypes {
		path := "config.content_types." + strconv.Itoa(i)
		switch {
		case !validContentType(t):
			problems[path] = "1 to 64 characters of a-z, A-Z, 0-9, _ and -"
		case seen[t]:
			problems[path] = "listed twice"
		case n == Shopify && t != "product":
			problems[path] = "shopify syncs product only"
		}
		seen[t] = true
	}
	if limit := maxPageSize(n); c.PageSize < 0 || c.PageSize > limit {
		problems["config.page_size"] = fmt.Sprintf("between 1 and %d (0: the default, %d)", limit, defaultPageSize(n))
	}
	if len(problems) > 0 {
		return &InvalidError{Fields: problems}
	}
	return nil
}

// SiteNamesList names the site platforms, comma-separated, for messages.
func SiteNamesList() string {
	s := make([]string, len(SiteNames))
	for i, n := range SiteNames {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// validContentType reports whether t can name a content type: it goes into URL paths.
func validContentType(t string) bool {
	return len(t) <= maxContentTypeBytes && tokenChars(t)
}

// Sync filters: what a pull may be narrowed by.
const (
	// SyncFilterContentTypes names the types a pull reads, comma-separated.
	SyncFilterContentTypes = "content_types"
	// SyncFilterStatus keeps only the items in one status (no deletions are swept then).
	SyncFilterStatus = "status"
	// maxSyncFilterStatus bounds the status filter.
	maxSyncFilterStatus = 64
)

// ParseSyncFilters checks a sync's filters and answers the content types they name, in order,
// repeats dropped (nil when none): only content_types (comma-separated names of 1 to 64
// characters of a-z, A-Z, 0-9, _ and -, at most MaxContentTypes) and status (at most 64 bytes)
// are known. The error is an *InvalidError naming the filter.
func ParseSyncFilters(filters map[string]string) ([]string, error) {
	problems := map[string]string{}
	for k, v := range filters {
		switch {
		case k != SyncFilterContentTypes && k != SyncFilterStatus:
			field := "filters"
			if len(k) <= maxContentTypeBytes && tokenChars(k) {
				field += "." + k
			}
			problems[field] = "unknown filter; the filters are " + SyncFilterContentTypes + " and " + SyncFilterStatus
		case k == SyncFilterStatus && len(v) > maxSyncFilterStatus:
			problems["filters."+k] = fmt.Sprintf("at most %d bytes", maxSyncFilterStatus)
		case k == SyncFilterContentTypes && len(v) > MaxContentTypes*(maxContentTypeBytes+1):
			problems["filters."+k] = "too long"
		}
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Fields: problems}
	}
	var types []string
	for t := range strings.SplitSeq(filters[SyncFilterContentTypes], ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "" || slices.Contains(types, t):
			continue
		case !validContentType(t):
			return nil, &InvalidError{Fields: map[string]string{"filters." + SyncFilterContentTypes: "a type is 1 to 64 characters of a-z, A-Z, 0-9, _ and -"}}
		}
		types = append(types, t)
	}
	if len(types) > MaxContentTypes {
		return nil, &InvalidError{Fields: map[string]string{"filters." + SyncFilterContentTypes: fmt.Sprintf("at most %d types", MaxContentTypes)}}
	}
	return types, nil
}

func maxPageSize(n Name) int {
	switch n {
	case WordPress:
		return wordPressMaxPageSize
	case Shopify:
		return shopifyMaxPageSize
	case ERP:
		return ERPMaxPageSize
	}
	return CustomMaxPageSize
}

func defaultPageSize(n Name) int {
	switch n {
	case WordPress:
		return WordPressPageSize
	case Shopify:
		return ShopifyPageSize
	case ERP:
		return ERPPageSize
	}
	return CustomPageSize
}

// pageSize is the config's page size within the platform's bounds, or its default.
func (c SiteConfig) pageSize(n Name) int {
	if c.PageSize <= 0 {
		return defaultPageSize(n)
	}
	return min(c.PageSize, maxPageSize(n))
}

// contentTypes is the config's content types, else the platform's defaults, else (custom) the
// types the site last described.
func (c SiteConfig) contentTypes(n Name) []string {
	switch {
	case len(c.ContentTypes) > 0:
		return slices.Clone(c.ContentTypes)
	case n == Custom && c.Structure != nil:
		return slices.Clone(c.Structure.PostTypes)
	}
	return DefaultContentTypes(n)
}

// NewSiteClient returns the client of a site integration: WordPress's REST API (wp/v2),
// Shopify's Admin API (2024-10), the custom content protocol (see CustomSite) or the ERP
// connector's API (see ERPSite: an erp integration without the connector's base_url and
// api_key, which the worker fills in, is ErrERPNotConfigured). hc carries the transport (see
// Transport) and the timeout; nil is a client with DefaultSiteTimeout. An integration of
// another platform is ErrUnsupported; bad credentials an *InvalidError. The config is taken as
// it is (SiteConfig.Validate is for the API): the page size is kept within the platform's
// bounds, and a content type the site does not have fails its calls.
func NewSiteClient(in Integration, cfg SiteConfig, hc *http.Client) (SiteClient, error) {
	if !in.Platform.Site() {
		return nil, fmt.Errorf("%w: %q is not a site platform (one of %s)", ErrUnsupported, in.Platform, SiteNamesList())
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Platform == ERP {
		if err := erpConfigured(in); err != nil {
			return nil, err
		}
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultSiteTimeout}
	}
	// A redirect is the site's answer, never followed: Go would carry X-Shopify-Access-Token or
	// a custom site's key header to whatever host the site names, and turn a push into a GET.
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h := newSiteHTTP(in, &noRedirects)
	switch in.Platform {
	case WordPress:
		return newWordPressSite(in, cfg, h), nil
	case Shopify:
		return newShopifySite(in, cfg, h), nil
	case ERP:
		return newERPSite(in, cfg, h), nil
	default:
		return newCustomSite(in, cfg, h), nil
	}
}

// siteHTTP is one site integration's HTTP exchange: its client, how it signs a request, and
// the secrets every error text is cleaned of.
type siteHTTP struct {
	hc       *http.Client
	platform Name
	// authorize sets the integration's credentials on a request.
	authorize func(*http.Request)
	// secrets are the credential values and the forms they travel in (a Basic token).
	secrets []string
}

func newSiteHTTP(in Integration, hc *http.Client) *siteHTTP {
	h := &siteHTTP{hc: hc, platform: in.Platform, authorize: func(*http.Request) {}}
	for _, v := range in.Credentials.Fields {
		h.addSecret(v)
	}
	return h
}

// addSecret records a value error texts must never show, with its escaped forms.
func (h *siteHTTP) addSecret(v string) {
	if len(v) < 4 {
		return
	}
	h.secrets = append(h.secrets, v)
	for _, f := range []string{url.PathEscape(v), url.QueryEscape(v), strings.ReplaceAll(v, " ", "")} {
		if f != v && len(f) >= 4 {
			h.secrets = append(h.secrets, f)
		}
	}
}

// basicAuth signs with HTTP Basic auth, and keeps the token out of error texts.
func (h *siteHTTP) basicAuth(user, password string) {
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	h.addSecret(token)
	h.authorize = func(r *http.Request) { r.Header.Set("Authorization", "Basic "+token) }
}

// header signs with one header's value.
func (h *siteHTTP) header(name, value string) {
	h.authorize = func(r *http.Request) { r.Header.Set(name, value) }
}

// redact removes every credential from a text, longest first so a value holding another is
// removed whole.
func (h *siteHTTP) redact(s string) string {
	secrets := slices.Clone(h.secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "****")
	}
	return s
}

// siteAnswer is a site's HTTP answer, read within MaxSiteAnswerBytes.
type siteAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a siteAnswer) ok() bool { return a.status/100 == 2 }

// do sends one request, signed, with payload as its JSON body when not nil, and reads the
// answer. Transport failures are temporary *APIErrors with Status 0 (ErrPrivateAddress and a
// done ctx are not temporary, and unwrap to their cause); an answer over the size limit is a
// permanent one.
func (h *siteHTTP) do(ctx context.Context, method, target string, payload any) (siteAnswer, error) {
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return siteAnswer{}, &APIError{Code: "invalid_request", Message: h.redact("encoding the request: " + err.Error())}
		}
		if len(b) > MaxSiteAnswerBytes {
			return siteAnswer{}, &APIError{Code: "request_too_large",
				Message: fmt.Sprintf("the item is larger than %d bytes", MaxSiteAnswerBytes)}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return siteAnswer{}, &APIError{Code: "invalid_request", Message: h.redact(err.Error())}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	h.authorize(req)
	resp, err := h.hc.Do(req)
	if err != nil {
		return siteAnswer{}, h.transportError(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSiteAnswerBytes+1))
	if err != nil {
		e := h.transportError(ctx, err)
		e.Status = resp.StatusCode
		return siteAnswer{}, e
	}
	if len(b) > MaxSiteAnswerBytes {
		return siteAnswer{}, &APIError{Status: resp.StatusCode, Code: "response_too_large",
			Message: fmt.Sprintf("%s answered more than %d bytes", h.platform, MaxSiteAnswerBytes)}
	}
	return siteAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (h *siteHTTP) transportError(ctx context.Context, err error) *APIError {
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return &APIError{Code: "private_address", Message: h.redact(err.Error()), cause: ErrPrivateAddress}
	case ctx.Err() != nil:
		return &APIError{Code: "canceled", Message: h.redact(err.Error()), cause: ctx.Err()}
	}
	return &APIError{Code: "transport", Message: h.redact(fmt.Sprintf("calling %s: %v", h.platform, err)), Temporary: true}
}

// fail is the APIError of a refused or failed call: temporary for 429 and 5xx, with the site's
// Retry-After.
func (h *siteHTTP) fail(a siteAnswer, code, message string) *APIError {
	message = strings.TrimSpace(message)
	if message == "" {
		message = http.StatusText(a.status)
	}
	if r := []rune(message); len(r) > maxSiteMessage {
		message = string(r[:maxSiteMessage]) + "…"
	}
	return &APIError{
		Status:     a.status,
		Code:       code,
		Message:    h.redact(fmt.Sprintf("%s answered %d: %s", h.platform, a.status, message)),
		RetryAfter: retryAfterHeader(a.header.Get("Retry-After"), time.Now()),
		Temporary:  a.status == http.StatusTooManyRequests || a.status >= 500,
	}
}

// unexpected is the error of a success answer without what it should hold.
func (h *siteHTTP) unexpected(a siteAnswer, what string) *APIError {
	return &APIError{Status: a.status, Code: "unexpected_response",
		Message: fmt.Sprintf("%s answered %d without %s", h.platform, a.status, what)}
}

// refused is the error of a call the client will not make.
func (h *siteHTTP) refused(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: h.redact(fmt.Sprintf(format, args...))}
}

// notFound is ErrSiteItemNotFound, naming the item.
func notFound(n Name, contentType, id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return fmt.Errorf("%w: %s %s %q", ErrSiteItemNotFound, n, contentType, id)
}

// credentialsRefused is the SiteTest of a site refusing the credentials.
func credentialsRefused(err *APIError) SiteTest {
	return SiteTest{Success: false, Message: "the site refused the credentials: " + err.Error(),
		Details: map[string]any{"status": err.Status}}
}

// testFailure is the SiteTest of a failed connection test.
func testFailure(err error) SiteTest {
	var apiErr *APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
		return credentialsRefused(apiErr)
	}
	t := SiteTest{Success: false, Message: "the connection test failed: " + err.Error()}
	if apiErr != nil && apiErr.Status != 0 {
		t.Details = map[string]any{"status": apiErr.Status}
	}
	return t
}

// siteTime reads a site's timestamp: RFC 3339, or without a zone in UTC; zero when absent or
// unreadable.
func siteTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC()
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, time.UTC); err == nil {
		return t
	}
	return time.Time{}
}

// digitsID reports whether id is a positive decimal id, as WordPress and Shopify give them.
func digitsID(id string) bool {
	return id != "" && len(id) <= 20 && digits(id) == "" && strings.TrimLeft(id, "0") != ""
}
