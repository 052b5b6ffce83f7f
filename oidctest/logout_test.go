package oidctest_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/oidctest"
)

const byeURI = "http://127.0.0.1/bye"

// receiver is a client's back-channel logout endpoint.
type receiver struct {
	URL    string
	tokens chan delivered
}

type delivered struct {
	contentType, token string
}

// newReceiver starts a back-channel logout endpoint answering status.
func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{tokens: make(chan delivered, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		select {
		case rc.tokens <- delivered{r.Header.Get("Content-Type"), r.PostFormValue("logout_token")}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/backchannel"
	return rc
}

// next returns the next logout token delivered, waiting a little.
func (rc *receiver) next(t *testing.T) delivered {
	t.Helper()
	select {
	case d := <-rc.tokens:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no logout token delivered")
		return delivered{}
	}
}

// none checks that nothing more was delivered.
func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-rc.tokens:
		t.Errorf("unexpected logout token delivered: %s", d.token)
	default:
	}
}

// checkLogoutToken verifies a logout token as OpenID Connect Back-Channel
// Logout 1.0 section 2.6 asks, and returns its claims.
func checkLogoutToken(t *testing.T, op *oidctest.Server, raw, aud, sub, sid string) map[string]any {
	t.Helper()
	h, claims := mustVerify(t, op, raw)
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
	if claims["iss"] != op.URL || claims["aud"] != aud {
		t.Errorf("iss %v aud %v, want %s %s", claims["iss"], claims["aud"], op.URL, aud)
	}
	events, _ := claims["events"].(map[string]any)
	if ev, ok := events[oidctest.BackchannelLogoutEvent].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
		t.Errorf("events = %v, want {%q: {}}", claims["events"], oidctest.BackchannelLogoutEvent)
	}
	for name, want := range map[string]string{"sub": sub, "sid": sid} {
		got, present := claims[name]
		if want == "" && present || want != "" && got != want {
			t.Errorf("%s = %v, want %q", name, got, want)
		}
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	if _, ok := claims["nonce"]; ok {
		t.Error("a logout token with a nonce")
	}
	if iat, exp := numeric(t, claims, "iat"), numeric(t, claims, "exp"); exp <= iat {
		t.Errorf("exp %d not after iat %d", exp, iat)
	}
	return claims
}

// endSession asks the end_session endpoint, following no redirect.
func endSession(t *testing.T, op *oidctest.Server, q url.Values) reply {
	t.Helper()
	return get(t, op.URL+"/end_session?"+q.Encode())
}

