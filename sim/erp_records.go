package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The ERP's entity types, each served at /erp/v1/{type}s, with the prefix of its ids.
const (
	erpCustomer = "customer"
	erpInvoice  = "invoice"
	erpProduct  = "product"
)

var (
	erpTypes    = []string{erpCustomer, erpInvoice, erpProduct}
	erpPrefixes = map[string]string{erpCustomer: "cus", erpInvoice: "inv", erpProduct: "prd"}
)

// Bounds of the ERP's inputs and listings.
const (
	maxERPBody      = 1 << 20
	defaultERPLimit = 100
	maxERPLimit     = 1000
	maxERPName      = 200
	maxERPSKU       = 100
)

// erpTimeFormat is how the ERP writes times: RFC 3339, UTC, milliseconds.
const erpTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Fields the ERP sets itself: a request's values for them are ignored.
var erpReserved = []string{"id", "created_at", "updated_at"}

// invoiceStatuses are the statuses an invoice may have; the first is the default.
var invoiceStatuses = []string{"draft", "open", "paid", "void"}

// erpRecord is one record: its JSON fields (id, created_at and updated_at included) and when it
// last changed.
type erpRecord struct {
	fields  map[string]any
	updated time.Time
}

// erpTable holds one entity type's records. Ids are the prefix and a 6-digit sequence number,
// so the order of seqs is the order of ids.
type erpTable struct {
	typ, prefix string
	seq         int
	seqs        []int // the live records' sequence numbers, ascending
	records     map[string]*erpRecord
	skus        map[string]string // a product's sku → its id
}

func newERPTable(typ string) *erpTable {
	return &erpTable{typ: typ, prefix: erpPrefixes[typ], records: map[string]*erpRecord{}, skus: map[string]string{}}
}

func (t *erpTable) id(seq int) string { return fmt.Sprintf("%s_%06d", t.prefix, seq) }

// parseID is the sequence number of an id this table issued, or 0.
func (t *erpTable) parseID(id string) int {
	digits, ok := strings.CutPrefix(id, t.prefix+"_")
	if !ok || len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > t.seq || t.id(n) != id {
		return 0
	}
	return n
}

// insert stores fields as a new record made at now and returns it.
func (t *erpTable) insert(fields map[string]any, now time.Time) *erpRecord {
	t.seq++
	id := t.id(t.seq)
	stamp := now.UTC().Format(erpTimeFormat)
	fields["id"], fields["created_at"], fields["updated_at"] = id, stamp, stamp
	rec := &erpRecord{fields: fields, updated: now}
	t.records[id] = rec
	t.seqs = append(t.seqs, t.seq)
	if t.typ == erpProduct {
		t.skus[fields["sku"].(string)] = id
	}
	return rec
}

// remove deletes the record id.
func (t *erpTable) remove(id string) {
	rec := t.records[id]
	delete(t.records, id)
	if sku, ok := rec.fields["sku"].(string); ok && t.skus[sku] == id {
		delete(t.skus, sku)
	}
	n := t.parseID(id)
	if i, ok := slices.BinarySearch(t.seqs, n); ok {
		t.seqs = slices.Delete(t.seqs, i, i+1)
	}
}

// --- validation -----------------------------------------------------------------------------

// validate checks a record of t about to be stored as id ("" for a new one): the fields that
// are wrong, with why, or a conflict's message. Called under e.mu.
func (e *ERP) validate(t *erpTable, rec map[string]any, id string) (map[string]string, string) {
	problems := map[string]string{}
	switch t.typ {
	case erpCustomer:
		checkText(rec, "name", maxERPName, problems)
		if v, ok := rec["email"]; ok && v != nil {
			if s, ok := v.(string); !ok || !isEmail(s) {
				problems["email"] = "must be an e-mail address"
			}
		}
	case erpInvoice:
		switch v, ok := rec["customer_id"].(string); {
		case rec["customer_id"] == nil:
			problems["customer_id"] = "is required"
		case !ok || e.tables[erpCustomer].records[v] == nil:
			problems["customer_id"] = "must be an existing customer"
		}
		checkAmount(rec, "amount", true, problems)
		switch v, ok := rec["currency"].(string); {
		case rec["currency"] == nil:
			problems["currency"] = "is required"
		case !ok || len(v) != 3 || strings.Trim(strings.ToLower(v), "abcdefghijklmnopqrstuvwxyz") != "":
			problems["currency"] = "must be 3 letters"
		}
		if rec["status"] == nil {
			rec["status"] = invoiceStatuses[0]
		}
		if v, ok := rec["status"].(string); !ok || !slices.Contains(invoiceStatuses, v) {
			problems["status"] = "must be one of " + strings.Join(invoiceStatuses, ", ")
		}
	case erpProduct:
		checkText(rec, "sku", maxERPSKU, problems)
		checkText(rec, "name", maxERPName, problems)
		checkAmount(rec, "price", false, problems)
	}
	if len(problems) > 0 {
		return problems, ""
	}
	if sku, ok := rec["sku"].(string); ok && t.typ == erpProduct {
		if other, taken := t.skus[sku]; taken && other != id {
			return nil, "sku " + truncate(sku, 100) + " exists"
		}
	}
	return nil, ""
}

