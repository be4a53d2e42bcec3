package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/schema"
)

// blockingStore answers ActiveRoutes once release is closed, or fails when its context ends
// first, as a database query does.
type blockingStore struct {
	release chan struct{}
	loads   atomic.Int32
}

func (b *blockingStore) ActiveRoutes(ctx context.Context) ([]schema.RouteRow, error) {
	b.loads.Add(1)
	select {
	case <-b.release:
		return []schema.RouteRow{{ChannelRow: schema.ChannelRow{Name: "c", PathPattern: "/c", Methods: []string{"GET"}}}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *blockingStore) GetClient(ctx context.Context, id string) (schema.ClientRow, error) {
	b.loads.Add(1)
	select {
	case <-b.release:
		return schema.ClientRow{ClientID: id, IsActive: true}, nil
	case <-ctx.Done():
		return schema.ClientRow{}, ctx.Err()
	}
}

// firstCallerLeaves starts a caller whose context is then cancelled and three more on live
// contexts, all sharing one load; it returns the first caller's error and the others'.
func firstCallerLeaves(t *testing.T, store *blockingStore, call func(ctx context.Context) error) (error, []error) {
	t.Helper()
	first, leave := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() { firstErr <- call(first) }()
	require.Eventually(t, func() bool { return store.loads.Load() == 1 }, time.Second, time.Millisecond)
	others := make(chan error, 3)
	for range 3 {
		go func() { others <- call(context.Background()) }()
	}
	time.Sleep(50 * time.Millisecond) // the others join the load in flight
	leave()
	err := <-firstErr
	close(store.release)
	var errs []error
	for range 3 {
		errs = append(errs, <-others)
	}
	require.Equal(t, int32(1), store.loads.Load(), "one shared load")
	return err, errs
}

func TestOneDisconnectDoesNotFailOthers(t *testing.T) {
	t.Run("route cache", func(t *testing.T) {
		store := &blockingStore{release: make(chan struct{})}
		rc := newRouteCache(store, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
		first, others := firstCallerLeaves(t, store, func(ctx context.Context) error {
			routes, err := rc.get(ctx)
			if err == nil && len(routes) != 1 {
				return fmt.Errorf("got %d routes", len(routes))
			}
			return err
		})
		require.ErrorIs(t, first, context.Canceled, "the caller that left stops waiting")
		for _, err := range others {
			require.NoError(t, err)
		}
	})

	t.Run("client cache", func(t *testing.T) {
		store := &blockingStore{release: make(chan struct{})}
		auth := newClientAuth(store, time.Hour)
		first, others := firstCallerLeaves(t, store, func(ctx context.Context) error {
			_, err := auth.client(ctx, "c1")
			return err
		})
		require.ErrorIs(t, first, context.Canceled)
		for _, err := range others {
			require.NoError(t, err)
		}
	})

	t.Run("shared bcrypt check", func(t *testing.T) {
		hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
		require.NoError(t, err)
		row := schema.ClientRow{ClientID: "c1", SecretHash: string(hash), IsActive: true}
		auth := newClientAuth(nil, time.Hour)
		auth.bcryptSlots = make(chan struct{}, 1)
		auth.bcryptSlots <- struct{}{} // every slot busy: the check waits

		first, leave := context.WithCancel(context.Background())
		firstOK := make(chan bool, 1)
		go func() { firstOK <- auth.secretMatches(first, row, "s3cret") }()
		time.Sleep(50 * time.Millisecond)
		othersOK := make(chan bool, 3)
		for range 3 {
			go func() { othersOK <- auth.secretMatches(context.Background(), row, "s3cret") }()
		}
		time.Sleep(50 * time.Millisecond)
		leave()
		require.False(t, <-firstOK)
		<-auth.bcryptSlots // a slot frees up
		for range 3 {
			require.True(t, <-othersOK, "a right secret is not refused because another request left")
		}
	})
}
