package store

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Traces: a span per transaction — an atomic request's, a request's share
// of a commit group, or a store call's own — carrying the UETRs of the
// payments it held or acted on, beneath the caller's span (the API
// request's). Spans go to the process's tracer provider, a no-op unless
// serve was configured with an OTLP endpoint.

var tracer = otel.Tracer("github.com/crossclear/crossclear/clearing/store")

// startTx starts a transaction's span.
func (s *Store) startTx(ctx context.Context, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	system := "sqlite"
	if s.postgres {
		system = "postgresql"
	}
	return tracer.Start(ctx, "store.transaction", trace.WithAttributes(append(attrs, attribute.String("db.system.name", system))...))
}

// endTx ends a transaction's span with its outcome.
func endTx(span trace.Span, err error) {
	if err != nil && !errors.Is(err, ErrRollback) && !errors.Is(err, ErrRetryAlone) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "rolled back")
	}
	span.End()
}

// traceUETRs names the payments a store call works on, on the span of the
// transaction it runs in: "crossclear.uetr" for one, "crossclear.uetrs"
// for a batch.
func traceUETRs(ctx context.Context, uetrs []string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || len(uetrs) == 0 {
		return
	}
	if len(uetrs) == 1 {
		span.SetAttributes(attribute.String("crossclear.uetr", uetrs[0]))
		return
	}
	span.SetAttributes(attribute.StringSlice("crossclear.uetrs", uetrs))
}
