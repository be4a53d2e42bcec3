package provider

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the provider stack's Prometheus series.
type Metrics struct {
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	breaker *prometheus.GaugeVec
}

// NewMetrics registers the series with reg (nil: a private registry, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_provider_calls_total",
			Help: "Provider call attempts by issuer, operation and outcome."}, []string{"issuer", "operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchyard_provider_call_duration_seconds",
			Help:    "Provider call attempt latency by issuer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"issuer"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchyard_provider_breaker_state",
			Help: "Circuit breaker state per issuer: 0 closed, 1 half-open, 2 open."}, []string{"issuer"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.latency, m.breaker} {
		if err := reg.Register(c); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				switch existing := are.ExistingCollector.(type) {
				case *prometheus.CounterVec:
					m.calls = existing
				case *prometheus.HistogramVec:
					m.latency = existing
				case *prometheus.GaugeVec:
					m.breaker = existing
				}
			}
		}
	}
	return m
}

func (m *Metrics) observe(issuer, op, outcome string, latency time.Duration) {
	m.calls.WithLabelValues(issuer, op, outcome).Inc()
	m.latency.WithLabelValues(issuer).Observe(latency.Seconds())
}

func (m *Metrics) breakerState(issuer string, s gobreaker.State) {
	m.breaker.WithLabelValues(issuer).Set(float64(s))
}
