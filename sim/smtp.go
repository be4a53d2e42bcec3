package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// MailSink is a real SMTP server that keeps what it receives: STARTTLS with a certificate it
// makes itself, AUTH PLAIN against the e-mail issuer's credentials when they are set, and
// refusals on demand (recipients at invalid.example are refused with 550, at tempfail.example
// with 451).
type MailSink struct {
	server   *smtp.Server
	username string
	password string
	faults   *faults
	certPEM  []byte

	mu       sync.Mutex
	messages []MailMessage
}

// MailMessage is one message the sink accepted.
type MailMessage struct {
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Data       string    `json:"data"`
	AuthUser   string    `json:"auth_user,omitempty"`
	TLS        bool      `json:"tls"`
	ReceivedAt time.Time `json:"received_at"`
}

// NewMailSink builds the sink. With a username, clients must authenticate.
func NewMailSink(username, password string, f *faults) (*MailSink, error) {
	cert, certPEM, err := selfSigned("localhost")
	if err != nil {
		return nil, err
	}
	m := &MailSink{username: username, password: password, faults: f, certPEM: certPEM}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &mailSession{sink: m, tls: isTLS, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = 10 << 20
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	m.server = s
	return m, nil
}

// Serve accepts SMTP connections on l until Close.
func (m *MailSink) Serve(l net.Listener) error {
	err := m.server.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the sink.
func (m *MailSink) Close() error { return m.server.Close() }

// CertPEM is the sink's certificate, for clients that verify it (EMAIL_CA_FILE).
func (m *MailSink) CertPEM() []byte { return m.certPEM }

// Messages returns what the sink accepted.
func (m *MailSink) Messages() []MailMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MailMessage{}, m.messages...)
}

// Register serves /_sim/mail/messages and /_sim/mail/ca.pem on mux.
func (m *MailSink) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/mail/messages", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.Messages())
	})
	mux.HandleFunc("GET /_sim/mail/ca.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(m.certPEM)
	})
}

type mailSession struct {
	sink *MailSink
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if s.sink.username == "" || (equal(username, s.sink.username) && equal(password, s.sink.password)) {
			s.user = username
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.username != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	if ft := s.sink.faults.take("smtp"); ft != nil && ft.Status != 0 {
		return &smtp.SMTPError{Code: ft.Status, Message: "injected fault"}
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasSuffix(to, "@invalid.example"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	case strings.HasSuffix(to, "@tempfail.example"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.sink.mu.Lock()
	s.sink.messages = append(s.sink.messages, MailMessage{From: s.from, To: s.to, Data: string(b), AuthUser: s.user,
		TLS: isTLS || s.tls, ReceivedAt: time.Now().UTC()})
	s.sink.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// selfSigned makes a certificate for host, valid for a year.
func selfSigned(host string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return cert, certPEM, err
}
