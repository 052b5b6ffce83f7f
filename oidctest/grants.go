package oidctest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// The client credentials grant (RFC 6749 section 4.4) and token exchange
// (RFC 8693) of the token endpoint.

// TokenExchangeGrantType is the grant_type of RFC 8693 section 2.1.
const TokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers (RFC 8693 section 3).
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// audiences returns the audience and resource parameters of r.
func audiences(r *http.Request) []string {
	return append(slices.Clone(r.PostForm["audience"]), r.PostForm["resource"]...)
}

// mintAccessToken signs an access token (RFC 9068) for sub, issued to
// client, for aud (the client when empty), with scope, and records it for
// userinfo, revocation and token exchange. user is nil for a token of the
// client itself. Called with s.mu held.
func (s *Server) mintAccessToken(client *Client, user *User, sub string, aud []string, scope []string, sid string, extra map[string]any) string {
	now := s.now()
	claims := map[string]any{
		"iss":       s.URL,
		"sub":       sub,
		"client_id": client.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(s.cfg.AccessTokenTTL).Unix(),
		"jti":       randstr.New(16),
	}
	switch len(aud) {
	case 0:
		claims["aud"] = client.ID
	case 1:
		claims["aud"] = aud[0]
	default:
		claims["aud"] = aud
	}
	if len(scope) > 0 {
		claims["scope"] = strings.Join(scope, " ")
	}
	for k, v := range extra {
		claims[k] = v
	}
	at := s.keys[len(s.keys)-1].sign(claims, "at+jwt")
	s.accessTokens[at] = &grant{client: client, user: user, scope: scope, sid: sid, expires: now.Add(s.cfg.AccessTokenTTL), audience: aud, subject: sub}
	return at
}

func (s *Server) accessTokenResponse(at string, scope []string) map[string]any {
	resp := map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(s.cfg.AccessTokenTTL / time.Second),
	}
	if len(scope) > 0 {
		resp["scope"] = strings.Join(scope, " ")
	}
	return resp
}

// clientCredentialsGrant issues a token for the client itself: to
// confidential clients only, its sub the client ID, its aud the audience
// and resource parameters (else the client), its scope the one asked for
// without openid and offline_access, which need a user. Called with s.mu
// held.
func (s *Server) clientCredentialsGrant(r *http.Request, client *Client) (map[string]any, string, string) {
	if client.Secret == "" && len(s.clientKeys[client.ID]) == 0 {
		return nil, "unauthorized_client", "a public client cannot use client_credentials"
	}
	scope := slices.DeleteFunc(strings.Fields(r.PostForm.Get("scope")), func(sc string) bool {
		return sc == "openid" || sc == "offline_access"
	})
	at := s.mintAccessToken(client, nil, client.ID, audiences(r), scope, "", nil)
	s.stats.ClientCredentialsGrants++
	return s.accessTokenResponse(at, scope), "", ""
}

// exchangeGrant is token exchange (RFC 8693): the subject token must be an
// access token this provider issued and that is still valid, or an ID token
// (or JWT) it signed that has not expired; the actor token, if any, an
// access token it issued. The new access token is for the subject, issued
// to the requesting client, for the audience and resource parameters (else
// the client), with the scope asked for, which must be within the subject
// access token's (else its scope), and an "act" claim naming the actor.
// requested_token_type may be access_token or jwt. Called with s.mu held.
func (s *Server) exchangeGrant(r *http.Request, client *Client) (map[string]any, string, string) {
	f := r.PostForm
	for _, p := range []string{"subject_token", "subject_token_type", "actor_token", "actor_token_type", "requested_token_type", "scope"} {
		if len(f[p]) > 1 {
			return nil, "invalid_request", p + " repeated"
		}
	}
	now := s.now()
	var (
		user  *User
		sub   string
		scope []string
		sid   string
	)
	switch subject := f.Get("subject_token"); f.Get("subject_token_type") {
	case TokenTypeAccessToken:
		g := s.accessTokens[subject]
		if g == nil || now.After(g.expires) {
			return nil, "invalid_grant", "subject_token is not a valid access token of this provider"
		}
		user, sub, scope, sid = g.user, g.subjectName(), g.scope, g.sid
	case TokenTypeIDToken, TokenTypeJWT:
		claims, err := s.verifyOwnToken(subject)
		if err != nil {
			return nil, "invalid_grant", "subject_token: " + err.Error()
		}
		if exp, _ := claims["exp"].(float64); now.After(time.Unix(int64(exp), 0)) {
			return nil, "invalid_grant", "subject_token expired"
		}
		sub, _ = claims["sub"].(string)
		sid, _ = claims["sid"].(string)
		user = s.userBySubject(sub)
		if sub == "" {
			return nil, "invalid_grant", "subject_token has no sub"
		}
	case "":
		return nil, "invalid_request", "subject_token_type is required"
	default:
		return nil, "invalid_request", "unsupported subject_token_type"
	}
	issuedType := TokenTypeAccessToken
	switch rt := f.Get("requested_token_type"); rt {
	case "", TokenTypeAccessToken:
	case TokenTypeJWT:
		issuedType = rt
	default:
		return nil, "invalid_request", "unsupported requested_token_type"
	}
	if requested := strings.Fields(f.Get("scope")); len(requested) > 0 {
		for _, sc := range requested {
			if scope != nil && !slices.Contains(scope, sc) {
				return nil, "invalid_scope", "scope " + sc + " exceeds the subject token's"
			}
		}
		scope = requested
	}
	var extra map[string]any
	if actor := f.Get("actor_token"); actor != "" {
		g := s.accessTokens[actor]
		if g == nil || now.After(g.expires) || f.Get("actor_token_type") != TokenTypeAccessToken {
			return nil, "invalid_grant", "actor_token is not a valid access token of this provider"
		}
		extra = map[string]any{"act": map[string]any{"sub": g.subjectName()}}
	}
	at := s.mintAccessToken(client, user, sub, audiences(r), scope, sid, extra)
	s.stats.TokenExchanges++
	resp := s.accessTokenResponse(at, scope)
	resp["issued_token_type"] = issuedType
	return resp, "", ""
}

// subjectName is the sub of the tokens of g: its user's, or for a client
// credentials token its client's.
func (g *grant) subjectName() string {
	if g.subject != "" {
		return g.subject
	}
	if g.user != nil {
		return g.user.Subject
	}
	return g.client.ID
}

// userBySubject returns the user with sub, or nil. Called with s.mu held.
func (s *Server) userBySubject(sub string) *User {
	for i := range s.cfg.Users {
		if s.cfg.Users[i].Subject == sub {
			return &s.cfg.Users[i]
		}
	}
	return nil
}
