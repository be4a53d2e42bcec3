package activities

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchyard-hub/switchyard/schema"
)

// maxNotifyPayloadBytes bounds an emit's payload.
const maxNotifyPayloadBytes = 64 << 10

// placeholder is {{ name }}: letters, digits, _, - and dots.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// templateVars are what a template's placeholders name: recipient.*, event.code and the
// payload's dotted paths.
type templateVars struct {
	payload   map[string]any
	eventCode string
	user      schema.NotificationUserRow
}

func (v templateVars) lookup(name string) (string, bool) {
	switch name {
	case "recipient.name":
		return v.user.Name, true
	case "recipient.email":
		return v.user.Email, true
	case "recipient.phone":
		return v.user.Phone, true
	case "recipient.user_id":
		return v.user.UserID, true
	case "recipient.actor_type":
		return v.user.ActorType, true
	case "event.code":
		return v.eventCode, true
	}
	val, ok := lookupPath(v.payload, name)
	if !ok || val == nil {
		return "", false
	}
	return formatValue(val), true
}

// render fills a template's placeholders; a placeholder with no value is an error naming it,
// never a blank.
func render(tpl string, vars templateVars) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := vars.lookup(name)
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("missing placeholder: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// decodePayload reads an emit's payload: a JSON object, or nothing.
func decodePayload(raw json.RawMessage) (map[string]any, error) {
	if len(raw) > maxNotifyPayloadBytes {
		return nil, fmt.Errorf("the payload is over %d bytes", maxNotifyPayloadBytes)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, errors.New("the payload must be a JSON object")
	}
	return out, nil
}

// lookupPath follows a dotted path through nested objects (and array indexes).
func lookupPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// formatValue writes a payload value into text: strings as they are, anything else as JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
