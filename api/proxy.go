package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// idempotencyNamespace turns a client's Idempotency-Key into a stable correlation id.
var idempotencyNamespace = uuid.MustParse("5b0c1f5e-8f2d-4c59-9a0e-2f7d3c1a9b61")

const maxIdempotencyKeyLength = 255

// proxy forwards every request that is not one of the hub's own routes through the channel
// that matches it, as a ProxyTransaction workflow: to the channel's mediator, or through the
// National ESB when the channel has ESB registrations (or MEDIATOR_MODE=pure_esb).
func (s *Server) proxy(c *gin.Context) {
	if err := checkPath(c.Request.URL); err != nil {
		writeError(c, err)
		return
	}
	if reserved(c.Request.URL.Path) {
		writeError(c, newError(http.StatusNotFound, CodeNotFound, "no such route"))
		return
	}
	client, err := s.authorize(c)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(clientKey, client)
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	rt, err := s.resolveChannel(c.Request.Context(), client, c.Request.URL.Path, c.Request.Method)
	if err != nil {
		writeError(c, err)
		return
	}
	body, err := readBody(c, s.cfg.MaxRequestBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	if rt != nil {
		if err := checkBody(rt, c.Request.Header.Get("Content-Type"), body); err != nil {
			writeError(c, err)
			return
		}
	}
	s.startThrough(c, client, rt, forwardedRequest(c, body, s.cfg.TrustedProxies), "", async)
}

// startThrough runs req as a new transaction through the resolved channel rt (nil in
// MEDIATOR_MODE=pure_esb); parentID links a rerun to the transaction it repeats. The client's
// Idempotency-Key, when given, makes the correlation id; X-Organization and X-ESB-Mode pick
// the ESB relay where one applies (see channelFor), and only then are they dropped from req.
func (s *Server) startThrough(c *gin.Context, client Client, rt *route, req transaction.Request, parentID string, async bool) {
	correlationID, err := correlationID(client.ID, c.GetHeader("Idempotency-Key"))
	if err != nil {
		writeError(c, err)
		return
	}
	channel, err := s.channelFor(c, client, rt)
	if err != nil {
		writeError(c, err)
		return
	}
	if channel.ESB != nil {
		req = withoutESBControls(req)
	}
	s.runTransaction(c, workflows.ProxyInput{
		CorrelationID: correlationID,
		Keyed:         c.GetHeader("Idempotency-Key") != "",
		LogOnce:       true,
		ParentID:      parentID,
		ClientID:      client.ID,
		Fingerprint:   requestFingerprint(req, channel),
		Channel:       channel,
		Request:       req,
	}, async)
}

// requestFingerprint is what a repeated Idempotency-Key must come with again: the method,
// path, query and body, and for a relayed request the organization and mode too, so that the
// key reused for another organization is refused rather than answered with the first
// organization's answer (the code is the hub's, which an admin may change between a request and
// its retry). A request that is not relayed keeps the fingerprint it always had.
func requestFingerprint(req transaction.Request, channel transaction.Channel) string {
	route := req.Path + "?" + req.RawQuery
	if channel.ESB != nil {
		route += "\x00esb\x00" + channel.ESB.Organization + "\x00" + channel.ESB.Mode
	}
	return transaction.Fingerprint(transaction.KindProxy, req.Method, route, req.Body)
}

// resolveChannel finds the channel for path and method and checks the client may use it and
// its mediator is online. In MEDIATOR_MODE=pure_esb no channel is matched: it returns nil.
func (s *Server) resolveChannel(ctx context.Context, client Client, path, method string) (*route, error) {
	if s.cfg.MediatorMode == ModePureESB {
		return nil, nil
	}
	routes, err := s.routes.get(ctx)
	if err != nil {
		return nil, err
	}
	rt, allowed := match(routes, path, method)
	if rt == nil && len(allowed) > 0 {
		return nil, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: "method " + truncate(method, maxLoggedMethod) + " is not allowed on this channel", Details: map[string]any{"allowed": allowed},
			Header: map[string]string{"Allow": strings.Join(allowed, ", ")}}
	}
	if rt == nil {
		return nil, newError(http.StatusNotFound, CodeNoChannel, "no channel matches "+truncate(method, maxLoggedMethod)+" "+truncate(path, 200))
	}
	if !channelAdmits(rt, client) {
		return nil, newError(http.StatusForbidden, CodeForbidden, "client may not use channel "+rt.Name)
	}
	if !rt.MediatorOnline {
		return nil, newError(http.StatusServiceUnavailable, CodeMediatorOffline, "mediator "+rt.MediatorURN+" is offline")
	}
	return rt, nil
}

