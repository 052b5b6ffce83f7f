package interop_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

// The resource-server side: the example web app's GET /api/me, guarded by
// access tokens oidc-provider issued for the app's API (RFC 8707 resource
// indicators, client credentials grant).

const (
	jwtResource    = "urn:interop:api:jwt"    // JWT access tokens (RFC 9068) for the API
	opaqueResource = "urn:interop:api:opaque" // opaque ones, for introspection (RFC 7662)
)

// apiStack is oidc-provider, with the confidential client allowed the
// client credentials grant, and the web app as that client, its API's
// audience that of both resource indicators.
type apiStack struct {
	issuer, app, secret string
	clientID            string // "": confidentialID
	cacheTime           time.Duration
}

func startAPIStack(t *testing.T) *apiStack {
	t.Helper()
	needProvider(t)
	ports := freePorts(t, 2)
	base, redirect, postLogout, backchannel := webappURLs(ports[1])
	audience := base + "/api"
	s := &apiStack{app: base, secret: rand.Text(), cacheTime: 2 * time.Second}
	p := startProvider(t, providerConfig{
		Port: ports[0],
		Clients: []clientMetadata{{
			ClientID:                confidentialID,
			ClientSecret:            s.secret,
			TokenEndpointAuthMethod: "client_secret_basic",
			IDTokenSignedAlg:        "ES256",
			RedirectURIs:            []string{redirect},
			PostLogoutRedirectURIs:  []string{postLogout},
			BackchannelLogoutURI:    backchannel,
			GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
		}},
		ResourceServers: map[string]resourceServer{
			jwtResource:    {Audience: audience, Scope: "api:read api:write", Format: "jwt"},
			opaqueResource: {Audience: audience, Scope: "api:read api:write", Format: "opaque"},
		},
	})
	s.issuer = p.Issuer
	startWebapp(t, base, webappEnv{
		Issuer:                p.Issuer,
		ClientID:              confidentialID,
		ClientSecret:          s.secret,
		RedirectURL:           redirect,
		PostLogoutRedirectURL: postLogout,
		ListenAddr:            fmt.Sprintf("127.0.0.1:%d", ports[1]),
		APIAudience:           audience,
		APIScopes:             "api:read",
		APIIntrospectionCache: s.cacheTime.String(),
	})
	return s
}

// token asks the provider's token endpoint for an access token for
// resource by client credentials, with a DPoP proof when key is set, and
// returns it with its token_type.
func (s *apiStack) token(ctx context.Context, t *testing.T, resource string, key *oidctest.DPoPKey) (string, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {"api:read"}}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	clientID := s.clientID
	if clientID == "" {
		clientID = confidentialID
	}
	req.SetBasicAuth(clientID, s.secret)
	if key != nil {
		req.Header.Set("DPoP", key.Proof(oidctest.DPoPProof{Method: "POST", URL: s.issuer + "/token"}))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("client credentials grant for %s: %d %s", resource, resp.StatusCode, body)
	}
	return tok.AccessToken, tok.TokenType
}

// apiMe is the app's /api/me answer.
type apiMe struct {
	Sub, ClientID, Scope, Error string
}

// me GETs the app's /api/me with an Authorization header and a DPoP proof
// (none if ""), and returns the status, the answer and the challenges.
func (s *apiStack) me(ctx context.Context, t *testing.T, authz, proof string) (int, apiMe, []string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.app+"/api/me", nil)
	req.Header.Set("Authorization", authz)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]string
	json.NewDecoder(resp.Body).Decode(&raw)
	return resp.StatusCode, apiMe{raw["sub"], raw["client_id"], raw["scope"], raw["error"]}, resp.Header.Values("WWW-Authenticate")
}

// TestAPIJWTAccessToken: a JWT access token oidc-provider issued for the
// API (typ at+jwt, RS256 or ES256 with its keys) is accepted by /api/me,
// which shows its sub, client_id and scope.
func TestAPIJWTAccessToken(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startAPIStack(t)
	tok, typ := s.token(ctx, t, jwtResource, nil)
	header, _, _ := strings.Cut(tok, ".")
	h, _ := base64.RawURLEncoding.DecodeString(header)
	if typ != "Bearer" || !strings.Contains(string(h), `"typ":"at+jwt"`) {
		t.Fatalf("token_type %q, header %s: want a Bearer at+jwt", typ, h)
	}
	status, me, _ := s.me(ctx, t, "Bearer "+tok, "")
	if status != http.StatusOK || me.Sub != confidentialID || me.ClientID != confidentialID || me.Scope != "api:read" {
		t.Fatalf("/api/me: %d %+v", status, me)
	}
	if status, _, _ := s.me(ctx, t, "Bearer "+tok[:len(tok)-4]+"AAAA", ""); status != http.StatusUnauthorized {
		t.Errorf("a forged signature: %d", status)
	}
}

