package iso

import (
	"context"
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
	rrn  int64
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

// RRNSource hands out Retrieval Reference Numbers: 12 digits, unique across processes and
// restarts. Switchyard's comes from a PostgreSQL sequence (schema.Store.NextRRN).
type RRNSource interface {
	NextRRN(ctx context.Context) (string, error)
}

// NextRRN implements RRNSource in process, for tests and benchmarks.
func (m *MemorySTANs) NextRRN(_ context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rrn = m.rrn%999_999_999_999 + 1
	return FormatRRN(m.rrn), nil
}

// FormatRRN writes a sequence number as a 12-digit RRN.
func FormatRRN(n int64) string { return fmt.Sprintf("%012d", n) }
