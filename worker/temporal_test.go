package worker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/worker"
)

// testPKI is a CA with a server certificate for "temporal.internal" and a client certificate,
// written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
	pool                      *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, dns ...string) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "client.pem"),
		keyFile: filepath.Join(dir, "client.key"), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	require.NoError(t, os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	cert, key := issue(2, "switchyard-worker", x509.ExtKeyUsageClientAuth)
	require.NoError(t, os.WriteFile(p.certFile, cert, 0o600))
	require.NoError(t, os.WriteFile(p.keyFile, key, 0o600))
	srvCert, srvKey := issue(3, "temporal", x509.ExtKeyUsageServerAuth, "temporal.internal")
	p.server, err = tls.X509KeyPair(srvCert, srvKey)
	require.NoError(t, err)
	return p
}

func TestDialWithMutualTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	// A frontend that requires a client certificate signed by the CA and reports who connected.
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	defer l.Close()
	peers := make(chan string, 4)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if tc.Handshake() == nil && len(tc.ConnectionState().PeerCertificates) > 0 {
				peers <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			conn.Close()
		}
	}()

	cfg := worker.TemporalConfig{Address: l.Addr().String(), Namespace: "default", TLSCertPath: pki.certFile,
		TLSKeyPath: pki.keyFile, TLSCAPath: pki.caFile, TLSServerName: "temporal.internal"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// The listener is no Temporal frontend, so the dial fails after the handshake.
	_, _ = worker.Dial(ctx, cfg, slog.New(slog.DiscardHandler), nil, nil)
	select {
	case cn := <-peers:
		require.Equal(t, "switchyard-worker", cn, "the client presented its certificate and verified the server's")
	case <-time.After(3 * time.Second):
		t.Fatal("no TLS handshake completed")
	}
}

func TestClientOptions(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	logger := slog.New(slog.DiscardHandler)

	t.Run("no TLS setting: plain connection", func(t *testing.T) {
		opts, err := worker.ClientOptions(worker.TemporalConfig{Address: "localhost:7233"}, logger, nil, nil)
		require.NoError(t, err)
		require.Nil(t, opts.ConnectionOptions.TLS)
		require.Nil(t, opts.Credentials)
	})

	t.Run("TEMPORAL_TLS alone uses the system roots", func(t *testing.T) {
		opts, err := worker.ClientOptions(worker.TemporalConfig{TLS: true}, logger, nil, nil)
		require.NoError(t, err)
		require.NotNil(t, opts.ConnectionOptions.TLS)
		require.Nil(t, opts.ConnectionOptions.TLS.RootCAs)
	})

	t.Run("an API key is sent as credentials", func(t *testing.T) {
		opts, err := worker.ClientOptions(worker.TemporalConfig{APIKey: "tmprl-key"}, logger, nil, nil)
		require.NoError(t, err)
		require.NotNil(t, opts.Credentials)
	})

	t.Run("the data converter and an encrypting failure converter go together", func(t *testing.T) {
		dc := newCodec(t, genKey(t, "k1"), "").DataConverter()
		opts, err := worker.ClientOptions(worker.TemporalConfig{}, logger, nil, dc)
		require.NoError(t, err)
		require.Equal(t, dc, opts.DataConverter)
		require.NotNil(t, opts.FailureConverter)
	})

	t.Run("gRPC compression is off unless asked for: payloads are encrypted", func(t *testing.T) {
		opts, err := worker.ClientOptions(worker.TemporalConfig{}, logger, nil, nil)
		require.NoError(t, err)
		require.IsType(t, &client.GrpcCompressionNone{}, opts.ConnectionOptions.GrpcCompression)
		opts, err = worker.ClientOptions(worker.TemporalConfig{GRPCCompression: "gzip"}, logger, nil, nil)
		require.NoError(t, err)
		require.IsType(t, &client.GrpcCompressionGzip{}, opts.ConnectionOptions.GrpcCompression)
	})

	for name, cfg := range map[string]worker.TemporalConfig{
		"an unknown compression":        {GRPCCompression: "zstd"},
		"a certificate without its key": {TLSCertPath: pki.certFile},
		"a key without its certificate": {TLSKeyPath: pki.keyFile},
		"a missing certificate file":    {TLSCertPath: pki.certFile + ".missing", TLSKeyPath: pki.keyFile},
		"a CA file without PEM":         {TLSCAPath: pki.keyFile + ".missing"},
		"a CA file holding a key":       {TLSCAPath: pki.keyFile},
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			_, err := worker.ClientOptions(cfg, logger, nil, nil)
			require.Error(t, err)
		})
	}
}
