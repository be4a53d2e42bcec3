package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads a JSON object into v strictly: unknown fields, wrong types, trailing data
// and malformed JSON are 400s that name the field or the byte offset.
func decodeJSON(c *gin.Context, maxBytes int64, v any) error {
	body, err := readBody(c, maxBytes)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func decodeStrict(body []byte, v any) error {
	return decodeBody(body, v, false)
}

// decodeNumbers is decodeStrict keeping numbers as written (json.Number) in untyped values:
// records handed on to a provider keep integers beyond 2^53 and their spelling.
func decodeNumbers(body []byte, v any) error {
	return decodeBody(body, v, true)
}

func decodeBody(body []byte, v any, numbers bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, CodeMalformedJSON, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if numbers {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newError(http.StatusBadRequest, CodeMalformedJSON, "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()),
			Details: map[string]any{"offset": syntax.Offset}}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return newError(http.StatusBadRequest, CodeMalformedJSON, "request body must be a JSON object")
		}
		return &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: fmt.Sprintf("%s: expected %s, got %s", field, jsonKind(typeErr.Type.String()), typeErr.Value),
			Details: map[string]any{"field": field}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newError(http.StatusBadRequest, CodeMalformedJSON, "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Code: CodeValidation, Message: field + ": unknown field",
			Details: map[string]any{"field": field}}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(http.StatusBadRequest, CodeMalformedJSON, "malformed JSON: "+err.Error())
}

// jsonKind names a Go type the way a JSON author thinks of it.
func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "[]"):
		return "an array"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	}
	return "an object"
}
