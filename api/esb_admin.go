package api

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/schema"
)

func (s *Server) registerAdminESB(g *gin.RouterGroup) {
	g.GET("/esb/registrations", s.listESBRegistrations)
	g.POST("/esb/registrations", s.createESBRegistration)
	g.GET("/esb/registrations/:id", s.getESBRegistration)
	g.PATCH("/esb/registrations/:id", s.updateESBRegistration)
	g.DELETE("/esb/registrations/:id", s.deleteESBRegistration)
}

// maxESBCodeLength bounds api_code and push_code (the table's check).
const maxESBCodeLength = 200

// ESBRegistrationSpec is the body of a registration's create or update. On update, absent
// fields are kept; channel_id "" makes the registration global.
type ESBRegistrationSpec struct {
	Organization *string `json:"organization"`
	Name         *string `json:"name"`
	APICode      *string `json:"api_code"`
	PushCode     *string `json:"push_code"`
	// ChannelID binds the registration to one channel; absent, null or "" on create: global.
	ChannelID *string `json:"channel_id"`
	IsActive  *bool   `json:"is_active"`
}

type esbRegistrationView struct {
	ID           string    `json:"id"`
	Organization string    `json:"organization"`
	Name         string    `json:"name"`
	APICode      string    `json:"api_code"`
	PushCode     string    `json:"push_code"`
	ChannelID    *string   `json:"channel_id"`
	IsActive     bool      `json:"is_active"`
	IsDemo       bool      `json:"is_demo"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func newESBRegistrationView(r schema.ESBRegistrationRow) esbRegistrationView {
	v := esbRegistrationView{ID: r.ID, Organization: r.Organization, Name: r.Name, APICode: r.APICode,
		PushCode: r.PushCode, IsActive: r.IsActive, IsDemo: r.IsDemo, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.ChannelID.Valid {
		v.ChannelID = &r.ChannelID.String
	}
	return v
}

// applyESBRegistration writes spec onto row and checks the result; create requires
// organization and name.
func applyESBRegistration(spec ESBRegistrationSpec, row *schema.ESBRegistrationRow, create bool) error {
	if create {
		row.IsActive = true
		switch {
		case spec.Organization == nil:
			return fieldError("organization", "required")
		case spec.Name == nil:
			return fieldError("name", "required")
		}
	}
	if spec.Organization != nil {
		if !organizationPattern.MatchString(*spec.Organization) {
			return fieldError("organization", "must be 1 to 100 letters, digits, '.', '_', ':' or '-'")
		}
		row.Organization = *spec.Organization
	}
	if spec.Name != nil {
		if *spec.Name == "" {
			return fieldError("name", "must not be empty")
		}
		if msg := textProblem(*spec.Name, maxNameLength); msg != "" {
			return fieldError("name", msg)
		}
		row.Name = *spec.Name
	}
	for _, code := range []struct {
		field string
		value *string
		dst   *string
	}{{"api_code", spec.APICode, &row.APICode}, {"push_code", spec.PushCode, &row.PushCode}} {
		if code.value == nil {
			continue
		}
		if msg := textProblem(*code.value, maxESBCodeLength); msg != "" {
			return fieldError(code.field, msg)
		}
		*code.dst = *code.value
	}
	if row.APICode == "" && row.PushCode == "" {
		return fieldError("api_code", "a registration needs an api_code, a push_code or both")
	}
	if spec.ChannelID != nil {
		row.ChannelID = sql.NullString{}
		if *spec.ChannelID != "" {
			if _, err := uuid.Parse(*spec.ChannelID); err != nil {
				return fieldError("channel_id", "must be a channel's id, or empty for a global registration")
			}
			row.ChannelID = sql.NullString{String: *spec.ChannelID, Valid: true}
		}
	}
	if spec.IsActive != nil {
		row.IsActive = *spec.IsActive
	}
	return nil
}

func (s *Server) listESBRegistrations(c *gin.Context) {
	org := c.Query("organization")
	if org != "" && !organizationPattern.MatchString(org) {
		writeError(c, fieldError("organization", "must be 1 to 100 letters, digits, '.', '_', ':' or '-'"))
		return
	}
	listed(c, func(p schema.Page) ([]schema.ESBRegistrationRow, error) {
		return s.store.ListESBRegistrations(c.Request.Context(), org, p)
	}, newESBRegistrationView)
}

func (s *Server) getESBRegistration(c *gin.Context) {
	id, ok := esbRegistrationID(c)
	if !ok {
		return
	}
	row, err := s.store.GetESBRegistration(c.Request.Context(), id)
	if err != nil {
		writeError(c, notFoundAs(err, "ESB registration"))
		return
	}
	writeData(c, http.StatusOK, newESBRegistrationView(row))
}

func (s *Server) createESBRegistration(c *gin.Context) {
	var spec ESBRegistrationSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	var row schema.ESBRegistrationRow
	if err := applyESBRegistration(spec, &row, true); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateESBRegistration(c.Request.Context(), row)
	if err != nil {
		writeError(c, esbRegistrationWriteError(err))
		return
	}
	s.esb.invalidate()
	writeData(c, http.StatusCreated, newESBRegistrationView(created))
}

func (s *Server) updateESBRegistration(c *gin.Context) {
	id, ok := esbRegistrationID(c)
	if !ok {
		return
	}
	var spec ESBRegistrationSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	row, err := s.store.UpdateESBRegistration(c.Request.Context(), id, func(row *schema.ESBRegistrationRow) error {
		return applyESBRegistration(spec, row, false)
	})
	if err != nil {
		writeError(c, esbRegistrationWriteError(notFoundAs(err, "ESB registration")))
		return
	}
	s.esb.invalidate()
	writeData(c, http.StatusOK, newESBRegistrationView(row))
}

// deleteESBRegistration removes the registration and answers with what it was.
func (s *Server) deleteESBRegistration(c *gin.Context) {
	id, ok := esbRegistrationID(c)
	if !ok {
		return
	}
	row, err := s.store.DeleteESBRegistration(c.Request.Context(), id)
	if err != nil {
		writeError(c, notFoundAs(err, "ESB registration"))
		return
	}
	s.esb.invalidate()
	writeData(c, http.StatusOK, newESBRegistrationView(row))
}

// esbRegistrationID reads the :id parameter; anything but a uuid is a registration that does
// not exist.
func esbRegistrationID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(c, newError(http.StatusNotFound, CodeNotFound, "no such ESB registration"))
		return "", false
	}
	return id, true
}

func esbRegistrationWriteError(err error) error {
	if errors.Is(err, schema.ErrReference) {
		return fieldError("channel_id", "no channel has this id")
	}
	return conflictAs(err, "organization",
		"the organization already has a registration for this channel (or a global one, without a channel)")
}

// The demo ESB registration: the demo organization on the "<prefix> ESB Citizens" channel
// (seeded with it, on the echo mediator), with both codes.
const (
	demoESBChannel  = " ESB Citizens"
	demoESBAPICode  = "DEMO-CITIZEN-LOOKUP"
	demoESBPushCode = "DEMO-CITIZEN-PUSH"
)

// DemoOrganization is the demo ESB registration's organization code for a seed config.
func DemoOrganization(cfg SeedConfig) string { return strings.ToUpper(cfg.ClientPrefix) + "-ORG" }

// esbSeedStore is what seeding the demo registration needs beyond SeedStore; a seed store
// without it (a test fake) seeds none.
type esbSeedStore interface {
	ListESBRegistrations(ctx context.Context, organization string, page schema.Page) ([]schema.ESBRegistrationRow, error)
	CreateESBRegistration(ctx context.Context, r schema.ESBRegistrationRow) (schema.ESBRegistrationRow, error)
	UpdateESBRegistration(ctx context.Context, id string, change func(*schema.ESBRegistrationRow) error) (schema.ESBRegistrationRow, error)
}

// seedESB writes the demo ESB channel and the demo organization's registration on it, when
// the built-in demo channels and echo mediator are seeded (DEMO_SEED_*_JSON may replace
// them); a second run changes nothing.
func seedESB(ctx context.Context, store SeedStore, cfg SeedConfig) error {
	es, ok := store.(esbSeedStore)
	if !ok || strings.TrimSpace(cfg.ChannelsJSON) != "" {
		return nil
	}
	echo := cfg.MediatorPrefix + ":echo"
	if _, err := store.GetMediator(ctx, echo); err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return nil
		}
		return err
	}
	s := func(v string) *string { return &v }
	b := func(v bool) *bool { return &v }
	n := func(v int) *int { return &v }
	attempts, initial, maxInterval, coef := 3, "500ms", "5s", 2.0
	spec := ChannelSpec{Name: s(cfg.ChannelPrefix + demoESBChannel),
		Description: s("Relayed through the National ESB for the X-Organization named"),
		PathPattern: s("/integrations/citizens"), Methods: &[]string{"POST"}, RequiresRequestBody: b(true),
		RequestContentType: s("application/json"), RequestBodyExample: s(`{"nin":"19900101-00001-00001-11"}`),
		ChannelType: s("http"), Priority: n(10), IsActive: b(true), MediatorURN: s(echo),
		RetryPolicy: &RetryPolicySpec{MaxAttempts: &attempts, InitialInterval: &initial, BackoffCoefficient: &coef,
			MaxInterval: &maxInterval}}
	if err := seedChannel(ctx, store, spec); err != nil {
		return fmt.Errorf("seeding channel %s: %w", *spec.Name, err)
	}
	ch, err := store.GetChannelByName(ctx, *spec.Name)
	if err != nil {
		return err
	}
	org := DemoOrganization(cfg)
	want := schema.ESBRegistrationRow{Organization: org, Name: "Demo Organization (National ESB)",
		APICode: demoESBAPICode, PushCode: demoESBPushCode, ChannelID: sql.NullString{String: ch.ID, Valid: true},
		IsActive: true, IsDemo: true}
	existing, err := es.ListESBRegistrations(ctx, org, schema.Page{Limit: 100})
	if err != nil {
		return err
	}
	for _, r := range existing {
		if r.ChannelID == want.ChannelID {
			_, err := es.UpdateESBRegistration(ctx, r.ID, func(row *schema.ESBRegistrationRow) error {
				want.ID, want.CreatedAt = row.ID, row.CreatedAt
				*row = want
				return nil
			})
			return err
		}
	}
	_, err = es.CreateESBRegistration(ctx, want)
	return err
}
