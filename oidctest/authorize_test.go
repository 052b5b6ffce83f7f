package oidctest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// TestAuthorizeRefusesWithoutRedirect checks the errors that RFC 6749
// section 4.1.2.1 says must not be redirected: the redirect URI is not known
// to be the client's, or the request is malformed.
func TestAuthorizeRefusesWithoutRedirect(t *testing.T) {
	client := confidential("registered")
	client.RedirectURIs = []string{callback}
	anyURI := confidential("any") // no RedirectURIs: any is accepted
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{client, anyURI}})

	tests := []struct {
		name string
		edit func(q url.Values)
	}{
		{"unknown client_id", func(q url.Values) { q.Set("client_id", "nobody") }},
		{"no client_id", func(q url.Values) { q.Del("client_id") }},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1/evil") }},
		{"redirect_uri with a different query", func(q url.Values) { q.Set("redirect_uri", callback+"?x=1") }},
		{"no redirect_uri", func(q url.Values) { q.Del("redirect_uri") }},
		{"unparsable redirect_uri of a client that accepts any", func(q url.Values) {
			q.Set("client_id", anyURI.ID)
			q.Set("redirect_uri", "http://%zz/")
		}},
		{"repeated state", func(q url.Values) { q.Add("state", "other") }},
		{"repeated scope", func(q url.Values) { q.Add("scope", "openid") }},
		{"repeated code_challenge", func(q url.Values) { q.Add("code_challenge", q.Get("code_challenge")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(client.ID, newPKCE())
			tt.edit(q)
			r := authorize(t, op, q)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status = %s, want 400", r)
			}
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("redirected to %s", loc)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want a page for the user", ct)
			}
		})
	}
	if n := op.Stats().Authorizations; n != 0 {
		t.Errorf("Stats().Authorizations = %d, want 0", n)
	}
}

// TestAuthorizeErrorRedirects checks errors that go back to the client, with
// its state and the issuer (RFC 9207).
func TestAuthorizeErrorRedirects(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	tests := []struct {
		name      string
		edit      func(q url.Values)
		wantError string
	}{
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"response_type code id_token", func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type"},
		{"no response_type", func(q url.Values) { q.Del("response_type") }, "unsupported_response_type"},
		{"no scope", func(q url.Values) { q.Del("scope") }, "invalid_scope"},
		{"no code_challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no code_challenge_method", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"unknown login_hint", func(q url.Values) { q.Set("login_hint", "mallory@example.com") }, "login_required"},
		{"max_age not a number", func(q url.Values) { q.Set("max_age", "soon") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(oidctest.DefaultClient.ID, newPKCE())
			tt.edit(q)
			r := authorize(t, op, q)
			loc := r.Location()
			if r.Status != http.StatusFound || loc == nil {
				t.Fatalf("status = %s, want a redirect", r)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
				t.Errorf("redirected to %s, want %s", loc, callback)
			}
			got := loc.Query()
			want := map[string]string{"error": tt.wantError, "state": "state-123", "iss": op.URL, "code": ""}
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q (%s)", k, got.Get(k), v, loc)
				}
			}
			if got.Get("error_description") == "" {
				t.Error("no error_description")
			}
		})
	}
	if n := op.Stats().Authorizations; n != 0 {
		t.Errorf("Stats().Authorizations = %d, want 0", n)
	}
}

func TestAuthorizeSuccess(t *testing.T) {
	client := confidential("with-query")
	client.RedirectURIs = []string{callback + "?app=1"}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{client}})
	tests := []struct {
		name  string
		edit  func(q url.Values)
		query url.Values // of the redirect, besides code
	}{
		{
			name:  "state and iss",
			edit:  func(q url.Values) { q.Set("redirect_uri", callback+"?app=1") },
			query: url.Values{"state": {"state-123"}, "iss": {op.URL}, "app": {"1"}},
		},
		{
			name: "no state",
			edit: func(q url.Values) {
				q.Set("redirect_uri", callback+"?app=1")
				q.Del("state")
			},
			query: url.Values{"iss": {op.URL}, "app": {"1"}},
		},
		{
			name: "numeric max_age, prompt, unknown parameters",
			edit: func(q url.Values) {
				q.Set("redirect_uri", callback+"?app=1")
				q.Set("max_age", "300")
				q.Set("prompt", "login")
				q.Set("ui_locales", "fr")
			},
			query: url.Values{"state": {"state-123"}, "iss": {op.URL}, "app": {"1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(client.ID, newPKCE())
			tt.edit(q)
			r := authorize(t, op, q)
			if _, err := codeFrom(r); err != nil {
				t.Fatal(err)
			}
			got := r.Location().Query()
			got.Del("code")
			if got.Encode() != tt.query.Encode() {
				t.Errorf("redirect query = %s, want %s and a code", got.Encode(), tt.query.Encode())
			}
		})
	}
	if n := op.Stats().Authorizations; n != len(tests) {
		t.Errorf("Stats().Authorizations = %d, want %d", n, len(tests))
	}
}

