package api

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/pgtest"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &dbURL)) }

// OpenTestStore opens the package's test database (exported for the api_test package).
func OpenTestStore(t *testing.T) *schema.Store { return openStore(t) }

func openStore(t *testing.T) *schema.Store {
	t.Helper()
	s, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestClientSecretIsVerifiedOnceAndFollowsRotation(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	hash, err := HashSecret("first-secret")
	require.NoError(t, err)
	id := "cache-" + uuid.NewString()
	_, err = store.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: "c", SecretHash: hash, IsActive: true})
	require.NoError(t, err)

	auth := newClientAuth(store, 50*time.Millisecond)
	check := func(secret string) bool {
		row, err := auth.client(ctx, id)
		require.NoError(t, err)
		return auth.secretMatches(ctx, row, secret)
	}
	require.True(t, check("first-secret"))
	start := time.Now()
	for range 100 {
		require.True(t, check("first-secret"))
	}
	require.Less(t, time.Since(start), 500*time.Millisecond, "a verified secret is not bcrypt-checked again")
	require.False(t, check("first-secreT"))

	// Another instance rotates the secret: once the cached row expires, the old secret fails.
	newHash, err := HashSecret("second-secret")
	require.NoError(t, err)
	_, err = store.UpdateClient(ctx, id, func(c *schema.ClientRow) error { c.SecretHash = newHash; return nil })
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !check("first-secret") }, 2*time.Second, 20*time.Millisecond)
	require.True(t, check("second-secret"))
}

func TestSeedLoadsTheOriginalShapes(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	cfg := SeedConfig{MediatorPrefix: "urn:seedtest", ClientPrefix: "seedtest", ChannelPrefix: "Seedtest",
		UpstreamURL: "http://127.0.0.1:8090",
		ClientsJSON: `[{"client_id":"demo-env-client","name":"Demo Env Client","client_secret":"env-secret",` +
			`"allowed_ips":["127.0.0.1"],"is_active":true}]`,
		MediatorsJSON: `[{"urn":"urn:ttpb:demo:env","name":"Demo Env Mediator","version":"2.0.0",` +
			`"endpoint_url":"https://env-mediator.example.org/api","is_online":true}]`,
		ChannelsJSON: `[{"name":"Demo Env Channel","description":"Channel from env configuration",` +
			`"path_pattern":"/demo/env/ping","methods":["get"],"requires_request_body":false,"request_content_type":"",` +
			`"request_body_example":"","channel_type":"https","priority":1,"is_active":true,"mediator_urn":"urn:ttpb:demo:env"}]`,
	}
	sum, err := Seed(ctx, store, cfg, false)
	require.NoError(t, err)
	require.Equal(t, SeedSummary{Clients: 1, Mediators: 1, Channels: 1, ClientIDs: []string{"demo-env-client"}}, sum)
	ch, err := store.GetChannelByName(ctx, "Demo Env Channel")
	require.NoError(t, err)
	require.Equal(t, []string{"GET"}, []string(ch.Methods))
	require.Equal(t, "https", ch.ChannelType)
	require.True(t, ch.IsDemo)

	// A second seed updates in place; --reset removes demo records and writes them again.
	_, err = Seed(ctx, store, cfg, false)
	require.NoError(t, err)
	_, err = Seed(ctx, store, cfg, true)
	require.NoError(t, err)
	again, err := store.GetChannelByName(ctx, "Demo Env Channel")
	require.NoError(t, err)
	require.NotEqual(t, ch.ID, again.ID, "reset wrote the channel anew")

	t.Run("the built-in demo seeds without env JSON", func(t *testing.T) {
		sum, err := Seed(ctx, store, SeedConfig{MediatorPrefix: "urn:builtin", ClientPrefix: "builtin",
			ChannelPrefix: "Builtin", UpstreamURL: "http://127.0.0.1:8090"}, false)
		require.NoError(t, err)
		require.Equal(t, []string{"builtin-integrator", "builtin-partner"}, sum.ClientIDs)
		require.Equal(t, 4, sum.Channels)
	})

	t.Run("a bad entry writes nothing", func(t *testing.T) {
		before, err := store.ListClients(ctx, schema.Page{Limit: 1000})
		require.NoError(t, err)
		bad := cfg
		bad.ClientsJSON = `[{"client_id":"fresh-client","name":"Fresh","client_secret":"fresh-secret"}]`
		bad.ChannelsJSON = `[{"name":"Broken","path_pattern":"/b","methods":["get"],"mediator_urn":"urn:nowhere"}]`
		_, err = Seed(ctx, store, bad, false)
		require.ErrorContains(t, err, "DEMO_SEED_CHANNELS_JSON[0]: mediator_urn")
		after, err := store.ListClients(ctx, schema.Page{Limit: 1000})
		require.NoError(t, err)
		require.Equal(t, len(before), len(after))

		bad.ChannelsJSON = `[{"name":"Broken","path_pattern":"/b","methods":"get"}]`
		_, err = Seed(ctx, store, bad, false)
		require.ErrorContains(t, err, "DEMO_SEED_CHANNELS_JSON: methods: expected an array")
	})
}
