package api

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/crossclear/crossclear/clearing"
)

// The metrics are registered once per process on the default registry (New
// may build several apps, in tests); labels use the route pattern, never
// the raw path, so that payment ids do not explode the series count.
var (
	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "crossclear_http_requests_total",
		Help: "HTTP requests served, by method, route pattern and status.",
	}, []string{"method", "route", "status"})
	requestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "crossclear_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	commitGroupSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "crossclear_commit_group_size",
		Help:    "Single-payment requests committed together in one database transaction (group commit).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
)

// The route label is the pattern of the route that answered
// ("/v1/payments/:id"), or the prefix of the middleware that answered when
// no route did: "/v1" for a request refused by authentication, "/" for a
// path nothing serves. Either way it comes from the route table, so the
// label set stays small.

// observe is the outermost middleware: it renders any error the chain
// returned (so the status it records is the one sent) and counts the
// request.
func observe(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if werr := writeError(c, log, err); werr != nil {
				return werr
			}
		}
		// fiber's strings alias fasthttp buffers that are reused after the
		// request; Prometheus keeps label values, so they must be copied.
		method, route := strings.Clone(c.Method()), strings.Clone(c.Route().Path)
		status := c.Response().StatusCode()
		requestsTotal.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		requestSeconds.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		if log.Enabled(context.Background(), slog.LevelDebug) { // as Debug asks, before its arguments are boxed
			log.Debug("request", "method", method, "route", route, "status", status, "request_id", requestID(c), "duration", time.Since(start))
		}
		return nil
	}
}

// Cap usage: set wherever positions and caps are at hand anyway — after
// every accepted batch of holds (for the buyers' banks, through
// store.ObserveCaps), and when GET /v1/positions, GET /v1/participants/{id}
// or a limits change reads them. Labels are participants and their
// currencies: a bounded set.
var (
	capUsageRatio = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "crossclear_cap_usage_ratio",
		Help: "A participant's open-cycle debit in a currency as a fraction of its net debit cap (0 without a debit, +Inf for a debit against a cap of 0), as last seen by this process.",
	}, []string{"participant", "currency"})
	capAlarm = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "crossclear_cap_alarm",
		Help: "1 while a participant's debit in a currency is at or past its alarm threshold (alarm_threshold_pct of the cap), else 0, as last seen by this process.",
	}, []string{"participant", "currency"})
	capAlarmsRaised = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "crossclear_cap_alarms_total",
		Help: "Times this process saw a participant's debit in a currency cross its alarm threshold upwards.",
	}, []string{"participant", "currency"})

	capAlarmMu    sync.Mutex
	capAlarmstate = map[[2]string]bool{} // what capAlarm last said, to count crossings
)

// observeCap records where a participant's position stands against its cap.
func observeCap(participant string, alarmPct int, u clearing.CapUsage) {
	if clearing.OperatorAccount(participant) {
		return
	}
	alarm := u.Alarm(alarmPct)
	capUsageRatio.WithLabelValues(participant, u.Currency).Set(u.Ratio())
	v := 0.0
	if alarm {
		v = 1
	}
	capAlarm.WithLabelValues(participant, u.Currency).Set(v)
	k := [2]string{participant, u.Currency}
	capAlarmMu.Lock()
	was := capAlarmstate[k]
	capAlarmstate[k] = alarm
	capAlarmMu.Unlock()
	if alarm && !was {
		capAlarmsRaised.WithLabelValues(participant, u.Currency).Inc()
	}
}

// forgetCap drops the series of a currency the participant no longer settles.
func forgetCap(participant, ccy string) {
	capUsageRatio.DeleteLabelValues(participant, ccy)
	capAlarm.DeleteLabelValues(participant, ccy)
	capAlarmMu.Lock()
	delete(capAlarmstate, [2]string{participant, ccy})
	capAlarmMu.Unlock()
}
