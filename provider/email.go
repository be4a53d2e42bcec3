package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sony/gobreaker/v2"
)

// Mailer sends e-mail over SMTP (plain, STARTTLS or implicit TLS, with AUTH PLAIN), one attempt
// per call, behind its own circuit breaker.
type Mailer struct {
	cfg     Config
	tls     *tls.Config
	breaker *gobreaker.CircuitBreaker[Response]
	metrics *Metrics
	now     func() time.Time
}

// NewMailer builds the e-mail issuer's sender.
func NewMailer(cfg Config, metrics *Metrics) (*Mailer, error) {
	tc, err := tlsConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	if host, _, err := net.SplitHostPort(cfg.SMTP.Addr); err == nil {
		tc.ServerName = host
	}
	m := &Mailer{cfg: cfg, tls: tc, metrics: metrics, now: time.Now}
	m.breaker = gobreaker.NewCircuitBreaker[Response](gobreaker.Settings{
		Name: cfg.Issuer, MaxRequests: 1, Timeout: cfg.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.BreakerFailures },
		IsSuccessful: func(err error) bool {
			var ce *CallError
			return err == nil || (errors.As(err, &ce) && ce.Kind == KindAuthRejected)
		},
		OnStateChange: func(name string, _, to gobreaker.State) { metrics.breakerState(name, to) },
	})
	metrics.breakerState(cfg.Issuer, gobreaker.StateClosed)
	return m, nil
}

// Config returns the issuer's configuration.
func (m *Mailer) Config() Config { return m.cfg }

// BreakerState is the circuit breaker's state.
func (m *Mailer) BreakerState() string { return m.breaker.State().String() }

// Call sends the *SendEmailRequest req. Accepted mail is a 200 Response carrying a
// SendEmailResponse; a permanent refusal (SMTP 5xx) is a 422 result; a temporary one (4xx), a
// broken connection or a timeout is a *CallError.
func (m *Mailer) Call(ctx context.Context, op Operation, req any, correlationID string) (Response, Attempt, error) {
	start := m.now()
	attempt := Attempt{Method: "SMTP", Host: m.cfg.SMTP.Addr, Path: "/"}
	r, ok := req.(*SendEmailRequest)
	var resp Response
	var err error
	switch {
	case !ok:
		err = &CallError{Kind: KindMisconfigured, Reason: "e-mail takes a SendEmailRequest"}
	case !m.cfg.Configured():
		err = &CallError{Kind: KindNotConfigured,
			Reason: "issuer email is not configured: set EMAIL_SMTP_HOST or EMAIL_SIMULATE=true"}
	default:
		resp, err = m.breaker.Execute(func() (Response, error) { return m.send(ctx, r, correlationID) })
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			err = &CallError{Kind: KindBreakerOpen, Reason: "circuit breaker for email is open"}
		}
	}
	attempt.Latency = m.now().Sub(start)
	attempt.Outcome = outcomeOf(resp, err)
	attempt.Status = resp.Status
	var ce *CallError
	if errors.As(err, &ce) {
		attempt.Status = ce.Status
	}
	m.metrics.observe(m.cfg.Issuer, op.Key, attempt.Outcome, attempt.Latency)
	return resp, attempt, err
}