// checkText requires field to be a string of 1 to limit characters.
func checkText(rec map[string]any, field string, limit int, problems map[string]string) {
	v, present := rec[field]
	s, ok := v.(string)
	switch {
	case !present || v == nil:
		problems[field] = "is required"
	case !ok || s == "" || utf8.RuneCountInString(s) > limit:
		problems[field] = "must be a string of 1 to " + strconv.Itoa(limit) + " characters"
	}
}

// checkAmount wants field to be an integer ≥ 0 (when present, unless required).
func checkAmount(rec map[string]any, field string, required bool, problems map[string]string) {
	v, present := rec[field]
	if !present || v == nil {
		if required {
			problems[field] = "is required"
		}
		return
	}
	n, ok := v.(json.Number)
	if !ok {
		problems[field] = "must be an integer ≥ 0"
		return
	}
	if i, err := n.Int64(); err != nil || i < 0 {
		problems[field] = "must be an integer ≥ 0"
	}
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// --- routes ---------------------------------------------------------------------------------

// readRecord reads a request's JSON object (at most 1 MiB) without the fields the ERP sets, and
// the object as sent in a canonical form (keys sorted, no spaces); a nil record comes with the
// refusal to answer.
func readRecord(r *http.Request) (map[string]any, []byte, erpAnswer) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxERPBody+1))
	if err != nil {
		return nil, nil, erpFail(http.StatusBadRequest, "invalid_json", "the body could not be read", nil)
	}
	if len(body) > maxERPBody {
		return nil, nil, erpFail(http.StatusRequestEntityTooLarge, "payload_too_large", "the body is larger than 1 MiB", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil || rec == nil || dec.More() {
		return nil, nil, erpFail(http.StatusBadRequest, "invalid_json", "the body must be a JSON object", nil)
	}
	// Maps marshal with sorted keys and numbers as written: the same object sent twice in any
	// key order or spacing is the same request.
	canonical, err := json.Marshal(rec)
	if err != nil {
		return nil, nil, erpFail(http.StatusBadRequest, "invalid_json", "the body must be a JSON object", nil)
	}
	for _, k := range erpReserved {
		delete(rec, k)
	}
	return rec, canonical, erpAnswer{}
}

// clock is the time a change is made at, to the millisecond the ERP writes: a record's
// updated_at given back as updated_since finds the record again.
func (e *ERP) clock() time.Time { return e.now().UTC().Truncate(time.Millisecond) }

func notFound(t *erpTable, id string) erpAnswer {
	return erpFail(http.StatusNotFound, "not_found", t.typ+" "+truncate(id, 100)+" not found", nil)
}

// The handlers below run under e.mu.

func (e *ERP) create(c *erpRequest) erpAnswer {
	t := c.table
	problems, conflict := e.validate(t, c.rec, "")
	if problems != nil || conflict != "" {
		return refuse(problems, conflict)
	}
	return erpJSON(http.StatusCreated, t.insert(c.rec, e.clock()).fields)
}

// refuse answers a validation failure (422 with the fields, named in the message in field
// order) or a conflict (409).
func refuse(problems map[string]string, conflict string) erpAnswer {
	if conflict != "" {
		return erpFail(http.StatusConflict, "conflict", conflict, nil)
	}
	named := make([]string, 0, len(problems))
	for _, field := range slices.Sorted(maps.Keys(problems)) {
		named = append(named, field+": "+problems[field])
	}
	return erpFail(http.StatusUnprocessableEntity, "validation_error", "validation failed: "+strings.Join(named, "; "), problems)
}

func (e *ERP) get(c *erpRequest) erpAnswer {
	id := c.r.PathValue("id")
	rec, ok := c.table.records[id]
	if !ok {
		return notFound(c.table, id)
	}
	return erpJSON(http.StatusOK, rec.fields)
}

// update replaces the fields given; the record as a whole must still be valid.
func (e *ERP) update(c *erpRequest) erpAnswer {
	t, id := c.table, c.r.PathValue("id")
	rec, ok := t.records[id]
	if !ok {
		return notFound(t, id)
	}
	merged := maps.Clone(rec.fields)
	maps.Copy(merged, c.rec)
	problems, conflict := e.validate(t, merged, id)
	if problems != nil || conflict != "" {
		return refuse(problems, conflict)
	}
	now := e.clock()
	merged["updated_at"] = now.UTC().Format(erpTimeFormat)
	if old, _ := rec.fields["sku"].(string); t.typ == erpProduct && old != merged["sku"] {
		delete(t.skus, old)
		t.skus[merged["sku"].(string)] = id
	}
	rec.fields, rec.updated = merged, now
	return erpJSON(http.StatusOK, merged)
}

func (e *ERP) delete(c *erpRequest) erpAnswer {
	id := c.r.PathValue("id")
	if _, ok := c.table.records[id]; !ok {
		return notFound(c.table, id)
	}
	c.table.remove(id)
	return erpJSON(http.StatusOK, map[string]any{"id": id, "deleted": true})
}

// list answers a page of records in id order: at most limit, after the starting_after cursor,
// changed at or after updated_since. next_cursor is the page's last id while more follow.
func (e *ERP) list(c *erpRequest) erpAnswer {
	t, q := c.table, c.r.URL.Query()
	limit := defaultERPLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxERPLimit {
			return erpFail(http.StatusBadRequest, "invalid_parameter", "limit must be an integer from 1 to 1000", nil)
		}
		limit = n
	}
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			return erpFail(http.StatusBadRequest, "invalid_parameter", "updated_since must be an RFC 3339 time", nil)
		}
	}
	after := 0
	if v := q.Get("starting_after"); v != "" {
		if after = t.parseID(v); after == 0 {
			return erpFail(http.StatusBadRequest, "invalid_cursor", "starting_after "+truncate(v, 100)+" is not a "+t.typ+" id", nil)
		}
	}
	page := struct {
		Data       []map[string]any `json:"data"`
		HasMore    bool             `json:"has_more"`
		NextCursor string           `json:"next_cursor"`
	}{Data: []map[string]any{}}
	// A cursor whose record was deleted since still marks its place.
	for _, seq := range t.seqs[sort.SearchInts(t.seqs, after+1):] {
		rec := t.records[t.id(seq)]
		if rec.updated.Before(since) {
			continue
		}
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		page.Data = append(page.Data, rec.fields)
	}
	if page.HasMore {
		page.NextCursor = page.Data[len(page.Data)-1]["id"].(string)
	}
	e.stats.PagesServed++
	return erpJSON(http.StatusOK, page)
}

