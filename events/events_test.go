package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
)

var errState = events.NewError(events.ReasonState, "test: state mismatch")

type typed struct{ code string }

func (e *typed) Error() string { return "test: typed " + e.code }
func (e *typed) EventReason() events.Reason {
	if e.code == "invalid_grant" {
		return events.ReasonInvalidGrant
	}
	return events.ReasonProviderError
}

func TestReasonOf(t *testing.T) {
	umbrella := events.NewError(events.ReasonProviderUnavailable, "test: provider unavailable")
	tests := []struct {
		name string
		err  error
		want events.Reason
	}{
		{"nil", nil, ""},
		{"sentinel", errState, events.ReasonState},
		{"wrapped sentinel", fmt.Errorf("callback: %w", errState), events.ReasonState},
		{"typed", &typed{"invalid_grant"}, events.ReasonInvalidGrant},
		{"wrapped typed", fmt.Errorf("login ended: %w", &typed{"x"}), events.ReasonProviderError},
		{"umbrella first", fmt.Errorf("%w: %w", umbrella, &typed{"invalid_grant"}), events.ReasonProviderUnavailable},
		{"cause under a plain wrapper", fmt.Errorf("%w: %w", errors.New("plain"), errState), events.ReasonState},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), events.ReasonCanceled},
		{"deadline", context.DeadlineExceeded, events.ReasonTimeout},
		{"umbrella over a deadline", fmt.Errorf("%w: %w", umbrella, context.DeadlineExceeded), events.ReasonProviderUnavailable},
		{"other", errors.New("boom"), events.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := events.ReasonOf(tt.err); got != tt.want {
				t.Errorf("ReasonOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(fmt.Errorf("x: %w", errState), errState) || errState.Error() != "test: state mismatch" {
		t.Error("NewError's sentinel is not itself")
	}
}

func TestLevels(t *testing.T) {
	seen := map[events.Name]bool{}
	for _, n := range events.Names {
		if seen[n] || !strings.HasPrefix(string(n), "oidcrp.") {
			t.Errorf("name %q repeated or outside oidcrp.", n)
		}
		seen[n] = true
		failure := strings.HasSuffix(string(n), ".failed") || n == events.CallbackReplayed || n == events.UnknownKey || n == events.ClockSkew
		if failure != (n.Level() == slog.LevelWarn) {
			t.Errorf("%s at %v", n, n.Level())
		}
	}
	for _, n := range []events.Name{events.BearerRefused, events.LoginStarted} {
		if n.Level() != slog.LevelDebug {
			t.Errorf("%s must stay at debug: strangers choose how many there are", n)
		}
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := events.Log(l)
	ctx := context.Background()
	if s.Enabled(ctx, events.RefreshSucceeded) {
		t.Error("a debug event is enabled at info")
	}
	if !s.Enabled(ctx, events.LoginFailed) {
		t.Error("a warning is not enabled at info")
	}
	events.Emit(ctx, s, events.Event{Name: events.LoginFailed, Issuer: "https://op.example", Reason: events.ReasonState, Err: errState})
	events.Emit(ctx, s, events.Event{Name: events.RefreshSucceeded, Issuer: "https://op.example"})
	got := buf.String()
	for _, want := range []string{"level=WARN", "msg=oidcrp.login.failed", "issuer=https://op.example", "reason=state", `error="test: state mismatch"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "refresh") {
		t.Errorf("a debug event was logged: %s", got)
	}
}

func TestJoinAndDiscard(t *testing.T) {
	var a, b eventstest.Recorder
	ctx := context.Background()
	j := events.Join(&a, nil, events.Discard, &b)
	if !j.Enabled(ctx, events.LoginStarted) || events.Discard.Enabled(ctx, events.LoginStarted) {
		t.Fatal("Enabled")
	}
	events.Emit(ctx, j, events.Event{Name: events.LoginStarted})
	if len(a.Events()) != 1 || len(b.Events()) != 1 {
		t.Fatalf("joined sinks got %d and %d events", len(a.Events()), len(b.Events()))
	}
	if events.Join().Enabled(ctx, events.LoginStarted) {
		t.Error("an empty Join is enabled")
	}
}

func TestAttrs(t *testing.T) {
	e := events.Event{Name: events.EndpointFailed, Issuer: "i", Kind: "token", GrantType: "refresh_token",
		Reason: events.ReasonInvalidGrant, Duration: time.Second, Err: errState}
	var keys []string
	for _, a := range e.Attrs() {
		keys = append(keys, a.Key)
	}
	if got := strings.Join(keys, " "); got != "issuer reason kind grant_type duration error" {
		t.Errorf("keys %q", got)
	}
	var rec eventstest.Recorder
	rec.Emit(context.Background(), e)
	if leaks := rec.Leaks("", "mismatch"); len(leaks) != 1 {
		t.Errorf("Leaks: %q", leaks)
	}
}

// The default sink costs nothing for an event it ignores.
func TestEmitIgnoredAllocatesNothing(t *testing.T) {
	s := events.Log(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))) // info
	ctx := context.Background()
	err := fmt.Errorf("x: %w", errState)
	allocs := testing.AllocsPerRun(100, func() {
		events.Emit(ctx, s, events.Event{Name: events.BearerAccepted, Issuer: "https://op.example", Kind: "bearer"})
		if s.Enabled(ctx, events.RefreshSucceeded) {
			s.Emit(ctx, events.Event{Name: events.RefreshSucceeded, Reason: events.ReasonOf(err)})
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for ignored events", allocs)
	}
}
