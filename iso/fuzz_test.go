package iso

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
)

// fuzzSpec picks a built-in spec from a fuzzed byte.
func fuzzSpec(which uint8) *iso8583.MessageSpec {
	spec, _ := BuiltinSpec(SpecNames[int(which)%len(SpecNames)])
	return spec
}

// FuzzUnpack: under every built-in spec, no input makes Unpack panic, and a message that
// unpacks packs back to the same bytes: exactly, once in the form Switchyard writes; and
// carrying the same values, from any input. Byte for byte from any input cannot hold: moov-io
// reads some spellings leniently (a lowercase hex bitmap, a sign before a number, a non-zero pad
// nibble of odd-length BCD, an empty secondary bitmap) and writes them the one way, and the
// hub must keep reading a switch that spells them so. Run longer by hand:
// go test -run '^$' -fuzz=FuzzUnpack -fuzztime=5m ./iso
func FuzzUnpack(f *testing.F) {
	for i, name := range SpecNames {
		spec, _ := BuiltinSpec(name)
		for _, v := range append(samples(),
			&Network{MTI: MTINetwork, STAN: 1, NetworkCode: NetSignOn, TerminalID: "TERM0001"},
			&Reversal{MTI: MTIReversal, STAN: 2, OriginalData: OriginalData(MTIFinancial, 42, "1122334455", "639001")},
		) {
			msg, err := Pack(spec, v)
			if err != nil {
				f.Fatal(err)
			}
			b, err := msg.Pack()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, uint8(i))
		}
	}
	f.Add([]byte("0200"), uint8(0))
	f.Add([]byte{0x02, 0x00}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		spec := fuzzSpec(which)
		msg, err := Unpack(spec, data)
		if err != nil {
			return
		}
		var out Financial
		_ = msg.Unmarshal(&out)
		_ = Describe(msg)
		_, _ = RequestIDs{}.GenerateRequestID(msg)

		packed, err := msg.Pack()
		if err != nil {
			t.Fatalf("unpacked but does not pack: %v\n in: %x", err, data)
		}
		again := iso8583.NewMessage(spec)
		if err := again.Unpack(packed); err != nil {
			t.Fatalf("packed what it cannot unpack: %v\n in: %x\nout: %x", err, data, packed)
		}
		repacked, err := again.Pack()
		if err != nil || !bytes.Equal(packed, repacked) {
			t.Fatalf("does not pack back to the same bytes (%v):\n in: %x\nout: %x", err, packed, repacked)
		}
		if a, b := fieldValues(t, msg), fieldValues(t, again); !maps.Equal(a, b) {
			t.Fatalf("values changed on the way round:\n in: %v\nout: %v", a, b)
		}
		var back Financial
		if msg.Unmarshal(&out) == nil && (again.Unmarshal(&back) != nil || back != out) {
			t.Fatalf("the typed message changed on the way round:\n in: %+v\nout: %+v", out, back)
		}
	})
}

// fieldValues is every field's value but the bitmap's (which packing rebuilds).
func fieldValues(t *testing.T, msg *iso8583.Message) map[int]string {
	out := map[int]string{}
	for id, f := range msg.GetFields() {
		if id == 1 {
			continue
		}
		v, err := f.String()
		if err != nil {
			t.Fatalf("field %d: %v", id, err)
		}
		out[id] = v
	}
	return out
}

// FuzzFraming: no byte stream makes the codec panic, for every framing and spec, and a
// message the codec reads it writes back the same.
func FuzzFraming(f *testing.F) {
	for i, name := range SpecNames {
		spec, _ := BuiltinSpec(name)
		codec, _ := NewCodec(spec, FramingBinary2, "")
		msg, _ := Pack(spec, &Network{MTI: MTINetwork, TransmissionDateTime: TransmissionTime(time.Now()), STAN: 7,
			NetworkCode: NetEcho, TerminalID: "TERM0001"})
		var buf bytes.Buffer
		_ = codec.WriteMessage(&buf, msg)
		f.Add(buf.Bytes(), uint8(0), uint8(i))
	}
	f.Add([]byte{0x00, 0x04, '0', '8', '0', '0'}, uint8(1), uint8(0))
	f.Add([]byte("0004080"), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which, specByte uint8) {
		framing := []string{FramingBinary2, FramingASCII4, FramingBCD2}[int(which)%3]
		tpdu := ""
		if which >= 3 {
			tpdu = "6000010000"
		}
		c, err := NewCodec(fuzzSpec(specByte), framing, tpdu)
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(data)
		for range 4 {
			msg, err := c.ReadMessage(r)
			if err != nil {
				return
			}
			var buf bytes.Buffer
			if err := c.WriteMessage(&buf, msg); err != nil {
				t.Fatalf("read but does not write: %v", err)
			}
			back, err := c.ReadMessage(&buf)
			if err != nil {
				t.Fatalf("wrote what it cannot read: %v", err)
			}
			if a, b := fieldValues(t, msg), fieldValues(t, back); !maps.Equal(a, b) {
				t.Fatalf("values changed on the way round:\n in: %v\nout: %v", a, b)
			}
		}
	})
}
