package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func (s *Server) registerAdmin(g *gin.RouterGroup) {
	g.GET("/clients", s.listClients)
	g.POST("/clients", s.createClient)
	g.GET("/clients/:client_id", s.getClient)
	g.PATCH("/clients/:client_id", s.updateClient)
	g.DELETE("/clients/:client_id", s.deactivateClient)
	g.POST("/clients/:client_id/secret", s.rotateSecret)

	g.GET("/mediators", s.listMediators)
	g.POST("/mediators", s.createMediator)
	g.GET("/mediators/:urn", s.getMediator)
	g.PATCH("/mediators/:urn", s.updateMediator)
	g.DELETE("/mediators/:urn", s.deactivateMediator)

	g.GET("/channels", s.listChannels)
	g.POST("/channels", s.createChannel)
	g.GET("/channels/:id", s.getChannel)
	g.PATCH("/channels/:id", s.updateChannel)
	g.DELETE("/channels/:id", s.deactivateChannel)

	g.GET("/transactions", s.listTransactions)
	g.GET("/transactions/:id", s.getTransaction)
	g.POST("/transactions/:id/signals/:signal", s.signalTransaction)
	g.GET("/transactions/:id/audit", s.transactionAudit)
	s.registerRerun(g)
}

// --- views --------------------------------------------------------------------------------

