package platform_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

func TestParseSyncFilters(t *testing.T) {
	t.Parallel()

	t.Run("content types are read in order, repeats and blanks dropped", func(t *testing.T) {
		types, err := platform.ParseSyncFilters(map[string]string{"content_types": " page, post,page,, product_v2 ",
			"status": "publish"})
		require.NoError(t, err)
		require.Equal(t, []string{"page", "post", "product_v2"}, types)

		types, err = platform.ParseSyncFilters(nil)
		require.NoError(t, err)
		require.Nil(t, types, "no filter: the integration's types")
	})

	t.Run("bad filters are refused, naming the filter", func(t *testing.T) {
		for _, tc := range []struct {
			filters map[string]string
			field   string
		}{
			{map[string]string{"colour": "red"}, "filters.colour"},
			{map[string]string{strings.Repeat("k", 100): "x"}, "filters"},
			{map[string]string{"content_types": "posts/../x"}, "filters.content_types"},
			{map[string]string{"content_types": strings.Repeat("t", 65)}, "filters.content_types"},
			{map[string]string{"content_types": strings.Repeat("a,", 2200)}, "filters.content_types"},
			{map[string]string{"status": strings.Repeat("s", 65)}, "filters.status"},
		} {
			_, err := platform.ParseSyncFilters(tc.filters)
			var invalid *platform.InvalidError
			require.True(t, errors.As(err, &invalid), "%v", tc.filters)
			require.ErrorIs(t, err, platform.ErrInvalid)
			if tc.field != "" {
				require.Contains(t, invalid.Fields, tc.field)
			}
		}
	})

	t.Run("at most 32 types", func(t *testing.T) {
		var names []string
		for i := range 33 {
			names = append(names, "t"+strings.Repeat("x", i))
		}
		_, err := platform.ParseSyncFilters(map[string]string{"content_types": strings.Join(names, ",")})
		var invalid *platform.InvalidError
		require.ErrorAs(t, err, &invalid)
		require.Contains(t, invalid.Fields["filters.content_types"], "at most 32")
	})
}