// --- demo data ------------------------------------------------------------------------------

// Demo data: how many records of each type the ERP starts with, and when they were made.
const (
	demoCustomers = 120
	demoProducts  = 30
	demoInvoices  = 45
)

var demoEpoch = time.Date(2024, time.January, 2, 9, 0, 0, 0, time.UTC)

var (
	demoFirstNames = []string{"Amina", "Baraka", "Chloe", "Daniel", "Esther", "Faraji", "Grace", "Hassan", "Irene",
		"Juma", "Kevin", "Lulu", "Mariam", "Neema", "Omari", "Peter", "Rehema", "Said", "Tumaini", "Upendo"}
	demoLastNames = []string{"Mushi", "Kimaro", "Okafor", "Mwakyusa", "Njoroge", "Shirima", "Lyimo", "Ndege",
		"Massawe", "Mollel", "Kariuki", "Temba", "Swai", "Urio", "Minja", "Otieno", "Lema", "Mrema", "Kessy", "Chuwa"}
	demoCities      = []string{"Dar es Salaam", "Arusha", "Mwanza", "Dodoma", "Nairobi", "Kampala"}
	demoAdjectives  = []string{"Basic", "Standard", "Premium", "Compact", "Industrial", "Solar"}
	demoProductKind = []string{"Router", "Water Pump", "Battery Pack", "Cable Kit", "Inverter"}
)

// seed fills the tables with the fixed demo data: the same on every start.
func (e *ERP) seed() {
	num := func(n int) json.Number { return json.Number(strconv.Itoa(n)) }
	customers := e.tables[erpCustomer]
	for i := range demoCustomers {
		first, last := demoFirstNames[i%len(demoFirstNames)], demoLastNames[(i*7+i/len(demoFirstNames))%len(demoLastNames)]
		customers.insert(map[string]any{
			"name":    first + " " + last,
			"email":   strings.ToLower(first+"."+last) + strconv.Itoa(i+1) + "@example.com",
			"phone":   fmt.Sprintf("+2557%08d", 10000000+i*7919),
			"city":    demoCities[i%len(demoCities)],
			"company": fmt.Sprintf("%s Trading %03d", last, i+1),
		}, demoEpoch.Add(time.Duration(i)*time.Hour))
	}
	products := e.tables[erpProduct]
	for i := range demoProducts {
		products.insert(map[string]any{
			"sku":      fmt.Sprintf("SKU-%04d", i+1),
			"name":     demoAdjectives[i%len(demoAdjectives)] + " " + demoProductKind[i%len(demoProductKind)],
			"price":    num(1500 + i*250),
			"currency": "USD",
			"active":   i%10 != 9,
		}, demoEpoch.Add(time.Duration(i)*time.Hour+30*time.Minute))
	}
	invoices := e.tables[erpInvoice]
	for i := range demoInvoices {
		issued := demoEpoch.AddDate(0, 0, 7+i)
		invoices.insert(map[string]any{
			"customer_id": customers.id((i*7)%demoCustomers + 1),
			"number":      fmt.Sprintf("INV-2024-%04d", i+1),
			"amount":      num(1500 + (i*3571)%48500),
			"currency":    "USD",
			"status":      invoiceStatuses[i%len(invoiceStatuses)],
			"due_date":    issued.AddDate(0, 0, 30).Format(time.DateOnly),
		}, issued)
	}
}
