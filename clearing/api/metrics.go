package api

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
		log.Debug("request", "method", method, "route", route, "status", status, "request_id", requestID(c), "duration", time.Since(start))
		return nil
	}
}
