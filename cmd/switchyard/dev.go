package main

import (
	"context"

	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/localpg"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/worker"
)

// devConfig is what `switchyard dev` adds: where it keeps local state and which ports its
// local services take.
type devConfig struct {
	DataDir        string `envconfig:"DEV_DATA_DIR" default:".data"`
	PostgresPort   int    `envconfig:"DEV_PG_PORT" default:"5433"`
	TemporalUIPort int    `envconfig:"DEV_TEMPORAL_UI_PORT" default:"8233"`
	AdminToken     string `envconfig:"DEV_ADMIN_TOKEN" default:"dev-admin-token"`
}

// runDev brings the whole stack up in one process: a PostgreSQL cluster under DEV_DATA_DIR
// (unless DATABASE_URL is set), a Temporal dev server with its Web UI and Switchyard's search
// attributes (unless TEMPORAL_ADDRESS is set), migrations, demo data, the upstream simulator,
// the API and its worker. Ctrl-C stops everything it started; the next run reuses the data.
func runDev(ctx context.Context, e env, logger *slog.Logger) error {
	if _, set := os.LookupEnv("APP_ENV"); !set {
		// A local stack: its admin token (DEV_ADMIN_TOKEN) may be short.
		e.API.Environment = api.EnvDevelopment
	}
	if err := e.API.Validate(); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(e.Dev.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	if e.Payload.Keys == "" {
		keyFile := filepath.Join(dataDir, devPayloadKeyFile)
		if e.Payload.Keys, err = devPayloadKeys(keyFile); err != nil {
			return err
		}
		e.Payload.KeyID = ""
		logger.Info("Temporal payloads are encrypted with the dev key", "file", keyFile)
	}
	codecEndpoint := devCodecSettings(&e)

	if e.DB.URL == "" {
		cluster, err := localpg.New(filepath.Join(dataDir, "pg"), localpg.WithPort(e.Dev.PostgresPort))
		if err != nil {
			return err
		}
		if cluster.Dir != cluster.Requested {
			logger.Info("PostgreSQL runs as the postgres user, who cannot reach this clone: its data lives outside it",
				"requested", cluster.Requested, "dir", cluster.Dir)
		}
		logger.Info("Starting PostgreSQL", "dir", cluster.Dir, "port", cluster.Port)
		if err := cluster.Start(ctx); err != nil {
			return fmt.Errorf("%w (set DEV_PG_PORT for another port, or DATABASE_URL for your own server)", err)
		}
		defer func() {
			logger.Info("Stopping PostgreSQL")
			if err := cluster.Stop(); err != nil {
				logger.Error("Stopping PostgreSQL", "error", err.Error())
			}
		}()
		if err := cluster.CreateDatabase(ctx, "switchyard", ""); err != nil {
			return err
		}
		e.DB.URL = cluster.URL("switchyard")
	}

	temporalUI := "(your Temporal's Web UI)"
	if _, set := os.LookupEnv("TEMPORAL_ADDRESS"); !set {
		logger.Info("Starting the Temporal dev server", "address", e.Temporal.Address, "ui_port", e.Dev.TemporalUIPort)
		logFile, err := os.OpenFile(filepath.Join(dataDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer logFile.Close()
		server, err := worker.StartDevServer(ctx, worker.DevServerOptions{
			Address:   e.Temporal.Address,
			Namespace: e.Temporal.Namespace,
			UIPort:    strconv.Itoa(e.Dev.TemporalUIPort),
			DBFile:    filepath.Join(dataDir, "temporal.db"),
			Output:    logFile,
			// The Web UI shows payloads decrypted through the API's codec server.
			CodecEndpoint: codecEndpoint,
		})
		if err != nil {
			return fmt.Errorf("starting the Temporal dev server (log: %s): %w", logFile.Name(), err)
		}
		defer func() {
			logger.Info("Stopping the Temporal dev server")
			_ = server.Stop()
		}()
		temporalUI = fmt.Sprintf("http://localhost:%d", e.Dev.TemporalUIPort)
	}

	if e.API.AdminToken == "" {
		e.API.AdminToken = e.Dev.AdminToken
	}
	setDevProviderDefaults(dataDir)
	allowLoopbackTargets(&e)
	wireDemoPaymentWebhooks(&e)
	// The ESB relay goes to the engine simulator; both key pairs are kept under DEV_DATA_DIR.
	if err := wireLocalESB(&e, e.SimURLs.URL, func() (esbKeys, error) { return devESBKeys(dataDir) }); err != nil {
		return err
	}
	if err := envconfig.Process("", &e.ISO); err != nil {
		return err
	}
	if err := runMigrate(ctx, e, logger); err != nil {
		return err
	}
	if err := runSeed(ctx, e, logger, false); err != nil {
		return err
	}
	// The simulators come first: the mailer trusts the SMTP sink's certificate, written here.
	simStore, err := schema.Open(ctx, e.DB)
	if err != nil {
		return err
	}
	defer simStore.Close()
	sims, err := newSimulators(simStore, e, logger)
	if err != nil {
		return err
	}
	if err := writeSinkCA(sims); err != nil {
		return err
	}
	st, err := openStack(ctx, e, logger)
	if err != nil {
		return err
	}
	defer st.close()
	simListener, err := net.Listen("tcp", e.Sim.Addr)
	if err != nil {
		return fmt.Errorf("simulators on %s: %w (set SIM_ADDR)", e.Sim.Addr, err)
	}
	smtpListener, err := net.Listen("tcp", e.SimURLs.SMTPAddr)
	if err != nil {
		simListener.Close()
		return fmt.Errorf("SMTP sink on %s: %w (set SIM_SMTP_ADDR)", e.SimURLs.SMTPAddr, err)
	}
	isoListener, err := net.Listen("tcp", e.ISO.SimAddr)
	if err != nil {
		simListener.Close()
		smtpListener.Close()
		return fmt.Errorf("switch simulator on %s: %w (set SIM_ISO_ADDR)", e.ISO.SimAddr, err)
	}
	apiListener, err := net.Listen("tcp", e.API.Addr)
	if err != nil {
		simListener.Close()
		smtpListener.Close()
		isoListener.Close()
		return fmt.Errorf("API on %s: %w (set API_ADDR)", e.API.Addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() {
		errs <- serveSimulators(ctx, sims, simListeners{http: simListener, smtp: smtpListener, iso: isoListener})
	}()
	go func() { errs <- serveAPI(ctx, st, e, logger, apiListener) }()

	printDevBanner(e, temporalUI)
	var first error
	for range 2 {
		if err := <-errs; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = err
			cancel()
		}
	}
	return first
}

// devPayloadKeyFile holds, under DEV_DATA_DIR, the key `switchyard dev` encrypts Temporal
// payloads with when PAYLOAD_KEYS is not set: made on the first run, reused after (the dev
// server's history outlives a run), readable by its owner only.
const devPayloadKeyFile = "payload-keys"

// devPayloadKeys reads the dev key ring from path, or makes one there.
func devPayloadKeys(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	spec, err := seal.GenerateKey("dev1")
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(spec + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return spec, f.Close()
}

// devCodecSettings opens the codec server to the dev Web UI: its origin may call it
// (CODEC_CORS_ORIGINS, unless set) and, since that UI cannot send the admin token, so may any
// local caller without one (CODEC_TRUST_LOOPBACK, unless set). It returns the codec endpoint the
// UI is started with.
func devCodecSettings(e *env) string {
	if _, set := os.LookupEnv("CODEC_CORS_ORIGINS"); !set {
		for _, host := range []string{"localhost", "127.0.0.1"} {
			e.API.CodecCORSOrigins = append(e.API.CodecCORSOrigins, fmt.Sprintf("http://%s:%d", host, e.Dev.TemporalUIPort))
		}
	}
	if _, set := os.LookupEnv("CODEC_TRUST_LOOPBACK"); !set {
		e.API.CodecTrustLoopback = true
	}
	return "http://localhost" + portOf(e.API.Addr) + api.CodecPath
}

// devProviderEnv points every issuer at the simulators, each with a different auth type so
// `make dev` shows them all. Variables already set win.
var devProviderEnv = map[string]string{
	"CBS_SIMULATE": "true", "CBS_AUTH_TYPE": "hmac", "CBS_HMAC_KEY_ID": "switchyard-dev",
	"CBS_HMAC_SECRET": "dev-cbs-hmac-secret", "CBS_REQUIRED_AUTH_HEADERS": "X-API-Key,X-Signature",
	"BILL_SIMULATE": "true", "BILL_AUTH_TYPE": "bearer", "BILL_AUTH_TOKEN": "dev-bill-token",
	"BILL_REQUIRED_AUTH_HEADERS": "Authorization",
	"SMS_SIMULATE":               "true", "SMS_AUTH_TYPE": "basic", "SMS_AUTH_USERNAME": "switchyard", "SMS_AUTH_PASSWORD": "dev-sms-password",
	"PUSH_SIMULATE": "true", "PUSH_AUTH_TYPE": "oauth2_client_credentials", "PUSH_OAUTH_CLIENT_ID": "switchyard-push",
	"PUSH_OAUTH_CLIENT_SECRET": "dev-push-secret", "PUSH_PROJECT_ID": "switchyard-demo",
	"EMAIL_SIMULATE": "true", "EMAIL_SMTP_USERNAME": "switchyard", "EMAIL_SMTP_PASSWORD": "dev-smtp-password",
	"EMAIL_SMTP_TLS":    "starttls",
	"ISO_SIMULATE":      "true",
	"PAYMENTS_SIMULATE": "true", "PAYMENTS_API_KEY": sim.DemoPaymentsKey,
	"ERP_SIMULATE": "true", "ERP_API_KEY": sim.DemoERPKey,
}

// allowLoopbackTargets lets tenants' URLs reach loopback, where the messaging simulators and
// local subscribers run, unless WEBHOOK_ALLOW_PRIVATE_TARGETS says otherwise.
func allowLoopbackTargets(e *env) {
	if _, set := os.LookupEnv("WEBHOOK_ALLOW_PRIVATE_TARGETS"); !set {
		e.Activities.WebhookAllowPrivateTargets = true
	}
}

// setDevProviderDefaults applies devProviderEnv, and has the mailer trust the SMTP sink's
// certificate (written to DEV_DATA_DIR/smtp-ca.pem).
func setDevProviderDefaults(dataDir string) {
	for k, v := range devProviderEnv {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
	if _, set := os.LookupEnv("EMAIL_CA_FILE"); !set {
		os.Setenv("EMAIL_CA_FILE", filepath.Join(dataDir, "smtp-ca.pem"))
	}
}

func printDevBanner(e env, temporalUI string) {
	apiURL := "http://localhost" + portOf(e.API.Addr)
	fmt.Printf(`
Switchyard is up. Ctrl-C stops everything.

  API              %[1]s
  OpenAPI          %[1]s/api/docs/openapi.json   (Swagger UI: %[1]s/api/docs/swagger/)
  Metrics          %[1]s/metrics
  Temporal Web UI  %[2]s   (payloads decrypted through %[1]s/codec)
  Temporal         %[3]s (namespace %[4]s)
  Simulators       http://localhost%[5]s  (SMTP %[9]s, ISO 8583 switch %[10]s)
  PostgreSQL       %[6]s
  Admin token      %[7]s

Try:
  curl -s -X POST '%[1]s/integrations/teachers' -H 'Content-Type: application/json' \
    -H 'X-Client-Id: %[8]s-integrator' -H 'X-Client-Secret: demo-secret' -d '{"teacher_id":"T-1"}'
  bin/temporal workflow show --workflow-id tx:<X-Correlation-ID> \
    --codec-endpoint %[1]s/codec --codec-auth 'Bearer %[7]s'
  curl -s -X POST '%[1]s/integrations/citizens' -H 'Content-Type: application/json' \
    -H 'X-Client-Id: %[8]s-integrator' -H 'X-Client-Secret: demo-secret' \
    -H 'X-Organization: DEMO-ORG' -d '{"nin":"19900101-00001-00001-11"}'   # through the National ESB
  curl -s -X POST '%[1]s/api/v1/connectors/payments/charges' -H 'Content-Type: application/json' \
    -H 'X-Client-Id: %[8]s-integrator' -H 'X-Client-Secret: demo-secret' -H 'Idempotency-Key: order-1' \
    -d '{"amount":2000,"currency":"usd","source":"tok_visa"}'   # the payment connector

`, apiURL, temporalUI, e.Temporal.Address, e.Temporal.Namespace, portOf(e.Sim.Addr), schema.RedactURL(e.DB.URL),
		e.API.AdminToken, e.Seed.ClientPrefix, e.SimURLs.SMTPAddr, e.ISO.SimAddr)
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return ":" + port
}