func TestEndSession(t *testing.T) {
	a := confidential("app-a")
	a.PostLogoutRedirectURIs = []string{byeURI}
	b := confidential("app-b")
	b.PostLogoutRedirectURIs = []string{byeURI + "/b"}
	anyURI := confidential("app-any") // no PostLogoutRedirectURIs: any is accepted

	tests := []struct {
		name string
		// query builds the request from the ID token of a's login.
		query      func(t *testing.T, op *oidctest.Server, idToken string) url.Values
		wantStatus int
		wantLoc    string // for a redirect
		wantEnded  bool   // the login's provider session ended
	}{
		{
			name: "hint, registered redirect and state",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {byeURI}, "state": {"s-1"}}
			},
			wantStatus: http.StatusFound, wantLoc: byeURI + "?state=s-1", wantEnded: true,
		},
		{
			name: "hint and registered redirect, no state",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusFound, wantLoc: byeURI, wantEnded: true,
		},
		{
			name: "hint, client_id and registered redirect",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "client_id": {a.ID}, "post_logout_redirect_uri": {byeURI}, "state": {"s-2"}}
			},
			wantStatus: http.StatusFound, wantLoc: byeURI + "?state=s-2", wantEnded: true,
		},
		{
			name: "client_id and registered redirect, no hint",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"client_id": {a.ID}, "post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusFound, wantLoc: byeURI,
		},
		{
			name: "client without registered URIs accepts any",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"client_id": {anyURI.ID}, "post_logout_redirect_uri": {"http://127.0.0.1/anything?x=1"}}
			},
			wantStatus: http.StatusFound, wantLoc: "http://127.0.0.1/anything?x=1",
		},
		{
			name: "hint with an array aud",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				_, claims, _ := unverifiedParts(t, idToken)
				claims["aud"] = []any{a.ID, "other"}
				return url.Values{"id_token_hint": {op.SignJWT(claims, "JWT")}, "post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusFound, wantLoc: byeURI, wantEnded: true,
		},
		{
			name: "hint with a numeric aud",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				_, claims, _ := unverifiedParts(t, idToken)
				claims["aud"] = 7
				return url.Values{"id_token_hint": {op.SignJWT(claims, "JWT")}, "post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "unparsable redirect of a client that accepts any",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "client_id": {anyURI.ID}, "post_logout_redirect_uri": {"http://%zz/"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint without redirect: a page",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}}
			},
			wantStatus: http.StatusOK, wantEnded: true,
		},
		{
			name:       "nothing: a page",
			query:      func(t *testing.T, op *oidctest.Server, idToken string) url.Values { return url.Values{} },
			wantStatus: http.StatusOK,
		},
		{
			name: "unregistered redirect",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1/evil"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "another client's redirect",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {byeURI + "/b"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "redirect without hint or client_id",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "unknown client_id",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "client_id": {"nobody"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint not a JWT",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				return url.Values{"id_token_hint": {"garbage"}, "post_logout_redirect_uri": {byeURI}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint with a corrupt signature",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				input, sig := splitSig(idToken)
				c := "A"
				if sig[:1] == "A" {
					c = "B"
				}
				return url.Values{"id_token_hint": {input + "." + c + sig[1:]}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint signed by the provider for another issuer",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				forged := op.SignJWT(map[string]any{"iss": "https://other.example", "aud": a.ID, "sub": "alice"}, "JWT")
				return url.Values{"id_token_hint": {forged}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint signed with HS256",
			query: func(t *testing.T, op *oidctest.Server, idToken string) url.Values {
				op.SetHooks(oidctest.Hooks{IDTokenSigning: oidctest.SignHS256})
				defer op.SetHooks(oidctest.Hooks{})
				return url.Values{"id_token_hint": {login(t, op, a, nil).IDToken}}
			},
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, http.StatusOK)
			a := a
			a.BackchannelLogoutURI = rc.URL
			op := newOP(t, oidctest.Config{Clients: []oidctest.Client{a, b, anyURI}, AlwaysIssueRefreshToken: true})
			tok := login(t, op, a, nil)
			_, claims := mustVerify(t, op, tok.IDToken)

			r := endSession(t, op, tt.query(t, op, tok.IDToken))
			if r.Status != tt.wantStatus {
				t.Fatalf("end_session: %s, want %d", r, tt.wantStatus)
			}
			switch tt.wantStatus {
			case http.StatusFound:
				if loc := r.Header.Get("Location"); loc != tt.wantLoc {
					t.Errorf("redirected to %q, want %q", loc, tt.wantLoc)
				}
			default:
				if loc := r.Header.Get("Location"); loc != "" {
					t.Errorf("redirected to %q", loc)
				}
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type = %q, want a page", ct)
				}
			}

			refreshed := refresh(t, op, a, tok.RefreshToken)
			info := userinfo(t, op, tok.AccessToken)
			if !tt.wantEnded {
				if refreshed.Status != http.StatusOK || info.Status != http.StatusOK {
					t.Errorf("session ended: refresh %s, userinfo %s", refreshed, info)
				}
				rc.none(t)
				return
			}
			wantOAuthError(t, refreshed, http.StatusBadRequest, "invalid_grant")
			wantOAuthError(t, info, http.StatusUnauthorized, "invalid_token")
			d := rc.next(t)
			checkLogoutToken(t, op, d.token, a.ID, "alice", claims["sid"].(string))
			if s := op.Stats(); s.BackchannelLogouts != 1 {
				t.Errorf("Stats().BackchannelLogouts = %d, want 1", s.BackchannelLogouts)
			}
			// A later login starts a new session.
			again := login(t, op, a, nil)
			if _, c := mustVerify(t, op, again.IDToken); c["sid"] == claims["sid"] {
				t.Error("a login after end_session has the ended session's sid")
			}
		})
	}
}

