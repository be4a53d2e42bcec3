package provider_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

func TestNewTransportCarriesTheIssuersTLSAndConnectionSettings(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: srv.Certificate().Raw}), 0o600))
	get := func(cfg provider.Config) error {
		t.Helper()
		transport, err := provider.NewTransport(cfg)
		require.NoError(t, err)
		defer transport.CloseIdleConnections()
		resp, err := (&http.Client{Transport: transport}).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	t.Run("a provider is verified against the system's roots by default", func(t *testing.T) {
		require.Error(t, get(provider.Config{Prefix: "ERP", StrictTLS: true}))
	})
	t.Run("CA_FILE adds the provider's roots", func(t *testing.T) {
		require.NoError(t, get(provider.Config{Prefix: "ERP", StrictTLS: true, CAFile: caFile}))
	})
	t.Run("STRICT_TLS=false verifies nothing", func(t *testing.T) {
		require.NoError(t, get(provider.Config{Prefix: "ERP", StrictTLS: false}))
	})
	t.Run("a CA_FILE that cannot be read is refused by name", func(t *testing.T) {
		_, err := provider.NewTransport(provider.Config{Prefix: "ERP", CAFile: filepath.Join(t.TempDir(), "none.pem")})
		require.ErrorContains(t, err, "ERP_CA_FILE")
		notPEM := filepath.Join(t.TempDir(), "ca.txt")
		require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
		_, err = provider.NewTransport(provider.Config{Prefix: "ERP", CAFile: notPEM})
		require.ErrorContains(t, err, "ERP_CA_FILE holds no PEM certificate")
	})
	t.Run("MaxConnections caps the connections to the host, idle ones included", func(t *testing.T) {
		transport, err := provider.NewTransport(provider.Config{MaxConnections: 8})
		require.NoError(t, err)
		require.Equal(t, 8, transport.MaxConnsPerHost)
		require.Equal(t, 8, transport.MaxIdleConnsPerHost)
		transport, err = provider.NewTransport(provider.Config{})
		require.NoError(t, err)
		require.Zero(t, transport.MaxConnsPerHost, "no cap")
		require.Equal(t, 64, transport.MaxIdleConnsPerHost)
	})
}
