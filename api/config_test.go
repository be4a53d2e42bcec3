package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSecondsDecode(t *testing.T) {
	var s Seconds
	require.NoError(t, s.Decode("30"))
	require.Equal(t, "30s", s.Duration().String())
	require.NoError(t, s.Decode("1m30s"))
	require.Equal(t, "1m30s", s.Duration().String())
	require.NoError(t, s.Decode("0.5"))
	require.Equal(t, "500ms", s.Duration().String())
	require.Error(t, s.Decode("soon"))
	require.Error(t, s.Decode("-3"))
}

func TestRequestBodyCeiling(t *testing.T) {
	cfg := Config{MediatorMode: ModeHybrid, ForwardTimeout: Seconds(time.Second), IntegrationTimeout: time.Second,
		MaxRequestBodyBytes: MaxRequestBodyCeiling}
	require.NoError(t, cfg.Validate())
	cfg.MaxRequestBodyBytes = 4 << 20
	require.ErrorContains(t, cfg.Validate(), "MAX_REQUEST_BODY_BYTES")
}
