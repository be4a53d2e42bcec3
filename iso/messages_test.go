package iso

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"
)

// eachSpec runs test once per built-in spec.
func eachSpec(t *testing.T, test func(t *testing.T, spec *iso8583.MessageSpec)) {
	for _, name := range SpecNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec, ok := BuiltinSpec(name)
			require.True(t, ok)
			test(t, spec)
		})
	}
}

func sampleInquiry() *Financial {
	return &Financial{MTI: MTIFinancial, ProcessingCode: ProcBalanceInquiry, TransmissionDateTime: "0102030405",
		STAN: 42, RRN: "000000000042", TerminalID: "TERM0001", MerchantID: "SWITCHYARD00001", Currency: "834",
		FromAccount: "011000000001"}
}

func TestRequestIDs(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec *iso8583.MessageSpec) {
		id := func(v any) string {
			msg, err := Pack(spec, v)
			require.NoError(t, err)
			got, err := RequestIDs{}.GenerateRequestID(msg)
			require.NoError(t, err)
			return got
		}
		request := id(&Financial{MTI: MTIFinancial, STAN: 42, TerminalID: "TERM0001"})
		require.Equal(t, request, id(&Financial{MTI: MTIFinancialResponse, STAN: 42, TerminalID: "TERM0001"}))
		require.NotEqual(t, request, id(&Reversal{MTI: MTIReversalResponse, STAN: 42, TerminalID: "TERM0001"}),
			"a reversal response never matches a financial request")
		require.NotEqual(t, request, id(&Financial{MTI: MTIFinancialResponse, STAN: 42, TerminalID: "TERM0002"}))

		// The STAN travels zero-padded; the key reads it as a number.
		msg := iso8583.NewMessage(spec)
		msg.MTI(MTIFinancialResponse)
		require.NoError(t, msg.Field(11, "000042"))
		require.NoError(t, msg.Field(41, "TERM0001"))
		got, err := RequestIDs{}.GenerateRequestID(msg)
		require.NoError(t, err)
		require.Equal(t, request, got)
	})
}

func TestFramings(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec *iso8583.MessageSpec) {
		for _, tc := range []struct{ framing, tpdu string }{
			{FramingBinary2, ""}, {FramingASCII4, ""}, {FramingBCD2, ""}, {FramingBinary2, "6000010000"},
		} {
			t.Run(tc.framing+"/"+tc.tpdu, func(t *testing.T) {
				codec, err := NewCodec(spec, tc.framing, tc.tpdu)
				require.NoError(t, err)
				req := sampleInquiry()
				msg, err := Pack(spec, req)
				require.NoError(t, err)
				var buf bytes.Buffer
				require.NoError(t, codec.WriteMessage(&buf, msg))
				packed, _ := msg.Pack()
				require.Equal(t, len(packed)+len(tc.tpdu)/2+map[string]int{FramingBinary2: 2, FramingASCII4: 4, FramingBCD2: 2}[tc.framing],
					buf.Len())
				back, err := codec.ReadMessage(&buf)
				require.NoError(t, err)
				var out Financial
				require.NoError(t, back.Unmarshal(&out))
				require.Equal(t, *req, out)
			})
		}
		_, err := NewCodec(spec, "smoke-signals", "")
		require.Error(t, err)
		codec, _ := NewCodec(spec, FramingBinary2, "")
		_, err = codec.ReadMessage(bytes.NewReader([]byte{0xff, 0xff, 1, 2, 3}))
		require.ErrorContains(t, err, "out of bounds")
	})
}

func TestDescribeMasksCardData(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec *iso8583.MessageSpec) {
		msg, err := Pack(spec, &Financial{MTI: MTIFinancial, PAN: "4111111111111111", ProcessingCode: ProcTransfer, STAN: 1,
			TerminalID: "TERM0001", FromAccount: "011000000001", ToAccount: "011000000002"})
		require.NoError(t, err)
		require.NoError(t, msg.BinaryField(52, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
		out := Describe(msg)
		require.NotContains(t, out, "4111111111111111")
		require.NotContains(t, out, "011000000001")
		require.NotContains(t, strings.ToUpper(out), "0102030405060708")
		require.Contains(t, out, "1111", "the last four stay")
	})
}

func TestBalancesAndOriginalData(t *testing.T) {
	s := FormatBalances(123_45, -5_00, "834")
	ledger, available, currency, err := ParseBalances(s)
	require.NoError(t, err)
	require.Equal(t, []any{int64(123_45), int64(-5_00), "834"}, []any{ledger, available, currency})
	_, _, _, err = ParseBalances("short")
	require.Error(t, err)

	od := OriginalData(MTIFinancial, 123, "1122334455", "639001")
	require.Len(t, od, 42)
	mti, stan, err := ParseOriginalData(od)
	require.NoError(t, err)
	require.Equal(t, MTIFinancial, mti)
	require.Equal(t, int64(123), stan)
}

func TestMemoryRRNs(t *testing.T) {
	var m MemorySTANs
	first, err := m.NextRRN(context.Background())
	require.NoError(t, err)
	second, _ := m.NextRRN(context.Background())
	require.Len(t, first, 12)
	require.NotEqual(t, first, second)
}
