package api

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
)

// gatedRoutes answers ActiveRoutes with its current rows, after release is closed.
type gatedRoutes struct {
	rows    atomic.Value // []schema.RouteRow
	release chan struct{}
	loads   atomic.Int32
}

func (g *gatedRoutes) ActiveRoutes(context.Context) ([]schema.RouteRow, error) {
	g.loads.Add(1)
	rows := g.rows.Load().([]schema.RouteRow)
	<-g.release
	return rows, nil
}

func TestRouteCacheDropsALoadThatRacedAnInvalidation(t *testing.T) {
	store := &gatedRoutes{release: make(chan struct{})}
	store.rows.Store([]schema.RouteRow{})
	rc := newRouteCache(store, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))

	stale := make(chan []route)
	go func() {
		routes, err := rc.get(context.Background())
		require.NoError(t, err)
		stale <- routes
	}()
	require.Eventually(t, func() bool { return store.loads.Load() == 1 }, time.Second, time.Millisecond)

	// An admin adds a channel while that load is in flight.
	store.rows.Store([]schema.RouteRow{{ChannelRow: schema.ChannelRow{Name: "new", PathPattern: "/new",
		Methods: []string{"GET"}}}})
	rc.invalidate()
	close(store.release)
	require.Empty(t, <-stale, "the in-flight load answers its own caller")

	routes, err := rc.get(context.Background())
	require.NoError(t, err)
	require.Len(t, routes, 1, "the next caller does not get the load that raced the invalidation")
	require.Equal(t, int32(2), store.loads.Load())
}
