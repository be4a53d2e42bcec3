package iso

import (
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// maskAccount keeps the last four characters of an account identification.
func maskAccount(in string, _ field.Field) string {
	if len(in) <= 4 {
		return in
	}
	return strings.Repeat("*", len(in)-4) + in[len(in)-4:]
}

// Describe renders a message for logs with the PAN, track data and PIN block masked (the
// library's default filters) and the account identifications too.
func Describe(msg *iso8583.Message) string {
	if msg == nil {
		return "<nil>"
	}
	var b strings.Builder
	filters := append(iso8583.DefaultFilters(),
		iso8583.FilterField("102", maskAccount), iso8583.FilterField("103", maskAccount))
	if err := iso8583.Describe(msg, &b, filters...); err != nil {
		return "<undescribable message>"
	}
	return b.String()
}
