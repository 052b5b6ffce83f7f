package resource_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// set returns an edit that sets claims, given as name, value pairs.
func set(kv ...any) func(map[string]any) {
	return func(c map[string]any) {
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
	}
}

// del returns an edit that deletes claims.
func del(names ...string) func(map[string]any) {
	return func(c map[string]any) {
		for _, n := range names {
			delete(c, n)
		}
	}
}

func bearer(tok string) func() *http.Request {
	return func() *http.Request { return request("GET", "/v1/things", "Bearer "+tok) }
}

// TestJWTViolations presents a JWT access token breaking each check of RFC
// 9068 section 4 and asserts its error and Require's answer.
func TestJWTViolations(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	now := time.Now()
	mint := func(o oidctest.AccessTokenOptions) string { return a.op.AccessToken(o) }
	validClaims := func() map[string]any {
		return map[string]any{"iss": a.op.URL, "sub": "alice", "aud": oidctest.DefaultAudience, "client_id": "c",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", mint(oidctest.AccessTokenOptions{Scope: "read write"}), nil},
		{"typ application/at+jwt", mint(oidctest.AccessTokenOptions{Type: "application/at+jwt"}), nil},
		{"one of several audiences", mint(oidctest.AccessTokenOptions{Audience: []string{"other", oidctest.DefaultAudience}}), nil},
		{"nbf within the clock skew", mint(oidctest.AccessTokenOptions{Edit: set("nbf", now.Add(20*time.Second).Unix())}), nil},
		{"typ JWT (an ID token's)", mint(oidctest.AccessTokenOptions{Type: "JWT"}), resource.ErrInvalidTokenType},
		{"no typ", a.op.SignJWT(validClaims(), ""), resource.ErrInvalidTokenType},
		{"typ logout+jwt", mint(oidctest.AccessTokenOptions{Type: "logout+jwt"}), resource.ErrInvalidTokenType},
		{"alg none", mint(oidctest.AccessTokenOptions{Signing: oidctest.SignNone}), resource.ErrUnsupportedAlgorithm},
		{"HS256", mint(oidctest.AccessTokenOptions{Signing: oidctest.SignHS256}), resource.ErrUnsupportedAlgorithm},
		{"key outside the key set", mint(oidctest.AccessTokenOptions{Signing: oidctest.SignWrongKey}), resource.ErrInvalidSignature},
		{"unknown kid", mint(oidctest.AccessTokenOptions{Signing: oidctest.SignUnknownKey}), discovery.ErrUnknownKey},
		{"corrupt signature", mint(oidctest.AccessTokenOptions{Signing: oidctest.CorruptSignature}), resource.ErrInvalidSignature},
		{"other issuer", mint(oidctest.AccessTokenOptions{Edit: set("iss", "https://evil.example.com")}), resource.ErrInvalidIssuer},
		{"issuer with a trailing slash", mint(oidctest.AccessTokenOptions{Edit: set("iss", a.op.URL+"/")}), resource.ErrInvalidIssuer},
		{"no issuer", mint(oidctest.AccessTokenOptions{Edit: del("iss")}), resource.ErrInvalidIssuer},
		{"other audience", mint(oidctest.AccessTokenOptions{Audience: []string{"https://other.example"}}), resource.ErrInvalidAudience},
		{"no audience", mint(oidctest.AccessTokenOptions{Edit: del("aud")}), resource.ErrInvalidAudience},
		{"expired an hour ago", mint(oidctest.AccessTokenOptions{TTL: -time.Hour}), resource.ErrExpired},
		{"expired 2 s ago: no clock skew for exp", mint(oidctest.AccessTokenOptions{TTL: -2 * time.Second}), resource.ErrExpired},
		{"no exp", mint(oidctest.AccessTokenOptions{Edit: del("exp")}), resource.ErrExpired},
		{"not yet valid", mint(oidctest.AccessTokenOptions{Edit: set("nbf", now.Add(time.Hour).Unix())}), resource.ErrNotYetValid},
		{"issued in the future", mint(oidctest.AccessTokenOptions{Edit: set("iat", now.Add(time.Hour).Unix())}), resource.ErrIssuedInFuture},
		{"no iat", mint(oidctest.AccessTokenOptions{Edit: del("iat")}), resource.ErrMalformedToken},
		{"no sub", mint(oidctest.AccessTokenOptions{Edit: del("sub")}), resource.ErrMissingSubject},
		{"exp not a number", mint(oidctest.AccessTokenOptions{Edit: set("exp", "tomorrow")}), resource.ErrMalformedToken},
		{"scope not a string", mint(oidctest.AccessTokenOptions{Edit: set("scope", []string{"read"})}), resource.ErrMalformedToken},
		{"cnf without jkt", mint(oidctest.AccessTokenOptions{Edit: set("cnf", map[string]any{"x5t#S256": "abc"})}), resource.ErrMalformedToken},
		{"DPoP-bound, sent as Bearer", mint(oidctest.AccessTokenOptions{JKT: oidctest.NewDPoPKey("").Thumbprint()}), resource.ErrDPoPRequired},
		{"not a JWS: introspected, unknown", base64.RawURLEncoding.EncodeToString([]byte("{")) + ".e30.c2ln", resource.ErrInactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if tt.want != nil {
				status = http.StatusUnauthorized
			}
			tok, ans := a.check(t, bearer(tt.token), tt.want, status)
			if tt.want == nil {
				if tok.Subject != oidctest.DefaultUser.Subject || tok.ClientID != oidctest.DefaultClient.ID || tok.Issuer != a.op.URL ||
					tok.Introspected || tok.Expiry.IsZero() || tok.IssuedAt.IsZero() {
					t.Fatalf("token = %+v", tok)
				}
				return
			}
			if !errors.Is(tt.want, resource.ErrInvalidToken) && !errors.Is(tt.want, discovery.ErrUnknownKey) {
				t.Fatalf("%v does not match ErrInvalidToken", tt.want)
			}
			c := ans.challenge("Bearer")
			if !strings.Contains(c, `error="invalid_token"`) || !strings.Contains(c, `error_description="`) {
				t.Errorf("Bearer challenge %q", c)
			}
			if d := ans.challenge("DPoP"); !strings.HasPrefix(d, `DPoP algs="`) || strings.Contains(d, "error=") {
				t.Errorf("DPoP challenge %q, want algs only", d)
			}
			if ans.body["error"] != "invalid_token" || ans.body["error_description"] == "" {
				t.Errorf("body %v", ans.body)
			}
			if got := ans.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
		})
	}
}

