package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"
)

// Site platforms: an integration with a site syncs content with it.
const (
	WordPress Name = "wordpress"
	Shopify   Name = "shopify"
	// Custom is any site speaking the hub's custom content protocol (see CustomSite), with the
	// provider stack's auth types.
	Custom Name = "custom"
)

// SiteNames lists the site platforms.
var SiteNames = []Name{WordPress, Shopify, Custom}

// Site reports whether the platform is a site (it syncs content; it neither verifies webhooks
// nor sends messages).
func (n Name) Site() bool {
	switch n {
	case WordPress, Shopify, Custom:
		return true
	}
	return false
}

// PlatformType is the seed's platform_type of a site platform: cms, ecommerce or custom.
func (n Name) PlatformType() string {
	switch n {
	case WordPress:
		return "cms"
	case Shopify:
		return "ecommerce"
	case Custom:
		return "custom"
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
	// custom: the site's collections). Taxonomies (category, tag) come with metadata syncs.
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

// NewSiteClient returns the client of a site integration. hc carries the transport (see
// Transport) and the timeout.
func NewSiteClient(in Integration, cfg SiteConfig, hc *http.Client) (SiteClient, error) {
	return nil, errors.New("site clients are not built yet")
}
