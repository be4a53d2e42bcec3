package sim

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/switchyard-hub/switchyard/iso"
)

// SwitchConfig is the switch simulator's environment.
type SwitchConfig struct {
	// Delay holds every answer back this long.
	Delay time.Duration `envconfig:"SIM_ISO_DELAY" default:"0s"`
	// AllowedIPs, when set, is the only set of peers accepted.
	AllowedIPs []string `envconfig:"SIM_ISO_ALLOWED_IPS"`
	// MaxSessions caps concurrent connections; more are closed at once.
	MaxSessions int `envconfig:"SIM_ISO_MAX_SESSIONS" default:"32"`
}

// Switch simulates a card switch over TCP with the same framing as the pool: it answers
// network management (0800), balance inquiries (0100/0200, processing code 31) and transfers
// (0200, processing code 40) from its ledger, and reversals (0420/0421) idempotently. Faults can
// be injected: delays, dropped answers, connection resets.
type Switch struct {
	cfg    SwitchConfig
	codec  *iso.Codec
	ledger Ledger
	logger *slog.Logger

	mu       sync.Mutex
	listener net.Listener
	sessions map[*connection.Connection]*session
	faults   SwitchFaults
	stats    SwitchStats
	holds    []*Hold // waiting for their message, or holding it
	closed   bool
}

type session struct {
	signedOn bool
	first    string // the first message's MTI and network code, e.g. "0800/001"
}

// SwitchFaults are injected misbehaviours. Counts are decremented per message; -1 means until
// cleared.
type SwitchFaults struct {
	DropFinancial int           `json:"drop_financial"` // post the 0200 but send no answer
	DropReversal  int           `json:"drop_reversal"`  // send no answer to 0420/0421 (nothing reversed)
	Reset         int           `json:"reset"`          // close the connection after posting, without answering
	Decline       string        `json:"decline"`        // answer every financial request with this code
	Delay         time.Duration `json:"delay"`
}

// SwitchStats counts what the switch saw.
type SwitchStats struct {
	Received          map[string]int `json:"received"` // every message by MTI, counted on arrival (before any delay)
	SignOns           int            `json:"sign_ons"`
	SignOffs          int            `json:"sign_offs"`
	Echoes            int            `json:"echoes"`
	Financial         int            `json:"financial"`
	Reversals         int            `json:"reversals"`
	Reversed          int            `json:"reversed"`
	Dropped           int            `json:"dropped"`
	TrafficBeforeSign int            `json:"traffic_before_sign_on"`
	Sessions          int            `json:"sessions"`
	Refused           int            `json:"refused"`
	FirstMessages     []string       `json:"first_messages"`
}

// NewSwitch builds the simulator.
func NewSwitch(cfg SwitchConfig, codec *iso.Codec, ledger Ledger, logger *slog.Logger) *Switch {
	return &Switch{cfg: cfg, codec: codec, ledger: ledger, logger: logger.With("component", "switch-sim"),
		sessions: map[*connection.Connection]*session{}, faults: SwitchFaults{Delay: cfg.Delay}}
}

// Serve accepts connections on l until Close.
func (s *Switch) Serve(l net.Listener) error {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	for {
		conn, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.admit(conn) {
			conn.Close()
			continue
		}
		c, err := connection.NewFrom(conn, s.codec.Spec(), nil, nil,
			connection.InboundMessageHandler(s.handle),
			connection.ReadTimeout(24*time.Hour), connection.IdleTime(24*time.Hour),
			connection.SetRequestIDGenerator(iso.RequestIDs{}),
			connection.WithConnectionClosedHandler(s.forget),
			connection.ErrorHandler(func(err error) { s.logger.Debug("switch connection", "error", err.Error()) }),
			func(o *connection.Options) error { o.MessageReader, o.MessageWriter = s.codec, s.codec; return nil })
		if err != nil {
			conn.Close()
			continue
		}
		s.mu.Lock()
		s.sessions[c] = &session{}
		s.stats.Sessions++
		s.mu.Unlock()
	}
}

// admit applies the IP allow-list and the session cap.
func (s *Switch) admit(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxSessions > 0 && len(s.sessions) >= s.cfg.MaxSessions {
		s.stats.Refused++
		return false
	}
	if len(s.cfg.AllowedIPs) == 0 {
		return true
	}
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	for _, ip := range s.cfg.AllowedIPs {
		if ip == host {
			return true
		}
	}
	s.stats.Refused++
	return false
}

