package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
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
				a.failLogin(w, r, a.soleIssuer(), err)
				return
			}
		}
		// What needs no login attempt is checked first, so that a response
		// naming an issuer the app does not know spends nothing (no record
		// in the replay cache). That it is the login's own provider's is
		// checked below, once the login names it.
		if err := a.checkResponse(params); err != nil {
			a.failLogin(w, r, a.soleIssuer(), err)
			return
		}
		state := params.Get("state")
		if r.Method == http.MethodPost && params.Get(repostParam) == "" && !a.sessions.FlowPending(r, state) {
			repost(w, r, params)
			return
		}
		data, err := a.sessions.TakeFlow(w, r, session.LoginFlow, state)
		if err != nil {
			a.failLogin(w, r, a.soleIssuer(), err)
			return
		}
		var lf loginFlow
		if err := lf.unmarshal(data, a.providers[0].name); err != nil {
			a.failLogin(w, r, a.soleIssuer(), err)
			return
		}
		p, ok := a.named(lf.provider)
		if !ok {
			a.failLogin(w, r, a.soleIssuer(), fmt.Errorf("%w: the login's provider %q is gone", session.ErrNoFlow, lf.provider))
			return
		}
		// The login's own provider checks the response: one naming
		// another issuer, or carrying a code of another provider with its
		// iss, is refused before the code goes anywhere (RFC 9207).
		tokens, err := p.rp.Callback(r.Context(), lf.flow, params)
		if err != nil {
			a.failLogin(w, r, p.issuer, err)
			return
		}
		s, err := a.newSession(r.Context(), p, tokens, lf)
		if err != nil {
			a.failLogin(w, r, p.issuer, err)
			return
		}
		if lf.stepUp != "" {
			if err := a.checkStepUp(r, s, tokens, lf); err != nil {
				a.failLogin(w, r, p.issuer, err)
				return
			}
		}
		if err := a.sessions.Create(w, r, s); err != nil {
			a.failLogin(w, r, p.issuer, err)
			return
		}
		a.emit(r, events.LoginSucceeded, p.issuer, "", s.Subject, nil)
		returnTo := lf.flow.ReturnTo
		if !IsLocalPath(returnTo) {
			returnTo = a.cfg.DefaultReturnTo
		}
		redirect(w, returnTo)
	})
}

// checkStepUp checks what a step-up's login (RequireStepUp) brought back:
// the user of the session it replaces, at the same provider, with an
// authentication of the acr values asked for. A browser whose session ended
// meanwhile gets the new one, of whichever user, as from a login.
func (a *Auth) checkStepUp(r *http.Request, s *session.Session, tokens *client.Tokens, lf loginFlow) error {
	var acr string
	if tokens.IDToken != nil {
		acr = tokens.IDToken.ACR
	}
	if lf.acr != "" && !slices.Contains(strings.Fields(lf.acr), acr) {
		return fmt.Errorf("%w: acr %q, asked for %q", ErrStepUpACR, acr, lf.acr)
	}
	old, err := a.sessions.Load(r)
	switch {
	case errors.Is(err, session.ErrStore):
		return err
	case err != nil:
		return nil // no session to keep
	case old.Issuer != s.Issuer || old.Subject != s.Subject || old.Subject != lf.stepUp:
		return fmt.Errorf("%w: %q at %q, the session is %q's", ErrStepUpUser, s.Subject, s.Issuer, old.Subject)
	}
	return nil
}

// checkResponse makes the checks of an authorization response that need no
// login attempt (client.RP.CheckAuthResponse): it must suit one of the
// providers.
func (a *Auth) checkResponse(params url.Values) error {
	var first error
	for _, p := range a.providers {
		_, err := p.rp.CheckAuthResponse(params)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// newSession is the session of a login with p: who (the ID token's user,
// or for an OAuth 2.0 provider, its API's), the tokens, and the claims to
// keep besides the ID token.
func (a *Auth) newSession(ctx context.Context, p *provider, tokens *client.Tokens, lf loginFlow) (*session.Session, error) {
	s := &session.Session{}
	var claims []byte
	if id := tokens.IDToken; id != nil {
		s.Issuer, s.Subject, s.SID = id.Issuer, id.Subject, id.SessionID
		var err error
		if claims, err = a.keptClaims(ctx, p, tokens); err != nil {
			return nil, err
		}
	} else {
		s.Issuer, s.Subject = p.issuer, tokens.Identity.Subject
		claims = tokens.Identity.Claims
	}
	claims, err := mergeClaims(claims, tokens.ResponseClaims)
	if err != nil {
		return nil, err
	}
	s.Claims = claims
	if tokens.DPoPKey != nil {
		s.DPoPKey, _ = tokens.DPoPKey.MarshalBinary()
	}
	s.SetTokens(sessionTokens(tokens))
	s.Scopes = grantedScopes(p, tokens.Scope, lf.scopes)
	return s, nil
}

// keptClaims returns the claims to keep in the session besides the ID token
// (see client.KeptUserInfo): when Config.UserInfo is set and the provider
// has the endpoint, those userinfo adds. The ID token's own claims are read
// from it when asked for (Claims), not stored twice: a session cookie has no
// byte to spare.
func (a *Auth) keptClaims(ctx context.Context, p *provider, tokens *client.Tokens) ([]byte, error) {
	if !a.cfg.UserInfo || p.rp.Provider().Metadata().UserinfoEndpoint == "" {
		return nil, nil
	}
	info, err := p.rp.UserInfoDPoP(ctx, tokens.DPoPKey, tokens.AccessToken, tokens.IDToken.Subject)
	if err != nil {
		return nil, err
	}
	return client.KeptUserInfo(tokens.IDToken, info)
}

// mergeClaims overlays the JSON object b on a (either may be nil).
func mergeClaims(a, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return a, nil
	}
	if len(a) == 0 {
		return b, nil
	}
	var m, n map[string]json.RawMessage
	if err := json.Unmarshal(a, &m); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", client.ErrProviderResponse, err)
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", client.ErrProviderResponse, err)
	}
	maps.Copy(m, n)
	return json.Marshal(m)
}