func TestAuthorizeLoginHint(t *testing.T) {
	bob := oidctest.User{Subject: "bob", Claims: map[string]any{"email": "bob@example.com"}}
	op := newOP(t, oidctest.Config{Users: []oidctest.User{oidctest.DefaultUser, bob}})
	tests := []struct {
		name, hint, wantSub string
	}{
		{"no hint: the first user", "", "alice"},
		{"first user by subject", "alice", "alice"},
		{"other user by subject", "bob", "bob"},
		{"other user by email", "bob@example.com", "bob"},
		{"first user by email", "alice@example.com", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := login(t, op, oidctest.DefaultClient, func(q url.Values) {
				if tt.hint != "" {
					q.Set("login_hint", tt.hint)
				}
			})
			_, claims := mustVerify(t, op, tok.IDToken)
			if claims["sub"] != tt.wantSub {
				t.Errorf("sub = %v, want %s", claims["sub"], tt.wantSub)
			}
		})
	}
}

func TestAuthorizeResponseHook(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	tests := []struct {
		name string
		hook func(q url.Values)
		want url.Values // of the redirect; "code" is checked for presence only
	}{
		{
			name: "drop iss, change state",
			hook: func(q url.Values) { q.Del("iss"); q.Set("state", "forged") },
			want: url.Values{"state": {"forged"}, "code": {"?"}},
		},
		{
			name: "another issuer",
			hook: func(q url.Values) { q.Set("iss", "https://mix-up.example") },
			want: url.Values{"state": {"state-123"}, "iss": {"https://mix-up.example"}, "code": {"?"}},
		},
		{
			name: "an error instead of a code",
			hook: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") },
			want: url.Values{"state": {"state-123"}, "iss": {op.URL}, "error": {"access_denied"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op.SetHooks(oidctest.Hooks{AuthorizeResponse: tt.hook})
			defer op.SetHooks(oidctest.Hooks{})
			r := authorize(t, op, authParams(oidctest.DefaultClient.ID, newPKCE()))
			loc := r.Location()
			if loc == nil {
				t.Fatalf("no redirect: %s", r)
			}
			got := loc.Query()
			if len(got) != len(tt.want) {
				t.Errorf("redirect query %s, want the keys of %s", got.Encode(), tt.want.Encode())
			}
			for k, v := range tt.want {
				if k == "code" {
					if got.Get("code") == "" {
						t.Error("no code")
					}
					continue
				}
				if got.Get(k) != v[0] {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v[0])
				}
			}
		})
	}

	// The hook also sees error responses.
	op.SetHooks(oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Set("seen", "yes") }})
	q := authParams(oidctest.DefaultClient.ID, newPKCE())
	q.Del("scope")
	if loc := authorize(t, op, q).Location(); loc == nil || loc.Query().Get("seen") != "yes" || loc.Query().Get("error") != "invalid_scope" {
		t.Errorf("error redirect %v, want the hook's mark and invalid_scope", loc)
	}
}

// TestOAuth2Request: a scope without openid is a plain OAuth 2.0 request
// (as to GitHub): a code, then an access token and no ID token.
func TestOAuth2Request(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	tok, err := loginErr(op, op.Client(), withScope("read:user"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.IDToken != "" || tok.Scope != "read:user" {
		t.Fatalf("tokens %+v, want an access token and no ID token", tok)
	}
}
