package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestPostPropagatesTrace delivers to a real receiver and finds the
// delivery span's traceparent in the request it got: a webhook or
// regulator push joins the receiver's trace.
func TestPostPropagatesTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { provider.Shutdown(context.Background()) })

	got := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer receiver.Close()

	if out := Post(context.Background(), receiver.Client(), receiver.URL+"/hook", http.Header{"Webhook-Id": {"msg_1"}}, []byte(`{}`)); out.Err != nil {
		t.Fatal(out.Err)
	}
	stubs := spans.GetSpans()
	if len(stubs) != 1 || stubs[0].Name != "POST" {
		t.Fatalf("spans %v, want one POST", stubs)
	}
	sc := stubs[0].SpanContext
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if tp := <-got; !strings.EqualFold(tp, want) {
		t.Fatalf("receiver got traceparent %q, want the delivery span's %q", tp, want)
	}
}
