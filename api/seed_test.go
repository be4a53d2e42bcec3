package api

import (
	"context"
	"os"
	"testing"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
)

// defaultRetry is the retry policy a channel gets when it names none.
var defaultRetry = [4]float64{3, 1000, 2, 30000}

func retryOf(c schema.ChannelRow) [4]float64 {
	return [4]float64{float64(c.RetryMaxAttempts), float64(c.RetryInitialIntervalMS), c.RetryBackoffCoefficient,
		float64(c.RetryMaxIntervalMS)}
}

// requireMinimalClient checks a client seeded with nothing but id, name and secret.
func requireMinimalClient(t *testing.T, c schema.ClientRow) {
	t.Helper()
	require.Empty(t, c.Permissions, "%s: no permissions", c.ClientID)
	require.Empty(t, c.Roles, "%s: no roles", c.ClientID)
	require.Empty(t, c.AllowedIPs, "%s: no allowed IPs", c.ClientID)
	require.Zero(t, c.RateLimitPerMinute, "%s: no rate limit", c.ClientID)
	require.True(t, c.IsActive, "%s: active by default", c.ClientID)
	require.True(t, c.IsDemo)
}

// requireMinimalChannel checks a channel seeded with name, path, methods, mediator and
// allowed_clients only.
func requireMinimalChannel(t *testing.T, c schema.ChannelRow, allowedClients ...string) {
	t.Helper()
	require.ElementsMatch(t, allowedClients, []string(c.AllowedClients), c.Name)
	require.Empty(t, c.AllowedRoles, "%s: no allowed_roles", c.Name)
	require.False(t, c.EscalateOnFailure, "%s: no escalation", c.Name)
	require.False(t, c.HonoursIdempotencyKey, c.Name)
	require.False(t, c.RequiresRequestBody, c.Name)
	require.Empty(t, c.RequestContentType, c.Name)
	require.Empty(t, c.Description, c.Name)
	require.Zero(t, c.Priority, c.Name)
	require.Zero(t, c.TimeoutMS, c.Name)
	require.Equal(t, defaultRetry, retryOf(c), "%s: the default retry policy", c.Name)
	require.Equal(t, "http", c.ChannelType, c.Name)
	require.True(t, c.IsActive, c.Name)
}

