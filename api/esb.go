package api

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/singleflight"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Error codes of the ESB relay's routing.
const (
	// CodeOrganizationRequired: the request is relayed through the ESB and names no
	// organization (X-Organization or ?organization=).
	CodeOrganizationRequired = "ORGANIZATION_REQUIRED"
	// CodeOrganizationNotFound: no active registration serves the organization (on this
	// channel, or globally).
	CodeOrganizationNotFound = "ORGANIZATION_NOT_FOUND"
)

// The hub's ESB controls: which organization a request is relayed for, and with which code.
// A relayed request loses them (withoutESBControls); on a channel that does not relay they
// are the client's own header and parameters, and go to the mediator untouched.
const (
	headerOrganization = "X-Organization"
	headerESBMode      = "X-ESB-Mode"
	paramOrganization  = "organization"
	paramESBMode       = "esb_mode"
)

// organizationPattern is what an organization code may look like (the table's check).
var organizationPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// pureESBRetry is the retry policy of MEDIATOR_MODE=pure_esb's relays: they have no channel.
// A relay that reached the engine is retried only for idempotent methods, as a channel's is.
var pureESBRetry = transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2,
	MaxInterval: 10 * time.Second}

// ESBStore is what the ESB relay's routing and admin routes read and write.
type ESBStore interface {
	ActiveESBRegistrations(ctx context.Context) ([]schema.ESBRegistrationRow, error)
	CreateESBRegistration(ctx context.Context, r schema.ESBRegistrationRow) (schema.ESBRegistrationRow, error)
	GetESBRegistration(ctx context.Context, id string) (schema.ESBRegistrationRow, error)
	ListESBRegistrations(ctx context.Context, organization string, page schema.Page) ([]schema.ESBRegistrationRow, error)
	UpdateESBRegistration(ctx context.Context, id string, change func(*schema.ESBRegistrationRow) error) (schema.ESBRegistrationRow, error)
	DeleteESBRegistration(ctx context.Context, id string) (schema.ESBRegistrationRow, error)
}

// esbIndex is the active registrations, indexed as the proxy looks them up.
type esbIndex struct {
	global    map[string]schema.ESBRegistrationRow            // organization → its global registration
	byChannel map[string]map[string]schema.ESBRegistrationRow // channel id → organization → registration
	bound     map[string][]schema.ESBRegistrationRow          // organization → its channel registrations, oldest first
}

func newESBIndex(rows []schema.ESBRegistrationRow) *esbIndex {
	idx := &esbIndex{global: map[string]schema.ESBRegistrationRow{},
		byChannel: map[string]map[string]schema.ESBRegistrationRow{}, bound: map[string][]schema.ESBRegistrationRow{}}
	for _, r := range rows { // oldest first
		if !r.ChannelID.Valid {
			idx.global[r.Organization] = r
			continue
		}
		if idx.byChannel[r.ChannelID.String] == nil {
			idx.byChannel[r.ChannelID.String] = map[string]schema.ESBRegistrationRow{}
		}
		idx.byChannel[r.ChannelID.String][r.Organization] = r
		idx.bound[r.Organization] = append(idx.bound[r.Organization], r)
	}
	return idx
}

// esbCache holds the active registrations for the config TTL, as the route cache holds the
// channels: a proxied request costs no database round trip for them. Admin changes made
// through this instance invalidate it at once.
type esbCache struct {
	store  ESBStore
	ttl    time.Duration
	logger *slog.Logger

	mu       sync.RWMutex
	index    *esbIndex
	loadedAt time.Time
	gen      uint64 // see routeCache.gen
	loads    singleflight.Group
}

func newESBCache(store ESBStore, ttl time.Duration, logger *slog.Logger) *esbCache {
	return &esbCache{store: store, ttl: ttl, logger: logger}
}

func (ec *esbCache) get(ctx context.Context) (*esbIndex, error) {
	ec.mu.RLock()
	index, fresh, gen := ec.index, !ec.loadedAt.IsZero() && time.Since(ec.loadedAt) < ec.ttl, ec.gen
	ec.mu.RUnlock()
	if fresh {
		return index, nil
	}
	v, err := sharedLoad(ctx, &ec.loads, strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		rows, err := ec.store.ActiveESBRegistrations(ctx)
		if err != nil {
			return nil, err
		}
		index := newESBIndex(rows)
		ec.mu.Lock()
		if ec.gen == gen {
			ec.index, ec.loadedAt = index, time.Now()
		}
		ec.mu.Unlock()
		return index, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*esbIndex), nil
}

func (ec *esbCache) invalidate() {
	ec.mu.Lock()
	ec.loadedAt = time.Time{}
	ec.gen++
	ec.mu.Unlock()
}

