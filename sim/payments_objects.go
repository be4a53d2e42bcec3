package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The payment provider's objects, in its JSON shapes. They are read and changed only under
// Payments.mu.

type cardDetails struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	Funding  string `json:"funding"`
}

type methodDetails struct {
	Type string      `json:"type"`
	Card cardDetails `json:"card"`
}

type paymentMethod struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Type     string            `json:"type"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
	Card     cardDetails       `json:"card"`

	// decline is the decline code a charge on the card gets ("" when it succeeds).
	decline string
}

type refund struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Charge   string            `json:"charge"`
	Status   string            `json:"status"`
	Reason   *string           `json:"reason"`
	Created  int64             `json:"created"`
	Metadata map[string]string `json:"metadata"`
}

type refundList struct {
	Object     string    `json:"object"`
	Data       []*refund `json:"data"`
	HasMore    bool      `json:"has_more"`
	TotalCount int       `json:"total_count"`
}

type charge struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Amount               int64             `json:"amount"`
	AmountRefunded       int64             `json:"amount_refunded"`
	Currency             string            `json:"currency"`
	Status               string            `json:"status"`
	Paid                 bool              `json:"paid"`
	Refunded             bool              `json:"refunded"`
	Created              int64             `json:"created"`
	Description          *string           `json:"description"`
	FailureCode          *string           `json:"failure_code"`
	FailureMessage       *string           `json:"failure_message"`
	Metadata             map[string]string `json:"metadata"`
	PaymentMethod        string            `json:"payment_method"`
	PaymentMethodDetails methodDetails     `json:"payment_method_details"`
	Refunds              refundList        `json:"refunds"`
}

type recurring struct {
	Interval      string `json:"interval"`
	IntervalCount int    `json:"interval_count"`
}

type price struct {
	ID         string    `json:"id"`
	UnitAmount int64     `json:"unit_amount"`
	Currency   string    `json:"currency"`
	Recurring  recurring `json:"recurring"`
}

type subscriptionItem struct {
	ID       string `json:"id"`
	Quantity int64  `json:"quantity"`
	Price    price  `json:"price"`
}

type itemList struct {
	Object string             `json:"object"`
	Data   []subscriptionItem `json:"data"`
}

type subscription struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Status             string            `json:"status"`
	Created            int64             `json:"created"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	Customer           string            `json:"customer"`
	Metadata           map[string]string `json:"metadata"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CanceledAt         *int64            `json:"canceled_at"`
	EndedAt            *int64            `json:"ended_at"`
	TrialStart         *int64            `json:"trial_start"`
	TrialEnd           *int64            `json:"trial_end"`
	Items              itemList          `json:"items"`
}

// Statuses and refusals.
const (
	chargeSucceeded      = "succeeded"
	chargeFailed         = "failed"
	subscriptionActive   = "active"
	subscriptionCanceled = "canceled"
	declineGeneric       = "generic_decline"
	declineFunds         = "insufficient_funds"
)

// declineMessages are the messages of the card declines.
var declineMessages = map[string]string{
	declineGeneric: "Your card was declined.",
	declineFunds:   "Your card has insufficient funds.",
}

// testCard is a test source: the card it stands for and how a charge on it ends.
type testCard struct {
	brand, last4, decline string
}

// testSources are the provider's test tokens and payment methods.
var testSources = map[string]testCard{
	"tok_visa":                                {"visa", "4242", ""},
	"pm_card_visa":                            {"visa", "4242", ""},
	"tok_mastercard":                          {"mastercard", "4444", ""},
	"pm_card_mastercard":                      {"mastercard", "4444", ""},
	"tok_chargeDeclined":                      {"visa", "0002", declineGeneric},
	"pm_card_chargeDeclined":                  {"visa", "0002", declineGeneric},
	"tok_chargeDeclinedInsufficientFunds":     {"visa", "9995", declineFunds},
	"pm_card_chargeDeclinedInsufficientFunds": {"visa", "9995", declineFunds},
}

// declineNumbers are card numbers whose charges are declined, and how.
var declineNumbers = map[string]string{
	"4000000000000002": declineGeneric,
	"4000000000009995": declineFunds,
}

// prices are the recurring prices subscriptions can be made of.
var prices = map[string]price{
	"price_basic_monthly": {ID: "price_basic_monthly", UnitAmount: 1500, Currency: "usd", Recurring: recurring{"month", 1}},
	"price_pro_monthly":   {ID: "price_pro_monthly", UnitAmount: 4900, Currency: "usd", Recurring: recurring{"month", 1}},
	"price_pro_yearly":    {ID: "price_pro_yearly", UnitAmount: 49000, Currency: "usd", Recurring: recurring{"year", 1}},
}

// maxChargeAmount is the largest amount the provider charges (eight digits, as the real one).
const maxChargeAmount = 99999999

// --- charges --------------------------------------------------------------------------------

func (p *Payments) createCharge(c *payCall) payAnswer {
	f := c.form
	if !f.Has("amount") {
		return missingParam("amount")
	}
	amount, _, fail, ok := positiveInt(f, "amount", maxChargeAmount)
	if !ok {
		return fail
	}
	if !f.Has("currency") {
		return missingParam("currency")
	}
	currency, fail, ok := currencyParam(f.Get("currency"))
	if !ok {
		return fail
	}
	source := f.Get("source")
	if source == "" {
		return missingParam("source")
	}
	description, fail, ok := optionalText(f, "description")
	if !ok {
		return fail
	}
	meta, fail, ok := metadata(f)
	if !ok {
		return fail
	}
	ch := &charge{ID: payID("ch"), Object: "charge", Amount: amount, Currency: currency, Created: c.now.Unix(),
		Description: description, Metadata: meta, Refunds: refundList{Object: "list", Data: []*refund{}}}
	var decline string
	if card, ok := testSources[source]; ok {
		ch.PaymentMethod = payID("pm")
		ch.PaymentMethodDetails = methodDetails{Type: "card", Card: cardDetails{Brand: card.brand, Last4: card.last4,
			ExpMonth: 12, ExpYear: c.now.Year() + 5, Funding: "credit"}}
		decline = card.decline
	} else if pm, ok := p.methods[source]; ok {
		ch.PaymentMethod = pm.ID
		ch.PaymentMethodDetails = methodDetails{Type: pm.Type, Card: pm.Card}
		decline = pm.decline
	} else {
		return resourceMissing(http.StatusBadRequest, "source", "source", source)
	}
	p.charges[ch.ID] = ch
	p.stats.ChargesCreated++
	if byKey := p.stats.ChargesByIdempotencyKey; c.key != "" && (byKey[c.key] > 0 || len(byKey) < maxChargeKeysCounted) {
		byKey[c.key]++
	}
	if decline != "" {
		code, message := "card_declined", declineMessages[decline]
		ch.Status, ch.FailureCode, ch.FailureMessage = chargeFailed, &code, &message
		return payFail(http.StatusPaymentRequired, stripeError{Type: errCard, Code: code, DeclineCode: decline,
			Message: message, Charge: ch.ID}, []*pendingEvent{p.event("charge.failed", ch.ID, ch, c.now)})
	}
	ch.Status, ch.Paid = chargeSucceeded, true
	return payOK(ch, p.event("charge.succeeded", ch.ID, ch, c.now))
}

func (p *Payments) getCharge(c *payCall) payAnswer {
	id := c.r.PathValue("id")
	ch, ok := p.charges[id]
	if !ok {
		return resourceMissing(http.StatusNotFound, "id", "charge", id)
	}
	return payOK(ch)
}

// currencyParam is a three-letter currency code, lower-cased as the provider answers it.
func currencyParam(v string) (string, payAnswer, bool) {
	if len(v) != 3 || strings.Trim(strings.ToLower(v), "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", invalidString("currency", "Invalid currency: "+strconv.Quote(truncate(v, 20))+
			". A currency is a three-letter ISO code."), false
	}
	return strings.ToLower(v), payAnswer{}, true
}

// --- refunds --------------------------------------------------------------------------------

// refundReasons are the reasons a refund may give.
var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

func (p *Payments) createRefund(c *payCall) payAnswer {
	f := c.form
	id := f.Get("charge")
	if id == "" {
		return missingParam("charge")
	}
	amount, given, fail, ok := positiveInt(f, "amount", maxChargeAmount)
	if !ok {
		return fail
	}
	var reason *string
	if r := f.Get("reason"); r != "" {
		if !slices.Contains(refundReasons, r) {
			return invalidString("reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer.")
		}
		reason = &r
	}
	meta, fail, ok := metadata(f)
	if !ok {
		return fail
	}
	ch, ok := p.charges[id]
	if !ok {
		return resourceMissing(http.StatusNotFound, "charge", "charge", id)
	}
	if ch.Status != chargeSucceeded {
		return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "charge_not_refundable",
			Message: "Charge " + ch.ID + " has failed and cannot be refunded.", Param: "charge"}, nil)
	}
	left := ch.Amount - ch.AmountRefunded
	if left == 0 {
		return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "charge_already_refunded",
			Message: "Charge " + ch.ID + " has already been refunded.", Param: "charge"}, nil)
	}
	if !given {
		amount = left
	}
	if amount > left {
		return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "amount_too_large",
			Message: fmt.Sprintf("Refund amount (%s) is greater than unrefunded amount on charge (%s)", dollars(amount),
				dollars(left)), Param: "amount"}, nil)
	}
	re := &refund{ID: payID("re"), Object: "refund", Amount: amount, Currency: ch.Currency, Charge: ch.ID,
		Status: chargeSucceeded, Reason: reason, Created: c.now.Unix(), Metadata: meta}
	ch.AmountRefunded += amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	// Newest first, as the provider lists them.
	ch.Refunds.Data = append([]*refund{re}, ch.Refunds.Data...)
	ch.Refunds.TotalCount = len(ch.Refunds.Data)
	p.stats.RefundsCreated++
	return payOK(re, p.event("charge.refunded", ch.ID, ch, c.now))
}

// dollars writes an amount in minor units the way the provider's messages do: "$12.50".
func dollars(minor int64) string {
	return fmt.Sprintf("$%d.%02d", minor/100, minor%100)
}

// --- payment methods ------------------------------------------------------------------------

func (p *Payments) createPaymentMethod(c *payCall) payAnswer {
	f := c.form
	switch f.Get("type") {
	case "":
		return missingParam("type")
	case "card":
	default:
		return invalidString("type", "Invalid type: the simulator makes card payment methods only.")
	}
	number := strings.ReplaceAll(f.Get("card[number]"), " ", "")
	if number == "" {
		return missingParam("card[number]")
	}
	if !luhn(number) {
		return payFail(http.StatusPaymentRequired, stripeError{Type: errCard, Code: "incorrect_number",
			Message: "Your card number is incorrect.", Param: "card[number]"}, nil)
	}
	month, year, fail, ok := expiry(f.Get("card[exp_month]"), f.Get("card[exp_year]"), c.now)
	if !ok {
		return fail
	}
	if cvc := f.Get("card[cvc]"); cvc != "" && (len(cvc) < 3 || len(cvc) > 4 || strings.Trim(cvc, "0123456789") != "") {
		return payFail(http.StatusPaymentRequired, stripeError{Type: errCard, Code: "invalid_cvc",
			Message: "Your card's security code is invalid.", Param: "card[cvc]"}, nil)
	}
	meta, fail, ok := metadata(f)
	if !ok {
		return fail
	}
	// The number itself is kept nowhere: only its brand, last four digits and how it ends.
	pm := &paymentMethod{ID: payID("pm"), Object: "payment_method", Type: "card", Created: c.now.Unix(), Metadata: meta,
		Card: cardDetails{Brand: cardBrand(number), Last4: number[len(number)-4:], ExpMonth: month, ExpYear: year,
			Funding: "credit"}, decline: declineNumbers[number]}
	p.methods[pm.ID] = pm
	p.stats.PaymentMethodsCreated++
	return payOK(pm)
}

// expiry reads a card's expiry month and year (two-digit years are this century's); an expired
// card or a year more than 50 years away is refused.
func expiry(rawMonth, rawYear string, now time.Time) (month, year int, fail payAnswer, ok bool) {
	if rawMonth == "" {
		return 0, 0, missingParam("card[exp_month]"), false
	}
	if rawYear == "" {
		return 0, 0, missingParam("card[exp_year]"), false
	}
	month, err := strconv.Atoi(rawMonth)
	if err != nil || month < 1 || month > 12 {
		return 0, 0, payFail(http.StatusPaymentRequired, stripeError{Type: errCard, Code: "invalid_expiry_month",
			Message: "Your card's expiration month is invalid.", Param: "card[exp_month]"}, nil), false
	}
	year, err = strconv.Atoi(rawYear)
	if err == nil && year >= 0 && year < 100 {
		year += 2000
	}
	now = now.UTC()
	if err != nil || year < now.Year() || (year == now.Year() && month < int(now.Month())) || year > now.Year()+50 {
		return 0, 0, payFail(http.StatusPaymentRequired, stripeError{Type: errCard, Code: "invalid_expiry_year",
			Message: "Your card's expiration year is invalid.", Param: "card[exp_year]"}, nil), false
	}
	return month, year, payAnswer{}, true
}

// luhn reports whether number is 12 to 19 digits with a valid Luhn check digit.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 || strings.Trim(number, "0123456789") != "" {
		return false
	}
	sum := 0
	for i := range len(number) {
		d := int(number[len(number)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// cardBrand is the brand a card number's prefix names.
func cardBrand(number string) string {
	prefix := func(n int) int {
		v, _ := strconv.Atoi(number[:n])
		return v
	}
	switch {
	case number[0] == '4':
		return "visa"
	case prefix(2) >= 51 && prefix(2) <= 55, prefix(4) >= 2221 && prefix(4) <= 2720:
		return "mastercard"
	case prefix(2) == 34 || prefix(2) == 37:
		return "amex"
	case prefix(4) == 6011 || prefix(2) == 65:
		return "discover"
	}
	return "unknown"
}
