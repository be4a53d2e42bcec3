package iso

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// STANSource hands out System Trace Audit Numbers: 1..999999, unique per terminal per day.
// Switchyard's comes from PostgreSQL (schema.Store.NextSTAN), so it holds across restarts and
// several workers; MemorySTANs serves tests and benchmarks.
type STANSource interface {
	NextSTAN(ctx context.Context, terminalID string) (int64, error)
}

// MemorySTANs is an in-process STANSource.
type MemorySTANs struct {
	mu   sync.Mutex
	next map[string]int64
}

// NextSTAN implements STANSource.
func (m *MemorySTANs) NextSTAN(_ context.Context, terminalID string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == nil {
		m.next = map[string]int64{}
	}
	key := terminalID + time.Now().UTC().Format("20060102")
	m.next[key] = m.next[key]%999999 + 1
	return m.next[key], nil
}

// RRNFor derives a 12-digit Retrieval Reference Number from a correlation id: the same
// transfer always has the same RRN (so a repeat maps to the same workflow and the switch sees
// the same reference).
func RRNFor(correlationID string) string {
	sum := sha256.Sum256([]byte(correlationID))
	return fmt.Sprintf("%012d", binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000)
}
