package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

func TestForwardedHeadersAreTheHubs(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	forwarded := func(trusted []string, header map[string]string) http.Header {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "http://hub.example/probe/x?async=true&a=1", nil)
		c.Request.RemoteAddr = "203.0.113.9:41000"
		for k, v := range header {
			c.Request.Header.Set(k, v)
		}
		return forwardedRequest(c, nil, trusted).Header
	}
	spoof := map[string]string{"Connection": "close, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto",
		"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
		"Forwarded": "for=6.6.6.6", "X-Real-Ip": "6.6.6.6", "X-Trace": "t1"}

	t.Run("a Connection header cannot remove them and a client cannot set them", func(t *testing.T) {
		h := forwarded(nil, spoof)
		require.Equal(t, []string{"203.0.113.9"}, h.Values("X-Forwarded-For"))
		require.Equal(t, []string{"hub.example"}, h.Values("X-Forwarded-Host"))
		require.Equal(t, []string{"http"}, h.Values("X-Forwarded-Proto"))
		require.Empty(t, h.Values("Forwarded"))
		require.Empty(t, h.Values("X-Real-Ip"))
		require.Empty(t, h.Values("Connection"))
		require.Equal(t, "t1", h.Get("X-Trace"))
	})

	t.Run("a peer outside TRUSTED_PROXIES is not trusted", func(t *testing.T) {
		h := forwarded([]string{"10.0.0.0/8"}, spoof)
		require.Equal(t, []string{"203.0.113.9"}, h.Values("X-Forwarded-For"))
	})

	t.Run("a trusted proxy's chain is kept and extended", func(t *testing.T) {
		h := forwarded([]string{"203.0.113.0/24"}, map[string]string{"X-Forwarded-For": "198.51.100.7",
			"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"})
		require.Equal(t, []string{"198.51.100.7, 203.0.113.9"}, h.Values("X-Forwarded-For"))
		require.Equal(t, "https", h.Get("X-Forwarded-Proto"))
		require.Equal(t, "api.example", h.Get("X-Forwarded-Host"))
	})
}
