package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// HomeBank is the simulated core banking system's own bank code.
const HomeBank = "SWYD"

var (
	firstNames = []string{"Amina", "Baraka", "Neema", "Juma", "Rehema", "Daudi", "Zawadi", "Hassani", "Upendo", "Omari",
		"Halima", "Elia", "Faraji", "Mwanaisha", "Godfrey", "Subira", "Kassim", "Imani", "Salma", "Petro"}
	lastNames = []string{"Mwakyusa", "Kimaro", "Shirima", "Mushi", "Ngowi", "Massawe", "Mbwana", "Lyimo", "Temba",
		"Komba", "Mrema", "Chacha", "Nyerere", "Swai", "Urassa", "Mollel"}
	branches  = []string{"Dar es Salaam City", "Arusha Clock Tower", "Mwanza Rock City", "Dodoma Capital", "Mbeya Highlands"}
	products  = []string{"Savings", "Current", "Fixed Deposit", "Student Savings"}
	narration = []string{"Salary credit", "ATM withdrawal", "Mobile money transfer", "POS purchase", "Utility payment",
		"School fees", "Interest credit", "Service charge", "Bill payment LUKU", "Interbank transfer"}
)

// GenerateData builds a realistic, deterministic data set for the simulators: banks, customers
// with one to three accounts each, ninety days of statement entries whose balances add up,
// accounts at other banks for interbank lookups, and billers with packages. The same seed gives
// the same data.
func GenerateData(seed uint64, customers int, now time.Time) Data {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d := Data{Banks: []BankRow{
		{BankCode: HomeBank, Name: "Switchyard Demo Bank", SwiftCode: "SWYDTZTZ"},
		{BankCode: "KCBL", Name: "Kilimanjaro Commercial Bank", SwiftCode: "KCBLTZTZ"},
		{BankCode: "SSBK", Name: "Serengeti Savings Bank", SwiftCode: "SSBKTZTZ"},
		{BankCode: "ZTBK", Name: "Zanzibar Trust Bank", SwiftCode: "ZTBKTZTZ"},
		{BankCode: "LVBK", Name: "Lake Victoria Bank", SwiftCode: "LVBKTZTZ"},
	}}
	day := now.Truncate(24 * time.Hour)
	for i := 1; i <= customers; i++ {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		id := fmt.Sprintf("CUST%06d", i)
		c := CustomerRow{CustomerID: id, FullName: first + " " + last,
			Phone:      fmt.Sprintf("2557%d%07d", 1+r.IntN(8), r.IntN(10_000_000)),
			Email:      fmt.Sprintf("%s.%s%d@example.com", lower(first), lower(last), i),
			NationalID: fmt.Sprintf("19%02d%02d%02d%012d", 60+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28), r.Int64N(1e12)),
			KYCStatus:  []string{"verified", "verified", "verified", "pending"}[r.IntN(4)],
			CreatedAt:  day.AddDate(0, 0, -r.IntN(2000)-100)}
		d.Customers = append(d.Customers, c)
		for j := 0; j < 1+r.IntN(3); j++ {
			acct := AccountRow{AccountNumber: fmt.Sprintf("01%04d%06d", 1000+i, j+1), BankCode: HomeBank,
				CustomerID: &c.CustomerID, AccountName: c.FullName, Currency: "TZS",
				Status:  []string{"active", "active", "active", "active", "dormant"}[r.IntN(5)],
				Product: products[r.IntN(len(products))], Branch: branches[r.IntN(len(branches))],
				OpenedAt: c.CreatedAt.AddDate(0, 0, r.IntN(60))}
			cents := int64(50_000_00 + r.IntN(5_000_000_00))
			var entries []TransactionRow
			for k := 0; k < 25; k++ {
				amount := int64(1_000_00 + r.IntN(300_000_00))
				dir := "C"
				if r.IntN(3) > 0 && cents > amount {
					dir = "D"
					cents -= amount
				} else {
					cents += amount
				}
				entries = append(entries, TransactionRow{AccountNumber: acct.AccountNumber,
					Reference: fmt.Sprintf("FT%s%04d", acct.AccountNumber[6:], k+1), Direction: dir,
					Amount: money(amount), BalanceAfter: money(cents), Narration: narration[r.IntN(len(narration))],
					PostedAt: day.AddDate(0, 0, -90+k*3).Add(time.Duration(8+r.IntN(10)) * time.Hour)})
			}
			hold := int64(0) // some accounts carry a 10,000.00 hold
			if cents > 10_000_00 && r.IntN(2) == 0 {
				hold = 10_000_00
			}
			acct.Balance, acct.AvailableBalance = money(cents), money(cents-hold)
			d.Accounts = append(d.Accounts, acct)
			d.Transactions = append(d.Transactions, entries...)
		}
	}
	for _, bank := range d.Banks[1:] {
		for k := 1; k <= 5; k++ {
			first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			d.Accounts = append(d.Accounts, AccountRow{AccountNumber: fmt.Sprintf("09%04d%06d", len(bank.BankCode)*1000+k,
				r.IntN(1_000_000)), BankCode: bank.BankCode, AccountName: first + " " + last, Currency: "TZS",
				Balance: "0.00", AvailableBalance: "0.00", Status: "active", Product: "Savings", Branch: "Head Office",
				OpenedAt: day.AddDate(-2, 0, 0)})
		}
	}
	d.Billers = billers()
	return d
}

