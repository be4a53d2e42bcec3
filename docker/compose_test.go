// Package docker holds the container build and the compose file; its test checks the compose
// file with the compose specification's own loader, since no Docker engine runs the tests.
package docker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// testPayloadKeys and testAdminToken are what an operator exports before `make up`: compose
// refuses to start without.
const (
	testPayloadKeys = "k1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
	testAdminToken  = "0123456789abcdef0123456789abcdef"
)

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	project, err := loadComposeWith(types.Mapping{"PAYLOAD_KEYS": testPayloadKeys, "ADMIN_TOKEN": testAdminToken})
	require.NoError(t, err)
	return project
}

func loadComposeWith(env types.Mapping) (*types.Project, error) {
	dir, err := filepath.Abs(".")
	if err != nil {
		return nil, err
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml")}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("switchyard", true) })
}

func TestComposeEncryptsPayloads(t *testing.T) {
	_, err := loadComposeWith(types.Mapping{"ADMIN_TOKEN": testAdminToken})
	require.ErrorContains(t, err, "PAYLOAD_KEYS", "no stack without payload keys")

	p := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		require.Equal(t, testPayloadKeys, *svc.Environment["PAYLOAD_KEYS"], "%s encrypts with the operator's keys", name)
	}
	api, _ := p.GetService("api")
	require.Equal(t, "http://localhost:8233", *api.Environment["CODEC_CORS_ORIGINS"], "the Web UI may call the codec server")
}

func TestComposeDescribesTheStack(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "migrate", "seed", "api", "worker", "sim"} {
		_, err := p.GetService(name)
		require.NoError(t, err, "service %s", name)
	}

	api, _ := p.GetService("api")
	require.Equal(t, []string{"api"}, []string(api.Command))
	require.Equal(t, "temporal:7233", *api.Environment["TEMPORAL_ADDRESS"])
	require.Contains(t, *api.Environment["DATABASE_URL"], "@postgres:5432/")
	require.Equal(t, testAdminToken, *api.Environment["ADMIN_TOKEN"])
	require.Equal(t, "production", *api.Environment["APP_ENV"], "the API refuses a short admin token")
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, api.DependsOn["migrate"].Condition)

	worker, _ := p.GetService("worker")
	require.NotNil(t, worker.Deploy)
	require.EqualValues(t, 2, *worker.Deploy.Replicas, "workers scale out")
	require.Equal(t, []string{"worker"}, []string(worker.Command))

	seed, _ := p.GetService("seed")
	require.Equal(t, "http://sim:8090", *seed.Environment["DEMO_SEED_UPSTREAM_URL"])
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, seed.DependsOn["migrate"].Condition)

	sim, _ := p.GetService("sim")
	require.Equal(t, "postgres://switchyard:switchyard@postgres:5432/switchyard?sslmode=disable", *sim.Environment["DATABASE_URL"],
		"the provider simulators read their data from the database")
	for _, svc := range []string{"api", "worker", "sim"} {
		s, _ := p.GetService(svc)
		require.Equal(t, "true", *s.Environment["CBS_SIMULATE"], svc)
		require.Equal(t, "hmac", *s.Environment["CBS_AUTH_TYPE"], svc)
		require.Equal(t, *api.Environment["CBS_HMAC_SECRET"], *s.Environment["CBS_HMAC_SECRET"],
			"%s shares the issuers' configuration: the simulators check what the hub sends", svc)
		require.Equal(t, "http://sim:8090", *s.Environment["SIM_URL"], svc)
		require.Equal(t, "true", *s.Environment["PAYMENTS_SIMULATE"], svc)
		require.Equal(t, "true", *s.Environment["ERP_SIMULATE"], svc)
		require.Equal(t, *api.Environment["PAYMENTS_API_KEY"], *s.Environment["PAYMENTS_API_KEY"],
			"%s shares the payment connector's key: the payment simulator checks it", svc)
		require.Equal(t, *api.Environment["ERP_API_KEY"], *s.Environment["ERP_API_KEY"],
			"%s shares the ERP connector's key: the ERP simulator checks it", svc)
	}
	require.Equal(t, "change-me-payments", *api.Environment["PAYMENTS_API_KEY"], "the operator's key, else a placeholder")
	require.Equal(t, "change-me-erp", *api.Environment["ERP_API_KEY"])

	pg, _ := p.GetService("postgres")
	require.NotNil(t, pg.HealthCheck)
	temporal, _ := p.GetService("temporal")
	require.Equal(t, "postgres", *temporal.Environment["POSTGRES_SEEDS"])
}

