package main

import (
	"context"
	"errors"
	"log/slog"
)

func runBench(ctx context.Context, e env, logger *slog.Logger, args []string) error {
	return errors.New("bench: not built yet")
}
