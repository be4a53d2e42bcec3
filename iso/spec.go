// Package iso is Switchyard's ISO 8583 side: the message specs and typed messages, framing, a
// pool of signed-on TCP connections to a card switch (with response matching, echo, reconnect,
// a circuit breaker and metrics), STAN/RRN and response codes. It knows nothing of Temporal.
// The switch simulator lives in sim.
package iso

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	isoerrors "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
)

// Built-in specs, chosen with ISO_SPEC. Anything else is read as the path of a moov-io JSON
// spec (`switchyard iso spec` prints the active one to start from).
const (
	// SpecASCII is ISO 8583:1987 in ASCII: a 16-character hex bitmap, ASCII digits and text,
	// ASCII length prefixes. The default.
	SpecASCII = "ascii"
	// SpecBinary is ISO 8583:1987 the way binary hosts (POS and ATM switches behind a TPDU,
	// say) speak it: an 8-byte binary bitmap, the MTI and numeric fields (n) in packed BCD,
	// variable-length fields with BCD length prefixes, text (an/ans) in ASCII, the PIN block
	// in binary.
	SpecBinary = "binary"
)

// SpecNames are the built-in specs' names.
var SpecNames = []string{SpecASCII, SpecBinary}

var builtin = map[string]*iso8583.MessageSpec{SpecASCII: asciiSpec(), SpecBinary: binarySpec()}

// asciiSpec is ISO 8583:1987 with ASCII encoding, reduced to the fields Switchyard uses.
func asciiSpec() *iso8583.MessageSpec {
	str := func(length int, description string, pref prefix.Prefixer) *field.String {
		return field.NewString(&field.Spec{Length: length, Description: description, Enc: encoding.ASCII, Pref: pref})
	}
	// Numeric fields take int64 or string values (never int), zero-padded on the left.
	num := func(length int, description string) *field.Numeric {
		return field.NewNumeric(&field.Spec{Length: length, Description: description, Enc: encoding.ASCII,
			Pref: prefix.ASCII.Fixed, Pad: padding.Left('0')})
	}
	return &iso8583.MessageSpec{
		Name: "Switchyard ISO 8583:1987 ASCII",
		Fields: map[int]field.Field{
			0:   str(4, "Message Type Indicator", prefix.ASCII.Fixed),
			1:   field.NewBitmap(&field.Spec{Length: 16, Description: "Bitmap", Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed}),
			2:   str(19, "Primary Account Number", prefix.ASCII.LL),
			3:   str(6, "Processing Code", prefix.ASCII.Fixed),
			4:   num(12, "Transaction Amount"),
			7:   str(10, "Transmission Date & Time", prefix.ASCII.Fixed),
			11:  num(6, "Systems Trace Audit Number (STAN)"),
			12:  str(6, "Local Transaction Time", prefix.ASCII.Fixed),
			13:  str(4, "Local Transaction Date", prefix.ASCII.Fixed),
			14:  str(4, "Expiration Date", prefix.ASCII.Fixed),
			22:  str(3, "Point of Service Entry Mode", prefix.ASCII.Fixed),
			32:  str(11, "Acquiring Institution Identification Code", prefix.ASCII.LL),
			35:  str(37, "Track 2 Data", prefix.ASCII.LL),
			37:  str(12, "Retrieval Reference Number", prefix.ASCII.Fixed),
			38:  str(6, "Authorization Identification Response", prefix.ASCII.Fixed),
			39:  str(2, "Response Code", prefix.ASCII.Fixed),
			41:  str(8, "Card Acceptor Terminal Identification", prefix.ASCII.Fixed),
			42:  str(15, "Card Acceptor Identification Code", prefix.ASCII.Fixed),
			49:  str(3, "Transaction Currency Code", prefix.ASCII.Fixed),
			52:  field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			54:  str(120, "Additional Amounts", prefix.ASCII.LLL),
			70:  str(3, "Network Management Information Code", prefix.ASCII.Fixed),
			90:  str(42, "Original Data Elements", prefix.ASCII.Fixed),
			102: str(28, "Account Identification 1", prefix.ASCII.LL),
			103: str(28, "Account Identification 2", prefix.ASCII.LL),
		},
	}
}

