package activities_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/activities"
)

func TestUpstreamURLNeverLeavesTheEndpointsPath(t *testing.T) {
	for _, bad := range []string{"/x/../../admin", "/..", "/../admin", "/./x", "/x/.", "/..;/admin", "/x/..;v=1/y",
		`/x\..\..\admin`, `/x\y`} {
		_, err := activities.UpstreamURL("https://m.example.org/base", bad, "")
		var invalid *activities.InvalidRequestError
		require.ErrorAs(t, err, &invalid, bad)
	}
	for _, tc := range []struct{ path, want string }{
		{"/x/..y/...", "https://m.example.org/base/x/..y/..."},
		// A "%" in the decoded path is sent encoded: a double-encoded "../" stays text.
		{"/x/%2e%2e%2fadmin", "https://m.example.org/base/x/%252e%252e%252fadmin"},
		{"/a//b", "https://m.example.org/base/a//b"},
	} {
		got, err := activities.UpstreamURL("https://m.example.org/base", tc.path, "")
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got)
	}
}