type clientView struct {
	ClientID           string    `json:"client_id"`
	Name               string    `json:"name"`
	ClientSecret       string    `json:"client_secret,omitempty"` // only when just set
	AllowedIPs         []string  `json:"allowed_ips"`
	Permissions        []string  `json:"permissions"`
	Roles              []string  `json:"roles"`
	RateLimitPerMinute int       `json:"rate_limit_per_minute"`
	IsActive           bool      `json:"is_active"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func newClientView(r schema.ClientRow) clientView {
	return clientView{ClientID: r.ClientID, Name: r.Name, AllowedIPs: nonNil(r.AllowedIPs),
		Permissions: nonNil(r.Permissions), Roles: nonNil(r.Roles), RateLimitPerMinute: r.RateLimitPerMinute,
		IsActive: r.IsActive, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type mediatorView struct {
	URN           string     `json:"urn"`
	Name          string     `json:"name"`
	Version       string     `json:"version"`
	EndpointURL   string     `json:"endpoint_url"`
	IsOnline      bool       `json:"is_online"`
	LastHeartbeat *time.Time `json:"last_heartbeat,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func newMediatorView(r schema.MediatorRow) mediatorView {
	v := mediatorView{URN: r.URN, Name: r.Name, Version: r.Version, EndpointURL: r.EndpointURL,
		IsOnline: r.IsOnline, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.LastHeartbeat.Valid {
		v.LastHeartbeat = &r.LastHeartbeat.Time
	}
	return v
}

type retryPolicyView struct {
	MaxAttempts        int     `json:"max_attempts"`
	InitialInterval    string  `json:"initial_interval"`
	BackoffCoefficient float64 `json:"backoff_coefficient"`
	MaxInterval        string  `json:"max_interval"`
}

type channelView struct {
	ID                    string          `json:"id"`
	Name                  string          `json:"name"`
	Description           string          `json:"description"`
	PathPattern           string          `json:"path_pattern"`
	Methods               []string        `json:"methods"`
	Priority              int             `json:"priority"`
	RequiresRequestBody   bool            `json:"requires_request_body"`
	RequestContentType    string          `json:"request_content_type"`
	RequestBodyExample    string          `json:"request_body_example"`
	ChannelType           string          `json:"channel_type"`
	Kind                  string          `json:"kind"`
	MediatorURN           string          `json:"mediator_urn"`
	Timeout               string          `json:"timeout"`
	RetryPolicy           retryPolicyView `json:"retry_policy"`
	HonoursIdempotencyKey bool            `json:"honours_idempotency_key"`
	EscalateOnFailure     bool            `json:"escalate_on_failure"`
	AutoRetry             autoRetryView   `json:"auto_retry"`
	AllowedClients        []string        `json:"allowed_clients"`
	AllowedRoles          []string        `json:"allowed_roles"`
	IsActive              bool            `json:"is_active"`
	CreatedAt             time.Time       `json:"created_at"`
	UpdatedAt             time.Time       `json:"updated_at"`
}

func newChannelView(r schema.ChannelRow) channelView {
	ms := func(n int) string { return (time.Duration(n) * time.Millisecond).String() }
	timeout := ""
	if r.TimeoutMS > 0 {
		timeout = ms(r.TimeoutMS)
	}
	return channelView{ID: r.ID, Name: r.Name, Description: r.Description, PathPattern: r.PathPattern,
		Methods: nonNil(r.Methods), Priority: r.Priority, RequiresRequestBody: r.RequiresRequestBody,
		RequestContentType: r.RequestContentType, RequestBodyExample: r.RequestBodyExample,
		ChannelType: r.ChannelType, Kind: r.Kind, MediatorURN: r.MediatorURN, Timeout: timeout,
		RetryPolicy: retryPolicyView{MaxAttempts: r.RetryMaxAttempts, InitialInterval: ms(r.RetryInitialIntervalMS),
			BackoffCoefficient: r.RetryBackoffCoefficient, MaxInterval: ms(r.RetryMaxIntervalMS)},
		HonoursIdempotencyKey: r.HonoursIdempotencyKey, EscalateOnFailure: r.EscalateOnFailure,
		AutoRetry:      autoRetryView{Interval: ms(r.AutoRetryIntervalMS), Max: r.AutoRetryMax},
		AllowedClients: nonNil(r.AllowedClients), AllowedRoles: nonNil(r.AllowedRoles), IsActive: r.IsActive,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// autoRetryView is a channel's auto_retry: max 0 is off.
type autoRetryView struct {
	Interval string `json:"interval"`
	Max      int    `json:"max"`
}

// adminTransactionView adds the recorded request to what clients see.
type adminTransactionView struct {
	transactionView
	Request requestView `json:"request"`
}

type requestView struct {
	Query         string              `json:"query"`
	Headers       map[string][]string `json:"headers"`
	Body          string              `json:"body"`
	BodyEncoding  string              `json:"body_encoding,omitempty"`
	BodySize      int                 `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated"`
	BodyMasked    bool                `json:"body_masked,omitempty"`
}

func newAdminTransactionView(r schema.TransactionRow) adminTransactionView {
	body := newResponseView(0, r.RequestHeaders, r.RequestBody, r.RequestBodyTruncated)
	return adminTransactionView{transactionView: newTransactionView(r), Request: requestView{Query: r.Query,
		Headers: body.Headers, Body: body.Body, BodyEncoding: body.BodyEncoding, BodySize: r.RequestBodySize,
		BodyTruncated: r.RequestBodyTruncated, BodyMasked: r.RequestBodyMasked}}
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

// --- paging -------------------------------------------------------------------------------

// Every listing pages the same way (seed 003): ?limit (1 to 1000, default 100) and either
// ?offset or ?starting_after, the id of the last item of the previous page (a cursor, as
// Stripe's: the page goes on after that row in the listing's order, so rows added or removed
// meanwhile shift nothing). The answer carries has_more and next_page (the cursor of the next
// page, null after the last) at its top level, and again in metadata with next_url, the next
// page's ready-made path and query.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
	maxPageOffset    = 1_000_000
	// maxCursorLength bounds starting_after: every key a listing pages by is shorter.
	maxCursorLength = 256
)

// pageKeyed is a row a listing answers: its PageKey is the id clients pass back as
// starting_after (schema's listed rows have one).
type pageKeyed interface{ PageKey() string }

// pageEnvelope is the body of a listing's answer.
type pageEnvelope struct {
	Success  bool         `json:"success"`
	Data     any          `json:"data"`
	HasMore  bool         `json:"has_more"`
	NextPage *string      `json:"next_page"`
	Metadata pageMetadata `json:"metadata"`
}

// pageMetadata repeats has_more and next_page for clients that read them there.
type pageMetadata struct {
	Limit         int     `json:"limit"`
	Offset        int     `json:"offset"`
	StartingAfter string  `json:"starting_after,omitempty"`
	HasMore       bool    `json:"has_more"`
	NextPage      *string `json:"next_page"`
	// NextURL is the path and query of the next page (starting_after set, offset dropped).
	NextURL *string `json:"next_url"`
}

// pageParams reads limit, offset and starting_after (never both of the last two). The store
// is asked for one row more than the limit (listed does that) so has_more needs no count.
func pageParams(c *gin.Context) (schema.Page, error) {
	page := schema.Page{Limit: defaultPageLimit}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return page, fieldError("limit", fmt.Sprintf("must be 1 to %d", maxPageLimit))
		}
		page.Limit = n
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxPageOffset {
			return page, fieldError("offset", fmt.Sprintf("must be 0 to %d", maxPageOffset))
		}
		page.Offset = n
	}
	if _, given := c.GetQuery("starting_after"); given {
		page.After = c.Query("starting_after")
		switch {
		case page.After == "" || len(page.After) > maxCursorLength || !utf8.ValidString(page.After) || hasControl(page.After):
			return page, fieldError("starting_after", fmt.Sprintf("must be the id of an item of this listing (at most %d characters)", maxCursorLength))
		case c.Query("offset") != "":
			return page, fieldError("starting_after", "cannot be combined with offset: page by one or the other")
		}
	}
	return page, nil
}

// writePage answers a page of rows read with one row more than page.Limit: that extra row
// only says there is more. next_page is the key of the last row answered.
func writePage[R pageKeyed, V any](c *gin.Context, page schema.Page, rows []R, view func(R) V) {
	meta := pageMetadata{Limit: page.Limit, Offset: page.Offset, StartingAfter: page.After,
		HasMore: len(rows) > page.Limit}
	if meta.HasMore {
		rows = rows[:page.Limit]
		next := rows[len(rows)-1].PageKey()
		q := c.Request.URL.Query()
		q.Set("limit", strconv.Itoa(page.Limit))
		q.Del("offset")
		q.Set("starting_after", next)
		url := c.Request.URL.Path + "?" + q.Encode()
		meta.NextPage, meta.NextURL = &next, &url
	}
	out := make([]V, 0, len(rows))
	for _, r := range rows {
		out = append(out, view(r))
	}
	c.JSON(http.StatusOK, pageEnvelope{Success: true, Data: out, HasMore: meta.HasMore, NextPage: meta.NextPage,
		Metadata: meta})
}

// listed answers a listing: it reads the page parameters, runs list with one extra row for
// has_more, and writes the page through view. An unknown or out-of-scope starting_after
// (schema.ErrBadCursor) is a 400 on that field.
func listed[R pageKeyed, V any](c *gin.Context, list func(schema.Page) ([]R, error), view func(R) V) {
	page, err := pageParams(c)
	if err != nil {
		writeError(c, err)
		return
	}
	rows, err := list(schema.Page{Limit: page.Limit + 1, Offset: page.Offset, After: page.After})
	if err != nil {
		writeError(c, err)
		return
	}
	writePage(c, page, rows, view)
}

// --- clients ------------------------------------------------------------------------------

func (s *Server) listClients(c *gin.Context) {
	listed(c, func(p schema.Page) ([]schema.ClientRow, error) { return s.store.ListClients(c.Request.Context(), p) },
		newClientView)
}

func (s *Server) getClient(c *gin.Context) {
	row, err := s.store.GetClient(c.Request.Context(), c.Param("client_id"))
	if err != nil {
		writeError(c, notFoundAs(err, "client"))
		return
	}
	writeData(c, http.StatusOK, newClientView(row))
}

func (s *Server) createClient(c *gin.Context) {
	var spec ClientSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	var row schema.ClientRow
	if err := applyClient(spec, &row, true); err != nil {
		writeError(c, err)
		return
	}
	secret, err := secretFor(spec.ClientSecret)
	if err == nil {
		row.SecretHash, err = HashSecret(secret)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateClient(c.Request.Context(), row)
	if err != nil {
		writeError(c, conflictAs(err, "client_id", "a client with this client_id already exists"))
		return
	}
	view := newClientView(created)
	view.ClientSecret = secret
	writeData(c, http.StatusCreated, view)
}

func (s *Server) updateClient(c *gin.Context) {
	var spec ClientSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	var secret string
	if spec.ClientSecret != nil {
		secret = *spec.ClientSecret
	}
	s.changeClient(c, func(row *schema.ClientRow) error {
		if err := applyClient(spec, row, false); err != nil {
			return err
		}
		if secret != "" {
			hash, err := HashSecret(secret)
			if err != nil {
				return err
			}
			row.SecretHash = hash
		}
		return nil
	}, "")
}

func (s *Server) deactivateClient(c *gin.Context) {
	s.changeClient(c, func(row *schema.ClientRow) error { row.IsActive = false; return nil }, "")
}

// rotateSecret sets a new secret (given, or generated) and returns it once.
func (s *Server) rotateSecret(c *gin.Context) {
	var spec struct {
		ClientSecret *string `json:"client_secret"`
	}
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
			writeError(c, err)
			return
		}
	}
	if err := applyClient(ClientSpec{ClientSecret: spec.ClientSecret}, &schema.ClientRow{}, false); err != nil {
		writeError(c, err)
		return
	}
	secret, err := secretFor(spec.ClientSecret)
	if err != nil {
		writeError(c, err)
		return
	}
	hash, err := HashSecret(secret)
	if err != nil {
		writeError(c, err)
		return
	}
	s.changeClient(c, func(row *schema.ClientRow) error { row.SecretHash = hash; return nil }, secret)
}