// channelFor is the snapshot a transaction carries. Through a matched channel rt (hybrid
// mode), the channel itself, or, when the channel has registrations, the ESB relay for the
// request's organization; without one (MEDIATOR_MODE=pure_esb), the relay for the
// organization's global registration, else its oldest registration on an active channel.
func (s *Server) channelFor(c *gin.Context, client Client, rt *route) (transaction.Channel, error) {
	index, err := s.esb.get(c.Request.Context())
	if err != nil {
		return transaction.Channel{}, err
	}
	if rt != nil {
		ch := rt.RouteRow.Channel(s.cfg.ForwardTimeout.Duration())
		regs := index.byChannel[rt.ID]
		if len(regs) == 0 {
			return ch, nil
		}
		org, err := requestOrganization(c, "channel "+rt.Name+" relays through the National ESB")
		if err != nil {
			return transaction.Channel{}, err
		}
		reg, found := regs[org]
		if !found {
			reg, found = index.global[org]
		}
		if !found {
			return transaction.Channel{}, organizationNotFound(org, "on channel "+rt.Name)
		}
		if ch.ESB, err = esbRoute(c, reg); err != nil {
			return transaction.Channel{}, err
		}
		ch.Kind = transaction.ChannelKindESB
		// The engine is sent no Idempotency-Key: what the channel's mediator honours says
		// nothing of it, and a relay that may have reached the engine is retried only for an
		// idempotent method.
		ch.HonoursIdempotencyKey = false
		return ch, nil
	}
	org, err := requestOrganization(c, "MEDIATOR_MODE=pure_esb relays every request through the National ESB")
	if err != nil {
		return transaction.Channel{}, err
	}
	reg, err := s.pureESBRegistration(c.Request.Context(), client, index, org)
	if err != nil {
		return transaction.Channel{}, err
	}
	route, err := esbRoute(c, reg)
	if err != nil {
		return transaction.Channel{}, err
	}
	// A synthetic channel: logs, status and the SwitchyardChannel search attribute name the
	// organization. Its endpoint is never dialled; the worker's GOVESB_ENGINE_URL is.
	return transaction.Channel{Name: "esb:" + org, Kind: transaction.ChannelKindESB, EndpointURL: "esb:" + org,
		Timeout: s.cfg.ForwardTimeout.Duration(), Retry: pureESBRetry, ESB: route}, nil
}

// pureESBRegistration is the registration MEDIATOR_MODE=pure_esb relays org's requests with:
// its global registration, which admits every client; else its oldest registration on an
// active channel, which admits the clients that channel admits (its allowed_clients and
// allowed_roles; 403 otherwise). A registration on an inactive channel serves no one: with no
// other, the organization is not found (404).
func (s *Server) pureESBRegistration(ctx context.Context, client Client, index *esbIndex, org string) (schema.ESBRegistrationRow, error) {
	if reg, found := index.global[org]; found {
		return reg, nil
	}
	bound := index.bound[org]
	if len(bound) == 0 {
		return schema.ESBRegistrationRow{}, organizationNotFound(org, "")
	}
	routes, err := s.routes.get(ctx)
	if err != nil {
		return schema.ESBRegistrationRow{}, err
	}
	refused := ""
	for _, reg := range bound {
		for i := range routes {
			if routes[i].ID != reg.ChannelID.String {
				continue
			}
			if channelAdmits(&routes[i], client) {
				return reg, nil
			}
			if refused == "" {
				refused = routes[i].Name
			}
		}
	}
	if refused != "" {
		// Registered on active channels, none of which admits this client.
		return schema.ESBRegistrationRow{}, newError(http.StatusForbidden, CodeForbidden, "client may not use channel "+refused)
	}
	return schema.ESBRegistrationRow{}, organizationNotFound(org, "on an active channel")
}

// requestOrganization reads X-Organization, or ?organization= (the two must agree when both
// are given); why says why one is needed.
func requestOrganization(c *gin.Context, why string) (string, error) {
	org, err := hubControl(c, headerOrganization, paramOrganization)
	if err != nil {
		return "", err
	}
	if org == "" {
		return "", &Error{Status: http.StatusBadRequest, Code: CodeOrganizationRequired,
			Message: why + ": name the organization with the X-Organization header or ?organization=",
			Details: map[string]any{"field": paramOrganization}}
	}
	if !organizationPattern.MatchString(org) {
		return "", fieldError(paramOrganization, "must be 1 to 100 letters, digits, '.', '_', ':' or '-'")
	}
	return org, nil
}

func organizationNotFound(org, where string) error {
	msg := "no active ESB registration for organization " + org
	if where != "" {
		msg += " " + where
	}
	return &Error{Status: http.StatusNotFound, Code: CodeOrganizationNotFound, Message: msg,
		Details: map[string]any{"organization": org}}
}

// esbRoute picks the registration's code: api_code when it has one, else push_code, unless
// X-ESB-Mode or ?esb_mode= asks for normal (api_code) or push (push_code).
func esbRoute(c *gin.Context, reg schema.ESBRegistrationRow) (*transaction.ESBRoute, error) {
	mode, err := hubControl(c, headerESBMode, paramESBMode)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(mode) {
	case "":
		if reg.APICode != "" {
			return &transaction.ESBRoute{Organization: reg.Organization, Mode: transaction.ESBModeNormal, Code: reg.APICode}, nil
		}
		return &transaction.ESBRoute{Organization: reg.Organization, Mode: transaction.ESBModePush, Code: reg.PushCode}, nil
	case transaction.ESBModeNormal:
		if reg.APICode == "" {
			return nil, fieldError(paramESBMode, "organization "+reg.Organization+" has no api_code: use push")
		}
		return &transaction.ESBRoute{Organization: reg.Organization, Mode: transaction.ESBModeNormal, Code: reg.APICode}, nil
	case transaction.ESBModePush:
		if reg.PushCode == "" {
			return nil, fieldError(paramESBMode, "organization "+reg.Organization+" has no push_code: use normal")
		}
		return &transaction.ESBRoute{Organization: reg.Organization, Mode: transaction.ESBModePush, Code: reg.PushCode}, nil
	}
	return nil, fieldError(paramESBMode, "must be normal or push")
}

// hubControl reads a hub control given as a header or a query parameter; both given must agree.
func hubControl(c *gin.Context, header, param string) (string, error) {
	h, q := strings.TrimSpace(c.GetHeader(header)), strings.TrimSpace(c.Query(param))
	if h != "" && q != "" && h != q {
		return "", fieldError(param, header+" and ?"+param+"= disagree")
	}
	if h != "" {
		return h, nil
	}
	return q, nil
}
