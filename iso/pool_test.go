package iso_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/sim"
)

// The pool is tested against the real switch simulator (sim.Switch) on loopback, under every
// built-in spec. The simulator lives in sim, which imports iso: these tests are package
// iso_test, so the import points one way.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// eachSpec runs test once per built-in spec, in parallel: each run has its own switch and pool.
func eachSpec(t *testing.T, test func(t *testing.T, spec string)) {
	for _, spec := range iso.SpecNames {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			test(t, spec)
		})
	}
}

// testSwitch runs a switch simulator on a loopback port.
type testSwitch struct {
	*sim.Switch
	addr string
}

func startSwitch(t testing.TB, spec string, ledger sim.Ledger, addr string) *testSwitch {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for range 50 { // a restarted switch may wait for its old port to free up
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	s := &testSwitch{Switch: sim.NewSwitch(sim.SwitchConfig{MaxSessions: 32}, codec(t, spec, iso.FramingBinary2, ""), ledger, quiet),
		addr: l.Addr().String()}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

func codec(t testing.TB, spec, framing, tpdu string) *iso.Codec {
	t.Helper()
	s, err := iso.LoadSpec(spec)
	require.NoError(t, err)
	c, err := iso.NewCodec(s, framing, tpdu)
	require.NoError(t, err)
	return c
}

func accounts() *sim.MemoryLedger {
	return sim.NewMemoryLedger(
		sim.Account{Number: "011000000001", Currency: "TZS", Ledger: 500_000_00, Available: 500_000_00, Active: true},
		sim.Account{Number: "011000000002", Currency: "TZS", Ledger: 10_000_00, Available: 10_000_00, Active: true},
		sim.Account{Number: "011000000003", Currency: "TZS", Ledger: 0, Available: 0, Active: false},
	)
}

func testConfig(spec, addr string) iso.Config {
	return iso.Config{Hosts: []string{addr}, ConnectionsPerHost: 2, ConnectTimeout: time.Second, ReconnectWait: 50 * time.Millisecond,
		MaxReconnectWait: 200 * time.Millisecond, SendTimeout: 2 * time.Second, EchoInterval: time.Hour, ReadTimeout: time.Hour,
		Spec: spec, Framing: iso.FramingBinary2, TerminalID: "TERM0001", AcquirerID: "639001", MerchantID: "SWITCHYARD00001",
		Currency: "834", BreakerFailures: 3, BreakerOpenTimeout: time.Hour}
}

// testPool is a pool with its metrics registry, for reading the counters.
type testPool struct {
	*iso.Pool
	reg *prometheus.Registry
}

// metric reads a counter or gauge of the pool's registry by name.
func (p testPool) metric(t testing.TB, name string) float64 {
	t.Helper()
	families, err := p.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "switchyard_iso_"+name {
			m := f.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func newPool(t testing.TB, cfg iso.Config) testPool {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := iso.NewPool(cfg, &iso.MemorySTANs{}, iso.NewMetrics(reg), quiet)
	require.NoError(t, err)
	return testPool{Pool: p, reg: reg}
}

func startPool(t testing.TB, cfg iso.Config) testPool {
	t.Helper()
	p := newPool(t, cfg)
	require.NoError(t, p.Connect(context.Background()))
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	require.Eventually(t, func() bool { return p.Health().SignedOn == len(cfg.Addrs()) }, 5*time.Second, 10*time.Millisecond)
	return p
}

var stanSeq struct {
	sync.Mutex
	n int64
}

func nextSTAN() int64 {
	stanSeq.Lock()
	defer stanSeq.Unlock()
	stanSeq.n = stanSeq.n%999999 + 1
	return stanSeq.n
}

func balanceInquiry(account string) (*iso.Financial, int64) {
	stan := nextSTAN()
	return &iso.Financial{MTI: iso.MTIFinancial, ProcessingCode: iso.ProcBalanceInquiry, TransmissionDateTime: iso.TransmissionTime(time.Now()),
		STAN: stan, RRN: fmt.Sprintf("%012d", stan), TerminalID: "TERM0001", MerchantID: "SWITCHYARD00001",
		Currency: "834", FromAccount: account}, stan
}

func send(t testing.TB, p testPool, v any) (*iso.Financial, error) {
	msg, err := iso.Pack(p.Spec(), v)
	require.NoError(t, err)
	resp, err := p.Send(context.Background(), msg)
	if err != nil {
		return nil, err
	}
	var out iso.Financial
	require.NoError(t, resp.Unmarshal(&out))
	return &out, nil
}

func TestPool(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec string) {
		sw := startSwitch(t, spec, accounts(), "")
		p := startPool(t, testConfig(spec, sw.addr))

		t.Run("every connection signs on before it carries traffic", func(t *testing.T) {
			req, _ := balanceInquiry("011000000001")
			resp, err := send(t, p, req)
			require.NoError(t, err)
			require.Equal(t, iso.CodeApproved, resp.ResponseCode)
			stats := sw.Stats()
			require.Equal(t, []string{"0800/001", "0800/001"}, stats.FirstMessages)
			require.Zero(t, stats.TrafficBeforeSign)
			require.Equal(t, iso.Health{Total: 2, Up: 2, SignedOn: 2, Breaker: "closed"}, p.Health())
		})

		t.Run("a balance inquiry carries both balances", func(t *testing.T) {
			req, stan := balanceInquiry("011000000001")
			resp, err := send(t, p, req)
			require.NoError(t, err)
			require.Equal(t, stan, resp.STAN)
			ledger, available, currency, err := iso.ParseBalances(resp.AdditionalAmounts)
			require.NoError(t, err)
			require.Equal(t, int64(500_000_00), ledger)
			require.Equal(t, int64(500_000_00), available)
			require.Equal(t, "834", currency)

			req, _ = balanceInquiry("099999999999")
			resp, err = send(t, p, req)
			require.NoError(t, err, "a decline is a result")
			require.Equal(t, iso.CodeInvalidCard, resp.ResponseCode)
		})

		t.Run("200 concurrent requests on 2 connections each get their own answer", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for i := range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					account := []string{"011000000001", "011000000002", "011000000003"}[i%3]
					req, stan := balanceInquiry(account)
					resp, err := send(t, p, req)
					switch {
					case err != nil:
						errs <- err
					case resp.STAN != stan || resp.FromAccount != account || resp.RRN != req.RRN:
						errs <- fmt.Errorf("request %d/%s got the answer of %d/%s", stan, account, resp.STAN, resp.FromAccount)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			require.Zero(t, p.metric(t, "messages_unhandled_total"))
			require.Zero(t, p.metric(t, "messages_pending"))
		})
	})
}

func TestTransfersAndReversals(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec string) {
		ledger := accounts()
		sw := startSwitch(t, spec, ledger, "")
		cfg := testConfig(spec, sw.addr)
		cfg.SendTimeout = 300 * time.Millisecond
		p := startPool(t, cfg)

		transfer := func(rrn string, amount int64) *iso.Financial {
			return &iso.Financial{MTI: iso.MTIFinancial, PAN: "4111111111111111", ProcessingCode: iso.ProcTransfer, Amount: amount,
				TransmissionDateTime: iso.TransmissionTime(time.Now()), STAN: nextSTAN(), RRN: rrn, TerminalID: "TERM0001",
				MerchantID: "SWITCHYARD00001", Currency: "834", FromAccount: "011000000001", ToAccount: "011000000002"}
		}
		balance := func(n string) int64 {
			a, err := ledger.Account(context.Background(), n)
			require.NoError(t, err)
			return a.Ledger
		}

		t.Run("approved, and a repeat of the RRN posts nothing", func(t *testing.T) {
			resp, err := send(t, p, transfer("000000000101", 1_000_00))
			require.NoError(t, err)
			require.Equal(t, iso.CodeApproved, resp.ResponseCode)
			require.Len(t, resp.AuthCode, 6)
			require.Equal(t, "4111111111111111", resp.PAN)
			require.Equal(t, int64(499_000_00), balance("011000000001"))
			again, err := send(t, p, transfer("000000000101", 1_000_00))
			require.NoError(t, err)
			require.Equal(t, resp.AuthCode, again.AuthCode)
			require.Equal(t, int64(499_000_00), balance("011000000001"), "the switch dedupes by RRN")
		})

		t.Run("declines are results", func(t *testing.T) {
			resp, err := send(t, p, transfer("000000000102", 900_000_00))
			require.NoError(t, err)
			require.Equal(t, iso.CodeInsufficientFunds, resp.ResponseCode)
		})

		t.Run("a dropped answer is an unknown outcome; the reversal restores the balances once", func(t *testing.T) {
			sw.SetFaults(sim.SwitchFaults{DropFinancial: 1})
			original := transfer("000000000103", 2_000_00)
			_, err := send(t, p, original)
			require.ErrorIs(t, err, iso.ErrOutcomeUnknown)
			require.Equal(t, int64(497_000_00), balance("011000000001"), "the switch posted it")
			require.Equal(t, float64(1), p.metric(t, "messages_expired_total"))

			reversal := func(mti string) *iso.Reversal {
				return &iso.Reversal{MTI: mti, ProcessingCode: iso.ProcTransfer, Amount: 2_000_00,
					TransmissionDateTime: iso.TransmissionTime(time.Now()), STAN: nextSTAN(), RRN: "000000000103",
					TerminalID: "TERM0001", Currency: "834",
					OriginalData: iso.OriginalData(iso.MTIFinancial, original.STAN, original.TransmissionDateTime, "639001"),
					FromAccount:  "011000000001", ToAccount: "011000000002"}
			}
			for _, mti := range []string{iso.MTIReversal, iso.MTIReversalRepeat} {
				msg, err := iso.Pack(p.Spec(), reversal(mti))
				require.NoError(t, err)
				resp, err := p.Send(context.Background(), msg)
				require.NoError(t, err)
				var out iso.Reversal
				require.NoError(t, resp.Unmarshal(&out))
				require.Equal(t, iso.MTIReversalResponse, out.MTI)
				require.Equal(t, iso.CodeApproved, out.ResponseCode, "%s is acknowledged", mti)
				require.Equal(t, reversal(mti).OriginalData, out.OriginalData)
			}
			require.Equal(t, int64(499_000_00), balance("011000000001"), "restored, and only once")
			require.Equal(t, 1, sw.Stats().Reversed)
		})

		t.Run("a late answer is counted as unhandled", func(t *testing.T) {
			sw.SetFaults(sim.SwitchFaults{Delay: 500 * time.Millisecond})
			req, _ := balanceInquiry("011000000002")
			_, err := send(t, p, req)
			require.ErrorIs(t, err, iso.ErrOutcomeUnknown)
			sw.SetFaults(sim.SwitchFaults{})
			require.Eventually(t, func() bool { return p.metric(t, "messages_unhandled_total") == 1 }, 2*time.Second, 10*time.Millisecond)
		})

		t.Run("a held message waits at the switch until released", func(t *testing.T) {
			hold := sw.HoldNext(iso.MTIFinancial)
			answered := make(chan error, 1)
			go func() {
				_, err := send(t, p, transfer("000000000104", 1_00))
				answered <- err
			}()
			<-hold.Arrived()
			require.Equal(t, int64(499_000_00), balance("011000000001"), "nothing posted while held")
			hold.Release()
			<-hold.Handled()
			require.NoError(t, <-answered)
			require.Equal(t, int64(498_999_00), balance("011000000001"))
		})
	})
}

