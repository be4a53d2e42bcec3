package iso

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	isoerrors "github.com/moov-io/iso8583/errors"
	"github.com/sony/gobreaker/v2"
)

// Config is the pool's environment.
type Config struct {
	// Hosts are the switch's addresses (host:port); ISO_SIMULATE=true uses the simulator's.
	Hosts              []string      `envconfig:"ISO_HOSTS"`
	Simulate           bool          `envconfig:"ISO_SIMULATE"`
	ConnectionsPerHost int           `envconfig:"ISO_CONNECTIONS_PER_HOST" default:"2"`
	ConnectTimeout     time.Duration `envconfig:"ISO_CONNECT_TIMEOUT" default:"5s"`
	ReconnectWait      time.Duration `envconfig:"ISO_RECONNECT_WAIT" default:"500ms"`
	MaxReconnectWait   time.Duration `envconfig:"ISO_MAX_RECONNECT_WAIT" default:"10s"`
	// SendTimeout bounds one request's wait for its response (a shorter context deadline wins).
	SendTimeout time.Duration `envconfig:"ISO_SEND_TIMEOUT" default:"10s"`
	// EchoInterval sends an echo (0800/301) on a connection idle this long.
	EchoInterval time.Duration `envconfig:"ISO_ECHO_INTERVAL" default:"30s"`
	// ReadTimeout closes (and so reconnects) a connection that received nothing this long.
	ReadTimeout time.Duration `envconfig:"ISO_READ_TIMEOUT" default:"90s"`
	// Spec is a built-in spec (ascii, binary) or the path of a moov-io JSON spec.
	Spec       string `envconfig:"ISO_SPEC" default:"ascii"`
	Framing    string `envconfig:"ISO_FRAMING" default:"binary2"`
	TPDU       string `envconfig:"ISO_TPDU"`
	TLS        bool   `envconfig:"ISO_TLS"`
	CAFile     string `envconfig:"ISO_CA_FILE"`
	ClientCert string `envconfig:"ISO_CLIENT_CERT"`
	ClientKey  string `envconfig:"ISO_CLIENT_KEY"`
	TerminalID string `envconfig:"ISO_TERMINAL_ID" default:"SWYD0001"`
	AcquirerID string `envconfig:"ISO_ACQUIRER_ID" default:"639001"`
	MerchantID string `envconfig:"ISO_MERCHANT_ID" default:"SWITCHYARD00001"`
	Currency   string `envconfig:"ISO_CURRENCY" default:"834"`
	// BreakerFailures consecutive failures open the pool's breaker for BreakerOpenTimeout.
	BreakerFailures    uint32        `envconfig:"ISO_BREAKER_FAILURES" default:"5"`
	BreakerOpenTimeout time.Duration `envconfig:"ISO_BREAKER_OPEN_TIMEOUT" default:"30s"`
	// The transfer's policy: resends of a request that was never sent, and the reversal's
	// repeats and budget before escalation.
	MaxAttempts             int           `envconfig:"ISO_MAX_ATTEMPTS" default:"3"`
	RetryInitialInterval    time.Duration `envconfig:"ISO_RETRY_INITIAL_INTERVAL" default:"500ms"`
	RetryMaxInterval        time.Duration `envconfig:"ISO_RETRY_MAX_INTERVAL" default:"5s"`
	ReversalInitialInterval time.Duration `envconfig:"ISO_REVERSAL_INITIAL_INTERVAL" default:"1s"`
	ReversalMaxInterval     time.Duration `envconfig:"ISO_REVERSAL_MAX_INTERVAL" default:"30s"`
	ReversalBudget          time.Duration `envconfig:"ISO_REVERSAL_BUDGET" default:"2m"`
	// SimAddr is where the switch simulator listens (`switchyard sim`) and, with ISO_SIMULATE,
	// where the pool connects.
	SimAddr string `envconfig:"SIM_ISO_ADDR" default:"127.0.0.1:8583"`
}

