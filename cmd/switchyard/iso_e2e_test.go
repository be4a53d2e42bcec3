package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// The ISO tests share the switch simulator and its faults, so none of them is parallel.

// isoAccounts are two active home-bank accounts no other test uses, with funds.
func isoAccounts(t *testing.T, offset int) (from, to string) {
	t.Helper()
	var accounts []string
	require.NoError(t, h.store.DB().Select(&accounts, `SELECT account_number FROM sim_accounts
		WHERE bank_code = 'SWYD' AND status = 'active' AND balance > 100000 ORDER BY account_number DESC
		LIMIT 2 OFFSET $1`, offset))
	require.Len(t, accounts, 2)
	return accounts[0], accounts[1]
}

func ledger(t *testing.T, account string) int64 {
	t.Helper()
	b, err := sim.NewStore(h.store.DB()).BalanceOf(context.Background(), sim.HomeBank, account)
	require.NoError(t, err)
	return b.Ledger
}

// postings counts the statement entries the switch simulator wrote under an RRN: a transfer
// posted once writes two (a debit and a credit).
func postings(t *testing.T, rrn string) int {
	t.Helper()
	var n int
	require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM sim_transactions WHERE reference = $1`, rrn))
	return n
}

func switchFaults(t *testing.T, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, h.simURL+"/_sim/iso/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func clearSwitchFaults(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, h.simURL+"/_sim/iso/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
}

func switchStats(t *testing.T) sim.SwitchStats {
	t.Helper()
	var s sim.SwitchStats
	simJSON(t, "/_sim/iso/stats", &s)
	return s
}

func transfer(t *testing.T, from, to, amount string, headers ...string) response {
	t.Helper()
	return h.do(t, request{method: "POST", path: "/api/v1/iso/transfer",
		body: fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":%q}`, from, to, amount)}.
		asClient(demoClient, demoSecret).header(headers...))
}

