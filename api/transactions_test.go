package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRerunFromTheLogDropsRedactedQueryParameters(t *testing.T) {
	require.Equal(t, "a=1&b=%5B", withoutRedacted("a=1&access_token=%5BREDACTED%5D&b=%5B&token=[REDACTED]"))
	require.Equal(t, "", withoutRedacted(""))
}