func (m *Mailer) send(ctx context.Context, r *SendEmailRequest, correlationID string) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	from, err := mail.ParseAddress(m.cfg.SMTP.From)
	if err != nil {
		return Response{}, &CallError{Kind: KindMisconfigured, Reason: "EMAIL_FROM is not an address"}
	}
	messageID := correlationID + "@switchyard"
	msg, err := buildMessage(from, r, messageID, m.now())
	if err != nil {
		return Response{}, &CallError{Kind: KindMisconfigured, Reason: "building the message: " + err.Error()}
	}

	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.cfg.SMTP.Addr)
	if err != nil {
		return Response{}, transportError(ctx, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	var c *smtp.Client
	switch m.cfg.SMTP.TLS {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, m.tls))
	case "starttls":
		c, err = smtp.NewClientStartTLS(conn, m.tls)
	default:
		c = smtp.NewClient(conn)
	}
	if err != nil {
		conn.Close()
		return Response{}, smtpError(ctx, err)
	}
	defer c.Close()
	if m.cfg.SMTP.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.cfg.SMTP.Username, m.cfg.SMTP.Password)); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code >= 500 {
				return Response{}, &CallError{Kind: KindAuthRejected, Status: se.Code, Reason: "SMTP server refused the hub's credentials"}
			}
			return Response{}, smtpError(ctx, err)
		}
	}
	if err := c.Mail(from.Address, nil); err != nil {
		return smtpResult(ctx, err)
	}
	var accepted, refused []string
	for _, to := range append(append([]string{}, r.To...), r.Cc...) {
		if err := c.Rcpt(to, nil); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code >= 500 {
				refused = append(refused, to)
				continue
			}
			return Response{}, smtpError(ctx, err)
		}
		accepted = append(accepted, to)
	}
	if len(accepted) == 0 {
		body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "RECIPIENTS_REFUSED",
			"message": "the SMTP server refused every recipient", "refused": refused}})
		return Response{Status: 422, Body: body, ProviderCode: "RECIPIENTS_REFUSED"}, nil
	}
	w, err := c.Data()
	if err != nil {
		return smtpResult(ctx, err)
	}
	if _, err := w.Write(msg); err != nil {
		return Response{}, smtpError(ctx, err)
	}
	if err := w.Close(); err != nil {
		return smtpResult(ctx, err)
	}
	_ = c.Quit()
	body, _ := json.Marshal(SendEmailResponse{MessageID: "<" + messageID + ">", Accepted: accepted})
	return Response{Status: 200, Body: body}, nil
}

// smtpResult turns a permanent refusal (5xx) into a 422 result and anything else into an error.
func smtpResult(ctx context.Context, err error) (Response, error) {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		code := fmt.Sprintf("SMTP_%d", se.Code)
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": se.Message}})
		return Response{Status: 422, Body: body, ProviderCode: code}, nil
	}
	return Response{}, smtpError(ctx, err)
}

func smtpError(ctx context.Context, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &CallError{Kind: KindStatus, Status: se.Code, Reason: fmt.Sprintf("SMTP server answered %d", se.Code)}
	}
	return transportError(ctx, err)
}

// buildMessage writes an RFC 5322 message: text, HTML, or both as multipart/alternative.
func buildMessage(from *mail.Address, r *SendEmailRequest, messageID string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", strings.Join(r.To, ", "))
	if len(r.Cc) > 0 {
		header("Cc", strings.Join(r.Cc, ", "))
	}
	header("Subject", mime.QEncoding.Encode("utf-8", r.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+messageID+">")
	header("MIME-Version", "1.0")
	part := func(w *bytes.Buffer, contentType, text string) error {
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(text)); err != nil {
			return err
		}
		return qp.Close()
	}
	switch {
	case r.Text != "" && r.HTML != "":
		mw := multipart.NewWriter(&buf)
		header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
		buf.WriteString("\r\n")
		for _, p := range []struct{ ct, text string }{{"text/plain; charset=utf-8", r.Text}, {"text/html; charset=utf-8", r.HTML}} {
			pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ct},
				"Content-Transfer-Encoding": {"quoted-printable"}})
			if err != nil {
				return nil, err
			}
			var pb bytes.Buffer
			if err := part(&pb, p.ct, p.text); err != nil {
				return nil, err
			}
			if _, err := pw.Write(pb.Bytes()); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	default:
		ct, text := "text/plain; charset=utf-8", r.Text
		if r.Text == "" {
			ct, text = "text/html; charset=utf-8", r.HTML
		}
		header("Content-Type", ct)
		header("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := part(&buf, ct, text); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
