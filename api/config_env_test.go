package api_test

import (
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
)

func configFromEnv(t *testing.T) (api.Config, error) {
	t.Helper()
	var cfg api.Config
	err := envconfig.Process("", &cfg)
	return cfg, err
}

// Issue 8, hole 13: outside development the hub refuses a short admin token.
func TestAdminTokenLengthOutsideDevelopment(t *testing.T) {
	t.Setenv("ADMIN_TOKEN", "")
	cfg, err := configFromEnv(t)
	require.NoError(t, err)
	require.Equal(t, api.EnvProduction, cfg.Environment, "production unless APP_ENV says otherwise")
	require.NoError(t, cfg.Validate(), "no token: the admin API is off")

	for _, token := range []string{"change-me", "dev-admin-token", "test-admin-token", strings.Repeat("x", api.MinAdminTokenLength-1)} {
		cfg.AdminToken = token
		err := cfg.Validate()
		require.ErrorContains(t, err, "ADMIN_TOKEN", token)
		require.NotContains(t, err.Error(), token, "the token is never echoed")
	}
	cfg.AdminToken = strings.Repeat("x", api.MinAdminTokenLength)
	require.NoError(t, cfg.Validate())

	t.Run("development keeps its short token", func(t *testing.T) {
		t.Setenv("APP_ENV", "development")
		cfg, err := configFromEnv(t)
		require.NoError(t, err)
		require.Equal(t, api.EnvDevelopment, cfg.Environment)
		cfg.AdminToken = "dev-admin-token"
		require.NoError(t, cfg.Validate())
	})
	t.Run("an empty APP_ENV is production", func(t *testing.T) {
		t.Setenv("APP_ENV", "")
		t.Setenv("ADMIN_TOKEN", "change-me")
		cfg, err := configFromEnv(t)
		require.NoError(t, err)
		require.Equal(t, api.EnvProduction, cfg.Environment)
		require.ErrorContains(t, cfg.Validate(), "ADMIN_TOKEN")
	})
	t.Run("an unknown APP_ENV is refused", func(t *testing.T) {
		t.Setenv("APP_ENV", "staging")
		_, err := configFromEnv(t)
		require.ErrorContains(t, err, "APP_ENV")
		staging := cfg
		staging.Environment = "staging"
		require.ErrorContains(t, staging.Validate(), "APP_ENV")
	})
	t.Run("api.New refuses it too", func(t *testing.T) {
		cfg := cfg
		cfg.AdminToken = "change-me"
		_, err := api.New(cfg, api.Deps{})
		require.ErrorContains(t, err, "ADMIN_TOKEN")
	})
}