// Issue 8, hole 15: seed JSON must not inherit the built-in demo's privileges.
func TestSeedJSONRecordsTakeDefaultsNotTheBuiltInDemo(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	cfg := SeedConfig{MediatorPrefix: "urn:minimal", ClientPrefix: "minimal", ChannelPrefix: "Minimal",
		UpstreamURL: "http://127.0.0.1:8090",
		// As many entries as the built-in demo has, so each lines up with a built-in record: the
		// first with the integrator (every permission, role integrator), the second with the
		// partner (rate limit), the fourth channel with Payments (allowed_roles, escalation).
		ClientsJSON: `[{"client_id":"minimal-a","name":"Minimal A","client_secret":"minimal-secret-a"},` +
			`{"client_id":"minimal-b","name":"Minimal B","client_secret":"minimal-secret-b"}]`,
		MediatorsJSON: `[{"urn":"urn:minimal:m","name":"Minimal Mediator","endpoint_url":"http://127.0.0.1:9"},` +
			`{"urn":"urn:minimal:n","name":"Minimal Mediator N","endpoint_url":"http://127.0.0.1:9"}]`,
		ChannelsJSON: `[{"name":"Minimal 1","path_pattern":"/minimal/1","methods":["GET"],"mediator_urn":"urn:minimal:m"},` +
			`{"name":"Minimal 2","path_pattern":"/minimal/2","methods":["GET"],"mediator_urn":"urn:minimal:m"},` +
			`{"name":"Minimal 3","path_pattern":"/minimal/3","methods":["GET"],"mediator_urn":"urn:minimal:m"},` +
			`{"name":"Minimal Restricted","path_pattern":"/minimal/restricted","methods":["POST"],` +
			`"mediator_urn":"urn:minimal:n","allowed_clients":["minimal-b"]}]`,
	}
	_, err := Seed(ctx, store, cfg, false)
	require.NoError(t, err)

	for _, id := range []string{"minimal-a", "minimal-b"} {
		c, err := store.GetClient(ctx, id)
		require.NoError(t, err)
		requireMinimalClient(t, c)
	}
	for _, name := range []string{"Minimal 1", "Minimal 2", "Minimal 3"} {
		c, err := store.GetChannelByName(ctx, name)
		require.NoError(t, err)
		requireMinimalChannel(t, c)
	}
	restricted, err := store.GetChannelByName(ctx, "Minimal Restricted")
	require.NoError(t, err)
	requireMinimalChannel(t, restricted, "minimal-b")
	m, err := store.GetMediator(ctx, "urn:minimal:n")
	require.NoError(t, err)
	require.Empty(t, m.Version)
	require.True(t, m.IsOnline, "online by default")

	t.Run("a record seeded over a built-in one keeps nothing of it", func(t *testing.T) {
		builtin := SeedConfig{MediatorPrefix: "urn:over", ClientPrefix: "over", ChannelPrefix: "Over",
			UpstreamURL: "http://127.0.0.1:8090"}
		_, err := Seed(ctx, store, builtin, false)
		require.NoError(t, err)
		before, err := store.GetClient(ctx, "over-integrator")
		require.NoError(t, err)
		require.Contains(t, before.Permissions, PermissionISOTransfer, "the built-in integrator may move money")

		over := builtin
		over.ClientsJSON = `[{"client_id":"over-integrator","name":"Over Integrator","client_secret":"demo-secret"}]`
		over.ChannelsJSON = `[{"name":"Over Payments","path_pattern":"/integrations/payments","methods":["POST"],` +
			`"mediator_urn":"urn:over:down","allowed_clients":["over-partner"]}]`
		_, err = Seed(ctx, store, over, false)
		require.NoError(t, err)
		after, err := store.GetClient(ctx, "over-integrator")
		require.NoError(t, err)
		requireMinimalClient(t, after)
		require.Equal(t, before.CreatedAt, after.CreatedAt, "updated in place")
		payments, err := store.GetChannelByName(ctx, "Over Payments")
		require.NoError(t, err)
		requireMinimalChannel(t, payments, "over-partner")
	})
}

// deleteOnly is a seed store that can only delete: anything else the seeder tried would panic.
type deleteOnly struct {
	SeedStore
	deleted int
}

func (s *deleteOnly) DeleteDemo(context.Context) error { s.deleted++; return nil }

// Issue 8, hole 13: DEMO_SEED=false writes no demo records (compose's default).
func TestDemoSeedCanBeTurnedOff(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DEMO_SEED", "false")
	var cfg SeedConfig
	require.NoError(t, envconfig.Process("", &cfg))
	require.NotNil(t, cfg.Enabled)
	require.False(t, *cfg.Enabled)
	cfg.ClientsJSON = `[{"client_id":"never-seeded","name":"Never","client_secret":"never-secret"}]`

	store := openStore(t)
	sum, err := Seed(ctx, store, cfg, false)
	require.NoError(t, err)
	require.Equal(t, SeedSummary{}, sum)
	_, err = store.GetClient(ctx, "never-seeded")
	require.ErrorIs(t, err, schema.ErrNotFound)

	t.Run("with reset it only deletes earlier demo records", func(t *testing.T) {
		fake := &deleteOnly{}
		_, err := Seed(ctx, fake, cfg, true)
		require.NoError(t, err)
		require.Equal(t, 1, fake.deleted)
	})
	t.Run("unset, the demo is seeded", func(t *testing.T) {
		t.Setenv("DEMO_SEED", "true") // restored after the test
		require.NoError(t, os.Unsetenv("DEMO_SEED"))
		var cfg SeedConfig
		require.NoError(t, envconfig.Process("", &cfg))
		require.True(t, cfg.Enabled == nil || *cfg.Enabled)
		require.Nil(t, SeedConfig{}.Enabled, "a SeedConfig built in code seeds")
	})
}
