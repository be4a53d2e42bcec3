package iso

import (
	"bytes"
	"testing"
	"time"
)

// FuzzUnpack: no input makes unpacking panic. Run longer by hand:
// go test -fuzz=FuzzUnpack -fuzztime=5m ./iso
func FuzzUnpack(f *testing.F) {
	for _, v := range []any{
		&Financial{MTI: MTIFinancial, PAN: "4111111111111111", ProcessingCode: ProcTransfer, Amount: 1234,
			TransmissionDateTime: "1122334455", STAN: 42, RRN: "000000000042", TerminalID: "TERM0001",
			Currency: "834", FromAccount: "011000000001", ToAccount: "011000000002"},
		&Network{MTI: MTINetwork, STAN: 1, NetworkCode: NetSignOn, TerminalID: "TERM0001"},
		&Reversal{MTI: MTIReversal, STAN: 2, OriginalData: OriginalData(MTIFinancial, 42, "1122334455", "639001")},
	} {
		msg, err := Pack(v)
		if err != nil {
			f.Fatal(err)
		}
		b, err := msg.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("0200"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := NewMessage()
		if err := msg.Unpack(data); err == nil {
			var out Financial
			_ = msg.Unmarshal(&out)
			_ = Describe(msg)
			_, _ = RequestIDs{}.GenerateRequestID(msg)
		}
	})
}

// FuzzFraming: no byte stream makes the codec panic, for every framing.
func FuzzFraming(f *testing.F) {
	codec, _ := NewCodec(FramingBinary2, "")
	msg, _ := Pack(&Network{MTI: MTINetwork, TransmissionDateTime: TransmissionTime(time.Now()), STAN: 7,
		NetworkCode: NetEcho, TerminalID: "TERM0001"})
	var buf bytes.Buffer
	_ = codec.WriteMessage(&buf, msg)
	f.Add(buf.Bytes(), uint8(0))
	f.Add([]byte{0x00, 0x04, '0', '8', '0', '0'}, uint8(1))
	f.Add([]byte("0004080"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		framing := []string{FramingBinary2, FramingASCII4, FramingBCD2}[int(which)%3]
		tpdu := ""
		if which >= 3 {
			tpdu = "6000010000"
		}
		c, err := NewCodec(framing, tpdu)
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(data)
		for range 4 {
			if _, err := c.ReadMessage(r); err != nil {
				return
			}
		}
	})
}
