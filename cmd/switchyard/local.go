package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/switchyard-hub/switchyard/sim"
)

// localHub is the hub on free loopback ports: the upstream simulator and the API with its
// worker, against the database and Temporal named in its env. Tests and `switchyard bench` use it.
type localHub struct {
	env    env
	apiURL string
	simURL string
	sim    *sim.Upstream
	st     *stack
	served chan error
}

// startLocalHub migrates and seeds the database (demo mediators pointing at the simulator),
// then serves the simulator and the API until ctx ends. Wait for it with wait.
func startLocalHub(ctx context.Context, e env, logger *slog.Logger) (*localHub, error) {
	simListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	upstream := sim.NewUpstream(e.Sim)
	go func() { _ = serveOn(ctx, simListener, upstream.Handler(), time.Second) }()
	e.Seed.UpstreamURL = "http://" + simListener.Addr().String()

	if err := runMigrate(ctx, e, logger); err != nil {
		return nil, err
	}
	if err := runSeed(ctx, e, logger, false); err != nil {
		return nil, err
	}
	st, err := openStack(ctx, e, logger)
	if err != nil {
		return nil, err
	}
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.close()
		return nil, err
	}
	hub := &localHub{env: e, apiURL: "http://" + apiListener.Addr().String(), simURL: e.Seed.UpstreamURL,
		sim: upstream, st: st, served: make(chan error, 1)}
	go func() {
		hub.served <- serveAPI(ctx, st, e, logger, apiListener)
		st.close()
	}()
	return hub, nil
}

// wait returns once the API has shut down (after ctx ended).
func (h *localHub) wait() error {
	if err := <-h.served; err != nil {
		return fmt.Errorf("API shutdown: %w", err)
	}
	return nil
}