func TestDockerfileBuildsTheOneBinary(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	text := string(b)
	require.Contains(t, text, "go build -trimpath")
	require.Contains(t, text, "./cmd/switchyard")
	require.Contains(t, text, `ENTRYPOINT ["/usr/local/bin/switchyard"]`)
	require.Contains(t, text, "USER nonroot")

	p := loadCompose(t)
	api, _ := p.GetService("api")
	require.Equal(t, "docker/Dockerfile", api.Build.Dockerfile)
	_, err = os.Stat(filepath.Join(api.Build.Context, api.Build.Dockerfile))
	require.NoError(t, err, "the build context holds the Dockerfile")
	_, err = os.Stat(filepath.Join(api.Build.Context, "go.mod"))
	require.NoError(t, err, "the build context is the module root")
}

// Issue 8, hole 13: no default admin token, and no demo clients unless asked for.
func TestComposeHasNoOperatorTraps(t *testing.T) {
	_, err := loadComposeWith(types.Mapping{"PAYLOAD_KEYS": testPayloadKeys})
	require.ErrorContains(t, err, "ADMIN_TOKEN", "no stack with a default admin token")
	_, err = loadComposeWith(types.Mapping{"PAYLOAD_KEYS": testPayloadKeys, "ADMIN_TOKEN": ""})
	require.ErrorContains(t, err, "ADMIN_TOKEN", "nor with an empty one")

	p := loadCompose(t)
	seed, err := p.GetService("seed")
	require.NoError(t, err)
	require.Equal(t, "false", *seed.Environment["DEMO_SEED"], "the demo clients (every permission) are opt-in")
	withDemo, err := loadComposeWith(types.Mapping{"PAYLOAD_KEYS": testPayloadKeys, "ADMIN_TOKEN": testAdminToken,
		"DEMO_SEED": "true"})
	require.NoError(t, err)
	seed, _ = withDemo.GetService("seed")
	require.Equal(t, "true", *seed.Environment["DEMO_SEED"])
}

// TestComposeWiresTheESBRelay: the hub relays to the engine simulator, with the client's key
// where the relay is made (API and workers) and the public halves where answers are checked.
func TestComposeWiresTheESBRelay(t *testing.T) {
	p, err := loadComposeWith(types.Mapping{"ADMIN_TOKEN": testAdminToken, "PAYLOAD_KEYS": testPayloadKeys,
		"ESB_CLIENT_PRIVATE_KEY": "client-private", "ESB_CLIENT_PUBLIC_KEY": "client-public",
		"ESB_ENGINE_PRIVATE_KEY": "engine-private", "ESB_ENGINE_PUBLIC_KEY": "engine-public"})
	require.NoError(t, err)
	for _, name := range []string{"api", "worker"} {
		svc, _ := p.GetService(name)
		require.Equal(t, "http://sim:8090/esb/engine", *svc.Environment["GOVESB_ENGINE_URL"], name)
		require.Equal(t, "client-private", *svc.Environment["CLIENT_PRIVATE_KEY"], "%s signs relays", name)
		require.Equal(t, "engine-public", *svc.Environment["GOV_ESB_PUBLIC_KEY"], "%s verifies answers", name)
		require.NotContains(t, svc.Environment, "SIM_ESB_PRIVATE_KEY", "the engine's key stays with the engine")
	}
	sim, _ := p.GetService("sim")
	require.Equal(t, "client-public", *sim.Environment["CLIENT_PUBLIC_KEY"])
	require.Equal(t, "engine-private", *sim.Environment["SIM_ESB_PRIVATE_KEY"])
	require.NotContains(t, sim.Environment, "CLIENT_PRIVATE_KEY", "the client's key stays with the hub")
	api, _ := p.GetService("api")
	require.Equal(t, *api.Environment["ESB_CLIENT_SECRET"], *sim.Environment["ESB_CLIENT_SECRET"],
		"the engine simulator checks the credentials the hub sends")
}
