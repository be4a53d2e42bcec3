package iso

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testSwitch runs a switch simulator on a loopback port.
type testSwitch struct {
	*Switch
	addr string
}

func startSwitch(t testing.TB, ledger Ledger, addr string) *testSwitch {
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
	codec, err := NewCodec(FramingBinary2, "")
	require.NoError(t, err)
	s := &testSwitch{Switch: NewSwitch(SwitchConfig{MaxSessions: 32}, codec, ledger, quiet), addr: l.Addr().String()}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

func accounts() *MemoryLedger {
	return NewMemoryLedger(
		Account{Number: "011000000001", Currency: "TZS", Ledger: 500_000_00, Available: 500_000_00, Active: true},
		Account{Number: "011000000002", Currency: "TZS", Ledger: 10_000_00, Available: 10_000_00, Active: true},
		Account{Number: "011000000003", Currency: "TZS", Ledger: 0, Available: 0, Active: false},
	)
}

func testConfig(addr string) Config {
	return Config{Hosts: []string{addr}, ConnectionsPerHost: 2, ConnectTimeout: time.Second, ReconnectWait: 50 * time.Millisecond,
		MaxReconnectWait: 200 * time.Millisecond, SendTimeout: 2 * time.Second, EchoInterval: time.Hour, ReadTimeout: time.Hour,
		Framing: FramingBinary2, TerminalID: "TERM0001", AcquirerID: "639001", MerchantID: "SWITCHYARD00001",
		Currency: "834", BreakerFailures: 3, BreakerOpenTimeout: time.Hour}
}

func startPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	p, err := NewPool(cfg, &MemorySTANs{}, NewMetrics(nil), quiet)
	require.NoError(t, err)
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

func balanceInquiry(t testing.TB, account string) (*Financial, int64) {
	stan := nextSTAN()
	return &Financial{MTI: MTIFinancial, ProcessingCode: ProcBalanceInquiry, TransmissionDateTime: TransmissionTime(time.Now()),
		STAN: stan, RRN: fmt.Sprintf("%012d", stan), TerminalID: "TERM0001", MerchantID: "SWITCHYARD00001",
		Currency: "834", FromAccount: account}, stan
}

func send(t testing.TB, p *Pool, v any) (*Financial, error) {
	msg, err := Pack(v)
	require.NoError(t, err)
	resp, err := p.Send(context.Background(), msg)
	if err != nil {
		return nil, err
	}
	var out Financial
	require.NoError(t, resp.Unmarshal(&out))
	return &out, nil
}

func TestPool(t *testing.T) {
	sw := startSwitch(t, accounts(), "")
	p := startPool(t, testConfig(sw.addr))

	t.Run("every connection signs on before it carries traffic", func(t *testing.T) {
		req, _ := balanceInquiry(t, "011000000001")
		resp, err := send(t, p, req)
		require.NoError(t, err)
		require.Equal(t, CodeApproved, resp.ResponseCode)
		stats := sw.Stats()
		require.Equal(t, []string{"0800/001", "0800/001"}, stats.FirstMessages)
		require.Zero(t, stats.TrafficBeforeSign)
		require.Equal(t, Health{Total: 2, Up: 2, SignedOn: 2, Breaker: "closed"}, p.Health())
	})

	t.Run("a balance inquiry carries both balances", func(t *testing.T) {
		req, stan := balanceInquiry(t, "011000000001")
		resp, err := send(t, p, req)
		require.NoError(t, err)
		require.Equal(t, stan, resp.STAN)
		ledger, available, currency, err := ParseBalances(resp.AdditionalAmounts)
		require.NoError(t, err)
		require.Equal(t, int64(500_000_00), ledger)
		require.Equal(t, int64(500_000_00), available)
		require.Equal(t, "834", currency)

		req, _ = balanceInquiry(t, "099999999999")
		resp, err = send(t, p, req)
		require.NoError(t, err, "a decline is a result")
		require.Equal(t, CodeInvalidCard, resp.ResponseCode)
	})

	t.Run("200 concurrent requests on 2 connections each get their own answer", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				account := []string{"011000000001", "011000000002", "011000000003"}[i%3]
				req, stan := balanceInquiry(t, account)
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
		require.Zero(t, testutil.ToFloat64(p.metrics.unhandled))
		require.Zero(t, testutil.ToFloat64(p.metrics.pending))
	})
}

