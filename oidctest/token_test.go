package oidctest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

// codeFor runs an authorization request for c and returns the code and the
// PKCE pair it was bound to.
func codeFor(t testing.TB, op *oidctest.Server, c oidctest.Client, edit func(url.Values)) (string, pkce) {
	t.Helper()
	p := newPKCE()
	q := authParams(c.ID, p)
	if edit != nil {
		edit(q)
	}
	code, err := codeFrom(authorize(t, op, q))
	if err != nil {
		t.Fatal(err)
	}
	return code, p
}

func TestTokenClientAuthentication(t *testing.T) {
	// An ID and a secret with characters that form-urlencoding changes.
	odd := oidctest.Client{ID: "odd:client id+ü", Secret: "s&c=r+e t%/:0123456789abcdefghijkl"}
	public := oidctest.Client{ID: "public-spa"}
	conf := confidential("conf")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{conf, odd, public}})

	tests := []struct {
		name       string
		client     oidctest.Client // who gets the code
		form       url.Values      // credentials in the body
		basic      []string        // credentials in the header, form-urlencoded
		rawBasic   []string        // credentials in the header, not encoded
		wantStatus int
	}{
		{name: "client_secret_basic", client: conf, basic: []string{conf.ID, conf.Secret}, wantStatus: 200},
		{name: "client_secret_basic, form-urlencoded", client: odd, basic: []string{odd.ID, odd.Secret}, wantStatus: 200},
		{name: "client_secret_basic, not form-urlencoded", client: odd, rawBasic: []string{odd.ID, odd.Secret}, wantStatus: 401},
		{name: "client_secret_post", client: conf, form: url.Values{"client_id": {conf.ID}, "client_secret": {conf.Secret}}, wantStatus: 200},
		{name: "client_secret_post, odd characters", client: odd, form: url.Values{"client_id": {odd.ID}, "client_secret": {odd.Secret}}, wantStatus: 200},
		{name: "public client, client_id only", client: public, form: url.Values{"client_id": {public.ID}}, wantStatus: 200},
		{name: "wrong secret, basic", client: conf, basic: []string{conf.ID, conf.Secret + "x"}, wantStatus: 401},
		{name: "wrong secret, post", client: conf, form: url.Values{"client_id": {conf.ID}, "client_secret": {"nope"}}, wantStatus: 401},
		{name: "confidential client without a secret", client: conf, form: url.Values{"client_id": {conf.ID}}, wantStatus: 401},
		{name: "no credentials", client: conf, wantStatus: 401},
		{name: "unknown client", client: conf, basic: []string{"nobody", conf.Secret}, wantStatus: 401},
		{
			name: "basic and post at once", client: conf,
			basic:      []string{conf.ID, conf.Secret},
			form:       url.Values{"client_id": {conf.ID}, "client_secret": {conf.Secret}},
			wantStatus: 401,
		},
		{name: "public client with a secret", client: public, form: url.Values{"client_id": {public.ID}, "client_secret": {"made-up"}}, wantStatus: 401},
		{name: "public client with basic", client: public, basic: []string{public.ID, ""}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, p := codeFor(t, op, tt.client, nil)
			form := codeForm(code, p)
			for k, v := range tt.form {
				form[k] = v
			}
			var header []string
			if tt.rawBasic != nil {
				header = []string{"Authorization", "Basic " + basicRaw(tt.rawBasic[0], tt.rawBasic[1])}
			}
			r := post(t, op.URL+"/token", form, tt.basic, header...)
			if tt.wantStatus == 200 {
				if r.Status != http.StatusOK {
					t.Fatalf("token endpoint: %s, want 200", r)
				}
				if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				tok, err := decodeTokens(r)
				if err != nil || tok.AccessToken == "" || tok.IDToken == "" || tok.TokenType != "Bearer" {
					t.Errorf("token response %s, err %v", r, err)
				}
				return
			}
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// basicRaw is HTTP Basic credentials without the form-urlencoding RFC 6749
// asks for.
func basicRaw(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(id, secret)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestCodeGrantRefusals(t *testing.T) {
	clk := newClock()
	other := confidential("other")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{oidctest.DefaultClient, other}, Now: clk.Now})
	c := oidctest.DefaultClient

	tests := []struct {
		name string
		// redeem returns the refused token request, made after a correct
		// authorization request for c.
		redeem func(t *testing.T, code string, p pkce) reply
	}{
		{"unknown code", func(t *testing.T, code string, p pkce) reply {
			return tokenCall(t, op, c, codeForm("not-a-code", p))
		}},
		{"no code", func(t *testing.T, code string, p pkce) reply {
			form := codeForm(code, p)
			form.Del("code")
			return tokenCall(t, op, c, form)
		}},
		{"code used twice", func(t *testing.T, code string, p pkce) reply {
			if r := tokenCall(t, op, c, codeForm(code, p)); r.Status != http.StatusOK {
				t.Fatalf("first redemption: %s", r)
			}
			return tokenCall(t, op, c, codeForm(code, p))
		}},
		{"expired code", func(t *testing.T, code string, p pkce) reply {
			clk.Advance(61 * time.Second)
			return tokenCall(t, op, c, codeForm(code, p))
		}},
		{"code of another client", func(t *testing.T, code string, p pkce) reply {
			return tokenCall(t, op, other, codeForm(code, p))
		}},
		{"another redirect_uri", func(t *testing.T, code string, p pkce) reply {
			form := codeForm(code, p)
			form.Set("redirect_uri", callback+"/other")
			return tokenCall(t, op, c, form)
		}},
		{"no redirect_uri", func(t *testing.T, code string, p pkce) reply {
			form := codeForm(code, p)
			form.Del("redirect_uri")
			return tokenCall(t, op, c, form)
		}},
		{"another code_verifier", func(t *testing.T, code string, p pkce) reply {
			return tokenCall(t, op, c, codeForm(code, newPKCE()))
		}},
		{"no code_verifier", func(t *testing.T, code string, p pkce) reply {
			return tokenCall(t, op, c, codeForm(code, pkce{}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, p := codeFor(t, op, c, nil)
			before := op.Stats().FailedGrants
			wantOAuthError(t, tt.redeem(t, code, p), http.StatusBadRequest, "invalid_grant")
			if got := op.Stats().FailedGrants; got != before+1 {
				t.Errorf("Stats().FailedGrants = %d, want %d", got, before+1)
			}
		})
	}

	// The code is good for a minute.
	code, p := codeFor(t, op, c, nil)
	clk.Advance(59 * time.Second)
	if r := tokenCall(t, op, c, codeForm(code, p)); r.Status != http.StatusOK {
		t.Errorf("code redeemed after 59 s: %s", r)
	}
}

// TestPKCEVerifierLength checks RFC 7636 section 4.1: a verifier of 43 to 128
// characters; one outside that length is refused even when its hash matches.
func TestPKCEVerifierLength(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	c := oidctest.DefaultClient
	tests := []struct {
		name       string
		length     int
		wantStatus int
	}{
		{"42 characters", 42, http.StatusBadRequest},
		{"43 characters", 43, http.StatusOK},
		{"128 characters", 128, http.StatusOK},
		{"129 characters", 129, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pkceFor(strings.Repeat("v", tt.length))
			q := authParams(c.ID, p)
			code, err := codeFrom(authorize(t, op, q))
			if err != nil {
				t.Fatal(err)
			}
			r := tokenCall(t, op, c, codeForm(code, p))
			if tt.wantStatus == http.StatusOK {
				if r.Status != http.StatusOK {
					t.Errorf("token endpoint: %s, want 200", r)
				}
				return
			}
			wantOAuthError(t, r, tt.wantStatus, "invalid_grant")
		})
	}
}

// tokenCall posts form to the token endpoint as c, with Basic credentials
// unless c is public.
func tokenCall(t testing.TB, op *oidctest.Server, c oidctest.Client, form url.Values) reply {
	t.Helper()
	r, err := tokenRequest(op, c, authFor(c), form)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRefreshTokenIssuance(t *testing.T) {
	tests := []struct {
		name        string
		always      bool
		scope       string
		wantRefresh bool
	}{
		{"openid", false, "openid", false},
		{"openid profile", false, "openid profile", false},
		{"offline_access", false, "openid offline_access", true},
		{"AlwaysIssueRefreshToken", true, "openid", true},
		{"AlwaysIssueRefreshToken and offline_access", true, "openid offline_access", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, oidctest.Config{AlwaysIssueRefreshToken: tt.always})
			tok := login(t, op, oidctest.DefaultClient, withScope(tt.scope))
			if got := tok.RefreshToken != ""; got != tt.wantRefresh {
				t.Errorf("refresh token issued: %v, want %v", got, tt.wantRefresh)
			}
			if tok.Scope != tt.scope {
				t.Errorf("scope = %q, want %q", tok.Scope, tt.scope)
			}
		})
	}
}

func TestRefreshGrant(t *testing.T) {
	tests := []struct {
		name   string
		rotate bool
	}{
		{"without rotation", false},
		{"with rotation", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			op := newOP(t, oidctest.Config{RotateRefreshTokens: tt.rotate, Now: clk.Now})
			c := oidctest.DefaultClient
			first := login(t, op, c, withScope("openid email offline_access"))
			_, firstClaims := mustVerify(t, op, first.IDToken)
			clk.Advance(10 * time.Minute)

			r := refresh(t, op, c, first.RefreshToken)
			next, err := decodeTokens(r)
			if err != nil {
				t.Fatal(err)
			}
			_, claims := mustVerify(t, op, next.IDToken)
			for _, name := range []string{"iss", "sub", "aud", "sid", "auth_time", "email"} {
				if claims[name] != firstClaims[name] {
					t.Errorf("refreshed ID token %s = %v, want %v as at login", name, claims[name], firstClaims[name])
				}
			}
			if _, ok := claims["nonce"]; ok {
				t.Errorf("refreshed ID token has a nonce %v", claims["nonce"])
			}
			if got, want := numeric(t, claims, "iat"), clk.Now().Unix(); got != want {
				t.Errorf("refreshed ID token iat = %d, want %d", got, want)
			}
			if next.AccessToken == first.AccessToken {
				t.Error("refresh returned the same access token")
			}
			if r := userinfo(t, op, next.AccessToken); r.Status != http.StatusOK {
				t.Errorf("userinfo with the refreshed access token: %s", r)
			}

			if !tt.rotate {
				if next.RefreshToken != "" {
					t.Errorf("a refresh token %q issued without rotation", next.RefreshToken)
				}
				if r := refresh(t, op, c, first.RefreshToken); r.Status != http.StatusOK {
					t.Errorf("second refresh with the same token: %s", r)
				}
				if s := op.Stats(); s.RefreshGrants != 2 || s.RefreshTokenReuses != 0 {
					t.Errorf("Stats() = %+v, want 2 refresh grants and no reuse", s)
				}
				return
			}
			if next.RefreshToken == "" || next.RefreshToken == first.RefreshToken {
				t.Fatalf("rotation issued refresh token %q, want a new one", next.RefreshToken)
			}
			wantOAuthError(t, refresh(t, op, c, first.RefreshToken), http.StatusBadRequest, "invalid_grant")
			if s := op.Stats(); s.RefreshTokenReuses != 1 {
				t.Errorf("Stats().RefreshTokenReuses = %d, want 1", s.RefreshTokenReuses)
			}
			third, err := decodeTokens(refresh(t, op, c, next.RefreshToken))
			if err != nil {
				t.Fatalf("refresh with the rotated-in token: %v", err)
			}
			if third.RefreshToken == "" || third.RefreshToken == next.RefreshToken {
				t.Errorf("second rotation issued refresh token %q", third.RefreshToken)
			}
			if s := op.Stats(); s.RefreshGrants != 2 || s.RefreshTokenReuses != 1 || s.FailedGrants != 1 {
				t.Errorf("Stats() = %+v, want 2 refresh grants, 1 reuse, 1 failed grant", s)
			}
		})
	}
}

