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