func TestEchoAndReconnect(t *testing.T) {
	eachSpec(t, func(t *testing.T, spec string) {
		sw := startSwitch(t, spec, accounts(), "")
		cfg := testConfig(spec, sw.addr)
		cfg.EchoInterval = 100 * time.Millisecond
		p := startPool(t, cfg)

		require.Eventually(t, func() bool { return sw.Stats().Echoes >= 2 }, 3*time.Second, 20*time.Millisecond,
			"idle connections send echoes")

		t.Run("the pool reconnects and signs on again after the switch restarts", func(t *testing.T) {
			sw.Close()
			require.Eventually(t, func() bool { return p.Health().SignedOn == 0 }, 3*time.Second, 10*time.Millisecond)
			req, _ := balanceInquiry("011000000001")
			_, err := send(t, p, req)
			require.ErrorIs(t, err, iso.ErrUnavailable, "nothing was sent while the switch was down")

			restarted := startSwitch(t, spec, accounts(), sw.addr)
			require.Eventually(t, func() bool { return p.Health().SignedOn == 2 }, 5*time.Second, 20*time.Millisecond)
			resp, err := send(t, p, req)
			require.NoError(t, err)
			require.Equal(t, iso.CodeApproved, resp.ResponseCode)
			require.Equal(t, 2, restarted.Stats().SignOns)
		})
	})
}

