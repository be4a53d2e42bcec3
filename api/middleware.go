package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	loggerKey    = "switchyard.logger"
	requestIDKey = "switchyard.request_id"
	routeProxy   = "proxy"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID takes a well-formed X-Request-ID or makes one, echoes it, and puts a logger that
// carries it on the context.
func requestID(base *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header("X-Request-ID", id)
		c.Set(requestIDKey, id)
		c.Set(loggerKey, base.With("request_id", id))
		c.Next()
	}
}

// httpMetrics counts and times requests by route template, method and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// observe logs and measures every request. Proxied paths share one route label so client
// paths cannot blow up the metric's cardinality.
func (m *httpMetrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = routeProxy
	}
	elapsed := time.Since(start)
	status := c.Writer.Status()
	method := methodLabel(c.Request.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"method", truncate(c.Request.Method, maxLoggedMethod), "path", truncate(c.Request.URL.Path, maxLoggedPath), "status", status,
		"duration_ms", float64(elapsed.Microseconds()) / 1000, "client_ip", c.ClientIP()}
	if id := c.Writer.Header().Get("X-Correlation-ID"); id != "" {
		attrs = append(attrs, "correlation_id", id)
	}
	if id, ok := c.Get(clientIDKey); ok {
		attrs = append(attrs, "client_id", id)
	}
	logger(c).Log(c.Request.Context(), level, "HTTP request", attrs...)
}

// methodOther is the method label of every method outside the standard set.
const methodOther = "OTHER"

// How much of a request's method and path a log line keeps: both come from the client, and the
// only other bound is the server's header size limit.
const (
	maxLoggedMethod = 16
	maxLoggedPath   = 1024
)

// methodLabel is the metric label of a request method: the method itself when it is one of the
// standard ones (RFC 9110 and PATCH), else "OTHER", so clients cannot mint label values.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return methodOther
}

// limitBody answers 413 for a declared Content-Length over the cap and caps what may be read
// of a body without one; handlers read bodies through readBody. A body must arrive within
// readTimeout (a client trickling it in is answered 408 and cut off), and the time to answer,
// writeTimeout, is counted from when the body may have arrived, so a slow but legitimate upload
// does not eat the sync wait. Zero turns either off. Requests without a body get no read
// deadline: the server is already watching their connection for a disconnect, and a deadline
// there would cancel the request.
func limitBody(maxBytes int64, readTimeout, writeTimeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			writeError(c, bodyTooLarge(maxBytes))
			return
		}
		if c.Request.Body == nil || c.Request.Body == http.NoBody {
			c.Next()
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
		if readTimeout > 0 {
			// Not every writer supports deadlines (a test recorder); the server's own
			// ReadTimeout still holds then.
			rc := http.NewResponseController(c.Writer)
			_ = rc.SetReadDeadline(time.Now().Add(readTimeout))
			if writeTimeout > 0 {
				_ = rc.SetWriteDeadline(time.Now().Add(readTimeout + writeTimeout))
			}
		}
		c.Next()
	}
}

func bodyTooLarge(maxBytes int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
		Message: fmt.Sprintf("request body exceeds %d bytes", maxBytes), Details: map[string]any{"max_bytes": maxBytes}}
}

// CodeRequestTimeout answers a request whose body did not arrive within API_READ_TIMEOUT.
const CodeRequestTimeout = "REQUEST_TIMEOUT"

// readBody reads the whole (capped) body.
func readBody(c *gin.Context, maxBytes int64) ([]byte, error) {
	body, err := c.GetRawData()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, bodyTooLarge(maxBytes)
	}
	var netErr net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		// The connection cannot carry another request: what is left of this body is unread.
		return nil, &Error{Status: http.StatusRequestTimeout, Code: CodeRequestTimeout,
			Message: "the request body did not arrive in time", Header: map[string]string{"Connection": "close"}}
	}
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeValidation, "request body could not be read")
	}
	return body, nil
}

// recovery turns a panic into a logged 500 envelope instead of a dropped connection.
func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, recovered any) {
		writeError(c, fmt.Errorf("panic: %v", recovered))
	})
}