func money(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// billerCategories names the simulated biller categories.
var billerCategories = map[string]string{
	"electricity": "Electricity", "water": "Water", "tv": "Pay TV", "internet": "Internet", "airtime": "Airtime",
	"government": "Government payments",
}

func billers() []BillerRow {
	type pkg struct {
		Code     string `json:"code"`
		Name     string `json:"name"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	mk := func(id, cat, name string, pkgs ...pkg) BillerRow {
		for i := range pkgs {
			pkgs[i].Currency = "TZS"
		}
		b, _ := json.Marshal(pkgs)
		return BillerRow{BillerID: id, Category: cat, Name: name, Packages: b}
	}
	return []BillerRow{
		mk("LUKU", "electricity", "National Power Prepaid (LUKU)", pkg{"LUKU5K", "Units worth 5,000", "5000.00", ""},
			pkg{"LUKU20K", "Units worth 20,000", "20000.00", ""}, pkg{"LUKU50K", "Units worth 50,000", "50000.00", ""}),
		mk("DAWASA", "water", "City Water Authority", pkg{"WATERBILL", "Monthly water bill", "0.00", ""}),
		mk("AZAMTV", "tv", "Azam Pay TV", pkg{"AZAMLITE", "Azam Lite", "12000.00", ""},
			pkg{"AZAMPURE", "Azam Pure", "19000.00", ""}, pkg{"AZAMPLUS", "Azam Plus", "28000.00", ""}),
		mk("DSTV", "tv", "DStv", pkg{"DSTVBOMBA", "Bomba", "25000.00", ""}, pkg{"DSTVFAMILY", "Family", "42000.00", ""}),
		mk("FIBERNET", "internet", "FiberNet Home Internet", pkg{"FN10", "10 Mbps monthly", "55000.00", ""},
			pkg{"FN30", "30 Mbps monthly", "95000.00", ""}),
		mk("AIRTEL", "airtime", "Airtel Airtime", pkg{"AIR1K", "Airtime 1,000", "1000.00", ""},
			pkg{"AIR5K", "Airtime 5,000", "5000.00", ""}),
		mk("VODACOM", "airtime", "Vodacom Airtime", pkg{"VOD1K", "Airtime 1,000", "1000.00", ""},
			pkg{"VOD10K", "Airtime 10,000", "10000.00", ""}),
		mk("GEPG", "government", "Government e-Payment Gateway", pkg{"GEPGBILL", "Control number payment", "0.00", ""}),
	}
}
