package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Forward sends one request to its upstream and returns the answer. 502, 503 and 504 answers,
// network errors and timeouts are errors (Temporal retries them per the channel's policy); every
// other status is a result. A request with an ESB route is relayed through the National ESB
// instead (see relayESB).
func (a *Activities) Forward(ctx context.Context, in ForwardInput) (ForwardResult, error) {
	attempt := activity.GetInfo(ctx).Attempt
	if in.ESB != nil {
		resp, err := a.relayESB(ctx, in)
		if err != nil {
			return ForwardResult{}, classifyESB(err, ForwardFailure{Attempt: attempt})
		}
		return ForwardResult{Response: resp, Attempt: attempt}, nil
	}
	resp, err := a.forward(ctx, in)
	if err != nil {
		return ForwardResult{}, classify(err, ForwardFailure{Attempt: attempt, Response: responseOf(err)})
	}
	return ForwardResult{Response: resp, Attempt: attempt}, nil
}

func (a *Activities) forward(ctx context.Context, in ForwardInput) (transaction.Response, error) {
	target, err := UpstreamURL(in.EndpointURL, in.Request.Path, in.Request.RawQuery)
	if err != nil {
		return transaction.Response{}, err
	}
	if in.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, in.Request.Method, target, bytes.NewReader(in.Request.Body))
	if err != nil {
		return transaction.Response{}, &InvalidRequestError{Reason: err.Error()}
	}
	req.Header = forwardHeaders(in.Request.Header)
	req.Header.Set("X-Correlation-ID", in.CorrelationID)
	req.Header.Set("Idempotency-Key", in.CorrelationID)
	if len(in.Request.Body) == 0 {
		req.Body = http.NoBody
	}

	resp, err := a.HTTP.Do(req)
	if err != nil {
		return transaction.Response{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	limit := a.Config.MaxUpstreamResponseBytes
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return transaction.Response{}, transportError(ctx, err)
	}
	if int64(len(body)) > limit {
		return transaction.Response{}, &UpstreamError{Kind: transaction.ErrTypeResponseTooLarge,
			Reason: fmt.Sprintf("upstream answered more than %d bytes", limit)}
	}
	out := transaction.Response{StatusCode: resp.StatusCode, Header: stripHopByHop(resp.Header), Body: body}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return transaction.Response{}, &UpstreamError{Kind: transaction.ErrTypeUpstreamStatus, Response: &out,
			Reason:     fmt.Sprintf("upstream answered %d", resp.StatusCode),
			RetryAfter: provider.RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return out, nil
}

// UpstreamURL joins a mediator endpoint with the incoming path and query. Only http and https
// endpoints are accepted. The result always stays under the endpoint's path: path is the decoded
// path, one with a dot segment ("..", ".", "..;x") or a backslash is refused, and it is sent
// encoded afresh (a "%" as "%25"), so no encoding the client chose reaches the upstream as "/",
// "\\" or "..".
func UpstreamURL(endpoint, path, rawQuery string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &InvalidRequestError{Reason: fmt.Sprintf("mediator endpoint %q is not an http(s) URL", endpoint)}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if escapesBase(path) {
		return "", &InvalidRequestError{Reason: "the path has dot segments or a backslash: it could leave the mediator's base path"}
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = rawQuery
	return u.String(), nil
}

// escapesBase reports whether path could resolve above where it is appended: a "." or ".."
// segment (also with ";" parameters, which servlet containers strip) or a backslash, which some
// servers read as "/".
func escapesBase(path string) bool {
	if strings.Contains(path, `\`) {
		return true
	}
	for _, seg := range strings.Split(path, "/") {
		name, _, _ := strings.Cut(seg, ";")
		if name == "." || name == ".." {
			return true
		}
	}
	return false
}

// transportError sorts a failed round trip: nothing sent (dial failure), timed out, or broken
// after the request may have reached the upstream.
func transportError(ctx context.Context, err error) error {
	if strings.Contains(err.Error(), "server response headers exceeded") {
		return &UpstreamError{Kind: transaction.ErrTypeResponseTooLarge,
			Reason: fmt.Sprintf("upstream answered more than %d bytes of headers", maxUpstreamHeaderBytes)}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return &UpstreamError{Kind: transaction.ErrTypeUpstreamUnreachable, Reason: "upstream unreachable: " + opErr.Err.Error()}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &UpstreamError{Kind: transaction.ErrTypeUpstreamUnreachable, Reason: "upstream refused the connection"}
	}
	var netErr net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return &UpstreamError{Kind: transaction.ErrTypeUpstreamTimeout, Reason: "upstream did not answer in time"}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The message goes into history and logs: keep the cause, drop the URL (its query may be private).
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return &UpstreamError{Kind: transaction.ErrTypeUpstreamFailed, Reason: "upstream connection failed: " + err.Error()}
}

// hopByHop are the headers that describe one connection, not the message (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// stripHopByHop copies h without hop-by-hop headers, including those named by Connection.
func stripHopByHop(h map[string][]string) http.Header {
	out := http.Header(h).Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, v := range out.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			out.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopByHop {
		out.Del(name)
	}
	return out
}

// hubForwarding are the headers the API sets on every forwarded request, after it has removed
// the client's hop-by-hop headers.
var hubForwarding = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// forwardHeaders prepares a client's headers for the upstream: no hop-by-hop headers, and no
// Host or Content-Length (the transport sets both). A Connection header cannot remove the hub's
// X-Forwarded-* (a request recorded before the API dropped Connection may still name them).
func forwardHeaders(h map[string][]string) http.Header {
	out := stripHopByHop(h)
	in := http.Header(h)
	for _, name := range hubForwarding {
		if v := in.Values(name); len(v) > 0 {
			out[name] = append([]string(nil), v...)
		}
	}
	out.Del("Host")
	out.Del("Content-Length")
	return out
}
