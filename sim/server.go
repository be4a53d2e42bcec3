package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/provider"
)

// Simulators are everything `switchyard sim` serves: the upstream mediator simulator, the
// provider simulators, the messaging platforms' and sites' simulators and the SMTP sink.
type Simulators struct {
	Upstream  *Upstream
	Providers *Providers
	Mail      *MailSink
	Switch    *Switch
	Messaging *Messaging
	Sites     *Sites
	ESB       *ESB
	Payments  *Payments
	ERP       *ERP
}

// Options are what the simulators are built from.
type Options struct {
	Upstream UpstreamConfig
	// Issuers are the issuers' configurations: the simulators demand the same auth the hub is
	// configured to send.
	Issuers map[string]provider.Config
	// ISO gives the switch the pool's spec (ISO_SPEC) and framing; Switch its own settings.
	ISO    iso.Config
	Switch SwitchConfig
	// Messaging are the messaging simulators' credentials and the hub they deliver webhooks to.
	Messaging MessagingConfig
	// Sites are the WordPress and Shopify simulators' credentials and content.
	Sites SitesConfig
	// ESB is the GovESB engine simulator's credentials and keys.
	ESB ESBConfig
	// Payments is where the payment provider simulator's webhooks go and their secret.
	Payments PaymentsConfig
	Logger   *slog.Logger
}

// New builds every simulator over the simulators' tables (see Migrate).
func New(store *Store, o Options) (*Simulators, error) {
	providers := NewProviders(store, o.Issuers, o.Upstream.OAuthTokenTTL)
	email := o.Issuers[provider.IssuerEmail].SMTP
	mail, err := NewMailSink(email.Username, email.Password, providers.faults)
	if err != nil {
		return nil, err
	}
	spec, err := iso.LoadSpec(o.ISO.Spec)
	if err != nil {
		return nil, fmt.Errorf("ISO_SPEC: %w", err)
	}
	codec, err := iso.NewCodec(spec, o.ISO.Framing, o.ISO.TPDU)
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	messaging, err := NewMessaging(o.Messaging)
	if err != nil {
		return nil, err
	}
	sites, err := NewSites(o.Sites)
	if err != nil {
		return nil, err
	}
	sw := NewSwitch(o.Switch, codec, StoreLedger{Store: store}, logger)
	return &Simulators{Upstream: NewUpstream(o.Upstream), Providers: providers, Mail: mail, Switch: sw,
		Messaging: messaging, Sites: sites, ESB: NewESB(o.ESB), Payments: NewPayments(o.Payments, o.Issuers),
		ERP: NewERP(o.Issuers)}, nil
}

// Handler serves the provider simulators under their prefixes (/cbs, /bill, /sms, /push,
// /oauth, /whatsapp, /telegram, /slack, /discord, /wordpress, /shopify, /esb, /payments, /erp,
// /_sim/...) and the upstream simulator everywhere else.
func (s *Simulators) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Providers.Register(mux)
	s.Mail.Register(mux)
	s.Messaging.Register(mux)
	s.Sites.Register(mux)
	s.ESB.Register(mux)
	s.Payments.Register(mux)
	s.ERP.Register(mux)
	mux.HandleFunc("GET /_sim/iso/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Switch.Stats())
	})
	mux.HandleFunc("PUT /_sim/iso/faults", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			SwitchFaults
			Delay string `json:"delay"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
			http.Error(w, `body: {"drop_financial", "drop_reversal", "reset", "decline", "delay"} (-1: until cleared)`,
				http.StatusBadRequest)
			return
		}
		faults := f.SwitchFaults
		if f.Delay != "" {
			d, err := time.ParseDuration(f.Delay)
			if err != nil || d < 0 || d > maxSimLatency {
				http.Error(w, "delay must be a duration up to 1m", http.StatusBadRequest)
				return
			}
			faults.Delay = d
		}
		s.Switch.SetFaults(faults)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/iso/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.Switch.SetFaults(SwitchFaults{})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/", s.Upstream.Handler())
	return mux
}