func (s *Server) changeClient(c *gin.Context, change func(*schema.ClientRow) error, secret string) {
	id := c.Param("client_id")
	row, err := s.store.UpdateClient(c.Request.Context(), id, change)
	if err != nil {
		writeError(c, notFoundAs(err, "client"))
		return
	}
	s.auth.forget(id)
	view := newClientView(row)
	view.ClientSecret = secret
	writeData(c, http.StatusOK, view)
}

// HashSecret bcrypt-hashes a client secret for storage.
func HashSecret(secret string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
	if err != nil {
		return "", fieldError("client_secret", err.Error())
	}
	return string(hash), nil
}

// secretFor returns the given secret or a new random one (32 bytes, base64url).
func secretFor(given *string) (string, error) {
	if given != nil {
		return *given, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// --- mediators ----------------------------------------------------------------------------

func (s *Server) listMediators(c *gin.Context) {
	listed(c, func(p schema.Page) ([]schema.MediatorRow, error) {
		return s.store.ListMediators(c.Request.Context(), p)
	}, newMediatorView)
}

func (s *Server) getMediator(c *gin.Context) {
	row, err := s.store.GetMediator(c.Request.Context(), c.Param("urn"))
	if err != nil {
		writeError(c, notFoundAs(err, "mediator"))
		return
	}
	writeData(c, http.StatusOK, newMediatorView(row))
}

func (s *Server) createMediator(c *gin.Context) {
	var spec MediatorSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	var row schema.MediatorRow
	if err := applyMediator(spec, &row, true); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateMediator(c.Request.Context(), row)
	if err != nil {
		writeError(c, conflictAs(err, "urn", "a mediator with this urn already exists"))
		return
	}
	s.routes.invalidate()
	writeData(c, http.StatusCreated, newMediatorView(created))
}

func (s *Server) updateMediator(c *gin.Context) {
	var spec MediatorSpec
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	s.changeMediator(c, func(row *schema.MediatorRow) error { return applyMediator(spec, row, false) })
}

func (s *Server) deactivateMediator(c *gin.Context) {
	s.changeMediator(c, func(row *schema.MediatorRow) error { row.IsOnline = false; return nil })
}

func (s *Server) changeMediator(c *gin.Context, change func(*schema.MediatorRow) error) {
	row, err := s.store.UpdateMediator(c.Request.Context(), c.Param("urn"), change)
	if err != nil {
		writeError(c, notFoundAs(err, "mediator"))
		return
	}
	s.routes.invalidate()
	writeData(c, http.StatusOK, newMediatorView(row))
}

// --- channels -----------------------------------------------------------------------------

func (s *Server) listChannels(c *gin.Context) {
	listed(c, func(p schema.Page) ([]schema.ChannelRow, error) {
		return s.store.ListChannels(c.Request.Context(), p)
	}, newChannelView)
}

func (s *Server) getChannel(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(c, newError(http.StatusNotFound, CodeNotFound, "no such channel"))
		return
	}
	row, err := s.store.GetChannel(c.Request.Context(), id)
	if err != nil {
		writeError(c, notFoundAs(err, "channel"))
		return
	}
	writeData(c, http.StatusOK, newChannelView(row))
}

func (s *Server) createChannel(c *gin.Context) {
	var spec channelRequest
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	var row schema.ChannelRow
	if err := spec.apply(&row, true); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateChannel(c.Request.Context(), row)
	if err != nil {
		writeError(c, channelWriteError(err))
		return
	}
	s.routes.invalidate()
	writeData(c, http.StatusCreated, newChannelView(created))
}

func (s *Server) updateChannel(c *gin.Context) {
	var spec channelRequest
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &spec); err != nil {
		writeError(c, err)
		return
	}
	s.changeChannel(c, func(row *schema.ChannelRow) error { return spec.apply(row, false) })
}

