package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/oidcrp/oidcrp/events"
)

// A Sink of your own: count failures by reason, and log everything else
// with slog as the library would by default.
type failureCounter struct {
	next     events.Sink
	failures map[events.Reason]int
}

func (c *failureCounter) Enabled(ctx context.Context, name events.Name) bool { return true }

func (c *failureCounter) Emit(ctx context.Context, e events.Event) {
	if e.Reason != "" {
		c.failures[e.Reason]++
	}
	events.Emit(ctx, c.next, e)
}

func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	sink := &failureCounter{next: events.Log(logger), failures: map[events.Reason]int{}}

	// What the library does when a callback's state does not match
	// (client.ErrStateMismatch states ReasonState):
	errStateMismatch := events.NewError(events.ReasonState, "client: state mismatch")
	err := fmt.Errorf("callback: %w", errStateMismatch)
	events.Emit(context.Background(), sink, events.Event{
		Name:   events.LoginFailed,
		Issuer: "https://accounts.example.com",
		Reason: events.ReasonOf(err),
		Err:    err,
	})
	fmt.Println(sink.failures)
	// Output:
	// level=WARN msg=oidcrp.login.failed issuer=https://accounts.example.com reason=state error="callback: client: state mismatch"
	// map[state:1]
}

func ExampleReasonOf() {
	errProviderUnavailable := events.NewError(events.ReasonProviderUnavailable, "client: provider unavailable")
	timeout := fmt.Errorf("%w: %w", errProviderUnavailable, errors.New("dial tcp: i/o timeout"))
	fmt.Println(events.ReasonOf(timeout))
	fmt.Println(events.ReasonOf(context.Canceled))
	fmt.Println(events.ReasonOf(errors.New("something else")))
	// Output:
	// provider_unavailable
	// canceled
	// other
}
