// Package oidcrpotel turns the oidcrp library's events into OpenTelemetry
// metrics and span events, and instruments the HTTP client the library
// calls the provider with, so that each call is a client span and carries
// the trace context. It is a module of its own (github.com/oidcrp/oidcrp/otel),
// so that the library's go.mod stays free of OpenTelemetry.
//
// The happy path, with the global providers an app sets up at start:
//
//	tel, err := oidcrpotel.New(oidcrpotel.Config{Next: events.Log(logger)})
//	httpClient := tel.HTTPClient() // spans and trace context on every call to the provider
//	rp, err := client.New(ctx, client.Config{ /* ... */ HTTPClient: httpClient, Events: tel})
//	sessions, err := session.New(session.Config{ /* ... */ Events: tel})
//	auth, err := middleware.New(middleware.Config{ /* ... */ Events: tel, Transport: tel.Transport(nil)})
//	api, err := resource.New(ctx, resource.Config{ /* ... */ HTTPClient: httpClient, Events: tel})
//
// client.Config.HTTPClient reaches every request the relying party makes to
// the provider (discovery, key set, token, userinfo, revocation,
// introspection); resource.Config.HTTPClient those of an API (discovery, key
// set, introspection); middleware.Config.Transport the APIs a handler calls
// as the user (Auth.HTTPClient).
//
// Metrics, named as the OpenTelemetry semantic conventions ask (dotted
// lowercase names, units in UCUM, error.type for the class of a failure):
//
//   - one counter per event, named as the event (oidcrp.login.failed,
//     oidcrp.refresh.shared, ...; see events.Names), with the attributes
//     oidcrp.issuer, error.type (the event's Reason, on failures),
//     oidcrp.kind and oidcrp.grant_type when the event has them; never the
//     subject, a key ID or an error text;
//   - oidcrp.provider.request.duration, a histogram in seconds of each call
//     to the provider (oidcrp.endpoint: discovery, jwks, token, userinfo,
//     revocation, introspection), with oidcrp.issuer, oidcrp.grant_type and
//     error.type.
//
// Each event is also added to the span of its context, when that span is
// recording, as a span event with the same attributes.
package oidcrpotel
