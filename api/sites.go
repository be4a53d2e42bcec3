package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// SitesBase is the route of a client's sites.
const SitesBase = IntegrationBase + "/sites"

// Site limits and the shape of a site's api key.
const (
	// SiteKeyPrefix starts every site api key.
	SiteKeyPrefix = "wpk_"
	// siteKeyBytes random bytes make a key's 40 base64url characters.
	siteKeyBytes     = 30
	maxSiteBody      = 16 << 10
	maxSiteURLLength = 2048
	maxSiteIDLength  = 64
	// maxSiteKeyLength bounds a presented key before anything is compared.
	maxSiteKeyLength = 256
)

// errNoSite answers an unknown site and another client's alike, so ids do not leak.
var errNoSite = newError(http.StatusNotFound, CodeNotFound, "no such site")

// errBadSiteKey answers a site's plugin whose site id or api key is wrong, without saying which.
var errBadSiteKey = newError(http.StatusUnauthorized, CodeInvalidCreds, "invalid site id or api key")

func (s *Server) registerSites(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	both(r, http.MethodGet, SitesBase, with(s.listSites)...)
	both(r, http.MethodPost, SitesBase, with(s.createSite)...)
	both(r, http.MethodGet, SitesBase+"/:id", with(s.getSite)...)
	both(r, http.MethodPatch, SitesBase+"/:id", with(s.updateSite)...)
	both(r, http.MethodDelete, SitesBase+"/:id", with(s.deleteSite)...)
	both(r, http.MethodPost, SitesBase+"/:id/rotate_key", with(s.rotateSiteKey)...)
}

// SiteRequest creates (name required) or updates (absent fields kept) a site.
type SiteRequest struct {
	Name *string `json:"name"`
	// URL is the site's address, an absolute http or https URL (optional).
	URL *string `json:"url"`
}

