package oidctest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// token is the token endpoint: authorization_code, refresh_token,
// client_credentials, device_code and token-exchange grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	grantType := r.PostForm.Get("grant_type")
	client, reason := s.authenticateClient(r, "/token")
	if client == nil {
		s.stats.FailedGrants++
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: "+reason)
		return
	}
	if s.hooks.TokenError != nil {
		if status, code := s.hooks.TokenError(grantType); status != 0 {
			s.stats.FailedGrants++
			oauthError(w, status, code, "refused by a test hook")
			return
		}
	}
	jkt, dpopErr := s.checkDPoP(r, "/token", "")
	if dpopErr != nil {
		s.stats.FailedGrants++
		s.dpopTokenError(w, dpopErr)
		return
	}
	var resp map[string]any
	var desc string
	code := "invalid_grant"
	switch grantType {
	case "authorization_code":
		resp, desc = s.codeGrant(r, client, jkt)
	case "refresh_token":
		resp, desc = s.refreshGrant(r, client, jkt)
	case "client_credentials":
		resp, code, desc = s.clientCredentialsGrant(r, client)
	case DeviceGrantType:
		resp, code, desc = s.deviceGrant(r, client)
	case TokenExchangeGrantType:
		resp, code, desc = s.exchangeGrant(r, client)
	default:
		s.stats.FailedGrants++
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", grantType)
		return
	}
	if resp == nil {
		s.stats.FailedGrants++
		oauthError(w, http.StatusBadRequest, code, desc)
		return
	}
	if s.hooks.TokenResponse != nil {
		s.hooks.TokenResponse(grantType, resp)
	}
	if jkt != "" {
		s.setDPoPNonce(w)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// codeGrant redeems a code. jkt is the thumbprint of the request's DPoP
// proof's key, if it had one: the tokens are bound to it, and it must be
// the key the authorization request named (dpop_jkt), if it named one.
func (s *Server) codeGrant(r *http.Request, client *Client, jkt string) (map[string]any, string) {
	code := r.PostForm.Get("code")
	g := s.codes[code]
	switch {
	case g == nil:
		return nil, "unknown code"
	case g.used:
		return nil, "code already used"
	case s.now().After(g.expires):
		return nil, "code expired"
	case g.client != client:
		return nil, "code issued to another client"
	case r.PostForm.Get("redirect_uri") != g.redirect:
		return nil, "redirect_uri differs from the authorization request's"
	case !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge):
		return nil, "code_verifier does not match code_challenge"
	case g.jkt != "" && g.jkt != jkt:
		return nil, "the code is bound to another DPoP key (dpop_jkt)"
	}
	g.jkt = jkt
	g.used = true
	s.stats.CodeGrants++
	issueRefresh := s.cfg.AlwaysIssueRefreshToken || slices.Contains(g.scope, "offline_access")
	return s.issue(g, g.nonce, issueRefresh), ""
}

// refreshGrant redeems a refresh token; one issued with DPoP-bound tokens
// is bound to their key, and needs a proof signed with it.
func (s *Server) refreshGrant(r *http.Request, client *Client, jkt string) (map[string]any, string) {
	rt := s.refreshTokens[r.PostForm.Get("refresh_token")]
	switch {
	case rt == nil:
		return nil, "unknown refresh token"
	case rt.rotated:
		s.stats.RefreshTokenReuses++
		return nil, "refresh token already redeemed (rotated)"
	case rt.revoked:
		return nil, "refresh token revoked"
	case rt.grant.client != client:
		return nil, "refresh token issued to another client"
	case s.sessions[rt.grant.sid] == nil:
		return nil, "session ended at the provider"
	case rt.grant.jkt != "" && rt.grant.jkt != jkt:
		return nil, "the refresh token is bound to another DPoP key, or the request has no proof"
	}
	s.stats.RefreshGrants++
	resp := s.issue(rt.grant, "", s.cfg.RotateRefreshTokens)
	if s.cfg.RotateRefreshTokens {
		rt.rotated = true
	}
	return resp, ""
}