func TestInsecureAllowJWTType(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.InsecureAllowJWTType = true })
	now := time.Now()
	for _, tok := range []string{
		a.op.AccessToken(oidctest.AccessTokenOptions{Type: "JWT"}),
		a.op.SignJWT(map[string]any{"iss": a.op.URL, "sub": "alice", "aud": oidctest.DefaultAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}, ""),
	} {
		a.check(t, bearer(tok), nil, http.StatusOK)
	}
	a.check(t, bearer(a.op.AccessToken(oidctest.AccessTokenOptions{Type: "logout+jwt"})), resource.ErrInvalidTokenType, http.StatusUnauthorized)
}

func TestTokenFields(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	tok, _ := a.check(t, bearer(a.op.AccessToken(oidctest.AccessTokenOptions{Subject: "bob", ClientID: "cli", Scope: "read  write",
		Edit: set("tenant", "acme")})), nil, http.StatusOK)
	var claims struct {
		Tenant string `json:"tenant"`
	}
	if err := tok.Claims(&claims); err != nil || claims.Tenant != "acme" {
		t.Errorf("Claims: %+v, %v", claims, err)
	}
	if tok.Subject != "bob" || tok.ClientID != "cli" || tok.Scope != "read  write" || !slices.Equal(tok.Scopes(), []string{"read", "write"}) ||
		!tok.HasScope("write") || tok.HasScope("rea") || tok.JKT != "" || tok.FromSession {
		t.Errorf("token = %+v, scopes %q", tok, tok.Scopes())
	}
}

// TestScopes checks required scopes: all must be present, else 403
// insufficient_scope naming them (RFC 6750 section 3.1).
func TestScopes(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	tok := a.op.AccessToken(oidctest.AccessTokenOptions{Scope: "read profile"})
	if ans := a.serve(bearer(tok)(), "read", "profile"); ans.status != http.StatusOK {
		t.Fatalf("all scopes: %d", ans.status)
	}
	ans := a.serve(bearer(tok)(), "read", "write")
	c := ans.challenge("Bearer")
	if ans.status != http.StatusForbidden || !strings.Contains(c, `error="insufficient_scope"`) || !strings.Contains(c, `scope="read write"`) ||
		ans.body["error"] != "insufficient_scope" {
		t.Fatalf("missing scope: %d %q %v", ans.status, ans.challenges, ans.body)
	}
	noScope := a.op.AccessToken(oidctest.AccessTokenOptions{})
	if ans := a.serve(bearer(noScope)(), "read"); ans.status != http.StatusForbidden {
		t.Fatalf("no scope claim: %d", ans.status)
	}
	if ans := a.serve(bearer(noScope)()); ans.status != http.StatusOK {
		t.Fatalf("no scope required: %d", ans.status)
	}
	var se *resource.ScopeError
	err := error(&resource.ScopeError{Required: []string{"a"}, Missing: []string{"a"}})
	if !errors.As(err, &se) || !errors.Is(err, resource.ErrInsufficientScope) || errors.Is(err, resource.ErrInvalidToken) {
		t.Fatal("ScopeError does not match ErrInsufficientScope alone")
	}
}
