package api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMinorUnitsFitTheAmountField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount string
		want   int64
	}{
		{"1500.5", 150050},
		{"0.01", 1},
		{"9999999999.99", 999_999_999_999},
		{"9999999999", 999_999_999_900},
	} {
		got, err := minorUnits(tc.amount)
		require.NoError(t, err, tc.amount)
		require.Equal(t, tc.want, got, tc.amount)
	}
	for _, amount := range []string{"999999999999.99", "10000000000", "10000000000.00", "999999999999"} {
		_, err := minorUnits(amount)
		var apiErr *Error
		require.True(t, errors.As(err, &apiErr), "%s: %v", amount, err)
		require.Equal(t, http.StatusBadRequest, apiErr.Status, amount)
		require.Equal(t, CodeValidation, apiErr.Code, amount)
		require.Equal(t, "amount", apiErr.Details["field"], amount)
	}
}
