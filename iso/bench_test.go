package iso

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
)

func sample0200() *Financial {
	return &Financial{MTI: MTIFinancial, PAN: "4111111111111111", ProcessingCode: ProcTransfer, Amount: 1_500_00,
		TransmissionDateTime: "1122334455", STAN: 4242, LocalTime: "101010", LocalDate: "1122", RRN: "000000004242",
		TerminalID: "TERM0001", MerchantID: "SWITCHYARD00001", Currency: "834", FromAccount: "011000000001",
		ToAccount: "011000000002"}
}

// BenchmarkPack0200 builds and packs a transfer request.
func BenchmarkPack0200(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		msg, err := Pack(sample0200())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := msg.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpack0200 unpacks a transfer request into its typed struct.
func BenchmarkUnpack0200(b *testing.B) {
	msg, _ := Pack(sample0200())
	raw, _ := msg.Pack()
	b.ReportAllocs()
	for b.Loop() {
		m := NewMessage()
		if err := m.Unpack(raw); err != nil {
			b.Fatal(err)
		}
		var out Financial
		if err := m.Unmarshal(&out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip sends balance inquiries to the same loopback switch simulator through
// the pool (matching, breaker, metrics, STAN source) and through a raw iso8583-connection
// connection, at 1 and 64 concurrent senders. Compare the req/s of pool and raw at each level.
func BenchmarkRoundTrip(b *testing.B) {
	sw := startSwitch(b, accounts(), "")
	codec, _ := NewCodec(FramingBinary2, "")
	cfg := testConfig(sw.addr)
	cfg.ConnectionsPerHost = 1
	p := startPool(b, cfg)

	raw, err := connection.New(sw.addr, Spec, nil, nil, connection.SetRequestIDGenerator(RequestIDs{}),
		func(o *connection.Options) error { o.MessageReader, o.MessageWriter = codec, codec; return nil })
	if err != nil {
		b.Fatal(err)
	}
	if err := raw.Connect(); err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// The switch answers only signed-on sessions.
	signOn, _ := Pack(&Network{MTI: MTINetwork, TransmissionDateTime: TransmissionTime(time.Now()), STAN: 999999,
		NetworkCode: NetSignOn, TerminalID: "TERM0001"})
	if _, err := raw.Send(signOn); err != nil {
		b.Fatal(err)
	}
	var stan atomic.Int64
	request := func() *Financial {
		n := stan.Add(1)%999998 + 1
		return &Financial{MTI: MTIFinancial, ProcessingCode: ProcBalanceInquiry, TransmissionDateTime: "1122334455",
			STAN: n, RRN: fmt.Sprintf("%012d", n), TerminalID: "TERM0001", Currency: "834", FromAccount: "011000000001"}
	}
	senders := map[string]func() error{
		"pool": func() error {
			msg, _ := Pack(request())
			_, err := p.Send(context.Background(), msg)
			return err
		},
		"raw": func() error {
			msg, _ := Pack(request())
			_, err := raw.Send(msg)
			return err
		},
	}
	for _, c := range []int{1, 64} {
		for _, name := range []string{"raw", "pool"} {
			b.Run(fmt.Sprintf("%s/c=%d", name, c), func(b *testing.B) {
				send := senders[name]
				start := time.Now()
				if c == 1 {
					for b.Loop() {
						if err := send(); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					// RunParallel runs parallelism × GOMAXPROCS goroutines.
					b.SetParallelism(max(1, c/runtime.GOMAXPROCS(0)))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := send(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}