// TestAPIOpaqueAccessTokenRevoked: an opaque access token is accepted
// through introspection, and refused once revoked at the provider, after
// the app's introspection cache time.
func TestAPIOpaqueAccessTokenRevoked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startAPIStack(t)
	tok, _ := s.token(ctx, t, opaqueResource, nil)
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("token %q is a JWT, want an opaque one", tok)
	}
	checked := time.Now()
	status, me, _ := s.me(ctx, t, "Bearer "+tok, "")
	if status != http.StatusOK || me.ClientID != confidentialID || me.Scope != "api:read" {
		t.Fatalf("/api/me: %d %+v", status, me)
	}

	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.issuer+"/token/revocation", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(confidentialID, s.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}
	status, _, _ = s.me(ctx, t, "Bearer "+tok, "")
	if time.Since(checked) < s.cacheTime/2 && status != http.StatusOK {
		t.Errorf("right after the revocation, within the cache time: %d, want 200 (the documented delay)", status)
	}
	time.Sleep(time.Until(checked.Add(s.cacheTime + 100*time.Millisecond)))
	status, me, challenges := s.me(ctx, t, "Bearer "+tok, "")
	if status != http.StatusUnauthorized || me.Error != "invalid_token" || !strings.Contains(strings.Join(challenges, " "), `error="invalid_token"`) {
		t.Fatalf("after revocation and the cache time: %d %+v %q", status, me, challenges)
	}
}

// TestAPIDPoPBoundToken: a DPoP-bound access token (the proof sent to the
// token endpoint binds it) works at /api/me only with a fresh proof of the
// same key for this request.
func TestAPIDPoPBoundToken(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startAPIStack(t)
	key := oidctest.NewDPoPKey("ES256")
	tok, typ := s.token(ctx, t, jwtResource, key)
	if typ != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", typ)
	}
	proof := func(p oidctest.DPoPProof) string {
		if p.Method == "" {
			p.Method = "GET"
		}
		if p.URL == "" {
			p.URL = s.app + "/api/me"
		}
		if p.AccessToken == "" {
			p.AccessToken = tok
		}
		return key.Proof(p)
	}
	fresh := proof(oidctest.DPoPProof{})
	if status, me, _ := s.me(ctx, t, "DPoP "+tok, fresh); status != http.StatusOK || me.ClientID != confidentialID {
		t.Fatalf("with a fresh proof: %d %+v", status, me)
	}
	for _, tt := range []struct {
		name, authz, proof, want string
	}{
		{"the same proof again", "DPoP " + tok, fresh, "invalid_dpop_proof"},
		{"no proof", "DPoP " + tok, "", "invalid_dpop_proof"},
		{"a proof for another URL", "DPoP " + tok, proof(oidctest.DPoPProof{URL: s.app + "/api/other"}), "invalid_dpop_proof"},
		{"a proof of another key", "DPoP " + tok, oidctest.NewDPoPKey("ES256").Proof(oidctest.DPoPProof{Method: "GET", URL: s.app + "/api/me", AccessToken: tok}), "invalid_dpop_proof"},
		{"an old proof", "DPoP " + tok, proof(oidctest.DPoPProof{IssuedAt: time.Now().Add(-5 * time.Minute)}), "invalid_dpop_proof"},
		{"as a bearer token", "Bearer " + tok, "", "invalid_token"},
	} {
		status, me, challenges := s.me(ctx, t, tt.authz, tt.proof)
		if status != http.StatusUnauthorized || me.Error != tt.want || !strings.Contains(strings.Join(challenges, " "), `error="`+tt.want+`"`) {
			t.Errorf("%s: %d %+v %q, want 401 %s", tt.name, status, me, challenges, tt.want)
		}
	}
	if status, _, _ := s.me(ctx, t, "DPoP "+tok, proof(oidctest.DPoPProof{})); status != http.StatusOK {
		t.Errorf("with another fresh proof: %d", status)
	}
}
