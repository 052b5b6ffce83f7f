package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/oidcrp/oidcrp/events"
	oidcrpotel "github.com/oidcrp/oidcrp/otel"
)

// otelConfig is what the standard OTEL_* variables ask of the app.
// Telemetry is on only when OTEL_TRACES_EXPORTER or OTEL_METRICS_EXPORTER
// says "console" (the stdout exporters; the example has no OTLP
// exporter): unset, the app exports nothing, so that `go run` prints only
// its log. OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the
// resource, OTEL_METRIC_EXPORT_INTERVAL paces the metrics,
// OTEL_TRACES_SAMPLER (and _ARG) samples the traces: the SDK reads these
// from the process's environment.
type otelConfig struct {
	traces, metrics bool      // OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER = console
	out             io.Writer // where the console exporters write; nil: os.Stdout
}

func (c otelConfig) enabled() bool { return c.traces || c.metrics }

// otelConfigFromEnv reads OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER and
// OTEL_METRICS_EXPORTER.
func otelConfigFromEnv(getenv func(string) string) (otelConfig, error) {
	var c otelConfig
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return c, nil
	}
	for _, v := range []struct {
		name string
		on   *bool
	}{{"OTEL_TRACES_EXPORTER", &c.traces}, {"OTEL_METRICS_EXPORTER", &c.metrics}} {
		switch value := strings.TrimSpace(getenv(v.name)); value {
		case "", "none":
		case "console":
			*v.on = true
		default:
			return c, fmt.Errorf("%s %q: this example exports to the console only (console or none); an app of your own can export anywhere with the OpenTelemetry SDK", v.name, value)
		}
	}
	return c, nil
}

// telemetry is the app's OpenTelemetry: the oidcrp Sink over an SDK that
// writes to the console, and what must be shut down (which exports what
// is pending).
type telemetry struct {
	sink     *oidcrpotel.Sink
	cfg      oidcrpotel.Config // the providers, for the server's spans
	shutdown []func(context.Context) error
}

// newTelemetry starts the SDK that c asks for; the oidcrp events also go
// to logger.
func newTelemetry(ctx context.Context, c otelConfig, logger *slog.Logger) (*telemetry, error) {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read last, win over
	// the default name.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "oidcrp-webapp")),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tel := &telemetry{}
	cfg := oidcrpotel.Config{Propagators: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), Next: events.Log(logger)}
	if c.metrics {
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
		if err != nil {
			return nil, err
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		tel.shutdown = append(tel.shutdown, mp.Shutdown)
		cfg.MeterProvider = mp
	} else {
		cfg.MeterProvider = metricnoop.NewMeterProvider()
	}
	if c.traces {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(out))
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp))
		tel.shutdown = append(tel.shutdown, tp.Shutdown)
		cfg.TracerProvider = tp
	} else {
		cfg.TracerProvider = tracenoop.NewTracerProvider()
	}
	tel.cfg = cfg
	if tel.sink, err = oidcrpotel.New(cfg); err != nil {
		tel.Close(ctx)
		return nil, err
	}
	return tel, nil
}

// handler wraps h, which serves mux's routes, so that each request is a
// server span named after its route, parent of the calls to the provider
// it makes.
func (t *telemetry) handler(h http.Handler, mux *http.ServeMux) http.Handler {
	if t == nil {
		return h
	}
	return otelhttp.NewHandler(h, "webapp",
		otelhttp.WithTracerProvider(t.cfg.TracerProvider),
		otelhttp.WithMeterProvider(t.cfg.MeterProvider),
		otelhttp.WithPropagators(t.cfg.Propagators),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if _, pattern := mux.Handler(r); pattern != "" {
				return pattern // "GET /auth/callback"
			}
			return r.Method
		}))
}

// Close shuts the SDK down, exporting what is pending.
func (t *telemetry) Close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
