package provider

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestEngineTextFitsAFailure: an engine's refusal text becomes a Temporal failure message and a
// log column, so it is valid UTF-8 without NUL or control characters, cut at a character.
func TestEngineTextFitsAFailure(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes: a cut at 300 falls inside none, at 301 inside one
	for _, n := range []int{300, 301} {
		got := truncateText(long, n)
		require.True(t, utf8.ValidString(got), "cut at %d", n)
		require.LessOrEqual(t, len(strings.TrimSuffix(got, "…")), n)
	}
	got := engineMessage([]byte("refused\x00 \xff\xfe by\r the engine"))
	require.True(t, utf8.ValidString(got))
	require.NotContains(t, got, "\x00")
	require.NotContains(t, got, "\r")
	require.Contains(t, got, "refused")
}
