package oidctest

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// authorize is the authorization endpoint. It authenticates no one: the
// first user, or the one login_hint names, is logged in and consents at once.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()

	// Errors before the redirect URI is known to be the client's are shown
	// to the user, never redirected (RFC 6749 section 4.1.2.1).
	client := s.findClient(q.Get("client_id"))
	if client == nil {
		badRequest(w, "unknown client_id %q", q.Get("client_id"))
		return
	}
	pushed := false
	if uri := q.Get("request_uri"); uri != "" {
		// RFC 9126 section 4: the pushed parameters, and no others.
		p := s.pushed[uri]
		delete(s.pushed, uri)
		if p == nil || p.client != client || s.now().After(p.expires) {
			badRequest(w, "request_uri is unknown, used, expired or another client's")
			return
		}
		q, pushed = p.params, true
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !registered(client.RedirectURIs, redirect) {
		badRequest(w, "redirect_uri %q is not registered", redirect)
		return
	}
	if _, err := url.Parse(redirect); err != nil {
		badRequest(w, "redirect_uri %q is not a URL", redirect)
		return
	}
	for name, v := range q {
		if len(v) > 1 {
			badRequest(w, "parameter %s repeated", name)
			return
		}
	}

	resp := url.Values{}
	if state := q.Get("state"); state != "" {
		resp.Set("state", state)
	}
	resp.Set("iss", s.URL)
	mode := q.Get("response_mode")
	if mode != "form_post" {
		mode = "query"
	}
	fail := func(code, desc string) {
		resp.Set("error", code)
		resp.Set("error_description", desc)
		s.finishAuthorize(w, r, redirect, mode, resp)
	}
	scope := strings.Fields(q.Get("scope"))
	switch {
	case !pushed && (s.cfg.RequirePushedAuthorizationRequests || client.RequirePushedAuthorizationRequests):
		fail("invalid_request", "pushed authorization requests are required for this client (RFC 9126)")
		return
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query" && q.Get("response_mode") != "form_post":
		fail("invalid_request", "response_mode must be query or form_post")
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case len(scope) == 0:
		// A scope without openid is a plain OAuth 2.0 request: its token
		// response carries no ID token.
		fail("invalid_scope", "scope is required")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}
	user := s.pickUser(q.Get("login_hint"))
	if user == nil {
		fail("login_required", "no user matches login_hint")
		return
	}
	if ma := q.Get("max_age"); ma != "" {
		if _, err := strconv.Atoi(ma); err != nil {
			fail("invalid_request", "max_age is not a number")
			return
		}
	}

	sess := s.sessionFor(user, client)
	code := randstr.Token()
	s.codes[code] = &grant{
		client:    client,
		user:      user,
		scope:     scope,
		nonce:     q.Get("nonce"),
		redirect:  redirect,
		challenge: q.Get("code_challenge"),
		authTime:  s.now(),
		sid:       sess.sid,
		expires:   s.now().Add(time.Minute),
		jkt:       q.Get("dpop_jkt"),
	}
	if acr := strings.Fields(q.Get("acr_values")); len(acr) > 0 {
		// The user authenticates as strongly as the client asks.
		s.codes[code].acr = acr[0]
	}
	s.stats.Authorizations++
	resp.Set("code", code)
	s.finishAuthorize(w, r, redirect, mode, resp)
}

// finishAuthorize sends the authorization response to redirect, in the
// query of a redirect or, for response_mode form_post, posted by a page.
func (s *Server) finishAuthorize(w http.ResponseWriter, r *http.Request, redirect, mode string, resp url.Values) {
	if s.hooks.AuthorizeResponse != nil {
		s.hooks.AuthorizeResponse(resp)
	}
	if mode == "form_post" {
		formPost(w, redirect, resp)
		return
	}
	redirectWith(w, r, redirect, resp)
}

// pickUser returns the user login_hint names by subject or email, or the
// first user when there is no hint. Called with s.mu held.
func (s *Server) pickUser(hint string) *User {
	if hint == "" {
		return &s.cfg.Users[0]
	}
	for i := range s.cfg.Users {
		u := &s.cfg.Users[i]
		if u.Subject == hint || u.Claims["email"] == hint {
			return u
		}
	}
	return nil
}

// sessionFor returns the user's session at the provider, starting one if
// needed, and records that client takes part in it. Called with s.mu held.
func (s *Server) sessionFor(user *User, client *Client) *opSession {
	for _, sess := range s.sessions {
		if sess.user == user {
			sess.clients[client.ID] = client
			return sess
		}
	}
	sess := &opSession{sid: randstr.New(16), user: user, clients: map[string]*Client{client.ID: client}}
	s.sessions[sess.sid] = sess
	return sess
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<!doctype html><title>oidctest: bad request</title><p>%s</p>", html.EscapeString(fmt.Sprintf(format, args...)))
}