func (s *Switch) forget(c *connection.Connection) {
	s.mu.Lock()
	delete(s.sessions, c)
	s.mu.Unlock()
}

// Close stops accepting and drops every session (the pool sees its connections reset).
func (s *Switch) Close() {
	s.mu.Lock()
	s.closed = true
	l := s.listener
	sessions := make([]*connection.Connection, 0, len(s.sessions))
	for c := range s.sessions {
		sessions = append(sessions, c)
	}
	s.mu.Unlock()
	if l != nil {
		l.Close()
	}
	for _, c := range sessions {
		c.Close()
	}
	s.mu.Lock()
	holds := s.holds
	s.holds = nil
	s.mu.Unlock()
	for _, h := range holds {
		h.Release() // nothing waits forever on a closed switch
	}
}

// SetFaults replaces the injected faults.
func (s *Switch) SetFaults(f SwitchFaults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns what the switch saw so far.
func (s *Switch) Stats() SwitchStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.FirstMessages = append([]string{}, s.stats.FirstMessages...)
	out.Received = maps.Clone(s.stats.Received)
	return out
}

// take consumes one unit of a counted fault.
func take(n *int) bool {
	switch {
	case *n < 0:
		return true
	case *n > 0:
		*n--
		return true
	}
	return false
}

