package iso

import (
	"fmt"
	"time"

	"github.com/moov-io/iso8583"
	isoerrors "github.com/moov-io/iso8583/errors"
)

// Message type indicators.
const (
	MTIAuthorization         = "0100"
	MTIAuthorizationResponse = "0110"
	MTIFinancial             = "0200"
	MTIFinancialResponse     = "0210"
	MTIReversal              = "0420"
	MTIReversalRepeat        = "0421"
	MTIReversalResponse      = "0430"
	MTINetwork               = "0800"
	MTINetworkResponse       = "0810"
)

// Processing codes (field 3): transaction type, from account, to account.
const (
	ProcBalanceInquiry = "310000"
	ProcTransfer       = "400000"
)

// Network management codes (field 70).
const (
	NetSignOn  = "001"
	NetSignOff = "002"
	NetEcho    = "301"
)

// Financial is an authorization or financial request or response (0100/0110, 0200/0210).
type Financial struct {
	MTI                  string `iso8583:"0"`
	PAN                  string `iso8583:"2"`
	ProcessingCode       string `iso8583:"3"`
	Amount               int64  `iso8583:"4"`
	TransmissionDateTime string `iso8583:"7"`
	STAN                 int64  `iso8583:"11"`
	LocalTime            string `iso8583:"12"`
	LocalDate            string `iso8583:"13"`
	POSEntryMode         string `iso8583:"22"`
	AcquirerID           string `iso8583:"32"`
	RRN                  string `iso8583:"37"`
	AuthCode             string `iso8583:"38"`
	ResponseCode         string `iso8583:"39"`
	TerminalID           string `iso8583:"41"`
	MerchantID           string `iso8583:"42"`
	Currency             string `iso8583:"49"`
	AdditionalAmounts    string `iso8583:"54"`
	FromAccount          string `iso8583:"102"`
	ToAccount            string `iso8583:"103"`
}

// Reversal is a reversal advice or its repeat, or the response (0420/0421/0430).
type Reversal struct {
	MTI                  string `iso8583:"0"`
	PAN                  string `iso8583:"2"`
	ProcessingCode       string `iso8583:"3"`
	Amount               int64  `iso8583:"4"`
	TransmissionDateTime string `iso8583:"7"`
	STAN                 int64  `iso8583:"11"`
	AcquirerID           string `iso8583:"32"`
	RRN                  string `iso8583:"37"`
	ResponseCode         string `iso8583:"39"`
	TerminalID           string `iso8583:"41"`
	Currency             string `iso8583:"49"`
	OriginalData         string `iso8583:"90"`
	FromAccount          string `iso8583:"102"`
	ToAccount            string `iso8583:"103"`
}

// Network is a network management message (0800/0810): sign-on, sign-off, echo.
type Network struct {
	MTI                  string `iso8583:"0"`
	TransmissionDateTime string `iso8583:"7"`
	STAN                 int64  `iso8583:"11"`
	ResponseCode         string `iso8583:"39"`
	TerminalID           string `iso8583:"41"`
	NetworkCode          string `iso8583:"70"`
}

// Pack builds a message of spec from a typed struct.
func Pack(spec *iso8583.MessageSpec, v any) (*iso8583.Message, error) {
	msg := iso8583.NewMessage(spec)
	if err := msg.Marshal(v); err != nil {
		return nil, fmt.Errorf("building message: %w", err)
	}
	return msg, nil
}

// Unpack reads a message of spec, and refuses as malformed a message it could not write back:
// moov-io decodes some malformed content without complaint (a pad nibble inside packed BCD
// reads as a NUL byte, say), and such values must not travel on into matching, logs and
// answers. Its errors are *errors.UnpackError, after which iso8583-connection keeps reading.
func Unpack(spec *iso8583.MessageSpec, raw []byte) (*iso8583.Message, error) {
	msg := iso8583.NewMessage(spec)
	if err := msg.Unpack(raw); err != nil {
		return nil, err
	}
	if _, err := msg.Pack(); err != nil {
		id := ""
		if m := fieldInError.FindStringSubmatch(err.Error()); m != nil {
			id = m[1]
		}
		return nil, &isoerrors.UnpackError{Err: fmt.Errorf("malformed content: %w", err), FieldID: id, RawMessage: raw}
	}
	return msg, nil
}

