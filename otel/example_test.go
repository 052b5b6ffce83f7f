package oidcrpotel_test

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/oidcrp/oidcrp/events"
	oidcrpotel "github.com/oidcrp/oidcrp/otel"
)

// Events become counters named after them, with the reason of a failure as
// error.type, and the calls to the provider a histogram in seconds.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	tel, err := oidcrpotel.New(oidcrpotel.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	// In an app, tel is the Events of client.Config, session.Config,
	// middleware.Config and resource.Config; here, three events by hand.
	ctx := context.Background()
	issuer := "https://accounts.example.com"
	tel.Emit(ctx, events.Event{Name: events.LoginFailed, Issuer: issuer, Reason: events.ReasonState})
	tel.Emit(ctx, events.Event{Name: events.LoginFailed, Issuer: issuer, Reason: events.ReasonState})
	tel.Emit(ctx, events.Event{Name: events.EndpointSucceeded, Issuer: issuer, Kind: "token", GrantType: "refresh_token", Duration: 42e6})

	var rm metricdata.ResourceMetrics
	reader.Collect(ctx, &rm)
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch data := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range data.DataPoints {
				lines = append(lines, fmt.Sprintf("%s %s %s = %d", m.Name, m.Unit, p.Attributes.Encoded(attributeEncoder), p.Value))
			}
		case metricdata.Histogram[float64]:
			for _, p := range data.DataPoints {
				lines = append(lines, fmt.Sprintf("%s %s %s: count %d, sum %.3f", m.Name, m.Unit, p.Attributes.Encoded(attributeEncoder), p.Count, p.Sum))
			}
		}
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// oidcrp.endpoint.succeeded {request} oidcrp.grant_type=refresh_token,oidcrp.issuer=https://accounts.example.com,oidcrp.kind=token = 1
	// oidcrp.login.failed {login} error.type=state,oidcrp.issuer=https://accounts.example.com = 2
	// oidcrp.provider.request.duration s oidcrp.endpoint=token,oidcrp.grant_type=refresh_token,oidcrp.issuer=https://accounts.example.com: count 1, sum 0.042
}

var attributeEncoder = attribute.DefaultEncoder()
