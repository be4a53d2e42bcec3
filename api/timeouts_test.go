package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

func TestConfigValidatesServerTimeouts(t *testing.T) {
	base := Config{MediatorMode: ModeHybrid, MaxRequestBodyBytes: 1, ForwardTimeout: Seconds(30 * time.Second),
		IntegrationTimeout: 40 * time.Second}
	require.NoError(t, base.Validate(), "zero timeouts are off")
	ok := base
	ok.ReadTimeout, ok.WriteTimeout, ok.IdleTimeout = 15*time.Second, 45*time.Second, time.Minute
	require.NoError(t, ok.Validate())
	short := ok
	short.WriteTimeout = 40 * time.Second
	require.ErrorContains(t, short.Validate(), "API_WRITE_TIMEOUT", "the write timeout must outlast the longest sync wait")
	negative := ok
	negative.IdleTimeout = -time.Second
	require.Error(t, negative.Validate())
}

// bodyServer serves readBody behind limitBody on a real loopback server with no timeouts of its
// own (and writeTimeout, when set), so only the middleware's deadlines apply to the body.
func bodyServer(t *testing.T, readTimeout, writeTimeout, handlerWait time.Duration) string {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(limitBody(1<<20, readTimeout, writeTimeout))
	r.Any("/body", func(c *gin.Context) {
		body, err := readBody(c, 1<<20)
		if err != nil {
			writeError(c, err)
			return
		}
		select {
		case <-time.After(handlerWait):
		case <-c.Request.Context().Done():
			return
		}
		c.String(http.StatusOK, "read %d bytes", len(body))
	})
	srv := httptest.NewUnstartedServer(r)
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// trickle sends a request whose body comes one byte every interval, and returns what the
// server answered and when the connection ended.
func trickle(t *testing.T, addr string, length int, interval time.Duration) (status string, took time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = fmt.Fprintf(conn, "POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", length)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for range length {
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	_, _ = io.Copy(io.Discard, conn) // until the server closes
	return strings.TrimSpace(line), time.Since(start)
}

func TestABodyMustArriveInTime(t *testing.T) {
	t.Run("a body trickling in is answered 408 and cut off at the deadline", func(t *testing.T) {
		addr := bodyServer(t, 500*time.Millisecond, 0, 0)
		status, took := trickle(t, addr, 100, 2*time.Second)
		require.Equal(t, "HTTP/1.1 408 Request Timeout", status)
		require.Less(t, took, 1500*time.Millisecond, "cut off at the read deadline, not when the body ends")
	})

	t.Run("the time to answer does not include the time the body may take", func(t *testing.T) {
		// The server's write deadline (600 ms from the headers) has passed by the time the
		// body is in (~900 ms); the answer still goes out.
		addr := bodyServer(t, 5*time.Second, 600*time.Millisecond, 100*time.Millisecond)
		status, _ := trickle(t, addr, 4, 300*time.Millisecond)
		require.Equal(t, "HTTP/1.1 200 OK", status)
	})

	t.Run("a request without a body is not cancelled by the read deadline", func(t *testing.T) {
		addr := bodyServer(t, 100*time.Millisecond, 0, 400*time.Millisecond)
		resp, err := http.Get("http://" + addr + "/body")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	})
}