// channelAdmits applies a channel's allowed_clients and allowed_roles (schema.ChannelRow.Admits,
// the rule reruns apply too).
func channelAdmits(rt *route, client Client) bool { return rt.Admits(client.ID, client.Roles) }

// checkBody enforces requires_request_body and request_content_type.
func checkBody(rt *route, contentType string, body []byte) error {
	if rt.RequiresRequestBody && len(body) == 0 {
		return newError(http.StatusBadRequest, CodeBodyRequired, "channel "+rt.Name+" requires a request body")
	}
	if rt.RequestContentType == "" || len(body) == 0 {
		return nil
	}
	got, _, err := mime.ParseMediaType(contentType)
	want, _, _ := mime.ParseMediaType(rt.RequestContentType)
	if err != nil || !strings.EqualFold(got, want) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia,
			Message: "channel " + rt.Name + " accepts " + rt.RequestContentType,
			Details: map[string]any{"expected": rt.RequestContentType}}
	}
	return nil
}

// asyncRequested reads ?async=true / ?sync=true and Prefer: respond-async. The query wins
// over the header; asking for both modes at once is an error.
func asyncRequested(r *http.Request) (bool, error) {
	q := r.URL.Query()
	async, sync := q.Get("async"), q.Get("sync")
	if async == "true" && sync == "true" {
		return false, fieldError("async", "async=true and sync=true cannot be combined")
	}
	switch {
	case async == "true":
		return true, nil
	case sync == "true", async == "false":
		return false, nil
	}
	for _, v := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(pref), "respond-async") {
				return true, nil
			}
		}
	}
	return false, nil
}

// correlationID is random, or derived from the client's Idempotency-Key so that a repeat maps
// to the same transaction. Proxied requests derive it from the client and key alone (as since
// the first release, so keys in flight keep joining their runs); scopedCorrelationID adds the
// kind and route for the other kinds.
func correlationID(clientID, key string) (string, error) {
	return scopedCorrelationID(clientID, "", "", key)
}

