package iso_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/switchyard-hub/switchyard/iso"
)

func sample0200() *iso.Financial {
	return &iso.Financial{MTI: iso.MTIFinancial, PAN: "4111111111111111", ProcessingCode: iso.ProcTransfer, Amount: 1_500_00,
		TransmissionDateTime: "1122334455", STAN: 4242, LocalTime: "101010", LocalDate: "1122", RRN: "000000004242",
		TerminalID: "TERM0001", MerchantID: "SWITCHYARD00001", Currency: "834", FromAccount: "011000000001",
		ToAccount: "011000000002"}
}

// eachSpecB runs a benchmark per built-in spec.
func eachSpecB(b *testing.B, bench func(b *testing.B, spec *iso8583.MessageSpec)) {
	for _, name := range iso.SpecNames {
		spec, _ := iso.BuiltinSpec(name)
		b.Run(name, func(b *testing.B) { bench(b, spec) })
	}
}

// BenchmarkPack0200 builds and packs a transfer request.
func BenchmarkPack0200(b *testing.B) {
	eachSpecB(b, func(b *testing.B, spec *iso8583.MessageSpec) {
		b.ReportAllocs()
		for b.Loop() {
			msg, err := iso.Pack(spec, sample0200())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := msg.Pack(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnpack0200 unpacks a transfer request into its typed struct.
func BenchmarkUnpack0200(b *testing.B) {
	eachSpecB(b, func(b *testing.B, spec *iso8583.MessageSpec) {
		msg, _ := iso.Pack(spec, sample0200())
		raw, _ := msg.Pack()
		b.ReportAllocs()
		for b.Loop() {
			m := iso8583.NewMessage(spec)
			if err := m.Unpack(raw); err != nil {
				b.Fatal(err)
			}
			var out iso.Financial
			if err := m.Unmarshal(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRoundTrip sends balance inquiries to the same loopback switch simulator through
// the pool (matching, breaker, metrics, STAN source) and through a raw iso8583-connection
// connection, at 1 and 64 concurrent senders. Compare the req/s of pool and raw at each level.
func BenchmarkRoundTrip(b *testing.B) {
	sw := startSwitch(b, iso.SpecASCII, accounts(), "")
	rawCodec := codec(b, iso.SpecASCII, iso.FramingBinary2, "")
	cfg := testConfig(iso.SpecASCII, sw.addr)
	cfg.ConnectionsPerHost = 1
	p := startPool(b, cfg)

	raw, err := connection.New(sw.addr, rawCodec.Spec(), nil, nil, connection.SetRequestIDGenerator(iso.RequestIDs{}),
		func(o *connection.Options) error { o.MessageReader, o.MessageWriter = rawCodec, rawCodec; return nil })
	if err != nil {
		b.Fatal(err)
	}
	if err := raw.Connect(); err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// The switch answers only signed-on sessions.
	signOn, _ := iso.Pack(rawCodec.Spec(), &iso.Network{MTI: iso.MTINetwork, TransmissionDateTime: iso.TransmissionTime(time.Now()),
		STAN: 999999, NetworkCode: iso.NetSignOn, TerminalID: "TERM0001"})
	if _, err := raw.Send(signOn); err != nil {
		b.Fatal(err)
	}
	var stan atomic.Int64
	request := func() *iso.Financial {
		n := stan.Add(1)%999998 + 1
		return &iso.Financial{MTI: iso.MTIFinancial, ProcessingCode: iso.ProcBalanceInquiry, TransmissionDateTime: "1122334455",
			STAN: n, RRN: fmt.Sprintf("%012d", n), TerminalID: "TERM0001", Currency: "834", FromAccount: "011000000001"}
	}
	senders := map[string]func() error{
		"pool": func() error {
			msg, _ := iso.Pack(p.Spec(), request())
			_, err := p.Send(context.Background(), msg)
			return err
		},
		"raw": func() error {
			msg, _ := iso.Pack(rawCodec.Spec(), request())
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
