package resource_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// twoIssuers is an API taking the tokens of two providers, of distinct
// signing keys: a introspects opaque tokens, b does not.
type twoIssuers struct {
	a, b *api
	m    *resource.Issuers
}

func newTwoIssuers(t *testing.T) *twoIssuers {
	t.Helper()
	a := newAPI(t, oidctest.Config{}, nil)
	b := newAPI(t, oidctest.Config{SigningAlg: "ES256"}, func(c *resource.Config) { c.ClientID, c.ClientSecret = "", "" })
	m, err := resource.NewIssuers(a.v, b.v)
	if err != nil {
		t.Fatal(err)
	}
	return &twoIssuers{a: a, b: b, m: m}
}

// serve sends r through m.Require to a handler that records the token.
func (ti *twoIssuers) serve(r *http.Request) answer {
	return serveHandler(func(next http.Handler) http.Handler { return ti.m.Require(next) }, r)
}

func TestIssuers(t *testing.T) {
	ti := newTwoIssuers(t)
	a, b := ti.a.op, ti.b.op
	other := oidctest.NewServer(oidctest.Config{SigningAlg: "ES384"})
	t.Cleanup(other.Close)

	// A token that claims b's issuer but carries a's signature: chosen by
	// its iss, then checked with b's keys.
	forged := a.AccessToken(oidctest.AccessTokenOptions{Edit: func(c map[string]any) { c["iss"] = b.URL }})

	for _, tc := range []struct {
		name       string
		token      string
		wantIssuer string // "": refused
		wantErr    error
	}{
		{"a's JWT", a.AccessToken(oidctest.AccessTokenOptions{}), a.URL, nil},
		{"b's JWT", b.AccessToken(oidctest.AccessTokenOptions{}), b.URL, nil},
		{"a's opaque token, introspected by a", a.OpaqueAccessToken(oidctest.AccessTokenOptions{}), a.URL, nil},
		{"b's opaque token: only a introspects, and a does not know it", b.OpaqueAccessToken(oidctest.AccessTokenOptions{}), "", resource.ErrInvalidToken},
		{"a JWT of a third issuer", other.AccessToken(oidctest.AccessTokenOptions{}), "", resource.ErrInvalidIssuer},
		{"a's signature under b's iss", forged, "", resource.ErrInvalidSignature},
		{"no JWT, no token", "not-a-token", "", resource.ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 { // the second from the cache, when valid
				tok, err := ti.m.Authenticate(request("GET", "/", "Bearer "+tc.token))
				ans := ti.serve(request("GET", "/", "Bearer "+tc.token))
				if tc.wantIssuer == "" {
					if !errors.Is(err, tc.wantErr) || tok != nil {
						t.Fatalf("round %d: Authenticate = %v, %v; want %v", round, tok, err, tc.wantErr)
					}
					if ans.status != http.StatusUnauthorized || ans.body["error"] != "invalid_token" {
						t.Fatalf("round %d: Require answered %d %v, want 401 invalid_token", round, ans.status, ans.body)
					}
					continue
				}
				if err != nil || tok.Issuer != tc.wantIssuer {
					t.Fatalf("round %d: Authenticate = %+v, %v; want a token of %s", round, tok, err, tc.wantIssuer)
				}
				if ans.status != http.StatusOK || ans.token.Issuer != tc.wantIssuer {
					t.Fatalf("round %d: Require answered %d %v, want 200 for %s", round, ans.status, ans.body, tc.wantIssuer)
				}
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		if _, err := ti.m.Authenticate(request("GET", "/", "")); !errors.Is(err, resource.ErrNoToken) {
			t.Fatalf("Authenticate = %v, want ErrNoToken", err)
		}
		if ans := ti.serve(request("GET", "/", "")); ans.status != http.StatusUnauthorized || ans.challenge("Bearer") == "" {
			t.Fatalf("Require answered %d %v, want 401 with a Bearer challenge", ans.status, ans.challenges)
		}
	})
	t.Run("oversized token", func(t *testing.T) {
		huge := "Bearer " + strings.Repeat("a", 1<<20)
		if _, err := ti.m.Authenticate(request("GET", "/", huge)); !errors.Is(err, resource.ErrMalformedToken) {
			t.Fatalf("Authenticate = %v, want ErrMalformedToken", err)
		}
	})
}

func TestNewIssuersConfig(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	a2 := newAPI(t, oidctest.Config{}, nil) // introspects too
	b := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.ClientID, c.ClientSecret = "", "" })
	again, err := resource.New(testContext(t), resource.Config{Issuer: a.op.URL, Audience: oidctest.DefaultAudience, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	for _, tc := range []struct {
		name string
		vs   []*resource.Verifier
	}{
		{"none", nil},
		{"nil", []*resource.Verifier{a.v, nil}},
		{"one issuer twice", []*resource.Verifier{a.v, again}},
		{"two introspecting", []*resource.Verifier{a.v, a2.v}},
	} {
		if _, err := resource.NewIssuers(tc.vs...); !errors.Is(err, resource.ErrInvalidConfig) {
			t.Errorf("%s: NewIssuers = %v, want ErrInvalidConfig", tc.name, err)
		}
	}
	if _, err := resource.NewIssuers(a.v, b.v); err != nil {
		t.Errorf("NewIssuers of two issuers, one introspecting: %v", err)
	}
}

// TestIssuersEvents: each request's event names the issuer whose Verifier
// checked it; a token of none of them is refused for its issuer, and its
// event names none.
func TestIssuersEvents(t *testing.T) {
	rec := new(eventstest.Recorder)
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.Events = rec })
	b := newAPI(t, oidctest.Config{SigningAlg: "ES256"}, func(c *resource.Config) { c.ClientID, c.ClientSecret, c.Events = "", "", rec })
	other := oidctest.NewServer(oidctest.Config{SigningAlg: "ES384"})
	t.Cleanup(other.Close)
	m, err := resource.NewIssuers(a.v, b.v)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  events.Event
	}{
		{"a's", a.op.AccessToken(oidctest.AccessTokenOptions{}), events.Event{Name: events.BearerAccepted, Issuer: a.op.URL, Kind: "bearer"}},
		{"b's", b.op.AccessToken(oidctest.AccessTokenOptions{}), events.Event{Name: events.BearerAccepted, Issuer: b.op.URL, Kind: "bearer"}},
		{"a third issuer's", other.AccessToken(oidctest.AccessTokenOptions{}), events.Event{Name: events.BearerRefused, Kind: "bearer", Reason: events.ReasonIssuer}},
	} {
		rec.Reset()
		serveHandler(func(next http.Handler) http.Handler { return m.Require(next) }, request("GET", "/", "Bearer "+tc.token))
		evs := rec.Named(events.BearerAccepted, events.BearerRefused)
		if len(evs) != 1 {
			t.Errorf("%s: %d events: %+v", tc.name, len(evs), evs)
			continue
		}
		if e := evs[0]; e.Name != tc.want.Name || e.Issuer != tc.want.Issuer || e.Kind != tc.want.Kind || e.Reason != tc.want.Reason {
			t.Errorf("%s: %+v, want %+v", tc.name, e, tc.want)
		}
	}
}
