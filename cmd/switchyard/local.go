package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
)

// localHub is the hub on free loopback ports: the upstream simulator and the API with its
// worker, against the database and Temporal named in its env. Tests and `switchyard bench` use it.
type localHub struct {
	env    env
	apiURL string
	simURL string
	sims   *sim.Simulators
	st     *stack
	served chan error
}

// startLocalHub migrates and seeds the database (demo mediators pointing at the simulator),
// then serves the simulator and the API until ctx ends. Wait for it with wait.
//
// The simulators listen on free ports too and the issuers point at them (SIM_URL,
// SIM_SMTP_ADDR); when EMAIL_CA_FILE is set, the SMTP sink's certificate is written there, so
// the hub's mailer can verify it.
func startLocalHub(ctx context.Context, e env, logger *slog.Logger) (*localHub, error) {
	simListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	smtpListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	isoListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.Seed.UpstreamURL = "http://" + simListener.Addr().String()
	// The ESB relay goes to the engine simulator, with keys made for this run.
	if err := wireLocalESB(&e, e.Seed.UpstreamURL, ephemeralESBKeys); err != nil {
		return nil, err
	}
	// The messaging simulators deliver their webhooks to this hub.
	e.Messaging.HubURL = "http://" + apiListener.Addr().String()
	wireDemoPaymentWebhooks(&e)
	e.SimURLs = provider.SimConfig{URL: e.Seed.UpstreamURL, SMTPAddr: smtpListener.Addr().String()}
	e.ISO.SimAddr = isoListener.Addr().String()
	if len(e.ISO.Hosts) == 0 {
		e.ISO.Simulate = true
	}

	if err := runMigrate(ctx, e, logger); err != nil {
		return nil, err
	}
	if err := runSeed(ctx, e, logger, false); err != nil {
		return nil, err
	}
	simStore, err := schema.Open(ctx, e.DB)
	if err != nil {
		return nil, err
	}
	sims, err := newSimulators(simStore, e, logger)
	if err != nil {
		return nil, err
	}
	if err := writeSinkCA(sims); err != nil {
		return nil, err
	}
	go func() {
		_ = serveSimulators(ctx, sims, simListeners{http: simListener, smtp: smtpListener, iso: isoListener})
		simStore.Close()
	}()
	st, err := openStack(ctx, e, logger)
	if err != nil {
		return nil, err
	}
	hub := &localHub{env: e, apiURL: "http://" + apiListener.Addr().String(), simURL: e.Seed.UpstreamURL,
		sims: sims, st: st, served: make(chan error, 1)}
	go func() {
		hub.served <- serveAPI(ctx, st, e, logger, apiListener)
		st.close()
	}()
	return hub, hub.waitHealthy(ctx)
}

// waitHealthy returns once the API answers /health, or with the error it stopped on.
func (h *localHub) waitHealthy(ctx context.Context) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-h.served:
			h.served <- err
			return fmt.Errorf("the API stopped during start-up: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if resp, err := http.Get(h.apiURL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the API did not answer /health within 30s")
}

// writeSinkCA writes the SMTP sink's certificate to EMAIL_CA_FILE, when that is set.
func writeSinkCA(sims *sim.Simulators) error {
	if path := os.Getenv("EMAIL_CA_FILE"); path != "" {
		return os.WriteFile(path, sims.Mail.CertPEM(), 0o644)
	}
	return nil
}

// wait returns once the API has shut down (after ctx ended).
func (h *localHub) wait() error {
	if err := <-h.served; err != nil {
		return fmt.Errorf("API shutdown: %w", err)
	}
	return nil
}
