// Package eventstest records events for tests: a Recorder is an
// events.Sink that keeps what it receives.
//
//	rec := new(eventstest.Recorder)
//	rp, err := client.New(ctx, client.Config{ /* ... */ Events: rec})
//	// ... exercise it ...
//	if got := rec.Named(events.EndpointFailed); len(got) != 1 { ... }
package eventstest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/oidcrp/oidcrp/events"
)

// Recorder is an events.Sink that keeps every event, for tests. The zero
// value is ready; it is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex // guards events
	events []events.Event
}

// Enabled returns true: a Recorder wants every event.
func (r *Recorder) Enabled(context.Context, events.Name) bool { return true }

// Emit keeps e.
func (r *Recorder) Emit(_ context.Context, e events.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns the events kept, oldest first.
func (r *Recorder) Events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Named returns the events kept whose name is one of names.
func (r *Recorder) Named(names ...events.Name) []events.Event {
	var out []events.Event
	for _, e := range r.Events() {
		if slices.Contains(names, e.Name) {
			out = append(out, e)
		}
	}
	return out
}

// Reset forgets the events kept.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// Leaks returns a description of each attribute of the events kept that
// contains one of secrets (tokens, codes, the client secret a test used):
// none should. Empty secrets are ignored.
func (r *Recorder) Leaks(secrets ...string) []string {
	var leaks []string
	for _, e := range r.Events() {
		for _, a := range e.Attrs() {
			v := a.Value.String()
			for _, s := range secrets {
				if s != "" && strings.Contains(v, s) {
					leaks = append(leaks, string(e.Name)+" "+a.Key+"="+v)
				}
			}
		}
	}
	return leaks
}
