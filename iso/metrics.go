package iso

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pool's Prometheus series, named after the counters jPOS's QMUX keeps.
type Metrics struct {
	sent, received, expired, unhandled prometheus.Counter
	pending                            prometheus.Gauge
	roundTrip                          prometheus.Histogram
	up, signedOn, total, breaker       prometheus.Gauge
}

// NewMetrics registers the series with reg (nil: a private registry, for tests and benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "switchyard_iso_" + name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchyard_iso_" + name, Help: help})
	}
	m := &Metrics{
		sent:      counter("messages_sent_total", "Requests sent to the switch."),
		received:  counter("messages_received_total", "Responses matched to a request."),
		expired:   counter("messages_expired_total", "Requests whose response did not come in time."),
		unhandled: counter("messages_unhandled_total", "Responses that matched no pending request (late or unknown)."),
		pending:   gauge("messages_pending", "Requests waiting for their response."),
		roundTrip: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchyard_iso_round_trip_seconds",
			Help:    "Time from sending a request to matching its response.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		up:       gauge("connections_up", "Connections established to the switch."),
		signedOn: gauge("connections_signed_on", "Connections signed on and serving traffic."),
		total:    gauge("connections_total", "Connections the pool keeps (hosts times connections per host)."),
		breaker:  gauge("breaker_state", "The pool's circuit breaker: 0 closed, 1 half-open, 2 open."),
	}
	for _, c := range []prometheus.Collector{m.sent, m.received, m.expired, m.unhandled, m.pending, m.roundTrip,
		m.up, m.signedOn, m.total, m.breaker} {
		_ = reg.Register(c)
	}
	return m
}

func (m *Metrics) observeRoundTrip(d time.Duration) {
	m.received.Inc()
	m.roundTrip.Observe(d.Seconds())
}
