package iso

// Response codes (field 39) and what they mean.
const (
	CodeApproved             = "00"
	CodeDoNotHonour          = "05"
	CodeInvalidTransaction   = "12"
	CodeInvalidAmount        = "13"
	CodeInvalidCard          = "14"
	CodeFormatError          = "30"
	CodeInsufficientFunds    = "51"
	CodeNotPermitted         = "57"
	CodeExceedsLimit         = "61"
	CodeRestrictedCard       = "62"
	CodeSwitchInoperative    = "91"
	CodeDuplicateTransaction = "94"
	CodeSystemMalfunction    = "96"
)

var meanings = map[string]string{
	CodeApproved:             "approved",
	CodeDoNotHonour:          "do not honour",
	CodeInvalidTransaction:   "invalid transaction",
	CodeInvalidAmount:        "invalid amount",
	CodeInvalidCard:          "invalid card number or account",
	CodeFormatError:          "format error",
	CodeInsufficientFunds:    "insufficient funds",
	CodeNotPermitted:         "transaction not permitted to cardholder",
	CodeExceedsLimit:         "exceeds withdrawal amount limit",
	CodeRestrictedCard:       "restricted card or account",
	CodeSwitchInoperative:    "issuer or switch inoperative",
	CodeDuplicateTransaction: "duplicate transmission",
	CodeSystemMalfunction:    "system malfunction",
}

// Meaning says what a response code means.
func Meaning(code string) string {
	if m, ok := meanings[code]; ok {
		return m
	}
	return "response code " + code
}
