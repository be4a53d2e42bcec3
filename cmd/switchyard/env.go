package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/worker"
)

// logConfig selects the log output.
type logConfig struct {
	Level  string `envconfig:"LOG_LEVEL" default:"info"`
	Format string `envconfig:"LOG_FORMAT" default:"json"`
}

// processConfig is what a process needs beyond its parts' configs.
type processConfig struct {
	// EmbeddedWorker runs a worker on every task queue inside the API process, so starts are eager.
	EmbeddedWorker bool `envconfig:"API_EMBEDDED_WORKER" default:"true"`
	// WorkerMetricsAddr serves /metrics and /health for a standalone worker.
	WorkerMetricsAddr string `envconfig:"WORKER_METRICS_ADDR" default:":9090"`
}

// env is every configuration struct, each read once from the environment in main and passed down.
type env struct {
	Log        logConfig
	Process    processConfig
	DB         schema.Config
	Temporal   worker.TemporalConfig
	Payload    worker.PayloadConfig
	Secrets    platform.VaultConfig
	API        api.Config
	Worker     worker.Config
	Activities activities.Config
	Sim        sim.UpstreamConfig
	SimURLs    provider.SimConfig
	ISO        iso.Config
	Switch     sim.SwitchConfig
	Messaging  sim.MessagingConfig
	Payments   sim.PaymentsConfig
	Sites      sim.SitesConfig
	ESBSim     sim.ESBConfig
	Seed       api.SeedConfig
	Dev        devConfig
}

func loadEnv() (env, error) {
	var e env
	for _, part := range []any{&e.Log, &e.Process, &e.DB, &e.Temporal, &e.Payload, &e.Secrets, &e.API, &e.Worker, &e.Activities, &e.Sim,
		&e.SimURLs, &e.ISO, &e.Switch, &e.Messaging, &e.Payments, &e.Sites, &e.ESBSim, &e.Seed, &e.Dev} {
		if err := envconfig.Process("", part); err != nil {
			return env{}, fmt.Errorf("configuration: %w", err)
		}
	}
	if err := e.Activities.Validate(); err != nil {
		return env{}, fmt.Errorf("configuration: %w", err)
	}
	e.Activities.DefaultTimeout = e.API.ForwardTimeout.Duration()
	return e, nil
}

func newLogger(cfg logConfig) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Format, "text") {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