// channelRequest is a channel create or update body: ChannelSpec and the channel's auto_retry.
type channelRequest struct {
	ChannelSpec
	AutoRetry *AutoRetrySpec `json:"auto_retry"`
}

// AutoRetrySpec reruns a failed transaction of the channel after interval (a Go duration, at
// most a day), at most max times along its chain (0 to 10; 0 turns it off).
type AutoRetrySpec struct {
	Interval *string `json:"interval"`
	Max      *int    `json:"max"`
}

// maxAutoRetries bounds a channel's auto_retry max.
const maxAutoRetries = 10

func (r channelRequest) apply(row *schema.ChannelRow, creating bool) error {
	if err := applyChannel(r.ChannelSpec, row, creating); err != nil {
		return err
	}
	if r.AutoRetry == nil {
		return nil
	}
	if r.AutoRetry.Interval != nil {
		ms, err := durationMS("auto_retry.interval", *r.AutoRetry.Interval, 24*time.Hour)
		if err != nil {
			return err
		}
		row.AutoRetryIntervalMS = ms
	}
	if m := r.AutoRetry.Max; m != nil {
		if *m < 0 || *m > maxAutoRetries {
			return fieldError("auto_retry.max", fmt.Sprintf("must be 0 (off) to %d", maxAutoRetries))
		}
		row.AutoRetryMax = *m
	}
	return nil
}