// binarySpec is the same fields with a binary bitmap and packed BCD for numeric data. A
// numeric field of odd length takes a leading zero nibble; a length prefix counts digits for
// BCD content and characters for ASCII content.
func binarySpec() *iso8583.MessageSpec {
	bcd := func(length int, description string, pref prefix.Prefixer) *field.String {
		return field.NewString(&field.Spec{Length: length, Description: description, Enc: encoding.BCD, Pref: pref})
	}
	num := func(length int, description string) *field.Numeric {
		return field.NewNumeric(&field.Spec{Length: length, Description: description, Enc: encoding.BCD,
			Pref: prefix.BCD.Fixed, Pad: padding.Left('0')})
	}
	text := func(length int, description string, pref prefix.Prefixer) *field.String {
		return field.NewString(&field.Spec{Length: length, Description: description, Enc: encoding.ASCII, Pref: pref})
	}
	return &iso8583.MessageSpec{
		Name: "Switchyard ISO 8583:1987 binary (BCD)",
		Fields: map[int]field.Field{
			0:   bcd(4, "Message Type Indicator", prefix.BCD.Fixed),
			1:   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			2:   bcd(19, "Primary Account Number", prefix.BCD.LL),
			3:   bcd(6, "Processing Code", prefix.BCD.Fixed),
			4:   num(12, "Transaction Amount"),
			7:   bcd(10, "Transmission Date & Time", prefix.BCD.Fixed),
			11:  num(6, "Systems Trace Audit Number (STAN)"),
			12:  bcd(6, "Local Transaction Time", prefix.BCD.Fixed),
			13:  bcd(4, "Local Transaction Date", prefix.BCD.Fixed),
			14:  bcd(4, "Expiration Date", prefix.BCD.Fixed),
			22:  bcd(3, "Point of Service Entry Mode", prefix.BCD.Fixed),
			32:  bcd(11, "Acquiring Institution Identification Code", prefix.BCD.LL),
			35:  text(37, "Track 2 Data", prefix.BCD.LL),
			37:  text(12, "Retrieval Reference Number", prefix.ASCII.Fixed),
			38:  text(6, "Authorization Identification Response", prefix.ASCII.Fixed),
			39:  text(2, "Response Code", prefix.ASCII.Fixed),
			41:  text(8, "Card Acceptor Terminal Identification", prefix.ASCII.Fixed),
			42:  text(15, "Card Acceptor Identification Code", prefix.ASCII.Fixed),
			49:  bcd(3, "Transaction Currency Code", prefix.BCD.Fixed),
			52:  field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			54:  text(120, "Additional Amounts", prefix.BCD.LLL),
			70:  bcd(3, "Network Management Information Code", prefix.BCD.Fixed),
			90:  bcd(42, "Original Data Elements", prefix.BCD.Fixed),
			102: text(28, "Account Identification 1", prefix.BCD.LL),
			103: text(28, "Account Identification 2", prefix.BCD.LL),
		},
	}
}

// BuiltinSpec returns a built-in spec by name.
func BuiltinSpec(name string) (*iso8583.MessageSpec, bool) {
	s, ok := builtin[name]
	return s, ok
}

// LoadSpec returns the spec ISO_SPEC names: a built-in one, or a moov-io JSON spec read from a
// file. Either way it is checked (CheckSpec) before use.
func LoadSpec(nameOrPath string) (*iso8583.MessageSpec, error) {
	if nameOrPath == "" {
		nameOrPath = SpecASCII
	}
	spec, ok := builtin[nameOrPath]
	if !ok {
		raw, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("ISO spec %q is neither a built-in spec (%s) nor a readable file: %w",
				nameOrPath, strings.Join(SpecNames, ", "), err)
		}
		if spec, err = specs.ImportJSON(raw); err != nil {
			return nil, fmt.Errorf("ISO spec %s: %w", nameOrPath, err)
		}
	}
	if err := CheckSpec(spec); err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			se.Source = nameOrPath
		}
		return nil, err
	}
	return spec, nil
}

