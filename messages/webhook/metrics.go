package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Gauges the worker sets after every pass; /metrics serves them (the
// default registry).
var (
	backlogGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "crossclear_webhook_backlog", Help: "Webhook events queued and not yet delivered (live subscriptions).",
	})
	failingGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "crossclear_webhook_failing_subscriptions", Help: "Webhook subscriptions whose last attempt failed.",
	})
	pausedGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "crossclear_webhook_paused_subscriptions", Help: "Webhook subscriptions paused after repeated failures.",
	})
)