func TestTransfersAndReversals(t *testing.T) {
	ledger := accounts()
	sw := startSwitch(t, ledger, "")
	cfg := testConfig(sw.addr)
	cfg.SendTimeout = 300 * time.Millisecond
	p := startPool(t, cfg)

	transfer := func(rrn string, amount int64) *Financial {
		return &Financial{MTI: MTIFinancial, ProcessingCode: ProcTransfer, Amount: amount,
			TransmissionDateTime: TransmissionTime(time.Now()), STAN: nextSTAN(), RRN: rrn, TerminalID: "TERM0001",
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
		require.Equal(t, CodeApproved, resp.ResponseCode)
		require.Len(t, resp.AuthCode, 6)
		require.Equal(t, int64(499_000_00), balance("011000000001"))
		again, err := send(t, p, transfer("000000000101", 1_000_00))
		require.NoError(t, err)
		require.Equal(t, resp.AuthCode, again.AuthCode)
		require.Equal(t, int64(499_000_00), balance("011000000001"), "the switch dedupes by RRN")
	})

	t.Run("declines are results", func(t *testing.T) {
		resp, err := send(t, p, transfer("000000000102", 900_000_00))
		require.NoError(t, err)
		require.Equal(t, CodeInsufficientFunds, resp.ResponseCode)
	})

	t.Run("a dropped answer is an unknown outcome; the reversal restores the balances once", func(t *testing.T) {
		sw.SetFaults(SwitchFaults{DropFinancial: 1})
		original := transfer("000000000103", 2_000_00)
		_, err := send(t, p, original)
		require.ErrorIs(t, err, ErrOutcomeUnknown)
		require.Equal(t, int64(497_000_00), balance("011000000001"), "the switch posted it")
		require.Equal(t, float64(1), testutil.ToFloat64(p.metrics.expired))

		reversal := func(mti string) *Reversal {
			return &Reversal{MTI: mti, ProcessingCode: ProcTransfer, Amount: 2_000_00,
				TransmissionDateTime: TransmissionTime(time.Now()), STAN: nextSTAN(), RRN: "000000000103",
				TerminalID: "TERM0001", Currency: "834",
				OriginalData: OriginalData(MTIFinancial, original.STAN, original.TransmissionDateTime, "639001"),
				FromAccount:  "011000000001", ToAccount: "011000000002"}
		}
		for _, mti := range []string{MTIReversal, MTIReversalRepeat} {
			msg, err := Pack(reversal(mti))
			require.NoError(t, err)
			resp, err := p.Send(context.Background(), msg)
			require.NoError(t, err)
			gotMTI, _ := resp.GetMTI()
			require.Equal(t, MTIReversalResponse, gotMTI)
			rc, _ := resp.GetString(39)
			require.Equal(t, CodeApproved, rc, "%s is acknowledged", mti)
		}
		require.Equal(t, int64(499_000_00), balance("011000000001"), "restored, and only once")
		require.Equal(t, 1, sw.Stats().Reversed)
	})

	t.Run("a late answer is counted as unhandled", func(t *testing.T) {
		sw.SetFaults(SwitchFaults{Delay: 500 * time.Millisecond})
		req, _ := balanceInquiry(t, "011000000002")
		_, err := send(t, p, req)
		require.ErrorIs(t, err, ErrOutcomeUnknown)
		sw.SetFaults(SwitchFaults{})
		require.Eventually(t, func() bool { return testutil.ToFloat64(p.metrics.unhandled) == 1 }, 2*time.Second, 10*time.Millisecond)
	})
}

func TestEchoAndReconnect(t *testing.T) {
	sw := startSwitch(t, accounts(), "")
	cfg := testConfig(sw.addr)
	cfg.EchoInterval = 100 * time.Millisecond
	p := startPool(t, cfg)

	require.Eventually(t, func() bool { return sw.Stats().Echoes >= 2 }, 3*time.Second, 20*time.Millisecond,
		"idle connections send echoes")

	t.Run("the pool reconnects and signs on again after the switch restarts", func(t *testing.T) {
		sw.Close()
		require.Eventually(t, func() bool { return p.Health().SignedOn == 0 }, 3*time.Second, 10*time.Millisecond)
		req, _ := balanceInquiry(t, "011000000001")
		_, err := send(t, p, req)
		require.ErrorIs(t, err, ErrUnavailable, "nothing was sent while the switch was down")

		restarted := startSwitch(t, accounts(), sw.addr)
		require.Eventually(t, func() bool { return p.Health().SignedOn == 2 }, 5*time.Second, 20*time.Millisecond)
		resp, err := send(t, p, req)
		require.NoError(t, err)
		require.Equal(t, CodeApproved, resp.ResponseCode)
		require.Equal(t, 2, restarted.Stats().SignOns)
	})
}

func TestBreakerFailsFast(t *testing.T) {
	sw := startSwitch(t, accounts(), "")
	cfg := testConfig(sw.addr)
	cfg.SendTimeout = 100 * time.Millisecond
	p := startPool(t, cfg)
	sw.SetFaults(SwitchFaults{DropFinancial: -1})
	for range 3 {
		req, _ := balanceInquiry(t, "011000000001")
		_, err := send(t, p, req)
		require.ErrorIs(t, err, ErrOutcomeUnknown)
	}
	require.Equal(t, "open", p.Health().Breaker)
	before := sw.Stats().Financial
	req, _ := balanceInquiry(t, "011000000001")
	_, err := send(t, p, req)
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, before, sw.Stats().Financial, "an open breaker sends nothing")
}

