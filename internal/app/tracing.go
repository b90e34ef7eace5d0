package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.21.0"
	"go.opentelemetry.io/otel/trace"
)

// initTracing sends OpenTelemetry traces of the gateway's exchanges (and
// the calls it makes to backends and peers, with W3C trace context
// propagated) to an OTLP/HTTP collector when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the exporter reads the
// other standard OTEL_EXPORTER_OTLP_* variables. Without them nothing is
// traced and nothing is sent.
func (a *App) initTracing(ctx context.Context) error {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return fmt.Errorf("opentelemetry exporter: %w", err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("congso"), semconv.ServiceVersion(Version))
	a.tracer = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	a.workers = append(a.workers, worker{name: "tracing", run: func(ctx context.Context) error {
		<-ctx.Done()
		return a.tracer.Shutdown(context.WithoutCancel(ctx))
	}})
	return nil
}

// traceGateway wraps the gateway's handler so each exchange is a server
// span named after the called service ("GET TA/GOV/…/SERVICE"), continuing
// the caller's trace context.
func traceGateway(h http.Handler, tp trace.TracerProvider) http.Handler {
	return otelhttp.NewHandler(h, "gateway", otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			p := strings.TrimPrefix(r.URL.Path, "/r1/")
			if p == r.URL.Path {
				return r.Method + " " + r.URL.Path // metaservices, pub/sub
			}
			// INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE: the service, not the
			// resource path (keeps span names few).
			parts := strings.SplitN(p, "/", 6)
			if len(parts) > 5 {
				parts = parts[:5]
			}
			return r.Method + " " + strings.Join(parts, "/")
		}))
}

// traceTransport propagates the trace context to backends and peers and
// records a client span for each call.
func traceTransport(rt http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{}))
}

// tracerProvider is the app's provider, or the global no-op one.
func (a *App) tracerProvider() trace.TracerProvider {
	if a.tracer != nil {
		return a.tracer
	}
	return otel.GetTracerProvider()
}
