package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInFlightKeepsTheMostRequestsServedAtOnce(t *testing.T) {
	f := &inFlight{now: map[string]int{}, max: map[string]int{}}
	outA := f.enter("cbs")
	outB := f.enter("cbs")
	outC := f.enter("bill")
	outB()
	outD := f.enter("cbs")

	read := func() map[string]map[string]int {
		rec := httptest.NewRecorder()
		f.serve(rec, httptest.NewRequest(http.MethodGet, "/_sim/providers/concurrency", nil))
		var out map[string]map[string]int
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out
	}
	require.Equal(t, map[string]map[string]int{"cbs": {"in_flight": 2, "max": 2}, "bill": {"in_flight": 1, "max": 1}}, read())

	outA()
	outC()
	outD()
	rec := httptest.NewRecorder()
	f.serve(rec, httptest.NewRequest(http.MethodDelete, "/_sim/providers/concurrency", nil))
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Empty(t, read(), "DELETE forgets the maxima")
	f.enter("cbs")()
	require.Equal(t, map[string]map[string]int{"cbs": {"in_flight": 0, "max": 1}}, read())
}

func TestRecordsCountRepeatsOfAKey(t *testing.T) {
	rs := newRecords()
	id, fresh := rs.add("key-1", map[string]any{"to": "+255700000001"})
	require.True(t, fresh)
	again, fresh := rs.add("key-1", map[string]any{"to": "+255700000001"})
	require.False(t, fresh)
	require.Equal(t, id, again, "a repeat of the key is the same message")
	_, fresh = rs.add("", map[string]any{"to": "+255700000002"})
	require.True(t, fresh)
	_, fresh = rs.add("", map[string]any{"to": "+255700000002"})
	require.True(t, fresh, "without a key every request is a message")

	rec := httptest.NewRecorder()
	rs.serve(rec, httptest.NewRequest(http.MethodGet, "/_sim/sms/messages", nil))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.Len(t, list, 3)
	require.EqualValues(t, 2, list[0]["received"], "two requests carried key-1")
	require.EqualValues(t, 1, list[1]["received"])
}
