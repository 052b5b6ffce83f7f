package middleware

import (
	"context"
	"net/http"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

// Callback returns the handler for the redirect URI. It takes the login
// attempt named by the state parameter (each can be taken once), has the
// client check the response, exchange the code and verify the ID token,
// optionally fetches userinfo, then starts a fresh session and redirects to
// the attempt's return_to. Any failure answers with ErrorStatus's status and
// a short message, and creates no session.
//
// It reads the response from the query of a GET and, for
// response_mode=form_post (client.Config.ResponseMode), from the
// url-encoded body of a POST (at most 16 KiB and 32 parameters). A
// provider on another site posts the response cross-site, and browsers
// do not send the SameSite=Lax flow cookie with such a POST: the handler
// then answers with a page that posts the same parameters again from this
// site, so that the cookie comes along (see repost). Mount it for GET and
// POST, and exempt only its POST from cross-origin protection
// (http.CrossOriginProtection.AddInsecureBypassPattern("POST
// /auth/callback")): the state, checked against the flow cookie, is the
// callback's CSRF defence.
func (a *Auth) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params := r.URL.Query()
		if r.Method == http.MethodPost {
			var err error
			if params, err = formParams(w, r); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		// What needs no login attempt is checked first, so that a response
		// naming another issuer spends nothing (no record in the replay
		// cache).
		if _, err := a.rp.CheckAuthResponse(params); err != nil {
			a.fail(w, r, err)
			return
		}
		state := params.Get("state")
		if r.Method == http.MethodPost && params.Get(repostParam) == "" && !a.sessions.FlowPending(r, state) {
			repost(w, r, params)
			return
		}
		data, err := a.sessions.TakeFlow(w, r, session.LoginFlow, state)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var flow client.Flow
		if err := flow.UnmarshalBinary(data); err != nil {
			a.fail(w, r, err)
			return
		}
		tokens, err := a.rp.Callback(r.Context(), flow, params)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		claims, err := a.keptClaims(r.Context(), tokens)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		s := &session.Session{Issuer: tokens.IDToken.Issuer, Subject: tokens.IDToken.Subject, SID: tokens.IDToken.SessionID, Claims: claims}
		if tokens.DPoPKey != nil {
			s.DPoPKey, _ = tokens.DPoPKey.MarshalBinary()
		}
		s.SetTokens(sessionTokens(tokens))
		if err := a.sessions.Create(w, r, s); err != nil {
			a.fail(w, r, err)
			return
		}
		returnTo := flow.ReturnTo
		if !IsLocalPath(returnTo) {
			returnTo = a.cfg.DefaultReturnTo
		}
		redirect(w, returnTo)
	})
}

// keptClaims returns the claims to keep in the session besides the ID token
// (see client.KeptUserInfo): when Config.UserInfo is set and the provider
// has the endpoint, those userinfo adds. The ID token's own claims are read
// from it when asked for (Claims), not stored twice: a session cookie has no
// byte to spare.
func (a *Auth) keptClaims(ctx context.Context, tokens *client.Tokens) ([]byte, error) {
	if !a.cfg.UserInfo || a.rp.Provider().Metadata().UserinfoEndpoint == "" {
		return nil, nil
	}
	info, err := a.rp.UserInfoDPoP(ctx, tokens.DPoPKey, tokens.AccessToken, tokens.IDToken.Subject)
	if err != nil {
		return nil, err
	}
	return client.KeptUserInfo(tokens.IDToken, info)
}