// ExportSpec writes a spec as moov-io JSON, which LoadSpec reads back.
func ExportSpec(spec *iso8583.MessageSpec) ([]byte, error) {
	return specs.ExportJSON(spec)
}

// FieldProblem is one field a spec lacks, or has with a type Switchyard cannot use.
type FieldProblem struct {
	Field   int
	Problem string
}

// String reads "field 41 (Card Acceptor Terminal Identification) is missing ...".
func (p FieldProblem) String() string { return fmt.Sprintf("field %d %s", p.Field, p.Problem) }

// SpecError lists everything wrong with a spec.
type SpecError struct {
	Source   string // the built-in name or the file
	Problems []FieldProblem
}

// Error names the spec and every problem with it.
func (e *SpecError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	source := e.Source
	if source == "" {
		source = "(unnamed)"
	}
	return fmt.Sprintf("ISO spec %s cannot carry Switchyard's messages: %s", source, strings.Join(parts, "; "))
}

// usedField is a field the typed messages read or write, and the Go type they use for it.
type usedField struct {
	kind     reflect.Kind
	messages []string
}

// usedFields reads the iso8583 tags of the typed messages: every field the hub and the switch
// simulator put in a message or read from one.
func usedFields() map[int]*usedField {
	out := map[int]*usedField{}
	for _, v := range []any{Financial{}, Reversal{}, Network{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("iso8583")
			id, err := strconv.Atoi(strings.Split(tag, ",")[0])
			if err != nil {
				continue
			}
			u := out[id]
			if u == nil {
				u = &usedField{kind: t.Field(i).Type.Kind()}
				out[id] = u
			}
			u.messages = append(u.messages, t.Name())
		}
	}
	return out
}

// CheckSpec makes sure spec can carry every message Switchyard sends and reads: a bitmap in
// field 1, every field the typed messages use with a type they can use (a String field for
// text and codes, a Numeric one for amounts and the STAN), and sample messages of each kind
// that pack and unpack. It returns a *SpecError naming each field that is missing or unusable.
func CheckSpec(spec *iso8583.MessageSpec) error {
	se := &SpecError{}
	if spec == nil || len(spec.Fields) == 0 {
		se.Problems = append(se.Problems, FieldProblem{Field: 0, Problem: "(Message Type Indicator) is missing: the spec has no fields"})
		return se
	}
	describe := func(id int) string {
		if f, ok := builtin[SpecASCII].Fields[id]; ok {
			return "(" + f.Spec().Description + ")"
		}
		return ""
	}
	if _, ok := spec.Fields[1].(*field.Bitmap); !ok {
		problem := "(Bitmap) is missing: it must be a Bitmap field"
		if f, present := spec.Fields[1]; present {
			problem = fmt.Sprintf("(Bitmap) is a %s field: it must be a Bitmap", typeName(f))
		}
		se.Problems = append(se.Problems, FieldProblem{Field: 1, Problem: problem})
	}
	used := usedFields()
	ids := make([]int, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		u := used[id]
		want := "String"
		if u.kind == reflect.Int64 {
			want = "Numeric"
		}
		f, ok := spec.Fields[id]
		switch {
		case !ok:
			se.Problems = append(se.Problems, FieldProblem{Field: id, Problem: fmt.Sprintf("%s is missing (used in %s): it must be a %s field",
				describe(id), strings.Join(u.messages, ", "), want)})
		case typeName(f) != want:
			se.Problems = append(se.Problems, FieldProblem{Field: id, Problem: fmt.Sprintf("%s is a %s field: %s carries it as %s, so it must be a %s field",
				describe(id), typeName(f), strings.Join(u.messages, ", "), kindWord(u.kind), want)})
		}
	}
	if len(se.Problems) > 0 {
		return se
	}
	// Types are right; lengths and encodings must also fit what Switchyard puts in the fields.
	for _, sample := range samples() {
		if p := trySample(spec, sample); p != nil {
			se.Problems = append(se.Problems, *p)
		}
	}
	if len(se.Problems) > 0 {
		return se
	}
	return nil
}

