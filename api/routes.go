package api

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/switchyard-hub/switchyard/schema"
)

// RouteStore is what the route cache reads.
type RouteStore interface {
	ActiveRoutes(ctx context.Context) ([]schema.RouteRow, error)
}

// route is an active channel ready to match.
type route struct {
	schema.RouteRow
	pattern pathPattern
}

// routeCache holds the active channels, compiled, for the config TTL. Admin changes made
// through this instance invalidate it at once.
type routeCache struct {
	store  RouteStore
	ttl    time.Duration
	logger *slog.Logger

	mu       sync.RWMutex
	routes   []route
	loadedAt time.Time
	// gen counts invalidations. A load keeps its result only if no invalidation happened while
	// it ran, and callers after an invalidation never join a load that started before it.
	gen   uint64
	loads singleflight.Group
}

func newRouteCache(store RouteStore, ttl time.Duration, logger *slog.Logger) *routeCache {
	return &routeCache{store: store, ttl: ttl, logger: logger}
}

func (rc *routeCache) get(ctx context.Context) ([]route, error) {
	rc.mu.RLock()
	routes, fresh, gen := rc.routes, !rc.loadedAt.IsZero() && time.Since(rc.loadedAt) < rc.ttl, rc.gen
	rc.mu.RUnlock()
	if fresh {
		return routes, nil
	}
	v, err := sharedLoad(ctx, &rc.loads, strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		rows, err := rc.store.ActiveRoutes(ctx)
		if err != nil {
			return nil, err
		}
		compiled := make([]route, 0, len(rows))
		for _, row := range rows {
			p, err := compilePattern(row.PathPattern)
			if err != nil {
				rc.logger.Error("Skipping a channel whose path pattern does not compile",
					"channel", row.Name, "error", err)
				continue
			}
			compiled = append(compiled, route{RouteRow: row, pattern: p})
		}
		// Highest priority first; among equals, the name decides, so matching is stable.
		sort.SliceStable(compiled, func(i, j int) bool {
			if compiled[i].Priority != compiled[j].Priority {
				return compiled[i].Priority > compiled[j].Priority
			}
			return compiled[i].Name < compiled[j].Name
		})
		rc.mu.Lock()
		if rc.gen == gen {
			rc.routes, rc.loadedAt = compiled, time.Now()
		}
		rc.mu.Unlock()
		return compiled, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]route), nil
}

// cacheLoadTimeout bounds a shared cache load (clients, channels). The load runs on its own
// context, not on the caller's that happened to start it.
const cacheLoadTimeout = 10 * time.Second

// sharedLoad runs load once for every concurrent caller with the same key. The load is detached
// from the context of whichever caller started it (keeping its values, dropping its
// cancellation) and bounded by cacheLoadTimeout: one client disconnecting must not fail the
// others waiting on the same load. Each caller still stops waiting when its own context ends.
func sharedLoad(ctx context.Context, group *singleflight.Group, key string,
	load func(ctx context.Context) (any, error)) (any, error) {
	ch := group.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheLoadTimeout)
		defer cancel()
		return load(lctx)
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (rc *routeCache) invalidate() {
	rc.mu.Lock()
	rc.loadedAt = time.Time{}
	rc.gen++
	rc.mu.Unlock()
}

// match finds the highest-priority channel for path and method. When channels match the path
// but none allows the method, allowed lists the methods that would be accepted.
func match(routes []route, path, method string) (found *route, allowed []string) {
	for i := range routes {
		r := &routes[i]
		if !r.pattern.match(path) {
			continue
		}
		if methodAllowed(r.Methods, method) {
			return r, nil
		}
		for _, m := range r.Methods {
			if !slices.Contains(allowed, m) {
				allowed = append(allowed, m)
			}
		}
	}
	sort.Strings(allowed)
	return nil, allowed
}

func methodAllowed(methods []string, method string) bool {
	for _, m := range methods {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}
