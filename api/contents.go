package api

import (
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// Limits of the content store's routes.
const (
	maxContentTitle = 1000
	// maxContentBody caps a body in bytes; maxContentRequest the request carrying it.
	// MAX_REQUEST_BODY_BYTES (at most 1 MiB) applies first, so in practice a body is a little
	// less than the request cap.
	maxContentBody     = 1 << 20
	maxContentRequest  = maxContentBody + 64<<10
	maxContentIDLength = 100
	// defaultContentStatus is the status of content created without one.
	defaultContentStatus = "draft"
)

// contentStatusPattern is a content status (publish, draft, pending, private, active, ...).
var contentStatusPattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// errNoContentItem answers an unknown content id, and one of another integration, alike.
var errNoContentItem = newError(http.StatusNotFound, CodeNotFound, "no such content")

func (s *Server) registerContents(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	both(r, http.MethodGet, IntegrationsBase+"/:id/contents", with(s.listContents)...)
	both(r, http.MethodPost, IntegrationsBase+"/:id/contents", with(s.createContent)...)
	both(r, http.MethodGet, IntegrationsBase+"/:id/contents/:content_id", with(s.getContent)...)
	both(r, http.MethodPatch, IntegrationsBase+"/:id/contents/:content_id", with(s.updateContent)...)
}

// ContentRequest creates content in the hub (content_type required) or edits it (absent
// fields kept). Content changed in the hub is pushed to the site by a to_external sync.
type ContentRequest struct {
	ContentType *string `json:"content_type"`
	Title       *string `json:"title"`
	Body        *string `json:"body"`
	// Status is the site's status word (publish, draft, ...); draft when created without one.
	Status *string `json:"status"`
}

// contentView is one item of the content store; lists leave the body out.
type contentView struct {
	ID            string `json:"id"`
	IntegrationID string `json:"integration_id"`
	// ExternalID is the site's id; "" until the item reached the site.
	ExternalID  string  `json:"external_id"`
	ContentType string  `json:"content_type"`
	Title       string  `json:"title"`
	Body        *string `json:"body,omitempty"`
	Status      string  `json:"status"`
	URL         string  `json:"url"`
	ContentHash string  `json:"content_hash"`
	// Dirty is set while the hub holds a change the site has not seen.
	Dirty              bool       `json:"dirty"`
	ExternalModifiedAt *time.Time `json:"external_modified_at"`
	SyncedAt           *time.Time `json:"synced_at"`
	DeletedAt          *time.Time `json:"deleted_at"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

func newContentView(r schema.ContentRow) contentView {
	return contentView{ID: r.ID, IntegrationID: r.IntegrationID, ExternalID: r.ExternalID, ContentType: r.ContentType,
		Title: r.Title, Status: r.Status, URL: r.URL, ContentHash: r.ContentHash, Dirty: r.Dirty,
		ExternalModifiedAt: r.ExternalModifiedAt, SyncedAt: r.SyncedAt, DeletedAt: r.DeletedAt, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt}
}

// newContentDetail is the single read: the view with the body.
func newContentDetail(r schema.ContentRow) contentView {
	v := newContentView(r)
	v.Body = &r.Body
	return v
}

// contentHash is what change detection compares (platform.SiteItem.Hash).
func contentHash(r schema.ContentRow) string {
	return platform.SiteItem{ExternalID: r.ExternalID, Type: r.ContentType, Title: r.Title, Body: r.Body,
		Status: r.Status}.Hash()
}

// contentIntegration is the caller's site integration named by :id: another client's is not
// found, another platform's has no content store (400).
func (s *Server) contentIntegration(c *gin.Context) (schema.IntegrationRow, error) {
	row, err := s.ownIntegration(c)
	if err != nil {
		return row, err
	}
	if !platform.Name(row.Platform).Site() {
		return row, &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: "platform " + row.Platform + " has no content store; only site integrations (" + siteNamesList() + ") do",
			Details: map[string]any{"field": "platform"}}
	}
	if platform.Name(row.Platform) == platform.ERP && c.Request.Method != http.MethodGet {
		// A hub edit would be pushed to nowhere (the ERP integration only pulls): read-only here.
		return row, newError(http.StatusConflict, CodeConflict, "the ERP connector's records are read here; "+
			"change them through "+ConnectorsBase+"/erp/…")
	}
	return row, nil
}

func (s *Server) listContents(c *gin.Context) {
	row, err := s.contentIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.ContentRow, error) {
		return s.store.ListContents(c.Request.Context(), row.ID, p)
	}, newContentView)
}

// createContent stores content made in the hub: no external id yet, dirty until pushed.
func (s *Server) createContent(c *gin.Context) {
	row, err := s.contentIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var req ContentRequest
	if err := decodeCapped(c, maxContentRequest, &req); err != nil {
		writeError(c, err)
		return
	}
	content := schema.ContentRow{IntegrationID: row.ID, ClientID: row.ClientID, Status: defaultContentStatus, Dirty: true}
	if err := req.apply(&content, true); err != nil {
		writeError(c, err)
		return
	}
	content.ContentHash = contentHash(content)
	created, err := s.store.CreateContent(c.Request.Context(), content)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusCreated, newContentDetail(created))
}

func (s *Server) getContent(c *gin.Context) {
	content, err := s.ownContent(c)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newContentDetail(content))
}

// updateContent edits title, body or status; the store marks the item dirty when its hash
// changed. Content the site deleted cannot be edited (409).
func (s *Server) updateContent(c *gin.Context) {
	current, err := s.ownContent(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var req ContentRequest
	if err := decodeCapped(c, maxContentRequest, &req); err != nil {
		writeError(c, err)
		return
	}
	if req.ContentType != nil && *req.ContentType != current.ContentType {
		writeError(c, fieldError("content_type", "cannot be changed; create another item"))
		return
	}
	updated, err := s.store.UpdateContent(c.Request.Context(), current.ID, func(r *schema.ContentRow) error {
		if r.IntegrationID != current.IntegrationID {
			return errNoContentItem
		}
		if r.DeletedAt != nil {
			return newError(http.StatusConflict, CodeConflict, "the content was deleted at the site")
		}
		if err := req.apply(r, false); err != nil {
			return err
		}
		r.ContentHash = contentHash(*r)
		return nil
	})
	if err != nil {
		writeError(c, notFoundAs(err, "content"))
		return
	}
	writeData(c, http.StatusOK, newContentDetail(updated))
}

// ownContent reads the content :content_id names, of the caller's site integration :id.
// validContentID reports whether id can be a content row's id ("cnt_" and a UUID): short,
// UTF-8, no control characters (PostgreSQL refuses a NUL), so anything else is a plain 404.
func validContentID(id string) bool {
	return id != "" && len(id) <= maxContentIDLength && utf8.ValidString(id) && !hasControl(id)
}

func (s *Server) ownContent(c *gin.Context) (schema.ContentRow, error) {
	row, err := s.contentIntegration(c)
	if err != nil {
		return schema.ContentRow{}, err
	}
	id := c.Param("content_id")
	if !validContentID(id) {
		return schema.ContentRow{}, errNoContentItem
	}
	content, err := s.store.GetContent(c.Request.Context(), id)
	switch {
	case err != nil:
		return content, notFoundAs(err, "content")
	case content.IntegrationID != row.ID:
		return schema.ContentRow{}, errNoContentItem
	}
	return content, nil
}

// apply checks the request and sets what it gives on r.
func (req ContentRequest) apply(r *schema.ContentRow, create bool) error {
	problems := map[string]string{}
	switch {
	case req.ContentType != nil:
		if !contentTypePattern.MatchString(*req.ContentType) {
			problems["content_type"] = "a content type such as post, page or product (letters, digits, _ and -, at most 64)"
		}
		r.ContentType = *req.ContentType
	case create:
		problems["content_type"] = "required"
	}
	if req.Title != nil {
		t := *req.Title
		switch {
		case !utf8.ValidString(t) || utf8.RuneCountInString(t) > maxContentTitle:
			problems["title"] = "at most 1000 characters"
		case strings.ContainsFunc(t, unicode.IsControl):
			problems["title"] = "must not contain control characters"
		}
		r.Title = t
	}
	if req.Body != nil {
		b := *req.Body
		switch {
		case len(b) > maxContentBody:
			problems["body"] = "at most 1 MiB"
		case !utf8.ValidString(b) || strings.ContainsRune(b, 0):
			problems["body"] = "must be text without NUL characters"
		}
		r.Body = b
	}
	if req.Status != nil {
		if !contentStatusPattern.MatchString(*req.Status) {
			problems["status"] = "a status such as publish or draft (a-z, 0-9, _ and -, at most 32)"
		}
		r.Status = *req.Status
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}
