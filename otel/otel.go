package oidcrpotel

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/oidcrp/oidcrp/events"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/oidcrp/oidcrp/otel"

// Attribute keys.
const (
	AttrIssuer    = attribute.Key("oidcrp.issuer")
	AttrKind      = attribute.Key("oidcrp.kind")
	AttrGrantType = attribute.Key("oidcrp.grant_type")
	AttrEndpoint  = attribute.Key("oidcrp.endpoint")
	AttrErrorType = attribute.Key("error.type") // semantic conventions: the class of a failure
)

// DurationMetric is the name of the histogram of provider calls.
const DurationMetric = "oidcrp.provider.request.duration"

// Config says where the metrics and spans go. The zero value uses the
// global providers (otel.GetMeterProvider, ...) and forwards no event.
type Config struct {
	// MeterProvider makes the counters and the histogram. If nil,
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider

	// TracerProvider makes the spans of the instrumented HTTP client. If
	// nil, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider

	// Propagators put the trace context on the instrumented client's
	// requests. If nil, otel.GetTextMapPropagator().
	Propagators propagation.TextMapPropagator

	// Next, if set, receives every event too, such as events.Log(logger),
	// so that one Sink both counts and logs.
	Next events.Sink
}

// Sink is an events.Sink that counts the events and measures the calls to
// the provider, and adds each event to the span of its context. It is safe
// for concurrent use.
type Sink struct {
	cfg      Config
	counters map[events.Name]metric.Int64Counter
	duration metric.Float64Histogram
}

var _ events.Sink = (*Sink)(nil)

// New makes the instruments and returns the Sink.
func New(cfg Config) (*Sink, error) {
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.Propagators == nil {
		cfg.Propagators = otel.GetTextMapPropagator()
	}
	meter := cfg.MeterProvider.Meter(ScopeName)
	s := &Sink{cfg: cfg, counters: make(map[events.Name]metric.Int64Counter, len(events.Names))}
	for _, name := range events.Names {
		c, err := meter.Int64Counter(string(name), metric.WithUnit(unit(name)), metric.WithDescription(description(name)))
		if err != nil {
			return nil, fmt.Errorf("oidcrpotel: counter %s: %w", name, err)
		}
		s.counters[name] = c
	}
	var err error
	s.duration, err = meter.Float64Histogram(DurationMetric, metric.WithUnit("s"),
		metric.WithDescription("Duration of the calls to the OpenID provider: discovery, key set, token, userinfo, revocation and introspection endpoints."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return nil, fmt.Errorf("oidcrpotel: histogram: %w", err)
	}
	return s, nil
}

// unit is the UCUM unit of an event's counter: what it counts.
func unit(name events.Name) string {
	switch {
	case strings.HasPrefix(string(name), "oidcrp.login."):
		return "{login}"
	case strings.HasPrefix(string(name), "oidcrp.refresh."):
		return "{refresh}"
	case strings.HasPrefix(string(name), "oidcrp.session."):
		return "{session}"
	case strings.HasPrefix(string(name), "oidcrp.logout."):
		return "{logout}"
	case name == events.UnknownKey, name == events.ClockSkew:
		return "{token}"
	case strings.HasPrefix(string(name), "oidcrp.discovery."), strings.HasPrefix(string(name), "oidcrp.keyset."):
		return "{fetch}"
	default:
		return "{request}"
	}
}

func description(name events.Name) string {
	return "Count of " + string(name) + " events of the oidcrp library (see docs/operations.md)."
}

// Enabled returns true: every event is counted.
func (s *Sink) Enabled(context.Context, events.Name) bool { return true }

// Emit counts e, records the duration of a call to the provider, adds e to
// the recording span of ctx, and forwards e to Config.Next.
func (s *Sink) Emit(ctx context.Context, e events.Event) {
	attrs := make([]attribute.KeyValue, 0, 5)
	if e.Issuer != "" {
		attrs = append(attrs, AttrIssuer.String(e.Issuer))
	}
	if e.Reason != "" {
		attrs = append(attrs, AttrErrorType.String(string(e.Reason)))
	}
	if e.GrantType != "" {
		attrs = append(attrs, AttrGrantType.String(e.GrantType))
	}
	// The counter and the span take the kind too; the histogram the
	// endpoint instead (for EndpointSucceeded and EndpointFailed, the
	// kind). Each appends to the spare capacity after attrs, once the
	// previous use is done with it.
	base := attrs
	if e.Kind != "" {
		attrs = append(attrs, AttrKind.String(e.Kind))
	}
	if c, ok := s.counters[e.Name]; ok {
		c.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(string(e.Name), trace.WithAttributes(attrs...))
	}
	if endpoint := endpointOf(e); endpoint != "" {
		timed := append(base, AttrEndpoint.String(endpoint))
		s.duration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(timed...))
	}
	if s.cfg.Next != nil {
		events.Emit(ctx, s.cfg.Next, e)
	}
}

// endpointOf names the provider's endpoint an event timed a call to, or "".
func endpointOf(e events.Event) string {
	switch e.Name {
	case events.DiscoveryFetched, events.DiscoveryFailed:
		return "discovery"
	case events.KeySetFetched, events.KeySetFailed:
		return "jwks"
	case events.EndpointSucceeded, events.EndpointFailed:
		return e.Kind
	}
	return ""
}

// Transport returns base (http.DefaultTransport if nil) instrumented with
// otelhttp: each request is a client span of the Config's TracerProvider,
// carries the trace context (the Config's Propagators), and is measured by
// otelhttp's own metrics.
func (s *Sink) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(s.cfg.TracerProvider),
		otelhttp.WithMeterProvider(s.cfg.MeterProvider),
		otelhttp.WithPropagators(s.cfg.Propagators))
}

// HTTPClient returns a client for calls to the provider over
// Transport(nil), with the 30-second timeout the library's default client
// has: give it to client.Config.HTTPClient and resource.Config.HTTPClient.
func (s *Sink) HTTPClient() *http.Client {
	return &http.Client{Transport: s.Transport(nil), Timeout: 30 * time.Second}
}
