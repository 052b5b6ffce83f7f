package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
func (a *Auth) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		// What needs no login attempt is checked first, so that a response
		// naming another issuer spends nothing (no record in the replay
		// cache).
		if _, err := a.rp.CheckAuthResponse(query); err != nil {
			a.fail(w, r, err)
			return
		}
		data, err := a.sessions.TakeFlow(w, r, query.Get("state"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var flow client.Flow
		if err := flow.UnmarshalBinary(data); err != nil {
			a.fail(w, r, err)
			return
		}
		tokens, err := a.rp.Callback(r.Context(), flow, query)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		claims, err := a.keptClaims(r.Context(), tokens)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		s := &session.Session{
			Subject:      tokens.IDToken.Subject,
			SID:          tokens.IDToken.SessionID,
			IDToken:      tokens.RawIDToken,
			AccessToken:  tokens.AccessToken,
			RefreshToken: tokens.RefreshToken,
			Expiry:       tokens.Expiry,
			Claims:       claims,
		}
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

// protocolClaims are the ID token's claims about the token rather than the
// user, left out of Claims.
var protocolClaims = []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "auth_time"}

// keptClaims returns the claims to keep in the session besides the ID token:
// when Config.UserInfo is set and the provider has the endpoint, those of
// userinfo (whose sub must be the ID token's, OpenID Connect Core 5.3.2) that
// the ID token does not already carry with the same value, protocol claims
// (iss, aud, iat, ...) left out. The ID token's
// own claims are read from it when asked for (Claims), not stored twice: a
// session cookie has no byte to spare.
func (a *Auth) keptClaims(ctx context.Context, tokens *client.Tokens) ([]byte, error) {
	if !a.cfg.UserInfo || a.rp.Provider().Metadata().UserinfoEndpoint == "" {
		return nil, nil
	}
	info, err := a.rp.UserInfo(ctx, tokens.AccessToken, tokens.IDToken.Subject)
	if err != nil {
		return nil, err
	}
	var extra, inToken map[string]json.RawMessage
	if err := info.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", client.ErrProviderResponse, err)
	}
	if err := tokens.IDToken.Claims(&inToken); err != nil {
		return nil, fmt.Errorf("%w: %v", client.ErrMalformedToken, err)
	}
	for k, v := range extra {
		if t, ok := inToken[k]; ok && bytes.Equal(t, v) {
			delete(extra, k)
		}
	}
	// Claims about a token, not the user, may come with userinfo (Ory
	// Hydra's carries iat, iss, aud ...): they are the ID token's business.
	for _, c := range protocolClaims {
		delete(extra, c)
	}
	if len(extra) == 0 {
		return nil, nil
	}
	return json.Marshal(extra)
}
