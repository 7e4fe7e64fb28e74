package push

import "github.com/prometheus/client_golang/prometheus"

// pushFailures counts failed attempts per jurisdiction; the backlog is
// read from the outbox at each scrape (serve's queue collector).
var pushFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "crossclear_regulator_push_failures_total",
	Help: "Failed attempts to post a report to a regulator's endpoint, by jurisdiction.",
}, []string{"jurisdiction"})

func init() { prometheus.MustRegister(pushFailures) }