func TestISOBalance(t *testing.T) {
	from, _ := isoAccounts(t, 0)
	r := h.do(t, request{method: "POST", path: "/api/v1/iso/balance", body: fmt.Sprintf(`{"account_number":%q}`, from)}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	d := r.data(t)
	require.Equal(t, "00", d["response_code"])
	require.Equal(t, fmt.Sprintf("%d.%02d", ledger(t, from)/100, ledger(t, from)%100), d["balance"])
	require.Equal(t, "TZS", d["currency"])
	require.Len(t, d["stan"], 6)

	declined := h.do(t, request{method: "POST", path: "/api/v1/iso/balance", body: `{"account_number":"01999999999999"}`}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusPaymentRequired, declined.Status, "%s", declined.Body)
	require.Equal(t, "DECLINED", declined.errorCode(t))
	details := declined.json(t)["details"].(map[string]any)
	require.Equal(t, iso.CodeInvalidCard, details["provider_code"])
	require.Equal(t, iso.Meaning(iso.CodeInvalidCard), details["meaning"])

	t.Run("CBS_TRANSPORT=iso8583 serves the CBS balance through the switch", func(t *testing.T) {
		t.Setenv("CBS_TRANSPORT", "iso8583")
		set, err := newProviderSet(h.env, &stack{store: h.store, pool: h.pool}, prometheus.NewRegistry())
		require.NoError(t, err)
		op, _ := provider.Lookup(provider.OpAccountBalance)
		caller, err := set.For(op)
		require.NoError(t, err)
		before := switchStats(t).Financial
		resp, attempt, err := caller.Call(context.Background(), op, &provider.AccountRequest{AccountNumber: from}, uuid.NewString())
		require.NoError(t, err)
		require.Equal(t, 200, resp.Status)
		require.Contains(t, string(resp.Body), `"account_number":"`+from+`"`, "the CBS balance schema")
		require.Equal(t, iso.MTIFinancial, attempt.Method)
		require.Equal(t, before+1, switchStats(t).Financial)
	})
}

func TestISOTransfer(t *testing.T) {
	from, to := isoAccounts(t, 2)
	fromBefore, toBefore := ledger(t, from), ledger(t, to)

	key := "transfer-" + uuid.NewString()
	r := transfer(t, from, to, "1500.50", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	d := r.data(t)
	require.Equal(t, "approved", d["status"])
	require.Equal(t, "00", d["response_code"])
	require.Len(t, d["auth_code"], 6)
	require.Len(t, d["rrn"], 12)
	require.Equal(t, fromBefore-1500_50, ledger(t, from))
	require.Equal(t, toBefore+1500_50, ledger(t, to))

	id := r.Header.Get("X-Correlation-ID")
	row := h.row(t, id)
	require.Equal(t, transaction.KindISO, row.Kind)
	require.Equal(t, transaction.StatusSuccessful, row.Status)
	require.NotContains(t, string(row.RequestBody), from, "account numbers are masked in the log")
	require.Equal(t, 2, postings(t, d["rrn"].(string)), "the switch posted the transfer under the RRN answered")

	t.Run("a repeat with the same key never sends twice", func(t *testing.T) {
		before := switchStats(t).Financial
		again := transfer(t, from, to, "1500.50", "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, again.Status)
		require.Equal(t, d["rrn"], again.data(t)["rrn"])
		require.Equal(t, before, switchStats(t).Financial)
		require.Equal(t, fromBefore-1500_50, ledger(t, from))
	})

	t.Run("a decline is a 402 with the ISO code", func(t *testing.T) {
		r := transfer(t, from, to, "99999999.00")
		require.Equal(t, http.StatusPaymentRequired, r.Status, "%s", r.Body)
		require.Equal(t, transaction.ErrorCodeDeclined, r.errorCode(t))
		details := r.json(t)["details"].(map[string]any)
		require.Equal(t, iso.CodeExceedsLimit, details["response_code"])
		require.Equal(t, transaction.StatusFailed, h.row(t, r.Header.Get("X-Correlation-ID")).Status)
	})

	t.Run("the transfer's search attributes", func(t *testing.T) {
		out := temporalCLI(t, "workflow", "describe", "--workflow-id", transaction.WorkflowID(transaction.KindISO, id))
		require.Contains(t, out, "SwitchyardRRN")
		require.Contains(t, out, d["rrn"].(string))
	})

	t.Run("invalid input", func(t *testing.T) {
		for _, body := range []string{
			`{"from_account":"0110","to_account":"011000000002","amount":"10"}`,
			`{"from_account":"011000000001","to_account":"011000000001","amount":"10"}`,
			`{"from_account":"011000000001","to_account":"011000000002","amount":"ten"}`,
			`{"from_account":"011000000001","to_account":"011000000002","amount":"10","pan":"4111111111111112"}`,
		} {
			r := h.do(t, request{method: "POST", path: "/api/v1/iso/transfer", body: body}.asClient(demoClient, demoSecret))
			require.Equal(t, http.StatusBadRequest, r.Status, "%s -> %s", body, r.Body)
		}
	})
}

func TestISOLostAnswerIsReversed(t *testing.T) {
	defer clearSwitchFaults(t)
	from, to := isoAccounts(t, 4)
	fromBefore, toBefore := ledger(t, from), ledger(t, to)
	stats := switchStats(t)
	switchFaults(t, `{"drop_financial": 1}`)

	r := transfer(t, from, to, "250.00")
	require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
	require.Equal(t, transaction.ErrorCodeReversed, r.errorCode(t))
	id := r.Header.Get("X-Correlation-ID")
	require.Equal(t, transaction.StatusReversed, h.row(t, id).Status)
	require.Equal(t, fromBefore, ledger(t, from), "the debit was reversed")
	require.Equal(t, toBefore, ledger(t, to))
	after := switchStats(t)
	require.Equal(t, stats.Financial+1, after.Financial, "never resent")
	require.Equal(t, stats.Reversed+1, after.Reversed)

	rows := audit(t, id)
	require.Equal(t, "0200", rows[0].Method)
	require.Equal(t, schema.AuditTimeout, rows[0].Outcome)
	require.Equal(t, "0420", rows[1].Method)
}

// escalatedTransfer loses a transfer's answer and every reversal answer until escalated.
func escalatedTransfer(t *testing.T, from, to string) (id string) {
	t.Helper()
	switchFaults(t, `{"drop_financial": 1, "drop_reversal": -1}`)
	r := transfer(t, from, to, "100.00", "Prefer", "respond-async")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	id = r.data(t)["correlation_id"].(string)
	h.waitStatus(t, id, transaction.StatusEscalated)
	rows := audit(t, id)
	require.Greater(t, len(rows), 2)
	require.Equal(t, "0421", rows[len(rows)-1].Method, "repeats go out as 0421")
	return id
}

func TestISOReversalEscalation(t *testing.T) {
	defer clearSwitchFaults(t)
	from, to := isoAccounts(t, 6)

	t.Run("retry reverses once the switch answers again", func(t *testing.T) {
		before := ledger(t, from)
		id := escalatedTransfer(t, from, to)
		require.Equal(t, before-100_00, ledger(t, from), "posted, not yet reversed")
		clearSwitchFaults(t)
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/" + id + "/signals/retry"}.asAdmin())
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		h.waitStatus(t, id, transaction.StatusReversed)
		require.Equal(t, before, ledger(t, from))
	})

	t.Run("resolve through the CLI", func(t *testing.T) {
		id := escalatedTransfer(t, from, to)
		temporalCLI(t, "workflow", "signal", "--workflow-id", transaction.WorkflowID(transaction.KindISO, id),
			"--name", "resolve", "--input", `{"note":"reversed by hand at the switch"}`)
		d := h.waitStatus(t, id, transaction.StatusResolved)
		require.Equal(t, "reversed by hand at the switch", d["resolution_note"])
	})

	t.Run("abort", func(t *testing.T) {
		id := escalatedTransfer(t, from, to)
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/" + id + "/signals/abort",
			body: `{"note":"written off"}`}.asAdmin())
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		d := h.waitStatus(t, id, transaction.StatusFailed)
		require.Equal(t, transaction.ErrorCodeAborted, d["error_code"])
	})
}

// helperWorkerEnv names the task queue a helper worker process serves.
const helperWorkerEnv = "SWITCHYARD_TEST_HELPER_WORKER_QUEUE"

// runHelperWorker is the body of a child test process: a worker on one task queue, wired from
// the environment like `switchyard worker`, that says "ready" and runs until it is killed.
func runHelperWorker() int {
	ctx := context.Background()
	e, err := loadEnv()
	if err == nil {
		var st *stack
		if st, err = openStack(ctx, e, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			if err = waitSignedOn(st.pool); err == nil {
				var stop func()
				if stop, err = startWorkersOn(st, e, os.Getenv(helperWorkerEnv)); err == nil {
					defer stop()
					fmt.Println("ready")
					select {}
				}
			}
		}
	}
	fmt.Fprintln(os.Stderr, "helper worker:", err)
	return 1
}

func waitSignedOn(p *iso.Pool) error {
	for range 500 {
		if p.Health().SignedOn > 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the helper's pool never signed on")
}

// startHelperWorker starts a worker process of its own on queue (runHelperWorker), wired to the
// harness's services with env added, and waits until it polls. The test kills it; Cleanup makes
// sure it is gone.
func startHelperWorker(t *testing.T, queue string, env ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(append(os.Environ(), helperWorkerEnv+"="+queue, "DATABASE_URL="+h.env.DB.URL,
		"TEMPORAL_ADDRESS="+h.env.Temporal.Address, "SIM_ISO_ADDR="+h.env.ISO.SimAddr, "ISO_SIMULATE=true",
		"SIM_URL="+h.simURL, "SIM_SMTP_ADDR="+h.env.SimURLs.SMTPAddr), env...)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	stderr := &strings.Builder{}
	child.Stderr = stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper worker: %s", stderr.String())
	require.Equal(t, "ready\n", line)
	return child, stderr
}

// startWorkersOn runs one worker on an arbitrary queue (tests only; real queues go through worker.New).
func startWorkersOn(st *stack, e env, queue string) (func(), error) {
	providers, err := st.workerProviders(e)
	if err != nil {
		return nil, err
	}
	acts, err := st.newActivities(e, providers)
	if err != nil {
		return nil, err
	}
	w := sdkworker.New(st.temporal, queue, sdkworker.Options{})
	worker.Register(w, acts)
	return w.Stop, w.Start()
}

func TestISOTransferSurvivesAWorkerRestart(t *testing.T) {
	from, to := isoAccounts(t, 8)
	fromBefore := ledger(t, from)
	const queue = "iso-restart-test"

	// The first worker is a process of its own, which the test kills while the switch holds its
	// 0200: the message has arrived, nothing is posted or answered yet.
	child, stderr := startHelperWorker(t, queue, "ISO_SEND_TIMEOUT=10s", "ISO_CONNECTIONS_PER_HOST=1")

	hold := h.sims.Switch.HoldNext(iso.MTIFinancial)
	defer hold.Release()
	id := uuid.NewString()
	start := switchStats(t)
	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: transaction.WorkflowID(transaction.KindISO, id), TaskQueue: queue, WorkflowTaskTimeout: 2 * time.Second,
	}, workflows.WorkflowCardTransfer, workflows.TransferInput{CorrelationID: id, ClientID: demoClient,
		FromAccount: from, ToAccount: to, Amount: 300_00, Currency: "TZS"})
	require.NoError(t, err)
	select {
	case <-hold.Arrived():
	case <-time.After(20 * time.Second):
		t.Fatalf("the helper worker's 0200 never reached the switch: %s", stderr.String())
	}
	var held iso.Financial
	require.NoError(t, hold.Message().Unmarshal(&held))
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	// The dead worker's 0200 goes through now: posted, and answered to nobody.
	hold.Release()
	select {
	case <-hold.Handled():
	case <-time.After(10 * time.Second):
		t.Fatal("the switch never handled the released 0200")
	}
	require.Equal(t, fromBefore-300_00, ledger(t, from), "the dead worker's 0200 was posted")

	// Another worker takes the transfer over once the dead one's workflow task times out.
	acts := activities.New(h.store, nil, h.env.Activities)
	acts.ISO = activities.ISO{Pool: h.pool, STANs: h.store, RRNs: h.store}
	second := sdkworker.New(h.temporal, queue, sdkworker.Options{})
	worker.Register(second, acts)
	require.NoError(t, second.Start())
	defer second.Stop()

	var res workflows.TransferResult
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, transaction.StatusSuccessful, res.Status, "%+v", res)
	require.Equal(t, held.RRN, res.RRN, "the new worker sent the 0200 again with the dead worker's RRN "+
		"(the RRN must be in the workflow's history before the first 0200 goes out)")
	require.Equal(t, start.Financial+2, switchStats(t).Financial, "the 0200 went out twice")
	require.Equal(t, fromBefore-300_00, ledger(t, from), "posted exactly once")
	require.Equal(t, 2, postings(t, res.RRN), "one debit and one credit, though the 0200 went out twice")
}