func (s *Switch) handle(c *connection.Connection, msg *iso8583.Message) {
	mti, _ := msg.GetMTI()
	s.mu.Lock()
	if s.stats.Received == nil {
		s.stats.Received = map[string]int{}
	}
	s.stats.Received[mti]++
	sess := s.sessions[c]
	if sess == nil {
		sess = &session{}
		s.sessions[c] = sess
	}
	delay := s.faults.Delay
	hold := s.takeHold(mti)
	s.mu.Unlock()
	if hold != nil {
		defer s.handled(hold)
		hold.msg = msg
		close(hold.arrived)
		<-hold.release
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var reply *iso8583.Message
	var err error
	switch mti {
	case iso.MTINetwork:
		reply, err = s.network(sess, msg)
	case iso.MTIAuthorization, iso.MTIFinancial:
		reply, err = s.financial(ctx, c, sess, msg)
	case iso.MTIReversal, iso.MTIReversalRepeat:
		reply, err = s.reversal(ctx, msg)
	default:
		s.logger.Warn("Unsupported message", "message", iso.Describe(msg))
		return
	}
	if err != nil {
		s.logger.Error("Answering", "mti", mti, "error", err.Error())
		return
	}
	if reply != nil {
		_ = c.Reply(reply)
	}
}

func (s *Switch) network(sess *session, msg *iso8583.Message) (*iso8583.Message, error) {
	var in iso.Network
	if err := msg.Unmarshal(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if sess.first == "" {
		sess.first = iso.MTINetwork + "/" + in.NetworkCode
		s.stats.FirstMessages = append(s.stats.FirstMessages, sess.first)
	}
	switch in.NetworkCode {
	case iso.NetSignOn:
		sess.signedOn = true
		s.stats.SignOns++
	case iso.NetSignOff:
		sess.signedOn = false
		s.stats.SignOffs++
	case iso.NetEcho:
		s.stats.Echoes++
	}
	s.mu.Unlock()
	return iso.Pack(s.codec.Spec(), &iso.Network{MTI: iso.MTINetworkResponse, TransmissionDateTime: in.TransmissionDateTime, STAN: in.STAN,
		ResponseCode: iso.CodeApproved, TerminalID: in.TerminalID, NetworkCode: in.NetworkCode})
}

func (s *Switch) financial(ctx context.Context, c *connection.Connection, sess *session, msg *iso8583.Message) (*iso8583.Message, error) {
	var in iso.Financial
	if err := msg.Unmarshal(&in); err != nil {
		return nil, err
	}
	out := in
	out.MTI = responseMTI(in.MTI)
	s.mu.Lock()
	s.stats.Financial++
	if sess.first == "" {
		sess.first = in.MTI
		s.stats.FirstMessages = append(s.stats.FirstMessages, sess.first)
	}
	signedOn := sess.signedOn
	decline := s.faults.Decline
	s.mu.Unlock()

	switch {
	case !signedOn:
		s.mu.Lock()
		s.stats.TrafficBeforeSign++
		s.mu.Unlock()
		out.ResponseCode = iso.CodeSwitchInoperative
	case decline != "":
		out.ResponseCode = decline
	case in.ProcessingCode == iso.ProcBalanceInquiry:
		a, err := s.ledger.Account(ctx, in.FromAccount)
		switch {
		case errors.Is(err, ErrAccountNotFound):
			out.ResponseCode = iso.CodeInvalidCard
		case err != nil:
			out.ResponseCode = iso.CodeSystemMalfunction
		case !a.Active:
			out.ResponseCode = iso.CodeRestrictedCard
		default:
			out.ResponseCode = iso.CodeApproved
			out.AdditionalAmounts = iso.FormatBalances(a.Ledger, a.Available, iso.Currencies[a.Currency])
		}
	case in.ProcessingCode == iso.ProcTransfer && in.MTI == iso.MTIFinancial:
		outcome, err := s.ledger.Transfer(ctx, TransferRequest{TerminalID: in.TerminalID, RRN: in.RRN, STAN: in.STAN,
			From: in.FromAccount, To: in.ToAccount, Amount: in.Amount})
		if err != nil {
			out.ResponseCode = iso.CodeSystemMalfunction
		} else {
			out.ResponseCode, out.AuthCode = outcome.ResponseCode, outcome.AuthCode
		}
	default:
		out.ResponseCode = iso.CodeInvalidTransaction
	}

	s.mu.Lock()
	drop := take(&s.faults.DropFinancial)
	reset := !drop && take(&s.faults.Reset)
	if drop || reset {
		s.stats.Dropped++
	}
	s.mu.Unlock()
	if reset {
		go c.Close()
		return nil, nil
	}
	if drop {
		return nil, nil
	}
	return iso.Pack(s.codec.Spec(), &out)
}

func (s *Switch) reversal(ctx context.Context, msg *iso8583.Message) (*iso8583.Message, error) {
	var in iso.Reversal
	if err := msg.Unmarshal(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.stats.Reversals++
	drop := take(&s.faults.DropReversal)
	if drop {
		s.stats.Dropped++
	}
	s.mu.Unlock()
	if drop {
		return nil, nil
	}
	reversed, err := s.ledger.Reverse(ctx, in.TerminalID, in.RRN)
	if err != nil {
		return nil, err
	}
	if reversed {
		s.mu.Lock()
		s.stats.Reversed++
		s.mu.Unlock()
	}
	out := in
	out.MTI = iso.MTIReversalResponse
	// A reversal is acknowledged whether or not there was anything to reverse: reversing is
	// idempotent and never happens twice.
	out.ResponseCode = iso.CodeApproved
	return iso.Pack(s.codec.Spec(), &out)
}

// responseMTI is a request's response MTI: 0100 → 0110, 0200 → 0210.
func responseMTI(mti string) string {
	b := []byte(mti)
	b[2]++
	return string(b)
}

// Hold keeps one message at the switch's door until it is released: it has arrived (and is
// counted in Received) but nothing is posted or answered yet. Tests use it to act at an exact
// point of an exchange, a worker killed while its 0200 is at the switch, say, with no timing.
type Hold struct {
	mti      string
	taken    bool
	msg      *iso8583.Message
	arrived  chan struct{}
	release  chan struct{}
	released sync.Once
	handled  chan struct{}
}

// HoldNext holds the next message of the given MTI that arrives. Messages of other MTIs, and
// later ones of the same MTI, pass.
func (s *Switch) HoldNext(mti string) *Hold {
	h := &Hold{mti: mti, arrived: make(chan struct{}), release: make(chan struct{}), handled: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	return h
}

// takeHold claims the first untaken hold of mti; s.mu is held.
func (s *Switch) takeHold(mti string) *Hold {
	for _, h := range s.holds {
		if !h.taken && h.mti == mti {
			h.taken = true
			return h
		}
	}
	return nil
}

// handled retires a hold whose message the switch has handled.
func (s *Switch) handled(h *Hold) {
	s.mu.Lock()
	s.holds = slices.DeleteFunc(s.holds, func(x *Hold) bool { return x == h })
	s.mu.Unlock()
	close(h.handled)
}

// Arrived is closed once the held message has arrived.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Message is the held message, once Arrived is closed.
func (h *Hold) Message() *iso8583.Message { return h.msg }

// Release lets the held message through (or the next one, if it has not arrived yet).
func (h *Hold) Release() { h.released.Do(func() { close(h.release) }) }

// Handled is closed once the switch has handled the released message: posted it, and answered
// it or found nobody to answer.
func (h *Hold) Handled() <-chan struct{} { return h.handled }