func TestEndSessionHintRules(t *testing.T) {
	clk := newClock()
	op := newOP(t, oidctest.Config{Now: clk.Now, SigningAlg: "EdDSA", AlwaysIssueRefreshToken: true})
	c := oidctest.DefaultClient
	tests := []struct {
		name    string
		prepare func(t *testing.T) // after the login, before end_session
		wantOK  bool
	}{
		{"expired hint", func(t *testing.T) { clk.Advance(2 * time.Hour) }, true},
		{"hint signed by a rotated-out but published key", func(t *testing.T) { op.RotateKeys() }, true},
		{"hint signed by a retired key", func(t *testing.T) { op.RotateKeys(); op.RetireOldKeys() }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := login(t, op, c, nil)
			tt.prepare(t)
			r := endSession(t, op, url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {byeURI}})
			if !tt.wantOK {
				if r.Status != http.StatusBadRequest {
					t.Errorf("end_session: %s, want 400", r)
				}
				return
			}
			if r.Status != http.StatusFound || r.Header.Get("Location") != byeURI {
				t.Fatalf("end_session: %s, want a redirect to %s", r, byeURI)
			}
			wantOAuthError(t, refresh(t, op, c, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
		})
	}
	if n := op.Stats().EndSessions; n != len(tests) {
		t.Errorf("Stats().EndSessions = %d, want %d", n, len(tests))
	}
}

// TestBackchannelLogout checks that ending a session at the provider sends a
// logout token to every client taking part in it, and to no other.
func TestBackchannelLogout(t *testing.T) {
	rcA, rcB := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusOK)
	a, b, c := confidential("app-a"), confidential("app-b"), confidential("app-c")
	a.BackchannelLogoutURI, b.BackchannelLogoutURI = rcA.URL, rcB.URL
	bob := oidctest.User{Subject: "bob"}
	op := newOP(t, oidctest.Config{
		Clients:                 []oidctest.Client{a, b, c},
		Users:                   []oidctest.User{oidctest.DefaultUser, bob},
		AlwaysIssueRefreshToken: true,
	})
	aliceA := login(t, op, a, nil)
	login(t, op, b, nil)
	login(t, op, c, nil)
	bobA := login(t, op, a, func(q url.Values) { q.Set("login_hint", "bob") })
	_, claims := mustVerify(t, op, aliceA.IDToken)
	sid := claims["sid"].(string)

	if r := endSession(t, op, url.Values{"id_token_hint": {aliceA.IDToken}}); r.Status != http.StatusOK {
		t.Fatalf("end_session: %s", r)
	}
	dA, dB := rcA.next(t), rcB.next(t)
	rcA.none(t) // bob's session at a goes on
	rcB.none(t)
	for _, d := range []delivered{dA, dB} {
		if d.contentType != "application/x-www-form-urlencoded" {
			t.Errorf("delivered as %q, want a form", d.contentType)
		}
	}
	ca := checkLogoutToken(t, op, dA.token, a.ID, "alice", sid)
	cb := checkLogoutToken(t, op, dB.token, b.ID, "alice", sid)
	if ca["jti"] == cb["jti"] {
		t.Error("two logout tokens share a jti")
	}
	if s := op.Stats(); s.BackchannelLogouts != 2 || s.EndSessions != 1 {
		t.Errorf("Stats() = %+v, want 2 back-channel logouts and 1 end_session", s)
	}
	if errs := op.DeliveryErrors(); len(errs) != 0 {
		t.Errorf("DeliveryErrors() = %v", errs)
	}
	if r := refresh(t, op, a, bobA.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("bob's refresh after alice's logout: %s", r)
	}
}

func TestDeliveryErrors(t *testing.T) {
	failing := newReceiver(t, http.StatusInternalServerError)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	a, b, c := confidential("app-a"), confidential("app-b"), confidential("app-c")
	a.BackchannelLogoutURI, b.BackchannelLogoutURI = failing.URL, gone.URL+"/backchannel"
	c.BackchannelLogoutURI = "http://%zz/" // not a URL
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{a, b, c}})
	login(t, op, a, nil)
	login(t, op, b, nil)
	login(t, op, c, nil)

	if sids := op.Logout("alice"); len(sids) != 1 {
		t.Fatalf("Logout ended %v, want one session", sids)
	}
	failing.next(t) // it was delivered, and refused
	errs := op.DeliveryErrors()
	if len(errs) != 3 {
		t.Fatalf("DeliveryErrors() = %v, want 3", errs)
	}
	var unreachable int
	for _, err := range errs {
		var oe *net.OpError
		if errors.As(err, &oe) {
			unreachable++
		}
	}
	if unreachable != 1 {
		t.Errorf("DeliveryErrors() = %v, want one *net.OpError (the closed server)", errs)
	}
	if n := op.Stats().BackchannelLogouts; n != 0 {
		t.Errorf("Stats().BackchannelLogouts = %d, want 0", n)
	}
	errs[0] = nil // a copy: the provider's record is untouched
	if op.DeliveryErrors()[0] == nil {
		t.Error("DeliveryErrors returns the provider's own slice")
	}
}