// scopedCorrelationID derives the correlation id of a keyed request of kind on route: the same
// key on another kind or route names another transaction. Keys are printable ASCII, so the NUL
// separators keep every scope apart from the proxy's.
func scopedCorrelationID(clientID string, kind transaction.Kind, route, key string) (string, error) {
	if key == "" {
		return uuid.NewString(), nil
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	return KeyedCorrelationID(clientID, kind, route, key), nil
}

// KeyedCorrelationID is the correlation id of client's request with Idempotency-Key key: of kind
// on route, or of a proxied request when kind is empty. An operator finds a client's
// transaction by its key with it.
func KeyedCorrelationID(clientID string, kind transaction.Kind, route, key string) string {
	scope := clientID + "\x00"
	if kind != "" {
		scope += kind + "\x00" + route + "\x00"
	}
	return uuid.NewSHA1(idempotencyNamespace, []byte(scope+key)).String()
}

// checkKey validates an Idempotency-Key.
func checkKey(key string) error {
	if len(key) > maxIdempotencyKeyLength {
		return fieldError("Idempotency-Key", "must be at most 255 characters")
	}
	for _, r := range key {
		if r < 0x20 || r > 0x7e {
			return fieldError("Idempotency-Key", "must be printable ASCII")
		}
	}
	return nil
}

// strippedHeaders never travel upstream nor into workflow history: the hub's own credentials
// and controls. The Forward activity sets X-Correlation-ID and Idempotency-Key itself. The ESB
// controls are dropped only from relayed requests (withoutESBControls).
var strippedHeaders = []string{"X-Client-Id", "X-Client-Secret", "Authorization", "Proxy-Authorization",
	"Cookie", "Idempotency-Key", "X-Correlation-Id", "Prefer"}

// hopByHop are the headers that describe one connection, not the message (RFC 9110 §7.6.1).
// The Forward activity drops them as well; the API drops them first so that a Connection header
// naming the hub's own X-Forwarded-* cannot remove them.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forwardingHeaders say which clients and proxies a request came through. Only a peer named in
// TRUSTED_PROXIES may send them; from anyone else they are dropped, and the hub adds its own.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "Forwarded", "X-Real-Ip"}

// forwardedRequest is the client's request as the upstream will see it: hop-by-hop headers, hub
// credentials and controls removed, hub query parameters (async, sync) dropped, X-Forwarded-*
// set last. The ESB controls stay until the request is known to be relayed. A client's X-Forwarded-For (Host, Proto) is kept, and
// extended, only when the connection comes from one of trustedProxies.
func forwardedRequest(c *gin.Context, body []byte, trustedProxies []string) transaction.Request {
	h := c.Request.Header.Clone()
	for _, v := range c.Request.Header.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
	for _, name := range strippedHeaders {
		h.Del(name)
	}
	for _, v := range c.Request.Header.Values("Prefer") {
		var keep []string
		for _, pref := range strings.Split(v, ",") {
			if !strings.EqualFold(strings.TrimSpace(pref), "respond-async") {
				keep = append(keep, strings.TrimSpace(pref))
			}
		}
		if len(keep) > 0 {
			h.Add("Prefer", strings.Join(keep, ", "))
		}
	}
	peer := c.RemoteIP()
	trusted := len(trustedProxies) > 0 && ipAllowed(peer, trustedProxies)
	if !trusted {
		for _, name := range forwardingHeaders {
			h.Del(name)
		}
	}
	if prior := strings.Join(h.Values("X-Forwarded-For"), ", "); prior != "" {
		h.Set("X-Forwarded-For", prior+", "+peer)
	} else {
		h.Set("X-Forwarded-For", peer)
	}
	if h.Get("X-Forwarded-Host") == "" {
		h.Set("X-Forwarded-Host", c.Request.Host)
	}
	if h.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if c.Request.TLS != nil {
			proto = "https"
		}
		h.Set("X-Forwarded-Proto", proto)
	}
	return transaction.Request{
		Method:   c.Request.Method,
		Path:     c.Request.URL.Path,
		RawQuery: withoutHubParams(c.Request.URL.RawQuery),
		Header:   h,
		Body:     body,
	}
}

// withoutHubParams drops the hub's parameters (async, sync) from a raw query, keeping the rest
// in order.
func withoutHubParams(raw string) string { return withoutParams(raw, "async", "sync") }

// withoutESBControls is a relayed request without the hub's ESB controls (X-Organization,
// X-ESB-Mode, ?organization=, ?esb_mode=): the relay consumed them, and the log keeps the
// request as it was relayed.
func withoutESBControls(req transaction.Request) transaction.Request {
	h := http.Header(req.Header).Clone()
	h.Del(headerOrganization)
	h.Del(headerESBMode)
	req.Header = h
	req.RawQuery = withoutParams(req.RawQuery, paramOrganization, paramESBMode)
	return req
}

