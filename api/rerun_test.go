package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRerunFilterIsValidatedBeforeAnythingIsRead(t *testing.T) {
	t.Parallel()
	s := &Server{} // no store: a filter without a channel reads nothing
	for _, tc := range []struct {
		name  string
		spec  RerunFilterSpec
		field string
	}{
		{"an empty filter", RerunFilterSpec{}, "filter"},
		{"an unknown status", RerunFilterSpec{Status: []string{"lost"}}, "filter.status"},
		{"a client id with a control character", RerunFilterSpec{ClientID: "a\nb"}, "filter.client_id"},
		{"an id that is not a uuid", RerunFilterSpec{IDs: []string{"1"}}, "filter.ids"},
		{"a time that is not RFC 3339", RerunFilterSpec{To: "2026-13-01"}, "filter.to"},
		{"an empty window", RerunFilterSpec{From: "2026-01-01T00:00:00Z", To: "2026-01-01T00:00:00Z"}, "filter.to"},
		{"a window of 32 days", RerunFilterSpec{From: "2026-01-01T00:00:00Z", To: "2026-02-02T00:00:00Z"}, "filter.to"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := s.rerunFilter(context.Background(), tc.spec)
			e := toError(err)
			require.Equal(t, http.StatusBadRequest, e.Status)
			require.Equal(t, tc.field, e.Details["field"])
		})
	}

	t.Run("a valid filter is normalized", func(t *testing.T) {
		f, err := s.rerunFilter(context.Background(), RerunFilterSpec{Status: []string{"failed", "failed"},
			IDs: []string{"0D6F3C1E-5A7B-4E8F-9C2D-1B3A5E7F9D04"}, From: "2026-01-01T00:00:00+03:00"})
		require.NoError(t, err)
		require.Equal(t, []string{"failed"}, f.Status)
		require.Equal(t, []string{"0d6f3c1e-5a7b-4e8f-9c2d-1b3a5e7f9d04"}, f.IDs)
		require.True(t, f.From.Equal(time.Date(2025, 12, 31, 21, 0, 0, 0, time.UTC)))
		require.Nil(t, f.To)
	})
}