func (s *Server) deactivateChannel(c *gin.Context) {
	s.changeChannel(c, func(row *schema.ChannelRow) error { row.IsActive = false; return nil })
}

func (s *Server) changeChannel(c *gin.Context, change func(*schema.ChannelRow) error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		writeError(c, newError(http.StatusNotFound, CodeNotFound, "no such channel"))
		return
	}
	row, err := s.store.UpdateChannel(c.Request.Context(), id, change)
	if err != nil {
		writeError(c, channelWriteError(notFoundAs(err, "channel")))
		return
	}
	s.routes.invalidate()
	writeData(c, http.StatusOK, newChannelView(row))
}

func channelWriteError(err error) error {
	if errors.Is(err, schema.ErrReference) {
		return fieldError("mediator_urn", "no mediator has this urn")
	}
	return conflictAs(err, "name", "a channel with this name already exists")
}

// --- transactions -------------------------------------------------------------------------

func (s *Server) listTransactions(c *gin.Context) {
	filter := schema.TransactionFilter{ClientID: c.Query("client_id"), Status: c.Query("status"),
		ParentID: c.Query("parent_id"), Kind: c.Query("kind"), Operation: c.Query("operation")}
	if filter.Kind != "" && !slices.Contains(transaction.Kinds, filter.Kind) {
		writeError(c, fieldError("kind", "must be one of "+strings.Join(transaction.Kinds, ", ")))
		return
	}
	if len(filter.Operation) > 64 {
		writeError(c, fieldError("operation", "too long"))
		return
	}
	if filter.Status != "" && !validStatus(filter.Status) {
		writeError(c, fieldError("status", "must be one of pending, processing, successful, failed, escalated, resolved, reversed"))
		return
	}
	if filter.ParentID != "" {
		if _, err := uuid.Parse(filter.ParentID); err != nil {
			writeError(c, fieldError("parent_id", "must be a correlation id"))
			return
		}
	}
	if len(filter.ClientID) > maxClientIDLength {
		writeError(c, fieldError("client_id", "too long"))
		return
	}
	listed(c, func(p schema.Page) ([]schema.TransactionRow, error) {
		return s.store.ListTransactions(c.Request.Context(), filter, p)
	}, newAdminTransactionView)
}

