package oidctest

import (
	"fmt"

	"net/http"
	"net/url"
	"strings"
)

// userinfo answers with the claims the access token's scope releases.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.UserInfoRequests++
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	dpopToken, dpop := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
	if dpop {
		token = dpopToken
	}
	if !ok && !dpop && r.Method == http.MethodPost {
		token = r.PostFormValue("access_token")
	}
	g := s.accessTokens[token]
	if g == nil || g.user == nil || s.now().After(g.expires) {
		if dpop {
			s.dpopResourceError(w, "invalid_token", "access token unknown, expired or revoked")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "access token unknown, expired or revoked")
		return
	}
	if g.jkt != "" || dpop {
		// RFC 9449 section 7: a bound token only as DPoP, with a proof of
		// its key.
		jkt, dpopErr := s.checkDPoP(r, "/userinfo", token)
		switch {
		case dpopErr != nil:
			s.dpopResourceError(w, dpopErr.code, dpopErr.desc)
			return
		case !dpop || jkt == "" || jkt != g.jkt:
			s.dpopResourceError(w, "invalid_token", "the access token is DPoP-bound: send it as DPoP with a proof of its key")
			return
		}
		s.setDPoPNonce(w)
	}
	claims := releasedClaims(g.user, g.scope)
	claims["sub"] = g.user.Subject
	if s.hooks.UserInfo != nil {
		s.hooks.UserInfo(claims)
	}
	writeJSON(w, http.StatusOK, claims)
}

// endSession is RP-initiated logout: it ends the user's session at the
// provider and sends the user back to a registered post-logout redirect URI.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.stats.EndSessions++
	var client *Client
	if id := q.Get("client_id"); id != "" {
		client = s.findClient(id)
		if client == nil {
			s.mu.Unlock()
			badRequest(w, "unknown client_id %q", id)
			return
		}
	}
	var sid string
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := s.verifyOwnToken(hint)
		if err != nil {
			s.mu.Unlock()
			badRequest(w, "invalid id_token_hint: %v", err)
			return
		}
		sid, _ = claims["sid"].(string)
		if client == nil {
			client = s.findClient(audienceOf(claims))
		}
	}
	redirect := q.Get("post_logout_redirect_uri")
	if redirect != "" && (client == nil || !registered(client.PostLogoutRedirectURIs, redirect)) {
		s.mu.Unlock()
		badRequest(w, "post_logout_redirect_uri %q is not registered", redirect)
		return
	}
	if _, err := url.Parse(redirect); err != nil {
		s.mu.Unlock()
		badRequest(w, "post_logout_redirect_uri %q is not a URL", redirect)
		return
	}
	deliveries := s.endSessionLocked(sid)
	s.mu.Unlock()
	s.deliver(deliveries)

	if redirect == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Logged out</title><p>You are logged out of the test provider.</p>")
		return
	}
	resp := url.Values{}
	if state := q.Get("state"); state != "" {
		resp.Set("state", state)
	}
	redirectWith(w, r, redirect, resp)
}

// revoke is the RFC 7009 revocation endpoint.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, reason := s.authenticateClient(r, "/revoke")
	if client == nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: "+reason)
		return
	}
	token := r.PostForm.Get("token")
	if rt := s.refreshTokens[token]; rt != nil && rt.grant.client == client {
		rt.revoked = true
	}
	if g := s.accessTokens[token]; g != nil && g.client == client {
		delete(s.accessTokens, token)
	}
	s.stats.Revocations++
	w.WriteHeader(http.StatusOK)
}

func unescape(s string) (string, error) { return url.QueryUnescape(s) }

func audienceOf(claims map[string]any) string {
	switch a := claims["aud"].(type) {
	case string:
		return a
	case []any:
		if len(a) > 0 {
			s, _ := a[0].(string)
			return s
		}
	}
	return ""
}
