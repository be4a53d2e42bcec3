package transaction

import (
	"crypto/sha256"
	"encoding/hex"
)

// MemoKey is the workflow memo key under which every transaction's Memo is stored. The API
// sets it when it starts a workflow and reads it back with DescribeWorkflowExecution, so it
// knows whose a run is without reading the run's history.
const MemoKey = "switchyard"

// Memo is what the API records with a workflow at its start.
type Memo struct {
	Kind     Kind   `json:"kind"`
	ClientID string `json:"client_id"`
	// Fingerprint identifies the request that started the run (see Fingerprint): a repeat
	// with the same Idempotency-Key and another request is refused.
	Fingerprint string `json:"fingerprint"`
	// Label is the channel, operation or "transfer": what the status shows before the log does.
	Label  string `json:"label,omitempty"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
}

// Fingerprint hashes the parts of a request that make it the same request: its kind, method,
// route and body (for transfers, a canonical summary that leaves the card out).
func Fingerprint(kind Kind, method, route string, body []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(kind), []byte(method), []byte(route)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