func TestRefreshRefusals(t *testing.T) {
	other := confidential("other")
	c := oidctest.DefaultClient
	tests := []struct {
		name string
		// refuse does what should make the refresh of rt by c fail, and
		// returns the refresh answer.
		refuse func(t *testing.T, op *oidctest.Server, rt string) reply
	}{
		{"unknown refresh token", func(t *testing.T, op *oidctest.Server, rt string) reply {
			return refresh(t, op, c, "not-a-refresh-token")
		}},
		{"refresh token of another client", func(t *testing.T, op *oidctest.Server, rt string) reply {
			return refresh(t, op, other, rt)
		}},
		{"session ended by Logout", func(t *testing.T, op *oidctest.Server, rt string) reply {
			if sids := op.Logout("alice"); len(sids) != 1 {
				t.Fatalf("Logout ended %d sessions, want 1", len(sids))
			}
			return refresh(t, op, c, rt)
		}},
		{"an access token as refresh token", func(t *testing.T, op *oidctest.Server, rt string) reply {
			tok := login(t, op, c, nil)
			return refresh(t, op, c, tok.AccessToken)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c, other}, AlwaysIssueRefreshToken: true})
			tok := login(t, op, c, nil)
			wantOAuthError(t, tt.refuse(t, op, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
			if n := op.Stats().RefreshGrants; n != 0 {
				t.Errorf("Stats().RefreshGrants = %d, want 0", n)
			}
		})
	}
}

