package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
)

// erpOperations are the ERP connector's operations (seed 003's ERPConnector): records of a
// generic REST ERP, each entity type under /{api_version}/{entity_type}s. The API serves them on
// routes of its own; the catalogue's Route is the name the log gives them.
var erpOperations = []Operation{
	{Key: OpERPEntityCreate, Issuer: IssuerERP, Permission: IssuerERP, Base: connectorsBase,
		Route: "/erp/{entity_type}", ProviderBody: erpBody, FromProvider: erpRecordResponse,
		NewRequest: func() any { return &ERPEntityRequest{} }, NewResponse: func() any { return &ERPRecord{} }},
	{Key: OpERPEntityUpdate, Issuer: IssuerERP, Permission: IssuerERP, Base: connectorsBase,
		Route: "/erp/{entity_type}/{id}", ProviderBody: erpBody, FromProvider: erpRecordResponse,
		NewRequest: func() any { return &ERPEntityRequest{} }, NewResponse: func() any { return &ERPRecord{} }},
	{Key: OpERPEntityDelete, Issuer: IssuerERP, Permission: IssuerERP, Base: connectorsBase,
		Route: "/erp/{entity_type}/{id}", ProviderBody: erpBody, FromProvider: erpRecordResponse,
		NewRequest: func() any { return &ERPEntityRequest{} }, NewResponse: func() any { return &ERPRecord{} }},
}

var erpEntityTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ValidERPEntityType reports whether s can name an ERP entity type: a lower-case letter, then
// at most 31 lower-case letters, digits or underscores. Which types an ERP serves is its
// configuration's (ConnectorSettings.EntityTypes).
func ValidERPEntityType(s string) bool { return erpEntityTypePattern.MatchString(s) }

// ERPEntityRequest creates, updates or deletes one ERP record (seed 003's create_entity,
// update_entity, delete_entity). ID names the record to update or delete, in the ERP's path
// (the validator's resourceid: a letter or digit first, no /); a create takes none (the ERP
// assigns it). Data is the record's fields: all of them for a create, those to replace
// for an update.
type ERPEntityRequest struct {
	// EntityType is ValidERPEntityType's pattern in the validator's own rules: printable ASCII
	// without upper case or punctuation but '_', starting with neither '_' nor a digit.
	EntityType string         `json:"entity_type" validate:"required,max=32,printascii,lowercase,excludesall= !\"#$%&'()*+0x2C-./:;<=>?@[\\]^\x60{0x7C}~,startsnotwith=_,startsnotwith=0,startsnotwith=1,startsnotwith=2,startsnotwith=3,startsnotwith=4,startsnotwith=5,startsnotwith=6,startsnotwith=7,startsnotwith=8,startsnotwith=9"`
	ID         string         `json:"id,omitempty" validate:"omitempty,min=1,max=128,resourceid,nocontrol"`
	Data       map[string]any `json:"data,omitempty" validate:"omitempty,max=200"`
}

// ERPRecord is an ERP's answer as it gives it: a record (with its id, created_at and
// updated_at), or what a delete answers ({"id", "deleted"}). Its numbers are json.Number,
// written back as the ERP wrote them (an id or amount of 20 digits keeps every one).
type ERPRecord map[string]any

// erpRecordResponse reads an ERP's answer into an ERPRecord, numbers as written; anything after
// the one JSON value is an error.
func erpRecordResponse(body []byte, _ string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var record ERPRecord
	if err := dec.Decode(&record); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value in the answer")
	}
	return &record, nil
}

// erpBody is the record's fields as a JSON object.
func erpBody(req any, _ Config) ([]byte, error) {
	r := req.(*ERPEntityRequest)
	if r.Data == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(r.Data)
}
