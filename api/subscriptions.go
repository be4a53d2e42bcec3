package api

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// Subscription limits.
const (
	maxSubscriptionURL        = 2048
	maxSubscriptionEventTypes = 32
	maxSubscriptionDesc       = 1000
	maxSubscriptionBody       = 16 << 10
)

// EventTypes are the event types the hub emits to subscriptions.
var EventTypes = []string{platform.EventMessageReceived, platform.EventEventReceived, platform.EventMessageSent,
	platform.EventMessageFailed}

// eventPrefixPattern is a prefix subscription: dotted lowercase words and ".*".
var eventPrefixPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*\.\*$`)

func (s *Server) registerSubscriptions(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	both(r, http.MethodGet, SubscriptionsBase, with(s.listSubscriptions)...)
	both(r, http.MethodPost, SubscriptionsBase, with(s.createSubscription)...)
	both(r, http.MethodGet, SubscriptionsBase+"/:id", with(s.getSubscription)...)
	both(r, http.MethodPatch, SubscriptionsBase+"/:id", with(s.updateSubscription)...)
	both(r, http.MethodDelete, SubscriptionsBase+"/:id", with(s.deleteSubscription)...)
}

// SubscriptionRequest creates (url and event_types required) or updates (absent fields kept) a
// subscription.
type SubscriptionRequest struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Description *string   `json:"description"`
	// IsActive re-enables a disabled subscription (clearing its run of failures) or disables it;
	// updates only.
	IsActive *bool `json:"is_active"`
	// RotateSecret replaces the signing secret; the new one is in the answer, once. Updates only.
	RotateSecret bool `json:"rotate_secret"`
}

// subscriptionView is a subscription as its client reads it. The signing secret appears only
// in the answer that made it.
type subscriptionView struct {
	ID                  string    `json:"id"`
	URL                 string    `json:"url"`
	EventTypes          []string  `json:"event_types"`
	Description         string    `json:"description"`
	Secret              string    `json:"secret,omitempty"`
	IsActive            bool      `json:"is_active"`
	DisabledReason      string    `json:"disabled_reason"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func newSubscriptionView(r schema.SubscriptionRow) subscriptionView {
	return subscriptionView{ID: r.ID, URL: r.URL, EventTypes: nonNil(r.EventTypes), Description: r.Description,
		IsActive: r.IsActive, DisabledReason: r.DisabledReason, ConsecutiveFailures: r.ConsecutiveFailures,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// applySubscription checks the request's fields and sets them on row.
func applySubscription(req SubscriptionRequest, row *schema.SubscriptionRow, create bool) error {
	problems := map[string]string{}
	if create {
		if req.URL == nil {
			problems["url"] = "required"
		}
		if req.EventTypes == nil {
			problems["event_types"] = "required"
		}
		if req.IsActive != nil {
			problems["is_active"] = "only on updates"
		}
		if req.RotateSecret {
			problems["rotate_secret"] = "only on updates"
		}
	}
	if req.URL != nil {
		if p := subscriptionURLProblem(*req.URL); p != "" {
			problems["url"] = p
		} else {
			row.URL = *req.URL
		}
	}
	if req.EventTypes != nil {
		types := *req.EventTypes
		switch {
		case len(types) == 0:
			problems["event_types"] = "must name at least one event type"
		case len(types) > maxSubscriptionEventTypes:
			problems["event_types"] = "must be at most " + strconv.Itoa(maxSubscriptionEventTypes) + " entries"
		}
		for i, t := range types {
			if !validEventType(t) {
				problems["event_types."+strconv.Itoa(i)] = "must be one of " + strings.Join(EventTypes, ", ") +
					", * or a prefix ending in .* (integration.message.*)"
			}
		}
		kept := make([]string, 0, len(types))
		for _, t := range types {
			if !slices.Contains(kept, t) {
				kept = append(kept, t)
			}
		}
		row.EventTypes = pq.StringArray(kept)
	}
	if req.Description != nil {
		switch d := *req.Description; {
		case len([]rune(d)) > maxSubscriptionDesc:
			problems["description"] = "must be at most " + strconv.Itoa(maxSubscriptionDesc) + " characters"
		case strings.ContainsFunc(d, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
			problems["description"] = "must not contain control characters"
		default:
			row.Description = d
		}
	}
	if req.IsActive != nil {
		row.IsActive = *req.IsActive
		if !row.IsActive && row.DisabledReason == "" {
			row.DisabledReason = "disabled by the client"
		}
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

func subscriptionURLProblem(raw string) string {
	if len(raw) > maxSubscriptionURL {
		return "must be at most " + strconv.Itoa(maxSubscriptionURL) + " characters"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute http or https URL"
	}
	if u.User != nil {
		return "must not carry credentials"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	return ""
}

// validEventType reports whether a subscription may name t: an event type, "*", or a prefix
// ending in ".*" that some event type has.
func validEventType(t string) bool {
	if t == "*" || slices.Contains(EventTypes, t) {
		return true
	}
	if !eventPrefixPattern.MatchString(t) {
		return false
	}
	prefix := strings.TrimSuffix(t, "*")
	return slices.ContainsFunc(EventTypes, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

func (s *Server) listSubscriptions(c *gin.Context) {
	who := currentClient(c)
	listed(c, func(p schema.Page) ([]schema.SubscriptionRow, error) {
		return s.store.ListSubscriptions(c.Request.Context(), who.ID, p)
	}, newSubscriptionView)
}

var errNoSubscription = newError(http.StatusNotFound, CodeNotFound, "no such subscription")

// ownSubscription reads the caller's subscription named by :id; another client's is not found.
func (s *Server) ownSubscription(c *gin.Context) (schema.SubscriptionRow, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return schema.SubscriptionRow{}, errNoSubscription
	}
	row, err := s.store.GetSubscription(c.Request.Context(), id)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return row, errNoSubscription
	case err != nil:
		return row, err
	case row.ClientID != currentClient(c).ID:
		return schema.SubscriptionRow{}, errNoSubscription
	}
	return row, nil
}

func (s *Server) getSubscription(c *gin.Context) {
	row, err := s.ownSubscription(c)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newSubscriptionView(row))
}

// createSubscription stores a subscription with a new signing secret, sealed, and shows the
// secret this once.
func (s *Server) createSubscription(c *gin.Context) {
	if s.hub.vault == nil {
		writeError(c, errNoVault)
		return
	}
	var req SubscriptionRequest
	if err := decodeCapped(c, maxSubscriptionBody, &req); err != nil {
		writeError(c, err)
		return
	}
	row := schema.SubscriptionRow{ID: uuid.NewString(), ClientID: currentClient(c).ID, IsActive: true}
	if err := applySubscription(req, &row, true); err != nil {
		writeError(c, err)
		return
	}
	secret, sealed, err := s.newSigningSecret()
	if err != nil {
		writeError(c, err)
		return
	}
	row.Secret = sealed
	created, err := s.store.CreateSubscription(c.Request.Context(), row)
	if err != nil {
		writeError(c, err)
		return
	}
	view := newSubscriptionView(created)
	view.Secret = secret
	writeData(c, http.StatusCreated, view)
}

func (s *Server) newSigningSecret() (secret, sealed string, err error) {
	if secret, err = platform.NewSigningSecret(); err != nil {
		return "", "", err
	}
	sealed, err = s.hub.vault.SealSecret(secret)
	return secret, sealed, err
}

// updateSubscription changes the given fields; rotate_secret answers the new secret once.
func (s *Server) updateSubscription(c *gin.Context) {
	var req SubscriptionRequest
	if err := decodeCapped(c, maxSubscriptionBody, &req); err != nil {
		writeError(c, err)
		return
	}
	if _, err := s.ownSubscription(c); err != nil {
		writeError(c, err)
		return
	}
	var secret, sealed string
	if req.RotateSecret {
		if s.hub.vault == nil {
			writeError(c, errNoVault)
			return
		}
		var err error
		if secret, sealed, err = s.newSigningSecret(); err != nil {
			writeError(c, err)
			return
		}
	}
	who := currentClient(c)
	row, err := s.store.UpdateSubscription(c.Request.Context(), c.Param("id"), func(row *schema.SubscriptionRow) error {
		if row.ClientID != who.ID {
			return errNoSubscription
		}
		if err := applySubscription(req, row, false); err != nil {
			return err
		}
		if sealed != "" {
			row.Secret = sealed
		}
		return nil
	})
	if err != nil {
		writeError(c, notFoundAs(err, "subscription"))
		return
	}
	view := newSubscriptionView(row)
	view.Secret = secret
	writeData(c, http.StatusOK, view)
}

func (s *Server) deleteSubscription(c *gin.Context) {
	row, err := s.ownSubscription(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.store.DeleteSubscription(c.Request.Context(), row.ID); err != nil {
		writeError(c, notFoundAs(err, "subscription"))
		return
	}
	writeData(c, http.StatusOK, gin.H{"id": row.ID, "deleted": true})
}