func TestSignOffOnClose(t *testing.T) {
	sw := startSwitch(t, accounts(), "")
	p, err := NewPool(testConfig(sw.addr), &MemorySTANs{}, NewMetrics(nil), quiet)
	require.NoError(t, err)
	require.NoError(t, p.Connect(context.Background()))
	require.Eventually(t, func() bool { return p.Health().SignedOn == 2 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Close(context.Background()))
	require.Eventually(t, func() bool { return sw.Stats().SignOffs == 2 }, 2*time.Second, 10*time.Millisecond)
}

func TestRequestIDs(t *testing.T) {
	id := func(v any) string {
		msg, err := Pack(v)
		require.NoError(t, err)
		got, err := RequestIDs{}.GenerateRequestID(msg)
		require.NoError(t, err)
		return got
	}
	request := id(&Financial{MTI: MTIFinancial, STAN: 42, TerminalID: "TERM0001"})
	require.Equal(t, request, id(&Financial{MTI: MTIFinancialResponse, STAN: 42, TerminalID: "TERM0001"}))
	require.NotEqual(t, request, id(&Reversal{MTI: MTIReversalResponse, STAN: 42, TerminalID: "TERM0001"}),
		"a reversal response never matches a financial request")
	require.NotEqual(t, request, id(&Financial{MTI: MTIFinancialResponse, STAN: 42, TerminalID: "TERM0002"}))

	// The STAN travels zero-padded; the key reads it as a number.
	msg := NewMessage()
	msg.MTI(MTIFinancialResponse)
	require.NoError(t, msg.Field(11, "000042"))
	require.NoError(t, msg.Field(41, "TERM0001"))
	got, err := RequestIDs{}.GenerateRequestID(msg)
	require.NoError(t, err)
	require.Equal(t, request, got)
}

func TestFramings(t *testing.T) {
	for _, tc := range []struct{ framing, tpdu string }{
		{FramingBinary2, ""}, {FramingASCII4, ""}, {FramingBCD2, ""}, {FramingBinary2, "6000010000"},
	} {
		t.Run(tc.framing+"/"+tc.tpdu, func(t *testing.T) {
			codec, err := NewCodec(tc.framing, tc.tpdu)
			require.NoError(t, err)
			req, _ := balanceInquiry(t, "011000000001")
			msg, err := Pack(req)
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, codec.WriteMessage(&buf, msg))
			packed, _ := msg.Pack()
			require.Equal(t, len(packed)+len(tc.tpdu)/2+map[string]int{FramingBinary2: 2, FramingASCII4: 4, FramingBCD2: 2}[tc.framing],
				buf.Len())
			back, err := codec.ReadMessage(&buf)
			require.NoError(t, err)
			var out Financial
			require.NoError(t, back.Unmarshal(&out))
			require.Equal(t, *req, out)
		})
	}
	_, err := NewCodec("smoke-signals", "")
	require.Error(t, err)
	codec, _ := NewCodec(FramingBinary2, "")
	_, err = codec.ReadMessage(bytes.NewReader([]byte{0xff, 0xff, 1, 2, 3}))
	require.ErrorContains(t, err, "out of bounds")
}

func TestDescribeMasksCardData(t *testing.T) {
	msg, err := Pack(&Financial{MTI: MTIFinancial, PAN: "4111111111111111", ProcessingCode: ProcTransfer, STAN: 1,
		TerminalID: "TERM0001", FromAccount: "011000000001", ToAccount: "011000000002"})
	require.NoError(t, err)
	require.NoError(t, msg.BinaryField(52, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	out := Describe(msg)
	require.NotContains(t, out, "4111111111111111")
	require.NotContains(t, out, "011000000001")
	require.NotContains(t, strings.ToUpper(out), "0102030405060708")
	require.Contains(t, out, "1111", "the last four stay")
}

func TestBalancesAndOriginalData(t *testing.T) {
	s := FormatBalances(123_45, -5_00, "834")
	ledger, available, currency, err := ParseBalances(s)
	require.NoError(t, err)
	require.Equal(t, []any{int64(123_45), int64(-5_00), "834"}, []any{ledger, available, currency})
	_, _, _, err = ParseBalances("short")
	require.Error(t, err)

	od := OriginalData(MTIFinancial, 123, "1122334455", "639001")
	require.Len(t, od, 42)
	mti, stan, err := ParseOriginalData(od)
	require.NoError(t, err)
	require.Equal(t, MTIFinancial, mti)
	require.Equal(t, int64(123), stan)

	require.Equal(t, RRNFor("abc"), RRNFor("abc"))
	require.Len(t, RRNFor("abc"), 12)
	require.NotEqual(t, RRNFor("abc"), RRNFor("abd"))
}

func TestUnavailableWithoutSwitch(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	p, err := NewPool(cfg, &MemorySTANs{}, NewMetrics(nil), quiet)
	require.NoError(t, err)
	require.NoError(t, p.Connect(context.Background()), "hosts that do not answer are retried in the background")
	defer p.Close(context.Background())
	req, _ := balanceInquiry(t, "011000000001")
	_, err = send(t, p, req)
	require.True(t, errors.Is(err, ErrUnavailable))
}
