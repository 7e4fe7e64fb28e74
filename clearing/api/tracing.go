package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Traces: a span per request, continuing the caller's trace when it sends
// a W3C traceparent; the store adds a span per transaction beneath it with
// the payments' UETRs (clearing/store/tracing.go). Spans go to the process's
// tracer provider, a no-op unless serve was configured with an OTLP
// endpoint (docs/observability.md).

var tracer = otel.Tracer("github.com/crossclear/crossclear/clearing/api")

// traced starts the request's span; the name and attributes come from the
// route that answered and the status sent. Only the W3C headers are read
// (by lookup: walking every header copied each name), and a span that
// records nothing — no exporter configured, or not sampled — gets no
// attributes built for it.
func traced(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if parent := c.Request().Header.Peek("traceparent"); len(parent) > 0 {
		carrier := propagation.HeaderCarrier{}
		carrier.Set("traceparent", string(parent))
		if state := c.Request().Header.Peek("tracestate"); len(state) > 0 {
			carrier.Set("tracestate", string(state))
		}
		ctx = otel.GetTextMapPropagator().Extract(ctx, carrier)
	}
	ctx, span := tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	c.SetUserContext(ctx)
	err := c.Next()
	if !span.IsRecording() {
		return err
	}
	route := strings.Clone(c.Route().Path)
	status := c.Response().StatusCode()
	span.SetName(strings.Clone(c.Method()) + " " + route)
	span.SetAttributes(
		attribute.String("http.request.method", strings.Clone(c.Method())),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status),
		attribute.String("crossclear.request_id", requestID(c)),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	return err
}

// traceMsgID names the ISO 20022 message a request carried on its span.
func traceMsgID(c *fiber.Ctx, msgID string) {
	if msgID != "" {
		trace.SpanFromContext(c.UserContext()).SetAttributes(attribute.String("crossclear.msg_id", msgID))
	}
}