// Addrs are the connections the pool keeps: every host, ConnectionsPerHost times.
func (c Config) Addrs() []string {
	hosts := c.Hosts
	if c.Simulate && len(hosts) == 0 {
		hosts = []string{c.SimAddr}
	}
	var out []string
	for _, h := range hosts {
		for range max(c.ConnectionsPerHost, 1) {
			out = append(out, h)
		}
	}
	return out
}

// Configured reports whether there is a switch to connect to.
func (c Config) Configured() bool { return len(c.Addrs()) > 0 }

// Pool keeps signed-on connections to the switch and sends requests over them.
type Pool struct {
	cfg     Config
	codec   *Codec
	pool    *connection.Pool
	stans   STANSource
	breaker *gobreaker.CircuitBreaker[*iso8583.Message]
	metrics *Metrics
	logger  *slog.Logger
	now     func() time.Time
}

// NewPool prepares a pool; Connect starts it. It fails when ISO_SPEC cannot carry every
// message the hub sends (naming each missing or unusable field), or on another bad setting.
func NewPool(cfg Config, stans STANSource, metrics *Metrics, logger *slog.Logger) (*Pool, error) {
	spec, err := LoadSpec(cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("ISO_SPEC: %w", err)
	}
	codec, err := NewCodec(spec, cfg.Framing, cfg.TPDU)
	if err != nil {
		return nil, fmt.Errorf("ISO_FRAMING/ISO_TPDU: %w", err)
	}
	if len(cfg.TerminalID) != 8 {
		return nil, fmt.Errorf("ISO_TERMINAL_ID must be 8 characters, got %q", cfg.TerminalID)
	}
	if len(cfg.MerchantID) != 15 {
		return nil, fmt.Errorf("ISO_MERCHANT_ID must be 15 characters, got %q", cfg.MerchantID)
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	p := &Pool{cfg: cfg, codec: codec, stans: stans, metrics: metrics, logger: logger.With("component", "iso"),
		now: time.Now}
	p.breaker = gobreaker.NewCircuitBreaker[*iso8583.Message](gobreaker.Settings{
		Name: "iso", MaxRequests: 1, Timeout: cfg.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= max(cfg.BreakerFailures, 1) },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, ErrInvalidMessage)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			metrics.breaker.Set(float64(to))
			p.logger.Warn("ISO circuit breaker changed state", "from", from.String(), "to", to.String())
		},
	})
	metrics.total.Set(float64(len(cfg.Addrs())))
	p.pool, err = connection.NewPool(p.connect, cfg.Addrs(),
		connection.PoolMinConnections(0),
		connection.PoolReconnectWait(cfg.ReconnectWait),
		connection.PoolMaxReconnectWait(cfg.MaxReconnectWait),
		// A connection serves traffic only once signed on: its status stays empty until then.
		connection.PoolConnectionsFilter(func(c *connection.Connection) bool { return c.Status() == connection.StatusOnline }),
		connection.PoolErrorHandler(func(err error) { p.logger.Debug("ISO pool", "error", err.Error()) }),
	)
	return p, err
}

// Connect opens the connections. Hosts that do not answer are retried in the background with
// backoff (ISO_RECONNECT_WAIT doubling up to ISO_MAX_RECONNECT_WAIT); Connect does not wait
// for them.
func (p *Pool) Connect(ctx context.Context) error {
	err := p.pool.ConnectCtx(ctx)
	p.refreshGauges()
	return err
}

// Close takes every connection out of service, signs it off (0800/002, answered) and closes
// the pool. The sign-off is sent before closing: a closing connection sends nothing.
func (p *Pool) Close(ctx context.Context) error {
	conns := p.pool.Connections()
	for _, c := range conns {
		c.SetStatus(connection.StatusOffline)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.network(ctx, c, NetSignOff); err != nil {
				p.logger.Debug("Signing off", "addr", c.Addr(), "error", err.Error())
			}
		}()
	}
	wg.Wait()
	return p.pool.CloseCtx(ctx)
}

