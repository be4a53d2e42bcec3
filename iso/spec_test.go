package iso

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"
)

func TestBuiltinSpecsCarryEveryMessage(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec *iso8583.MessageSpec) {
		require.NoError(t, CheckSpec(spec))
	})
	spec, err := LoadSpec("")
	require.NoError(t, err)
	ascii, _ := BuiltinSpec(SpecASCII)
	require.Same(t, ascii, spec, "ascii is the default")
}

func TestTheBinarySpecIsBinary(t *testing.T) {
	spec, _ := BuiltinSpec(SpecBinary)
	msg, err := Pack(spec, sampleInquiry())
	require.NoError(t, err)
	raw, err := msg.Pack()
	require.NoError(t, err)
	require.Equal(t, []byte{0x02, 0x00}, raw[:2], "the MTI in BCD")
	require.Equal(t, byte(0xa2), raw[2], "a binary bitmap: a secondary one follows (field 102), fields 3 and 7 present")
	require.Equal(t, byte(0x04), raw[2+8+4], "field 102 in the secondary bitmap, 16 bytes in all")
	require.Equal(t, []byte{0x31, 0x00, 0x00}, raw[18:21], "the processing code in BCD")
}

func TestAnExportedSpecReimportsIdentically(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec *iso8583.MessageSpec) {
		exported, err := ExportSpec(spec)
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "spec.json")
		require.NoError(t, os.WriteFile(path, exported, 0o644))

		imported, err := LoadSpec(path)
		require.NoError(t, err)
		again, err := ExportSpec(imported)
		require.NoError(t, err)
		require.Equal(t, string(exported), string(again))
		require.Equal(t, spec.Name, imported.Name)
		require.Len(t, imported.Fields, len(spec.Fields))

		for _, v := range samples() {
			a, err := Pack(spec, v)
			require.NoError(t, err)
			b, err := Pack(imported, v)
			require.NoError(t, err)
			rawA, _ := a.Pack()
			rawB, _ := b.Pack()
			require.Equal(t, rawA, rawB, "the same bytes on the wire")
		}
	})
}

// specFile writes the ascii spec with change applied to its JSON fields, and returns its path.
func specFile(t *testing.T, change func(fields map[string]any)) string {
	t.Helper()
	ascii, _ := BuiltinSpec(SpecASCII)
	exported, err := ExportSpec(ascii)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(exported, &doc))
	change(doc["fields"].(map[string]any))
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "switch.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func TestASpecMissingAUsedFieldIsRefused(t *testing.T) {
	t.Run("missing fields are named, each of them", func(t *testing.T) {
		path := specFile(t, func(fields map[string]any) {
			delete(fields, "41")
			delete(fields, "90")
		})
		_, err := LoadSpec(path)
		require.Error(t, err)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, err, "field 41 (Card Acceptor Terminal Identification) is missing")
		require.ErrorContains(t, err, "field 90 (Original Data Elements) is missing (used in Reversal)")
		var se *SpecError
		require.True(t, errors.As(err, &se))
		require.Equal(t, []int{41, 90}, []int{se.Problems[0].Field, se.Problems[1].Field})
	})

	t.Run("a field of the wrong type is named", func(t *testing.T) {
		path := specFile(t, func(fields map[string]any) {
			fields["11"].(map[string]any)["type"] = "String"
			fields["1"].(map[string]any)["type"] = "String"
		})
		_, err := LoadSpec(path)
		require.ErrorContains(t, err, "field 1 (Bitmap) is a String field: it must be a Bitmap")
		require.ErrorContains(t, err, "field 11 (Systems Trace Audit Number (STAN)) is a String field")
		require.ErrorContains(t, err, "it must be a Numeric field")
	})

	t.Run("a field too short for what the hub sends is named", func(t *testing.T) {
		path := specFile(t, func(fields map[string]any) {
			fields["41"].(map[string]any)["length"] = 4
		})
		_, err := LoadSpec(path)
		require.ErrorContains(t, err, "field 41 cannot carry a 0200")
		var se *SpecError
		require.True(t, errors.As(err, &se))
		require.Equal(t, 41, se.Problems[0].Field)
	})

	t.Run("neither a built-in nor a file", func(t *testing.T) {
		_, err := LoadSpec("ebcdic")
		require.ErrorContains(t, err, "neither a built-in spec (ascii, binary) nor a readable file")
	})
}