func TestBreakerFailsFast(t *testing.T) {
	sw := startSwitch(t, iso.SpecASCII, accounts(), "")
	cfg := testConfig(iso.SpecASCII, sw.addr)
	cfg.SendTimeout = 100 * time.Millisecond
	p := startPool(t, cfg)
	sw.SetFaults(sim.SwitchFaults{DropFinancial: -1})
	for range 3 {
		req, _ := balanceInquiry("011000000001")
		_, err := send(t, p, req)
		require.ErrorIs(t, err, iso.ErrOutcomeUnknown)
	}
	require.Equal(t, "open", p.Health().Breaker)
	before := sw.Stats().Financial
	req, _ := balanceInquiry("011000000001")
	_, err := send(t, p, req)
	require.ErrorIs(t, err, iso.ErrUnavailable)
	require.Equal(t, before, sw.Stats().Financial, "an open breaker sends nothing")
}

func TestSignOffOnClose(t *testing.T) {
	sw := startSwitch(t, iso.SpecASCII, accounts(), "")
	p := newPool(t, testConfig(iso.SpecASCII, sw.addr))
	require.NoError(t, p.Connect(context.Background()))
	require.Eventually(t, func() bool { return p.Health().SignedOn == 2 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Close(context.Background()))
	require.Eventually(t, func() bool { return sw.Stats().SignOffs == 2 }, 2*time.Second, 10*time.Millisecond)
}

func TestUnavailableWithoutSwitch(t *testing.T) {
	p := newPool(t, testConfig(iso.SpecASCII, "127.0.0.1:1"))
	require.NoError(t, p.Connect(context.Background()), "hosts that do not answer are retried in the background")
	defer p.Close(context.Background())
	req, _ := balanceInquiry("011000000001")
	_, err := send(t, p, req)
	require.True(t, errors.Is(err, iso.ErrUnavailable))
}

func TestPoolRefusesAnUnusableSpec(t *testing.T) {
	cfg := testConfig("no-such-spec.json", "127.0.0.1:1")
	_, err := iso.NewPool(cfg, &iso.MemorySTANs{}, iso.NewMetrics(nil), quiet)
	require.ErrorContains(t, err, "ISO_SPEC")
	require.ErrorContains(t, err, "no-such-spec.json")
}