// issue mints an access token, an ID token and, if refresh, a refresh token
// for g. Called with s.mu held.
func (s *Server) issue(g *grant, nonce string, refresh bool) map[string]any {
	now := s.now()
	key := s.keys[len(s.keys)-1]
	atClaims := map[string]any{
		"iss":       s.URL,
		"sub":       g.user.Subject,
		"aud":       g.client.ID,
		"client_id": g.client.ID,
		"scope":     strings.Join(g.scope, " "),
		"iat":       now.Unix(),
		"exp":       now.Add(s.cfg.AccessTokenTTL).Unix(),
		"jti":       randstr.New(16),
	}
	tokenType := "Bearer"
	if g.jkt != "" {
		atClaims["cnf"] = map[string]any{"jkt": g.jkt} // RFC 9449 section 6.1
		tokenType = "DPoP"
	}
	at := key.sign(atClaims, "at+jwt")
	s.accessTokens[at] = &grant{client: g.client, user: g.user, scope: g.scope, sid: g.sid, expires: now.Add(s.cfg.AccessTokenTTL), jkt: g.jkt}

	claims := map[string]any{
		"iss":       s.URL,
		"sub":       g.user.Subject,
		"aud":       g.client.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(s.cfg.IDTokenTTL).Unix(),
		"auth_time": g.authTime.Unix(),
		"sid":       g.sid,
		"at_hash":   halfHash(key.alg, at),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if g.acr != "" {
		claims["acr"] = g.acr
	}
	for k, v := range releasedClaims(g.user, g.scope) {
		claims[k] = v
	}
	if s.hooks.IDToken != nil {
		s.hooks.IDToken(claims)
	}
	resp := map[string]any{
		"access_token": at,
		"token_type":   tokenType,
		"expires_in":   int(s.cfg.AccessTokenTTL.Seconds()),
		"scope":        strings.Join(g.scope, " "),
	}
	if slices.Contains(g.scope, "openid") {
		resp["id_token"] = s.signIDToken(key, claims, g.client)
	}
	if refresh {
		rt := randstr.Token()
		s.refreshTokens[rt] = &refreshToken{grant: g}
		resp["refresh_token"] = rt
	}
	return resp
}

func (s *Server) signIDToken(key *signingKey, claims map[string]any, client *Client) string {
	return signAs(key, claims, "JWT", s.hooks.IDTokenSigning, client.Secret)
}

// signAs signs claims with key, or breaks the signature as mode says.
func signAs(key *signingKey, claims map[string]any, typ string, mode Signing, secret string) string {
	switch mode {
	case SignNone:
		return unsigned(claims)
	case SignHS256:
		return signHMAC(claims, secret)
	case SignWrongKey:
		return impostorKey(key.alg, key.kid).sign(claims, typ)
	case SignUnknownKey:
		return impostorKey(key.alg, "unknown-"+key.kid).sign(claims, typ)
	case CorruptSignature:
		tok := key.sign(claims, typ)
		i := strings.LastIndexByte(tok, '.') + 2
		c := byte('A')
		if tok[i] == 'A' {
			c = 'B'
		}
		return tok[:i] + string(c) + tok[i+1:]
	default:
		return key.sign(claims, typ)
	}
}

var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// releasedClaims are the user's claims the scope releases; claims no
// standard scope covers are always released.
func releasedClaims(u *User, scope []string) map[string]any {
	out := make(map[string]any)
	for k, v := range u.Claims {
		out[k] = v
	}
	for sc, names := range scopeClaims {
		if !slices.Contains(scope, sc) {
			for _, n := range names {
				delete(out, n)
			}
		}
	}
	return out
}

// pkceMatches checks a code_verifier as RFC 7636 section 4.1 defines it (43
// to 128 characters of [A-Za-z0-9-._~]) against its S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