// TransmissionTime formats field 7 (MMDDhhmmss, UTC).
func TransmissionTime(t time.Time) string { return t.UTC().Format("0102150405") }

// OriginalData builds field 90 of a reversal: original MTI, STAN, transmission time, acquirer
// and forwarding institution (zero-filled to 42 digits).
func OriginalData(mti string, stan int64, transmission, acquirer string) string {
	return fmt.Sprintf("%4s%06d%10s%011s%011d", mti, stan, transmission, acquirer, 0)
}

// ParseOriginalData reads the original MTI and STAN back from field 90.
func ParseOriginalData(s string) (mti string, stan int64, err error) {
	if len(s) != 42 {
		return "", 0, fmt.Errorf("original data elements must be 42 characters, got %d", len(s))
	}
	_, err = fmt.Sscanf(s[4:10], "%06d", &stan)
	return s[:4], stan, err
}

// Class is the message class digit of an MTI: 1 authorization, 2 financial, 4 reversal,
// 8 network management. A response shares its request's class.
func Class(mti string) string {
	if len(mti) < 2 {
		return ""
	}
	return mti[1:2]
}

// Currencies maps ISO 4217 alphabetic codes to the numeric ones field 49 carries.
var Currencies = map[string]string{"TZS": "834", "KES": "404", "UGX": "800", "USD": "840", "EUR": "978"}

// CurrencyAlpha returns the alphabetic code of a numeric currency code, or the code itself.
func CurrencyAlpha(numeric string) string {
	for alpha, n := range Currencies {
		if n == numeric {
			return alpha
		}
	}
	return numeric
}

// FormatBalances builds field 54 with the ledger (amount type 01) and available (02) balances
// of the default account type: each 20 characters of account type, amount type, currency, sign
// and 12 digits.
func FormatBalances(ledger, available int64, currency string) string {
	group := func(amountType string, v int64) string {
		sign := "C"
		if v < 0 {
			sign, v = "D", -v
		}
		return fmt.Sprintf("00%s%3s%s%012d", amountType, currency, sign, v)
	}
	return group("01", ledger) + group("02", available)
}

// ParseBalances reads the ledger and available balances and their currency from field 54.
func ParseBalances(s string) (ledger, available int64, currency string, err error) {
	if len(s) == 0 || len(s)%20 != 0 {
		return 0, 0, "", fmt.Errorf("additional amounts must be groups of 20 characters, got %d", len(s))
	}
	found := 0
	for i := 0; i < len(s); i += 20 {
		g := s[i : i+20]
		var v int64
		if _, err := fmt.Sscanf(g[8:], "%012d", &v); err != nil {
			return 0, 0, "", fmt.Errorf("amount in %q: %w", g, err)
		}
		if g[7] == 'D' {
			v = -v
		}
		currency = g[4:7]
		switch g[2:4] {
		case "01":
			ledger = v
			found++
		case "02":
			available = v
			found++
		}
	}
	if found < 2 {
		return 0, 0, "", fmt.Errorf("additional amounts lack the ledger or available balance")
	}
	return ledger, available, currency, nil
}

// Card is cardholder data (the PAN). It is the one type through which such data travels in
// workflow inputs, so the payload encryption of Temporal history can single it out; it is
// never logged (Describe masks field 2) and never written to the database.
type Card struct {
	PAN string `json:"pan,omitempty"`
}

// String masks the PAN, so a Card printed by accident shows only the last four digits.
func (c Card) String() string {
	if len(c.PAN) <= 4 {
		return "****"
	}
	return "****" + c.PAN[len(c.PAN)-4:]
}