// connect is the pool's connection factory: framing, timeouts, TLS, echo, sign-on and
// sign-off, and matching by MTI class, STAN and terminal.
func (p *Pool) connect(addr string) (*connection.Connection, error) {
	opts := []connection.Option{
		connection.ConnectTimeout(p.cfg.ConnectTimeout),
		connection.SendTimeout(p.cfg.SendTimeout),
		connection.IdleTime(p.cfg.EchoInterval),
		connection.ReadTimeout(p.cfg.ReadTimeout),
		connection.PingHandler(p.echo),
		connection.ReadTimeoutHandler(func(c *connection.Connection) {
			p.logger.Warn("No traffic from the switch: reconnecting", "addr", c.Addr())
			c.TriggerFailure(errors.New("read timeout"))
		}),
		connection.InboundMessageHandler(p.inbound),
		connection.OnConnectCtx(p.signOn),
		connection.WithConnectionClosedHandler(func(*connection.Connection) { go p.refreshGauges() }),
		connection.SetRequestIDGenerator(RequestIDs{}),
		connection.ErrorHandler(func(err error) { p.logger.Debug("ISO connection", "error", err.Error()) }),
		func(o *connection.Options) error { o.MessageReader, o.MessageWriter = p.codec, p.codec; return nil },
	}
	if p.cfg.TLS {
		opts = append(opts, connection.SetTLSConfig(func(*tls.Config) {}))
		if p.cfg.CAFile != "" {
			opts = append(opts, connection.RootCAs(p.cfg.CAFile))
		}
		if p.cfg.ClientCert != "" {
			opts = append(opts, connection.ClientCert(p.cfg.ClientCert, p.cfg.ClientKey))
		}
	}
	return connection.New(addr, p.codec.Spec(), nil, nil, opts...)
}

// signOn sends 0800/001 on a new connection and marks it online when the switch approves.
func (p *Pool) signOn(ctx context.Context, c *connection.Connection) error {
	if err := p.network(ctx, c, NetSignOn); err != nil {
		return fmt.Errorf("signing on to %s: %w", c.Addr(), err)
	}
	c.SetStatus(connection.StatusOnline)
	p.logger.Info("Signed on to the switch", "addr", c.Addr())
	go p.refreshGauges() // the pool's lock may be held while connecting
	return nil
}

// echo keeps an idle connection alive; a failed echo drops the connection (and reconnects).
func (p *Pool) echo(c *connection.Connection) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.SendTimeout)
	defer cancel()
	if err := p.network(ctx, c, NetEcho); err != nil {
		p.logger.Warn("Echo failed: reconnecting", "addr", c.Addr(), "error", err.Error())
		c.TriggerFailure(err)
	}
}

func (p *Pool) network(ctx context.Context, c *connection.Connection, code string) error {
	stan, err := p.stans.NextSTAN(ctx, p.cfg.TerminalID)
	if err != nil {
		return err
	}
	msg, err := Pack(p.Spec(), &Network{MTI: MTINetwork, TransmissionDateTime: TransmissionTime(p.now()), STAN: stan,
		TerminalID: p.cfg.TerminalID, NetworkCode: code})
	if err != nil {
		return err
	}
	p.metrics.sent.Inc()
	start := p.now()
	resp, err := c.Send(msg, connection.SendTimeout(timeoutFor(ctx, p.cfg.SendTimeout)))
	if err != nil {
		return err
	}
	p.metrics.observeRoundTrip(p.now().Sub(start))
	if rc, _ := resp.GetString(39); rc != CodeApproved {
		return fmt.Errorf("network management %s refused: %s (%s)", code, rc, Meaning(rc))
	}
	return nil
}

// inbound handles what matched no pending request: the switch's own requests (an echo is
// answered) and late or unknown responses (logged masked, counted).
func (p *Pool) inbound(c *connection.Connection, msg *iso8583.Message) {
	mti, _ := msg.GetMTI()
	if mti == MTINetwork {
		var in Network
		if err := msg.Unmarshal(&in); err == nil {
			reply, err := Pack(p.Spec(), &Network{MTI: MTINetworkResponse, TransmissionDateTime: in.TransmissionDateTime,
				STAN: in.STAN, ResponseCode: CodeApproved, TerminalID: in.TerminalID, NetworkCode: in.NetworkCode})
			if err == nil {
				_ = c.Reply(reply)
				return
			}
		}
	}
	p.metrics.unhandled.Inc()
	p.logger.Warn("Unmatched message from the switch (late or unknown)", "addr", c.Addr(), "message", Describe(msg))
}