// withoutParams drops the parameters named names from a raw query, keeping the rest in order.
func withoutParams(raw string, names ...string) string {
	if raw == "" {
		return ""
	}
	var keep []string
	for _, part := range strings.Split(raw, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && slices.Contains(names, k) {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, "&")
}

// runTransaction starts (or joins) the transaction's workflow and answers: at once with 202 in
// async mode, otherwise with the outcome, or 202 when it takes longer than the forward timeout.
func (s *Server) runTransaction(c *gin.Context, in workflows.ProxyInput, async bool) {
	s.runWorkflow(c, workflowStart{
		kind: transaction.KindProxy, correlationID: in.CorrelationID, keyed: in.Keyed,
		taskQueue: workflows.TaskQueueProxy, workflowType: workflows.WorkflowProxyTransaction, input: in,
		memo: transaction.Memo{ClientID: in.ClientID, Label: in.Channel.Name, Method: in.Request.Method,
			Path: in.Request.Path, Fingerprint: in.Fingerprint},
	}, async, s.cfg.ForwardTimeout.Duration(), answerWith(c, writeProxyResult))
}

// answerWith is runWorkflow's write step: wait for the workflow's result, then answer with it.
func answerWith[R any](c *gin.Context, write func(*gin.Context, R)) func(context.Context, client.WorkflowRun) error {
	return func(ctx context.Context, run client.WorkflowRun) error {
		var res R
		if err := run.Get(ctx, &res); err != nil {
			return err
		}
		write(c, res)
		return nil
	}
}

// runWorkflow starts (or joins) a request's workflow and answers: at once with 202 in async
// mode; otherwise with what write makes of the result, or 202 when the result takes longer
// than wait. The work goes on either way.
func (s *Server) runWorkflow(c *gin.Context, w workflowStart, async bool, wait time.Duration,
	write func(ctx context.Context, run client.WorkflowRun) error) {
	c.Header("X-Correlation-ID", w.correlationID)
	run, err := s.startWorkflow(c.Request.Context(), w)
	if err != nil {
		writeError(c, err)
		return
	}
	if async {
		writeAccepted(c, w.correlationID, transaction.StatusPending)
		return
	}
	waitCtx, cancel := context.WithTimeout(c.Request.Context(), wait)
	defer cancel()
	err = write(waitCtx, run)
	switch {
	case err == nil:
	case c.Request.Context().Err() != nil:
		logger(c).Info("Client left before the work finished; it carries on", "correlation_id", w.correlationID)
	case waitExpired(waitCtx, err):
		writeAccepted(c, w.correlationID, transaction.StatusProcessing)
	case keyReused(err):
		writeError(c, errKeyReused)
	default:
		logger(c).Error("Workflow failed", "workflow_id", w.id(), "error", err.Error())
		writeError(c, &Error{Status: http.StatusBadGateway, Code: CodeTransactionFailed,
			Message: "the request could not be completed", Details: map[string]any{"correlation_id": w.correlationID}})
	}
}

// waitExpired reports whether err ends a wait because its deadline passed. The long poll's
// gRPC deadline can fire a moment before the context's own, so both are checked.
func waitExpired(ctx context.Context, err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline)
}

// acceptedView is the 202 body of async requests.
type acceptedView struct {
	CorrelationID string `json:"correlation_id"`
	Status        string `json:"status"`
	StatusURL     string `json:"status_url"`
}

func statusURL(correlationID string) string { return "/transactions/" + correlationID + "/" }

func writeAccepted(c *gin.Context, correlationID, status string) {
	c.Header("Location", statusURL(correlationID))
	writeData(c, http.StatusAccepted, acceptedView{CorrelationID: correlationID, Status: status,
		StatusURL: statusURL(correlationID)})
}

// writeProxyResult answers with the upstream's answer untouched, or with the envelope when the
// hub could not get one.
func writeProxyResult(c *gin.Context, res workflows.ProxyResult) {
	if res.Response != nil {
		header := c.Writer.Header()
		for name, values := range res.Response.Header {
			if strings.EqualFold(name, "Content-Length") {
				continue
			}
			for _, v := range values {
				header.Add(name, v)
			}
		}
		header.Set("X-Correlation-ID", res.CorrelationID)
		if res.ResponseTruncated {
			header.Set("X-Switchyard-Response-Truncated", "true")
		}
		c.Status(res.Response.StatusCode)
		_, _ = c.Writer.Write(res.Response.Body)
		return
	}
	if res.Status == transaction.StatusResolved {
		writeData(c, http.StatusOK, gin.H{"correlation_id": res.CorrelationID, "status": res.Status,
			"resolution_note": res.ResolutionNote})
		return
	}
	status := http.StatusBadGateway
	if res.ErrorCode == transaction.ErrorCodeUpstreamTimeout {
		status = http.StatusGatewayTimeout
	}
	writeError(c, &Error{Status: status, Code: res.ErrorCode, Message: res.Error, Details: map[string]any{
		"correlation_id": res.CorrelationID, "attempts": res.Attempts, "status_url": statusURL(res.CorrelationID)}})
}
