package resource_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// TestBearerEvents: Require emits one event per request: accepted with the
// scheme, or refused with the scheme and the reason; ClockSkew only for a
// token whose nbf or iat is ahead (an expired token is ordinary); no event
// carries a token or proof.
func TestBearerEvents(t *testing.T) {
	rec := new(eventstest.Recorder)
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.Events = rec })
	key := oidctest.NewDPoPKey("ES256")
	bearer := a.op.AccessToken(oidctest.AccessTokenOptions{Scope: "read"})
	bound := a.op.AccessToken(oidctest.AccessTokenOptions{JKT: key.Thumbprint()})
	expired := a.op.AccessToken(oidctest.AccessTokenOptions{TTL: -time.Hour})
	ahead := a.op.AccessToken(oidctest.AccessTokenOptions{Edit: func(c map[string]any) { c["iat"] = time.Now().Add(3 * time.Minute).Unix() }})
	proof := key.Proof(oidctest.DPoPProof{Method: "GET", URL: origin + "/x", AccessToken: bound})

	tests := []struct {
		name   string
		r      *http.Request
		scopes []string
		want   events.Event
	}{
		{"bearer", request("GET", "/x", "Bearer "+bearer), nil, events.Event{Name: events.BearerAccepted, Kind: "bearer"}},
		{"dpop", request("GET", "/x", "DPoP "+bound, proof), nil, events.Event{Name: events.BearerAccepted, Kind: "dpop"}},
		{"dpop replayed", request("GET", "/x", "DPoP "+bound, proof), nil, events.Event{Name: events.BearerRefused, Kind: "dpop", Reason: events.ReasonReplay}},
		{"bound token as bearer", request("GET", "/x", "Bearer "+bound), nil, events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonDPoPBinding}},
		{"no token", request("GET", "/x", ""), nil, events.Event{Name: events.BearerRefused, Reason: events.ReasonNoToken}},
		{"expired", request("GET", "/x", "Bearer "+expired), nil, events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonExpired}},
		{"scope", request("GET", "/x", "Bearer "+bearer), []string{"write"}, events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonScope}},
		{"bad signature", request("GET", "/x", "Bearer "+bearer[:len(bearer)-4]+"AAAA"), nil, events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonSignature}},
		{"iat ahead", request("GET", "/x", "Bearer "+ahead), nil, events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonIssuedInFuture}},
	}
	for _, tt := range tests {
		rec.Reset()
		a.serve(tt.r, tt.scopes...)
		evs := rec.Named(events.BearerAccepted, events.BearerRefused)
		if len(evs) != 1 {
			t.Errorf("%s: %d events: %+v", tt.name, len(evs), evs)
			continue
		}
		e := evs[0]
		if e.Name != tt.want.Name || e.Kind != tt.want.Kind || e.Reason != tt.want.Reason || e.Issuer != a.op.URL {
			t.Errorf("%s: %+v, want %+v", tt.name, e, tt.want)
		}
		skews := rec.Named(events.ClockSkew)
		switch {
		case tt.name == "iat ahead" && (len(skews) != 1 || skews[0].Kind != "access_token" || skews[0].Reason != events.ReasonIssuedInFuture || skews[0].Skew < time.Minute):
			t.Errorf("%s: ClockSkew %+v", tt.name, skews)
		case tt.name != "iat ahead" && len(skews) != 0:
			t.Errorf("%s: ClockSkew %+v", tt.name, skews)
		}
		if leaks := rec.Leaks(bearer, bound, expired, ahead, proof); len(leaks) > 0 {
			t.Errorf("%s: events carry tokens: %q", tt.name, leaks)
		}
	}
}
