package oidctest

import (
	"net/http"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// DefaultAudience is the aud of the access tokens AccessToken and
// OpaqueAccessToken mint when AccessTokenOptions.Audience is nil.
const DefaultAudience = "https://api.example.test"

// AccessTokenOptions say what AccessToken and OpaqueAccessToken mint, so
// that tests of an API can present valid tokens and tokens breaking each
// check. Every field's zero value makes a valid token.
type AccessTokenOptions struct {
	// Subject is the sub claim. If empty, the first user's subject.
	Subject string

	// ClientID is the client_id claim. If empty, the first client's ID.
	ClientID string

	// Audience is the aud claim. If nil, DefaultAudience.
	Audience []string

	// Scope is the scope claim, space-separated. If empty, none is set.
	Scope string

	// TTL is the token's lifetime from now: exp is now + TTL (negative for
	// an expired token). If zero, Config.AccessTokenTTL.
	TTL time.Duration

	// JKT binds the token to a DPoP key (cnf.jkt, RFC 9449 section 6): use
	// a DPoPKey's Thumbprint. If empty, a bearer token.
	JKT string

	// Type is the JWT's typ header. If empty, "at+jwt" (RFC 9068). Use
	// SignJWT for a token without one.
	Type string

	// Signing says how a JWT is signed: SignNone, SignHS256 (with the
	// client's secret), SignWrongKey, ... If zero, normally.
	Signing Signing

	// Edit changes the claims before the JWT is signed, or the
	// introspection answer of an opaque token before it is served: another
	// "iss", an "nbf" in the future, no "sub", ...
	Edit func(claims map[string]any)
}

// accessTokenClaims returns the claims of an access token per o.
// Called with s.mu held.
func (s *Server) accessTokenClaims(o AccessTokenOptions) (map[string]any, *Client) {
	now := s.now()
	client := &s.cfg.Clients[0]
	if o.ClientID != "" {
		if c := s.findClient(o.ClientID); c != nil {
			client = c
		} else {
			client = &Client{ID: o.ClientID}
		}
	}
	sub := o.Subject
	if sub == "" {
		sub = s.cfg.Users[0].Subject
	}
	var aud any = DefaultAudience
	if o.Audience != nil {
		aud = o.Audience
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = s.cfg.AccessTokenTTL
	}
	claims := map[string]any{
		"iss":       s.URL,
		"sub":       sub,
		"aud":       aud,
		"client_id": client.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       randstr.New(16),
	}
	if o.Scope != "" {
		claims["scope"] = o.Scope
	}
	if o.JKT != "" {
		claims["cnf"] = map[string]any{"jkt": o.JKT}
	}
	return claims, client
}

// AccessToken mints a JWT access token (RFC 9068) as o says, signed with
// the provider's current key: iss, sub, aud, client_id, scope, iat, exp,
// jti and, for a DPoP-bound token, cnf.jkt. The provider's introspection
// endpoint knows it too.
func (s *Server) AccessToken(o AccessTokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	claims, client := s.accessTokenClaims(o)
	if o.Edit != nil {
		o.Edit(claims)
	}
	typ := o.Type
	if typ == "" {
		typ = "at+jwt"
	}
	tok := signAs(s.keys[len(s.keys)-1], claims, typ, o.Signing, client.Secret)
	s.minted[tok] = &mintedToken{claims: claims, clientID: client.ID}
	return tok
}

// OpaqueAccessToken mints an opaque access token as o says (Type and
// Signing do not apply): a random string that only the provider's
// introspection endpoint (RFC 7662) can tell about, until it expires or
// RevokeAccessToken revokes it.
func (s *Server) OpaqueAccessToken(o AccessTokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	claims, client := s.accessTokenClaims(o)
	tok := randstr.Token()
	s.minted[tok] = &mintedToken{claims: claims, clientID: client.ID, edit: o.Edit}
	return tok
}

// RevokeAccessToken makes the introspection endpoint answer that token is
// no longer active, as a revocation (RFC 7009) would.
func (s *Server) RevokeAccessToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.minted, token)
	delete(s.accessTokens, token)
}

// mintedToken is an access token minted by AccessToken or OpaqueAccessToken.
type mintedToken struct {
	claims   map[string]any
	clientID string
	edit     func(map[string]any) // applied to an opaque token's introspection answer
}

// introspect is the RFC 7662 introspection endpoint: any registered
// confidential client may ask, with the authentication the token endpoint
// takes.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, reason := s.authenticateClient(r, "/introspect")
	if client == nil || (client.Secret == "" && !r.PostForm.Has("client_assertion")) {
		if client != nil {
			reason = "a public client may not introspect"
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: "+reason)
		return
	}
	s.stats.Introspections++
	token := r.PostForm.Get("token")
	now := s.now()
	resp := map[string]any{"active": false}
	if m := s.minted[token]; m != nil {
		if exp, ok := unixOf(m.claims["exp"]); !ok || now.Unix() < exp {
			resp = map[string]any{"active": true, "token_type": "Bearer"}
			for k, v := range m.claims {
				resp[k] = v
			}
			if _, bound := m.claims["cnf"]; bound {
				resp["token_type"] = "DPoP"
			}
			if m.edit != nil {
				m.edit(resp)
			}
		}
	} else if g := s.accessTokens[token]; g != nil && now.Before(g.expires) {
		resp = map[string]any{"active": true, "token_type": "Bearer", "iss": s.URL, "sub": g.user.Subject,
			"aud": g.client.ID, "client_id": g.client.ID, "scope": strings.Join(g.scope, " "), "exp": g.expires.Unix()}
	} else if rt := s.refreshTokens[token]; rt != nil && !rt.revoked && !rt.rotated {
		resp = map[string]any{"active": true, "token_type": "refresh_token", "iss": s.URL, "sub": rt.grant.user.Subject,
			"client_id": rt.grant.client.ID, "scope": strings.Join(rt.grant.scope, " ")}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// unixOf reads a NumericDate claim as set by Go code or decoded JSON.
func unixOf(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
