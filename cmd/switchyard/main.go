// Command switchyard runs every part of the Switchyard integration hub:
//
//	switchyard api       the REST API (with workers on every task queue, for eager starts)
//	switchyard worker    a Temporal worker (scale out by running more)
//	switchyard migrate   apply database migrations (idempotent)
//	switchyard seed      write demo data (--reset deletes earlier demo records first)
//	switchyard sim       the provider simulators
//	switchyard iso spec  print the ISO 8583 spec (ISO_SPEC) as JSON
//	switchyard dev       everything in one process, with a local PostgreSQL and Temporal dev server
//	switchyard bench     the load benchmark behind `make bench`
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: switchyard <command> [flags]

commands:
  api       serve the REST API (and workers on every task queue unless API_EMBEDDED_WORKER=false)
  worker    run a Temporal worker
  migrate   apply database migrations
  seed      write demo data (--reset first deletes earlier demo records)
  sim       serve the provider simulators
  iso spec  print the ISO 8583 spec (ISO_SPEC, or the one named) as moov-io JSON to start from
  dev       run everything locally: PostgreSQL, Temporal dev server, migrations, demo data,
            API, worker and simulators
  bench     measure the proxy against the bare Temporal floor (see make bench)

Configuration comes from the environment; see README.md.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		slog.Error("switchyard failed", "command", os.Args[1], "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, command string, args []string) error {
	env, err := loadEnv()
	if err != nil {
		return err
	}
	logger := newLogger(env.Log)
	slog.SetDefault(logger)
	switch command {
	case "api":
		return runAPI(ctx, env, logger)
	case "worker":
		return runWorker(ctx, env, logger)
	case "migrate":
		return runMigrate(ctx, env, logger)
	case "seed":
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		reset := fs.Bool("reset", false, "delete earlier demo records first")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return runSeed(ctx, env, logger, *reset)
	case "sim":
		return runSim(ctx, env, logger)
	case "iso":
		return runISO(env, args, os.Stdout)
	case "dev":
		return runDev(ctx, env, logger)
	case "bench":
		return runBench(ctx, env, logger, args)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	fmt.Fprintln(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", command)
}