// binarySwitch is a second switch simulator, over the same accounts, speaking ISO_SPEC=binary,
// with a pool of that spec and a worker on a task queue of its own: card transfers started
// there run the real workflow and activities in the binary dialect.
type binarySwitch struct {
	sw    *sim.Switch
	queue string
}

func startBinarySwitch(t *testing.T) *binarySwitch {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := h.env.ISO
	cfg.Spec, cfg.Hosts, cfg.Simulate, cfg.ConnectionsPerHost = iso.SpecBinary, nil, false, 1
	spec, err := iso.LoadSpec(cfg.Spec)
	require.NoError(t, err)
	codec, err := iso.NewCodec(spec, cfg.Framing, cfg.TPDU)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sw := sim.NewSwitch(h.env.Switch, codec, sim.StoreLedger{Store: sim.NewStore(h.store.DB())}, logger)
	go func() { _ = sw.Serve(l) }()
	t.Cleanup(sw.Close)

	cfg.Hosts = []string{l.Addr().String()}
	pool, err := iso.NewPool(cfg, h.store, iso.NewMetrics(nil), logger)
	require.NoError(t, err)
	require.NoError(t, pool.Connect(context.Background()))
	t.Cleanup(func() { _ = pool.Close(context.Background()) })
	require.NoError(t, waitSignedOn(pool))

	acts := activities.New(h.store, nil, h.env.Activities)
	acts.ISO = activities.ISO{Pool: pool, STANs: h.store, RRNs: h.store}
	b := &binarySwitch{sw: sw, queue: "iso-binary-test"}
	w := sdkworker.New(h.temporal, b.queue, sdkworker.Options{})
	worker.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return b
}