func typeName(f field.Field) string { return reflect.TypeOf(f).Elem().Name() }

func kindWord(k reflect.Kind) string {
	if k == reflect.Int64 {
		return "a number"
	}
	return "text"
}

// samples are messages as Switchyard sends and receives them, with every field at its
// longest usual value.
func samples() []any {
	return []any{
		&Financial{MTI: MTIFinancial, PAN: "4111111111111111111", ProcessingCode: ProcTransfer, Amount: 999_999_999_999,
			TransmissionDateTime: "1231235959", STAN: 999999, LocalTime: "235959", LocalDate: "1231", POSEntryMode: "051",
			AcquirerID: "63900100001", RRN: "999999999999", TerminalID: "SWYD0001", MerchantID: "SWITCHYARD00001",
			Currency: "834", FromAccount: "0110010000010110010000010110", ToAccount: "0110020000010110020000010110"},
		&Financial{MTI: MTIFinancialResponse, ProcessingCode: ProcBalanceInquiry, TransmissionDateTime: "0101000000",
			STAN: 1, RRN: "000000000001", AuthCode: "123456", ResponseCode: CodeApproved, TerminalID: "SWYD0001",
			Currency: "834", AdditionalAmounts: FormatBalances(-999_999_999_999, 999_999_999_999, "834"),
			FromAccount: "011001000001"},
		&Reversal{MTI: MTIReversalRepeat, ProcessingCode: ProcTransfer, Amount: 1, TransmissionDateTime: "0101000000",
			STAN: 2, AcquirerID: "639001", RRN: "000000000002", ResponseCode: CodeApproved, TerminalID: "SWYD0001",
			Currency: "834", OriginalData: OriginalData(MTIFinancial, 999999, "1231235959", "63900100001"),
			FromAccount: "011001000001", ToAccount: "011002000001"},
		&Network{MTI: MTINetworkResponse, TransmissionDateTime: "0101000000", STAN: 3, ResponseCode: CodeApproved,
			TerminalID: "SWYD0001", NetworkCode: NetEcho},
	}
}

var fieldInError = regexp.MustCompile(`field (\d+)`)

// trySample packs v with spec, unpacks it and reads it back; the first failure is the problem.
func trySample(spec *iso8583.MessageSpec, v any) *FieldProblem {
	mti := reflect.ValueOf(v).Elem().FieldByName("MTI").String()
	fail := func(err error) *FieldProblem {
		id := 0
		var ue *isoerrors.UnpackError
		if errors.As(err, &ue) {
			id, _ = strconv.Atoi(ue.FieldID)
		} else if m := fieldInError.FindStringSubmatch(err.Error()); m != nil {
			id, _ = strconv.Atoi(m[1]) // moov-io's pack errors name the field in their text
		}
		return &FieldProblem{Field: id, Problem: fmt.Sprintf("cannot carry a %s as Switchyard sends it: %v", mti, err)}
	}
	msg, err := Pack(spec, v)
	if err != nil {
		return fail(err)
	}
	raw, err := msg.Pack()
	if err != nil {
		return fail(err)
	}
	back := iso8583.NewMessage(spec)
	if err := back.Unpack(raw); err != nil {
		return fail(err)
	}
	out := reflect.New(reflect.TypeOf(v).Elem())
	if err := back.Unmarshal(out.Interface()); err != nil {
		return fail(err)
	}
	if !reflect.DeepEqual(out.Interface(), v) {
		return &FieldProblem{Field: 0, Problem: fmt.Sprintf("does not read back a %s as it was written: %+v became %+v",
			mti, v, out.Interface())}
	}
	return nil
}
