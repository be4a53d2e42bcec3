// Package iso is Switchyard's ISO 8583 side: the message spec and typed messages, framing, a
// pool of signed-on TCP connections to a card switch (with response matching, echo, reconnect,
// a circuit breaker and metrics), STAN/RRN, and a switch simulator. It knows nothing of Temporal.
package iso

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Spec is ISO 8583:1987 with ASCII encoding, reduced to the fields Switchyard uses.
var Spec = &iso8583.MessageSpec{
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

func str(length int, description string, pref prefix.Prefixer) *field.String {
	return field.NewString(&field.Spec{Length: length, Description: description, Enc: encoding.ASCII, Pref: pref})
}

// num is a fixed-length numeric field, zero-padded on the left. Numeric fields take int64 or
// string values (never int).
func num(length int, description string) *field.Numeric {
	return field.NewNumeric(&field.Spec{Length: length, Description: description, Enc: encoding.ASCII,
		Pref: prefix.ASCII.Fixed, Pad: padding.Left('0')})
}

// NewMessage returns an empty message of Spec.
func NewMessage() *iso8583.Message { return iso8583.NewMessage(Spec) }
