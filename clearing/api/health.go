package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz says the process is up; it touches nothing else, so that an
// orchestrator does not restart a healthy process during a database blip.
func (h *handlers) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": h.cfg.Version})
}

// readyz says whether requests can be served: the database answers and
// takes writes (a primary, not a replica). It
// also reports the outbox: while the signer is down the service still
// takes payments and files, but says "degraded" and how many files wait
// unsigned, so that monitoring can page someone. A degraded answer is 200
// by default: the signer is shared by every node, so a load balancer that
// took 503 for "drain me" would drain them all when Vault blips, and stop
// payments that need no signature. Config.DegradedStatus = 503 is for
// balancers that read only the code and should prefer nodes that can sign.
func (h *handlers) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.st.Primary(ctx); err != nil {
		// Behind a Patroni cluster the database address answers only while
		// a primary is up: during a failover this says so, with Retry-After.
		h.log.Warn("not ready", "err", err)
		return newError(http.StatusServiceUnavailable, "not_ready", "", "no primary: the database does not take writes now (down, or failing over)")
	}
	out := fiber.Map{"status": "ready", "engine": h.st.Engine()}
	for name, section := range h.cfg.Readiness {
		v, err := section(ctx)
		if err != nil {
			v = fiber.Map{"error": err.Error()}
		}
		out[name] = v
	}
	if h.cfg.Sealer == nil {
		out["status"], out["outbox"] = "degraded", fiber.Map{"degraded": true, "error": "no signer configured: files wait unsigned"}
		return c.Status(h.cfg.DegradedStatus).JSON(out)
	}
	health, err := h.cfg.Sealer.Health(ctx)
	if err != nil {
		h.log.Warn("not ready", "err", err)
		return newError(http.StatusServiceUnavailable, "not_ready", "", "the database is not answering")
	}
	out["outbox"] = health
	if health.Degraded {
		out["status"] = "degraded"
		return c.Status(h.cfg.DegradedStatus).JSON(out)
	}
	return c.JSON(out)
}

// metricsHandler serves the default Prometheus registry.
var metricsHandler = adaptor.HTTPHandler(promhttp.Handler())