func (s *Server) getTransaction(c *gin.Context) {
	row, err := s.anyTransaction(c)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newAdminTransactionView(row))
}

func (s *Server) anyTransaction(c *gin.Context) (schema.TransactionRow, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return schema.TransactionRow{}, errNoTransaction
	}
	row, err := s.store.GetTransaction(c.Request.Context(), id)
	return row, notFoundAs(err, "transaction")
}

// signalTransaction sends retry, resolve or abort to an escalated transaction: the same signals
// as `temporal workflow signal`, for operators without the CLI.
func (s *Server) signalTransaction(c *gin.Context) {
	name := c.Param("signal")
	if name != workflows.SignalRetry && name != workflows.SignalResolve && name != workflows.SignalAbort {
		writeError(c, fieldError("signal", "must be retry, resolve or abort"))
		return
	}
	var sig workflows.OperatorSignal
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &sig); err != nil {
			writeError(c, err)
			return
		}
		if len(sig.Note) > maxTextLength || len(sig.By) > 200 {
			writeError(c, fieldError("note", "note must be at most 10000 and by at most 200 characters"))
			return
		}
	}
	row, err := s.anyTransaction(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if row.Status != transaction.StatusEscalated {
		writeError(c, newError(http.StatusConflict, CodeNotEscalated,
			"transaction is "+row.Status+": only an escalated transaction takes operator signals"))
		return
	}
	workflowID, runID := runOf(row)
	if err := s.temporal.SignalWorkflow(c.Request.Context(), workflowID, runID, name, sig); err != nil {
		writeError(c, notFoundAs(err, "transaction workflow"))
		return
	}
	writeData(c, http.StatusAccepted, gin.H{"correlation_id": row.CorrelationID, "signal": name,
		"status_url": statusURL(row.CorrelationID)})
}

// auditView is one provider attempt.
type auditView struct {
	// ID orders the attempts; it is the cursor (starting_after) of the next page.
	ID        int64     `json:"id"`
	Issuer    string    `json:"issuer"`
	Operation string    `json:"operation"`
	Method    string    `json:"method"`
	Host      string    `json:"host"`
	Path      string    `json:"path"`
	Status    *int32    `json:"status,omitempty"`
	Outcome   string    `json:"outcome"`
	LatencyMS float64   `json:"latency_ms"`
	Attempt   int       `json:"attempt"`
	At        time.Time `json:"at"`
}

func newAuditView(r schema.ProviderAuditRow) auditView {
	v := auditView{ID: r.ID, Issuer: r.Issuer, Operation: r.Operation, Method: r.Method, Host: r.Host, Path: r.Path,
		Outcome: r.Outcome, LatencyMS: r.LatencyMS, Attempt: r.Attempt, At: r.CreatedAt}
	if r.Status.Valid {
		v.Status = &r.Status.Int32
	}
	return v
}

// transactionAudit pages through the provider attempts of an operation, oldest first.
func (s *Server) transactionAudit(c *gin.Context) {
	row, err := s.anyTransaction(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.ProviderAuditRow, error) {
		return s.store.ListProviderAudit(c.Request.Context(), row.CorrelationID, p)
	}, newAuditView)
}

func validStatus(s string) bool { return slices.Contains(transaction.Statuses, s) }

// notFoundAs names what was not found.
func notFoundAs(err error, what string) error {
	if err != nil && toError(err).Status == http.StatusNotFound {
		return newError(http.StatusNotFound, CodeNotFound, "no such "+what)
	}
	return err
}

// conflictAs names the field whose value is taken.
func conflictAs(err error, field, msg string) error {
	if errors.Is(err, schema.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: msg, Details: map[string]any{"field": field}}
	}
	return err
}