func TestTokenRequestRefusals(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	c := oidctest.DefaultClient
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantError  string
	}{
		{"password grant", "grant_type=password&username=alice&password=x", 400, "unsupported_grant_type"},
		{"no grant_type", "code=x", 400, "unsupported_grant_type"},
		{"malformed form", "grant_type=authorization_code&code=%zz", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, op.URL+"/token", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, c.Secret)
			r, err := send(req)
			if err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, r, tt.wantStatus, tt.wantError)
		})
	}
	if r := get(t, op.URL+"/token"); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /token: %s, want 405", r)
	}
}

func TestTokenErrorHook(t *testing.T) {
	op := newOP(t, oidctest.Config{AlwaysIssueRefreshToken: true})
	c := oidctest.DefaultClient
	var seen []string
	op.SetHooks(oidctest.Hooks{TokenError: func(grantType string) (int, string) {
		seen = append(seen, grantType)
		if grantType == "refresh_token" {
			return http.StatusServiceUnavailable, "temporarily_unavailable"
		}
		return 0, ""
	}})
	tok := login(t, op, c, nil) // a zero status keeps the correct answer
	wantOAuthError(t, refresh(t, op, c, tok.RefreshToken), http.StatusServiceUnavailable, "temporarily_unavailable")
	if got := strings.Join(seen, ","); got != "authorization_code,refresh_token" {
		t.Errorf("hook saw grant types %s", got)
	}
	if s := op.Stats(); s.FailedGrants != 1 || s.RefreshGrants != 0 || s.CodeGrants != 1 {
		t.Errorf("Stats() = %+v, want 1 code grant, 1 failed grant", s)
	}

	// The hook is not asked about unauthenticated requests.
	seen = nil
	r, err := tokenRequest(op, oidctest.Client{ID: c.ID, Secret: "wrong"}, authBasic, refreshForm(tok.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	if len(seen) != 0 {
		t.Errorf("hook asked about an unauthenticated request: %v", seen)
	}

	op.SetHooks(oidctest.Hooks{})
	if r := refresh(t, op, c, tok.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("refresh after Hooks{}: %s", r)
	}
}

func TestTokenResponseHook(t *testing.T) {
	op := newOP(t, oidctest.Config{AlwaysIssueRefreshToken: true})
	c := oidctest.DefaultClient
	var grants []string
	op.SetHooks(oidctest.Hooks{TokenResponse: func(grantType string, resp map[string]any) {
		grants = append(grants, grantType)
		resp["token_type"] = "MAC"
		delete(resp, "id_token")
	}})
	tok := login(t, op, c, nil)
	if tok.TokenType != "MAC" || tok.IDToken != "" {
		t.Errorf("hooked code grant: token_type %q, id_token %q", tok.TokenType, tok.IDToken)
	}
	next, err := decodeTokens(refresh(t, op, c, tok.RefreshToken))
	if err != nil || next.TokenType != "MAC" {
		t.Errorf("hooked refresh grant: %+v, %v", next, err)
	}
	if got := strings.Join(grants, ","); got != "authorization_code,refresh_token" {
		t.Errorf("hook saw grant types %s", got)
	}
}
