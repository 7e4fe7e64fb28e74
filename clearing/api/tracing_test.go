package api_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/crossclear/crossclear/clearing/api"
	"github.com/crossclear/crossclear/clearing/store/storetest"
)

// TestTraceOfAHold holds a payment through the API as a caller that sends
// a W3C traceparent, and finds in an in-memory exporter the request's
// span continuing the caller's trace and, beneath it, the store
// transaction's span carrying the payment's UETR.
func TestTraceOfAHold(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	// The global provider delegates only once per process: the rest of the
	// package's tests then trace into nothing once this one shuts it down.
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { provider.Shutdown(context.Background()) })

	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			spans.Reset()
			e := newEnv(t, engine, api.Config{})
			const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			var p payment
			e.must(http.StatusCreated, e.bankSG, "POST", "/v1/payments",
				map[string]any{"merchant_id": e.w.Merchants[0].ID, "amount": "12.50", "currency": "EUR"},
				header{"traceparent", caller}, header{"Idempotency-Key", "trace-1"}).into(t, &p)

			var request, transaction *tracetest.SpanStub
			for _, s := range spans.GetSpans() {
				switch {
				case s.Name == "POST /v1/payments":
					request = &s
				case s.Name == "store.transaction" && hasAttr(s.Attributes, attribute.String("crossclear.uetr", p.ID)):
					transaction = &s
				}
			}
			if request == nil || transaction == nil {
				t.Fatalf("want the request's span and a store transaction span with UETR %s, got %v", p.ID, names(spans.GetSpans()))
			}
			if got := request.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("request span in trace %s, want the caller's", got)
			}
			if got := request.Parent.SpanID().String(); got != "00f067aa0ba902b7" {
				t.Errorf("request span's parent %s, want the caller's span", got)
			}
			if request.SpanKind != trace.SpanKindServer || !hasAttr(request.Attributes, attribute.Int("http.response.status_code", 201)) {
				t.Errorf("request span: kind %v, attributes %v", request.SpanKind, request.Attributes)
			}
			if transaction.Parent.SpanID() != request.SpanContext.SpanID() {
				t.Errorf("transaction span's parent %s, want the request span %s", transaction.Parent.SpanID(), request.SpanContext.SpanID())
			}
		})
	}
}

func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a == want {
			return true
		}
	}
	return false
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
