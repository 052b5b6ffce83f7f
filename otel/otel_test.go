package oidcrpotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/oidctest"
	oidcrpotel "github.com/oidcrp/oidcrp/otel"
)

// telemetry is a Sink over an SDK whose metrics and spans the test reads.
type telemetry struct {
	sink   *oidcrpotel.Sink
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	next   *eventstest.Recorder
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), next: new(eventstest.Recorder)}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()); tel.tp.Shutdown(context.Background()) })
	var err error
	tel.sink, err = oidcrpotel.New(oidcrpotel.Config{
		MeterProvider: mp, TracerProvider: tel.tp,
		Propagators: propagation.TraceContext{}, Next: tel.next,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

// metrics collects the metrics by name.
func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// count returns the sum of the counter name's points whose attributes
// include want.
func count(t *testing.T, ms map[string]metricdata.Metrics, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	sum, ok := ms[name].Data.(metricdata.Sum[int64])
	if !ok {
		return 0
	}
	var n int64
	for _, p := range sum.DataPoints {
		if has(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

func has(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// TestLoginTelemetry: a login through the client counts its events,
// measures each call to the provider, makes a client span of each call
// (children of the caller's span) and adds the events to that span.
func TestLoginTelemetry(t *testing.T) {
	tel := newTelemetry(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := op.Client()
	rp, err := client.New(ctx, client.Config{
		Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: "http://127.0.0.1/callback",
		HTTPClient: tel.sink.HTTPClient(), Events: tel.sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	authURL, flow, err := rp.AuthCodeURL(client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))

	ctx, parent := tel.tp.Tracer("test").Start(ctx, "callback")
	tokens, err := rp.Callback(ctx, flow, loc.Query())
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	// A refresh the provider refuses.
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "invalid_grant" }})
	if _, err := rp.Refresh(context.Background(), "rt", tokens.RawIDToken); err == nil {
		t.Fatal("refresh succeeded")
	}

	ms := tel.metrics(t)
	issuer := oidcrpotel.AttrIssuer.String(op.URL)
	if n := count(t, ms, "oidcrp.endpoint.succeeded", issuer, oidcrpotel.AttrKind.String("token"), oidcrpotel.AttrGrantType.String("authorization_code")); n != 1 {
		t.Errorf("oidcrp.endpoint.succeeded for the code grant: %d", n)
	}
	if n := count(t, ms, "oidcrp.endpoint.failed", oidcrpotel.AttrGrantType.String("refresh_token"), oidcrpotel.AttrErrorType.String("invalid_grant")); n != 1 {
		t.Errorf("oidcrp.endpoint.failed for the refresh: %d", n)
	}
	if n := count(t, ms, "oidcrp.discovery.fetched", issuer); n != 1 {
		t.Errorf("oidcrp.discovery.fetched: %d", n)
	}
	if n := count(t, ms, "oidcrp.keyset.fetched", oidcrpotel.AttrKind.String("first")); n != 1 {
		t.Errorf("oidcrp.keyset.fetched: %d", n)
	}
	if m := ms[oidcrpotel.DurationMetric]; m.Unit != "s" {
		t.Errorf("%s: unit %q", m.Name, m.Unit)
	}
	hist, _ := ms[oidcrpotel.DurationMetric].Data.(metricdata.Histogram[float64])
	endpoints := map[string]uint64{}
	for _, p := range hist.DataPoints {
		v, _ := p.Attributes.Value(oidcrpotel.AttrEndpoint)
		endpoints[v.AsString()] += p.Count
		if _, ok := p.Attributes.Value(oidcrpotel.AttrKind); ok {
			t.Errorf("the histogram carries oidcrp.kind: %v", p.Attributes)
		}
	}
	if endpoints["discovery"] != 1 || endpoints["jwks"] != 1 || endpoints["token"] != 2 {
		t.Errorf("durations recorded per endpoint: %v", endpoints)
	}
	for name, m := range ms {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, p := range sum.DataPoints {
				for _, kv := range p.Attributes.ToSlice() {
					switch kv.Key {
					case oidcrpotel.AttrIssuer, oidcrpotel.AttrKind, oidcrpotel.AttrGrantType, oidcrpotel.AttrErrorType:
					default:
						t.Errorf("%s carries %s", name, kv.Key)
					}
				}
			}
		}
	}

	// Spans: the token request of the callback, and the key-set fetch the
	// ID token's check caused (shared by any callers, but traced under the
	// first), are children of its span, which got the event.
	var children []string
	var callback sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		switch {
		case s.Name() == "callback":
			callback = s
		case s.SpanKind() == trace.SpanKindClient && s.Parent().SpanID() == parent.SpanContext().SpanID():
			for _, kv := range s.Attributes() {
				if kv.Key == "http.request.method" {
					children = append(children, kv.Value.AsString())
				}
			}
		}
	}
	if slices.Sort(children); !slices.Equal(children, []string{"GET", "POST"}) {
		t.Fatalf("client spans under the callback's: %v, want the key set's GET and the token endpoint's POST", children)
	}
	if callback == nil || len(callback.Events()) == 0 || callback.Events()[0].Name != "oidcrp.endpoint.succeeded" {
		t.Fatalf("the callback's span events: %+v", callback)
	}
	// Next got every event.
	if len(tel.next.Named(events.EndpointSucceeded, events.EndpointFailed)) != 2 {
		t.Errorf("Next got %+v", tel.next.Events())
	}
}

// TestTransportPropagates: the instrumented client sends the trace context.
func TestTransportPropagates(t *testing.T) {
	tel := newTelemetry(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("traceparent") }))
	defer srv.Close()
	ctx, span := tel.tp.Tracer("test").Start(context.Background(), "request")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := tel.sink.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	span.End()
	if tp := <-got; len(tp) < 55 || tp[3:35] != span.SpanContext().TraceID().String() {
		t.Fatalf("traceparent %q, want trace %s", tp, span.SpanContext().TraceID())
	}
}

// TestEveryEventHasACounter: the Sink counts every event name.
func TestEveryEventHasACounter(t *testing.T) {
	tel := newTelemetry(t)
	for _, name := range events.Names {
		tel.sink.Emit(context.Background(), events.Event{Name: name, Issuer: "https://op.example", Subject: "alice", KeyID: "kid", Err: context.Canceled})
	}
	ms := tel.metrics(t)
	for _, name := range events.Names {
		m, ok := ms[string(name)]
		if !ok || count(t, ms, string(name)) != 1 || m.Unit == "" || m.Unit[0] != '{' {
			t.Errorf("%s: %+v", name, m)
		}
	}
}