// Send sends a request and waits for its response, no longer than ISO_SEND_TIMEOUT or ctx's
// deadline (iso8583-connection's Send takes no context). Errors are ErrUnavailable (nothing
// was sent), ErrOutcomeUnknown or ErrInvalidMessage, wrapped.
func (p *Pool) Send(ctx context.Context, msg *iso8583.Message) (*iso8583.Message, error) {
	timeout := timeoutFor(ctx, p.cfg.SendTimeout)
	if timeout <= 0 {
		return nil, fmt.Errorf("deadline passed before sending: %w", ErrUnavailable)
	}
	resp, err := p.breaker.Execute(func() (*iso8583.Message, error) {
		conn, err := p.pool.Get()
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrUnavailable)
		}
		p.metrics.sent.Inc()
		p.metrics.pending.Inc()
		defer p.metrics.pending.Dec()
		start := p.now()
		resp, err := conn.Send(msg, connection.SendTimeout(timeout))
		var packErr *isoerrors.PackError
		switch {
		case err == nil:
			p.metrics.observeRoundTrip(p.now().Sub(start))
			return resp, nil
		case errors.As(err, &packErr):
			return nil, fmt.Errorf("%v: %w", err, ErrInvalidMessage)
		case errors.Is(err, connection.ErrSendTimeout):
			p.metrics.expired.Inc()
			return nil, fmt.Errorf("no response within %s: %w", timeout, ErrOutcomeUnknown)
		}
		return nil, fmt.Errorf("%v: %w", err, ErrOutcomeUnknown)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, fmt.Errorf("circuit breaker open: %w", ErrUnavailable)
	}
	return resp, err
}

func timeoutFor(ctx context.Context, limit time.Duration) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return min(limit, time.Until(deadline))
	}
	return limit
}

// Health is the pool's state, for /ready.
type Health struct {
	Total    int    `json:"total"`
	Up       int    `json:"up"`
	SignedOn int    `json:"signed_on"`
	Breaker  string `json:"breaker"`
}

// Health reports connections and the breaker.
func (p *Pool) Health() Health {
	p.refreshGauges()
	conns := p.pool.Connections()
	h := Health{Total: len(p.cfg.Addrs()), Up: len(conns), Breaker: p.breaker.State().String()}
	for _, c := range conns {
		if c.Status() == connection.StatusOnline {
			h.SignedOn++
		}
	}
	return h
}

func (p *Pool) refreshGauges() {
	if p.pool == nil {
		return
	}
	conns := p.pool.Connections()
	online := 0
	for _, c := range conns {
		if c.Status() == connection.StatusOnline {
			online++
		}
	}
	p.metrics.up.Set(float64(len(conns)))
	p.metrics.signedOn.Set(float64(online))
}

// Config returns the pool's configuration.
func (p *Pool) Config() Config { return p.cfg }

// Spec returns the message spec the pool speaks (ISO_SPEC); build requests with it.
func (p *Pool) Spec() *iso8583.MessageSpec { return p.codec.Spec() }

// RequestIDs matches responses to requests by MTI class, STAN and terminal: a reversal
// response (class 4) can never match an authorization (class 1 or 2), and the STAN is read as
// a number, so padding cannot make request and response keys differ.
type RequestIDs struct{}

// GenerateRequestID implements connection.RequestIDGenerator.
func (RequestIDs) GenerateRequestID(msg *iso8583.Message) (string, error) {
	mti, err := msg.GetMTI()
	if err != nil || len(mti) != 4 {
		return "", fmt.Errorf("message without a valid MTI")
	}
	var stan int64
	if f := msg.GetField(11); f != nil {
		if err := f.Unmarshal(&stan); err != nil {
			return "", fmt.Errorf("reading the STAN: %w", err)
		}
	}
	if stan == 0 {
		return "", errors.New("message without a STAN")
	}
	tid, _ := msg.GetString(41)
	return fmt.Sprintf("%s/%06d/%s", Class(mti), stan, strings.TrimSpace(tid)), nil
}
