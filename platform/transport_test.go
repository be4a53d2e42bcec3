package platform_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

// TestTransportRefusesTheHubsOwnNetwork: a tenant's URL that points inside the hub's network
// (loopback here, as a name and as an address) is refused at dial time unless private targets
// are allowed; the refusal is recognisable.
func TestTransportRefusesTheHubsOwnNetwork(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	for _, url := range []string{srv.URL, "http://localhost:" + port} {
		guarded := &http.Client{Transport: platform.Transport(false, 4)}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, nil)
		_, err := guarded.Do(req)
		require.Error(t, err, url)
		require.True(t, errors.Is(err, platform.ErrPrivateAddress), "%s: %v", url, err)

		open := &http.Client{Transport: platform.Transport(true, 4)}
		resp, err := open.Do(req.Clone(context.Background()))
		require.NoError(t, err, url)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
}

// TestSendToThePrivateNetworkIsFinal: a messaging API base URL inside the hub's network is
// refused as a final answer, recognisable as such, not a temporary failure to retry.
func TestSendToThePrivateNetworkIsFinal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	sender := platform.NewSender(&http.Client{Transport: platform.Transport(false, 2)}, 1<<20)
	in := platform.Integration{Platform: platform.Slack, Active: true, Config: platform.Config{APIBaseURL: srv.URL},
		Credentials: platform.Credentials{Fields: map[string]string{"bot_token": "xoxb-1", "signing_secret": "s"}}}
	_, err := sender.Send(context.Background(), in, platform.Outbound{To: "C1", Content: platform.Content{Type: "TEXT", Text: "x"}})
	require.ErrorIs(t, err, platform.ErrPrivateAddress)
	var apiErr *platform.APIError
	require.ErrorAs(t, err, &apiErr)
	require.False(t, apiErr.Temporary)
}