// transfer runs a card transfer through the binary switch and returns how it ended.
func (b *binarySwitch) transfer(t *testing.T, from, to string, amount int64) workflows.TransferResult {
	t.Helper()
	id := uuid.NewString()
	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: transaction.WorkflowID(transaction.KindISO, id), TaskQueue: b.queue,
	}, workflows.WorkflowCardTransfer, workflows.TransferInput{CorrelationID: id, ClientID: demoClient,
		FromAccount: from, ToAccount: to, Amount: amount, Currency: "TZS"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.TransferResult
	require.NoError(t, run.Get(ctx, &res))
	return res
}

func TestISOTransferAndReversalUnderTheBinarySpec(t *testing.T) {
	b := startBinarySwitch(t)
	from, to := isoAccounts(t, 10)
	fromBefore, toBefore := ledger(t, from), ledger(t, to)

	t.Run("an approved transfer moves the money once", func(t *testing.T) {
		res := b.transfer(t, from, to, 125_50)
		require.Equal(t, transaction.StatusSuccessful, res.Status, "%+v", res)
		require.Equal(t, iso.CodeApproved, res.ResponseCode)
		require.Len(t, res.AuthCode, 6)
		require.Equal(t, fromBefore-125_50, ledger(t, from))
		require.Equal(t, toBefore+125_50, ledger(t, to))
		require.Equal(t, 2, postings(t, res.RRN))
		rows := audit(t, res.CorrelationID)
		require.Equal(t, "0200", rows[0].Method)
		require.Equal(t, schema.AuditOK, rows[0].Outcome)
	})

	t.Run("a lost answer is reversed and the balances restored", func(t *testing.T) {
		b.sw.SetFaults(sim.SwitchFaults{DropFinancial: 1})
		defer b.sw.SetFaults(sim.SwitchFaults{})
		res := b.transfer(t, from, to, 40_00)
		require.Equal(t, transaction.StatusReversed, res.Status, "%+v", res)
		require.Equal(t, fromBefore-125_50, ledger(t, from), "the debit was reversed")
		require.Equal(t, toBefore+125_50, ledger(t, to))
		require.Equal(t, 1, b.sw.Stats().Reversed)
		rows := audit(t, res.CorrelationID)
		require.Equal(t, schema.AuditTimeout, rows[0].Outcome)
		require.Equal(t, "0420", rows[1].Method)
	})
}

func TestISOSpecCommand(t *testing.T) {
	var out strings.Builder
	require.NoError(t, runISO(h.env, []string{"spec", iso.SpecBinary}, &out))
	path := t.TempDir() + "/binary.json"
	require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	spec, err := iso.LoadSpec(path)
	require.NoError(t, err, "what `switchyard iso spec` prints, ISO_SPEC reads")
	builtin, _ := iso.BuiltinSpec(iso.SpecBinary)
	require.Equal(t, builtin.Name, spec.Name)
}
