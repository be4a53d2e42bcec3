package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/workflows"
)

// TemporalConfig says where the Temporal frontend is and how to reach it. The TLS and API key
// settings take the names the temporal CLI and Temporal's environment configuration read, so
// one environment serves the hub and an operator's CLI alike.
type TemporalConfig struct {
	Address   string `envconfig:"TEMPORAL_ADDRESS" default:"localhost:7233"`
	Namespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
	// TLS turns TLS on with the system's roots; any TLS setting below turns it on too.
	TLS bool `envconfig:"TEMPORAL_TLS" default:"false"`
	// TLSCertPath and TLSKeyPath are the client certificate and key (PEM) for mTLS. They are
	// read again at every handshake, so a renewed certificate is picked up without a restart.
	TLSCertPath string `envconfig:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TLSKeyPath  string `envconfig:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	// TLSCAPath is the CA bundle (PEM) that signs the frontend's certificate; the system's roots
	// when empty.
	TLSCAPath string `envconfig:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	// TLSServerName is the name checked in the frontend's certificate when it differs from the
	// address's host.
	TLSServerName string `envconfig:"TEMPORAL_TLS_SERVER_NAME"`
	// APIKey authenticates to the frontend (a Temporal Cloud API key, say) and turns TLS on.
	APIKey string `envconfig:"TEMPORAL_API_KEY"`
	// GRPCCompression is none or gzip. Payloads leave the hub encrypted, and ciphertext does not
	// compress: gzip spends CPU (7 % of a loaded hub's, profiled) to save almost nothing.
	GRPCCompression string `envconfig:"TEMPORAL_GRPC_COMPRESSION" default:"none"`
}

// tlsConfig is the client's TLS configuration; nil when no TLS setting is present.
func (cfg TemporalConfig) tlsConfig() (*tls.Config, error) {
	if !cfg.TLS && cfg.TLSCertPath == "" && cfg.TLSKeyPath == "" && cfg.TLSCAPath == "" && cfg.TLSServerName == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
	if (cfg.TLSCertPath == "") != (cfg.TLSKeyPath == "") {
		return nil, errors.New("TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together")
	}
	if cfg.TLSCertPath != "" {
		load := func() (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(cfg.TLSCertPath, cfg.TLSKeyPath)
			if err != nil {
				return nil, fmt.Errorf("loading the Temporal client certificate: %w", err)
			}
			return &cert, nil
		}
		if _, err := load(); err != nil {
			return nil, err
		}
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return load() }
	}
	if cfg.TLSCAPath != "" {
		pem, err := os.ReadFile(cfg.TLSCAPath)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: %s holds no PEM certificate", cfg.TLSCAPath)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// ClientOptions are the options every Temporal client of the hub is dialled with: address,
// namespace, TLS and API key, logger, metrics (nil for none) and the data converter (nil for
// the SDK's default, which only tools that never see a payload may use).
func ClientOptions(cfg TemporalConfig, logger *slog.Logger, metrics client.MetricsHandler, dc converter.DataConverter) (client.Options, error) {
	tlsConf, err := cfg.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	var compression client.GrpcCompression
	switch cfg.GRPCCompression {
	case "", "none":
		compression = &client.GrpcCompressionNone{}
	case "gzip":
		compression = &client.GrpcCompressionGzip{}
	default:
		return client.Options{}, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION: %q is neither none nor gzip", cfg.GRPCCompression)
	}
	opts := client.Options{
		HostPort:          cfg.Address,
		Namespace:         cfg.Namespace,
		Logger:            sdklog.NewStructuredLogger(logger.With("component", "temporal")),
		MetricsHandler:    metrics,
		ConnectionOptions: client.ConnectionOptions{TLS: tlsConf, GrpcCompression: compression},
	}
	if dc != nil {
		opts.DataConverter = dc
		opts.FailureConverter = FailureConverter(dc)
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	return opts, nil
}

// Dial connects a Temporal client with ClientOptions.
func Dial(ctx context.Context, cfg TemporalConfig, logger *slog.Logger, metrics client.MetricsHandler, dc converter.DataConverter) (client.Client, error) {
	opts, err := ClientOptions(cfg, logger, metrics, dc)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// EnsureSearchAttributes registers Switchyard's custom search attributes in the namespace when
// they are missing. Safe to call from every process at start-up.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, key := range workflows.SearchAttributeKeys() {
		if _, ok := have.GetCustomAttributes()[key.GetName()]; !ok {
			missing[key.GetName()] = indexedType(key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	return nil
}

func indexedType(key temporal.SearchAttributeKey) enums.IndexedValueType {
	return enums.IndexedValueType(key.GetValueType())
}

// SearchAttributeFlags are the `temporal server start-dev` flags that register the attributes.
func SearchAttributeFlags() []string {
	var args []string
	for _, key := range workflows.SearchAttributeKeys() {
		args = append(args, "--search-attribute", key.GetName()+"="+key.GetValueType().String())
	}
	return args
}