// siteView is a site as its owner reads it, api key included (the seed exposes it).
type siteView struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	APIKey    string    `json:"api_key"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// siteView builds the view; a key that cannot be opened (a retired secret key) shows as "".
func (s *Server) siteView(row schema.SiteRow) siteView {
	v := siteView{ID: row.ID, ClientID: row.ClientID, Name: row.Name, URL: row.URL, CreatedAt: row.CreatedAt,
		UpdatedAt: row.UpdatedAt}
	if s.hub.vault == nil {
		return v
	}
	key, err := s.hub.vault.OpenSiteKey(row.APIKey)
	if err != nil {
		s.logger.Warn("A site's api key cannot be opened", "site_id", row.ID, "error", err.Error())
		return v
	}
	v.APIKey = key
	return v
}

// newSiteKey makes a site api key: the prefix and 40 base64url characters from crypto/rand.
func newSiteKey() (string, error) {
	b := make([]byte, siteKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SiteKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// sealedNewKey makes a key and seals it for the sites table.
func (s *Server) sealedNewKey() (string, error) {
	key, err := newSiteKey()
	if err != nil {
		return "", err
	}
	return s.hub.vault.SealSiteKey(key)
}

// apply checks the request and sets what it gives on row.
func (req SiteRequest) apply(row *schema.SiteRow, create bool) error {
	problems := map[string]string{}
	switch {
	case req.Name != nil:
		if p := nameProblem(*req.Name); p != "" {
			problems["name"] = p
		}
		row.Name = *req.Name
	case create:
		problems["name"] = "required"
	}
	if req.URL != nil {
		if p := siteURLProblem(*req.URL); p != "" {
			problems["url"] = p
		}
		row.URL = *req.URL
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// siteURLProblem checks a site's address: empty, or an absolute http or https URL without
// credentials or fragment.
func siteURLProblem(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if len(v) > maxSiteURLLength || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Fragment != "" {
		return "an absolute http or https URL of at most 2048 characters, without credentials or fragment"
	}
	return ""
}

func (s *Server) listSites(c *gin.Context) {
	who := currentClient(c)
	listed(c, func(p schema.Page) ([]schema.SiteRow, error) {
		return s.store.ListSites(c.Request.Context(), who.ID, p)
	}, s.siteView)
}

func (s *Server) createSite(c *gin.Context) {
	if s.hub.vault == nil {
		writeError(c, errNoVault)
		return
	}
	var req SiteRequest
	if err := decodeCapped(c, maxSiteBody, &req); err != nil {
		writeError(c, err)
		return
	}
	row := schema.SiteRow{ID: uuid.NewString(), ClientID: currentClient(c).ID}
	if err := req.apply(&row, true); err != nil {
		writeError(c, err)
		return
	}
	var err error
	if row.APIKey, err = s.sealedNewKey(); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateSite(c.Request.Context(), row)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusCreated, s.siteView(created))
}

func (s *Server) getSite(c *gin.Context) {
	row, err := s.ownSite(c.Request.Context(), currentClient(c).ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, s.siteView(row))
}

func (s *Server) updateSite(c *gin.Context) {
	var req SiteRequest
	if err := decodeCapped(c, maxSiteBody, &req); err != nil {
		writeError(c, err)
		return
	}
	s.changeSite(c, func(row *schema.SiteRow) error { return req.apply(row, false) })
}

// rotateSiteKey gives the site a new api key; the old one stops working at once.
func (s *Server) rotateSiteKey(c *gin.Context) {
	if s.hub.vault == nil {
		writeError(c, errNoVault)
		return
	}
	sealed, err := s.sealedNewKey()
	if err != nil {
		writeError(c, err)
		return
	}
	s.changeSite(c, func(row *schema.SiteRow) error {
		row.APIKey = sealed
		return nil
	})
}

// changeSite applies change to the caller's site named by :id and answers the site.
func (s *Server) changeSite(c *gin.Context, change func(*schema.SiteRow) error) {
	ctx, who := c.Request.Context(), currentClient(c)
	if _, err := s.ownSite(ctx, who.ID, c.Param("id")); err != nil {
		writeError(c, err)
		return
	}
	row, err := s.store.UpdateSite(ctx, c.Param("id"), func(row *schema.SiteRow) error {
		if row.ClientID != who.ID {
			return errNoSite
		}
		return change(row)
	})
	if err != nil {
		writeError(c, notFoundAs(err, "site"))
		return
	}
	writeData(c, http.StatusOK, s.siteView(row))
}

// deleteSite removes a site and, with it, its integrations, their content and sync history;
// their sync schedules go too.
func (s *Server) deleteSite(c *gin.Context) {
	ctx := c.Request.Context()
	row, err := s.ownSite(ctx, currentClient(c).ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	var integrations []schema.IntegrationRow
	for _, name := range platform.SiteNames {
		in, err := s.store.SiteIntegration(ctx, row.ClientID, row.ID, string(name))
		switch {
		case err == nil:
			integrations = append(integrations, in)
		case !errors.Is(err, schema.ErrNotFound):
			writeError(c, err)
			return
		}
	}
	if err := s.store.DeleteSite(ctx, row.ID); err != nil {
		writeError(c, notFoundAs(err, "site"))
		return
	}
	for _, in := range integrations {
		s.hub.inbound.forget(in.ID)
		s.dropSyncSchedule(c, in)
	}
	writeData(c, http.StatusOK, gin.H{"id": row.ID, "deleted": true})
}

// ownSite reads the client's site id names; an unknown, malformed or another client's id is
// not found.
func (s *Server) ownSite(ctx context.Context, clientID, id string) (schema.SiteRow, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) > maxSiteIDLength {
		return schema.SiteRow{}, errNoSite
	}
	row, err := s.store.GetSite(ctx, id)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return row, errNoSite
	case err != nil:
		return row, err
	case row.ClientID != clientID:
		return schema.SiteRow{}, errNoSite
	}
	return row, nil
}

// siteByKey reads the site id names when key is its api key, compared in constant time;
// errBadSiteKey otherwise, whichever part was wrong.
func (s *Server) siteByKey(ctx context.Context, id, key string) (schema.SiteRow, error) {
	if s.hub.vault == nil {
		return schema.SiteRow{}, errNoVault
	}
	if _, err := uuid.Parse(id); err != nil || len(id) > maxSiteIDLength || key == "" || len(key) > maxSiteKeyLength {
		return schema.SiteRow{}, errBadSiteKey
	}
	row, err := s.store.GetSite(ctx, id)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return schema.SiteRow{}, errBadSiteKey
	case err != nil:
		return schema.SiteRow{}, err
	}
	match, err := s.siteKeyMatches(row, key)
	switch {
	case err != nil:
		return schema.SiteRow{}, err
	case !match:
		return schema.SiteRow{}, errBadSiteKey
	}
	return row, nil
}

// siteKeyMatches compares key with the site's, in constant time.
func (s *Server) siteKeyMatches(site schema.SiteRow, key string) (bool, error) {
	if s.hub.vault == nil {
		return false, errNoVault
	}
	stored, err := s.hub.vault.OpenSiteKey(site.APIKey)
	if err != nil {
		return false, err
	}
	// Digests first: equal lengths, so the comparison tells nothing of the key's length either.
	given, want := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(stored))
	return subtle.ConstantTimeCompare(given[:], want[:]) == 1, nil
}

// siteKeyOf is a site's api key, opened; "" when it cannot be read.
func (s *Server) siteKeyOf(ctx context.Context, siteID string) string {
	if s.hub.vault == nil {
		return ""
	}
	row, err := s.store.GetSite(ctx, siteID)
	if err != nil {
		if !errors.Is(err, schema.ErrNotFound) {
			s.logger.Warn("A site cannot be read", "site_id", siteID, "error", err.Error())
		}
		return ""
	}
	return s.siteView(row).APIKey
}
