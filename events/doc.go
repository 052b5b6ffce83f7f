// Package events is what the library tells an operator: every outcome that
// matters (a login, a refresh, a logout, a fetch from the provider, a token
// refused) is emitted once, as an Event with a stable Name and a few
// attributes, to the Sink of the Config that produced it.
//
// The happy path is to do nothing: a Config whose Events is nil logs its
// events with log/slog, each at its level (Level), so that failures reach
// the default logger as warnings and successes stay at info and debug. To
// count them and trace the calls to the provider, give every Config the same
// Sink, such as the OpenTelemetry one of the github.com/oidcrp/oidcrp/otel
// module, joined with the logger:
//
//	sink := events.Join(events.Log(logger), otelSink)
//	rp, err := client.New(ctx, client.Config{ /* ... */ Events: sink})
//	sessions, err := session.New(session.Config{ /* ... */ Events: sink})
//	auth, err := middleware.New(middleware.Config{ /* ... */ Events: sink})
//	api, err := resource.New(ctx, resource.Config{ /* ... */ Events: sink})
//
// Events never carry a secret: their attributes are names, identifiers and
// durations (issuer, reason, kind, subject, key ID, grant type), never a
// token, code, cookie or client secret, and the errors they carry are the
// library's, whose messages name what failed, not the values. The table of
// events, what each means and which to alert on, is in docs/operations.md.
//
// Emitting costs nothing on the request path that succeeds (an
// authenticated request emits no event) and, elsewhere, one Enabled call
// when the sink ignores the event: emitters ask Enabled before they build
// anything.
//
// A failure's Reason is one word from a fixed list (ReasonState,
// ReasonSignature, ...), the same in every event: ReasonOf reads it from the
// error, whose sentinels and types declare theirs where they are declared.
//
// This package imports only the standard library, so that every package of
// the library can emit without import cycles.
package events
