package discovery

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
)

// names returns the names of evs, in order.
func names(evs []events.Event) []events.Name {
	var out []events.Name
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}

// TestFetchEvents: each fetch of the document and of the key set is one
// event, with its latency, and a failure says why.
func TestFetchEvents(t *testing.T) {
	clk := newClock()
	k1 := key("rsa1", jose.RS256, "k1")
	op := newFakeOP(t)
	op.publish(k1)
	rec := new(eventstest.Recorder)
	cfg := op.config(clk)
	cfg.Events = rec
	p := mustNew(t, cfg)

	evs := rec.Events()
	if len(evs) != 1 || evs[0].Name != events.DiscoveryFetched || evs[0].Issuer != op.issuer || evs[0].Duration <= 0 {
		t.Fatalf("after New: %+v", evs)
	}
	if err := p.KeySet().Ready(testContext(t)); err != nil {
		t.Fatal(err)
	}
	evs = rec.Named(events.KeySetFetched)
	if len(evs) != 1 || evs[0].Kind != "first" || evs[0].Duration <= 0 {
		t.Fatalf("first key set fetch: %+v", evs)
	}
	// Ready again: the keys are held, nothing is fetched.
	if err := p.KeySet().Ready(testContext(t)); err != nil || len(rec.Named(events.KeySetFetched)) != 1 {
		t.Fatalf("Ready with keys held: %v, %d fetches", err, len(rec.Named(events.KeySetFetched)))
	}

	rec.Reset()
	op.edit(func() { op.docStatus = http.StatusServiceUnavailable })
	if _, err := p.Refresh(testContext(t)); err == nil {
		t.Fatal("Refresh of a failing document succeeded")
	}
	evs = rec.Events()
	if len(evs) != 1 || evs[0].Name != events.DiscoveryFailed || evs[0].Reason != events.ReasonProviderUnavailable ||
		!errors.Is(evs[0].Err, ErrFetch) {
		t.Fatalf("failed document fetch: %+v", evs)
	}
	op.edit(func() { op.docStatus = 0; op.jwksBody = []byte("not a key set") })
	rec.Reset()
	if err := p.KeySet().Refresh(testContext(t)); err == nil {
		t.Fatal("Refresh of a bad key set succeeded")
	}
	if evs = rec.Events(); len(evs) != 1 || evs[0].Name != events.KeySetFailed || evs[0].Kind != "refresh" ||
		evs[0].Reason != events.ReasonProviderResponse {
		t.Fatalf("failed key set fetch: %+v", evs)
	}
}

// TestUnknownKidEvents: a rotation shows as a key set fetch of kind
// unknown_kid; a kid the provider does not have is one UnknownKey event per
// re-fetch, however many tokens name made-up kids.
func TestUnknownKidEvents(t *testing.T) {
	const interval = 30 * time.Second
	clk := newClock()
	k1, k2 := key("rsa1", jose.RS256, "k1"), key("rsa2", jose.RS256, "k2")
	attacker := key("ec256b", jose.ES256, "")
	op := newFakeOP(t)
	op.publish(k1)
	rec := new(eventstest.Recorder)
	cfg := op.config(clk)
	cfg.Events, cfg.KeyRefetchInterval = rec, interval
	ks := mustNew(t, cfg).KeySet()
	if _, err := ks.VerifySignature(testContext(t), sign(t, k1, "k1", "one")); err != nil {
		t.Fatal(err)
	}
	op.publish(k1, k2)
	if _, err := ks.VerifySignature(testContext(t), sign(t, k2, "k2", "two")); err != nil {
		t.Fatal(err)
	}
	fetches := rec.Named(events.KeySetFetched)
	if len(fetches) != 2 || fetches[0].Kind != "first" || fetches[1].Kind != "unknown_kid" {
		t.Fatalf("key set fetches: %+v", fetches)
	}
	if got := rec.Named(events.UnknownKey); len(got) != 0 {
		t.Fatalf("a rotation is not an unknown key: %+v", got)
	}

	clk.Advance(interval)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := ks.VerifySignature(testContext(t), sign(t, attacker, fmt.Sprintf("made-up-%d", i), "forged"))
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("forged token: %v", err)
			}
		})
	}
	waitGroup(t, &wg)
	unknown := rec.Named(events.UnknownKey)
	if len(unknown) != 1 || unknown[0].Issuer != op.issuer || unknown[0].KeyID == "" {
		t.Fatalf("UnknownKey events for a flood of made-up kids: %+v", unknown)
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'k'
	}
	clk.Advance(interval)
	ks.VerifySignature(testContext(t), sign(t, attacker, string(long), "forged"))
	if unknown = rec.Named(events.UnknownKey); len(unknown) != 2 || len(unknown[1].KeyID) != 128 {
		t.Fatalf("a long kid: %d events, the last kid of %d bytes", len(unknown), len(unknown[len(unknown)-1].KeyID))
	}
}