func TestLogout(t *testing.T) {
	rc := newReceiver(t, http.StatusOK)
	c := confidential("app")
	c.BackchannelLogoutURI = rc.URL
	bob := oidctest.User{Subject: "bob"}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, Users: []oidctest.User{oidctest.DefaultUser, bob}, AlwaysIssueRefreshToken: true})
	alice1 := login(t, op, c, nil)
	alice2 := login(t, op, c, nil) // the same provider session
	bobTok := login(t, op, c, func(q url.Values) { q.Set("login_hint", "bob") })
	_, claims := mustVerify(t, op, alice1.IDToken)

	tests := []struct {
		name     string
		sub      string
		wantSids []string
	}{
		{"unknown subject", "nobody", nil},
		{"alice", "alice", []string{claims["sid"].(string)}},
		{"alice again", "alice", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := op.Logout(tt.sub); !slices.Equal(got, tt.wantSids) {
				t.Errorf("Logout(%q) = %v, want %v", tt.sub, got, tt.wantSids)
			}
		})
	}
	checkLogoutToken(t, op, rc.next(t).token, c.ID, "alice", claims["sid"].(string))
	rc.none(t) // one logout token per client and session
	for _, tok := range []tokens{alice1, alice2} {
		wantOAuthError(t, refresh(t, op, c, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, userinfo(t, op, tok.AccessToken), http.StatusUnauthorized, "invalid_token")
	}
	if r := refresh(t, op, c, bobTok.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("bob's refresh: %s", r)
	}
	if r := userinfo(t, op, bobTok.AccessToken); r.Status != http.StatusOK {
		t.Errorf("bob's userinfo: %s", r)
	}
}

func TestLogoutToken(t *testing.T) {
	clk := newClock()
	op := newOP(t, oidctest.Config{Now: clk.Now})
	tests := []struct {
		name     string
		sub, sid string
		edit     func(map[string]any)
		check    func(t *testing.T, claims map[string]any)
	}{
		{name: "sub and sid", sub: "alice", sid: "sid-1"},
		{name: "sub only", sub: "alice"},
		{name: "sid only", sid: "sid-1"},
		{
			name: "edited: nonce, no events, array aud", sub: "alice", sid: "sid-1",
			edit: func(c map[string]any) {
				c["nonce"] = "n"
				delete(c, "events")
				c["aud"] = []string{"app", "other"}
			},
			check: func(t *testing.T, c map[string]any) {
				if c["nonce"] != "n" || c["events"] != nil || len(c["aud"].([]any)) != 2 {
					t.Errorf("claims %v lack the edits", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := op.LogoutToken("app", tt.sub, tt.sid, tt.edit)
			if tt.check != nil {
				_, claims := mustVerify(t, op, raw)
				tt.check(t, claims)
				return
			}
			claims := checkLogoutToken(t, op, raw, "app", tt.sub, tt.sid)
			if iat, exp := numeric(t, claims, "iat"), numeric(t, claims, "exp"); iat != clk.Now().Unix() || exp != iat+120 {
				t.Errorf("iat %d exp %d, want now and two minutes later", iat, exp)
			}
		})
	}
}

func TestSignJWT(t *testing.T) {
	op := newOP(t, oidctest.Config{SigningAlg: "PS256"})
	tests := []struct {
		name, typ string
		rotate    bool
	}{
		{name: "JWT", typ: "JWT"},
		{name: "at+jwt", typ: "at+jwt"},
		{name: "no typ", typ: ""},
		{name: "after RotateKeys", typ: "JWT", rotate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rotate {
				op.RotateKeys()
			}
			set := keySet(t, op)
			raw := op.SignJWT(map[string]any{"iss": "anyone", "n": 7}, tt.typ)
			h, claims, err := verifyJWT(set, raw)
			if err != nil {
				t.Fatal(err)
			}
			if cur := set.Keys[len(set.Keys)-1].KeyID; h.KeyID != cur {
				t.Errorf("kid = %q, want the current key's %q", h.KeyID, cur)
			}
			if typ, ok := h.ExtraHeaders[jose.HeaderType]; tt.typ == "" && ok || tt.typ != "" && typ != tt.typ {
				t.Errorf("typ = %v, want %q", typ, tt.typ)
			}
			if claims["iss"] != "anyone" || claims["n"] != float64(7) || len(claims) != 2 {
				t.Errorf("claims = %v", claims)
			}
		})
	}
}
