package sim

import (
	"net/http"

	"github.com/switchyard-hub/switchyard/activities/provider"
)

// Simulators are everything `switchyard sim` serves: the upstream mediator simulator, the
// provider simulators and the SMTP sink.
type Simulators struct {
	Upstream  *Upstream
	Providers *Providers
	Mail      *MailSink
}

// New builds every simulator. configs are the issuers' configurations: the simulators demand
// the same auth the hub is configured to send.
func New(store Store, cfg UpstreamConfig, configs map[string]provider.Config) (*Simulators, error) {
	providers := NewProviders(store, configs, cfg.OAuthTokenTTL)
	email := configs[provider.IssuerEmail].SMTP
	mail, err := NewMailSink(email.Username, email.Password, providers.faults)
	if err != nil {
		return nil, err
	}
	return &Simulators{Upstream: NewUpstream(cfg), Providers: providers, Mail: mail}, nil
}

// Handler serves the provider simulators under their prefixes (/cbs, /bill, /sms, /push,
// /oauth, /_sim/...) and the upstream simulator everywhere else.
func (s *Simulators) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Providers.Register(mux)
	s.Mail.Register(mux)
	mux.Handle("/", s.Upstream.Handler())
	return mux
}
