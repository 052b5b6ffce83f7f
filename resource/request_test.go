package resource_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// TestRequestErrors sends requests whose credentials are missing or sent
// the wrong way, and checks the answers of RFC 6750 section 3.1.
func TestRequestErrors(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	tok := a.op.AccessToken(oidctest.AccessTokenOptions{})
	with := func(edit func(r *http.Request)) func() *http.Request {
		return func() *http.Request {
			r := request("GET", "/v1/things", "")
			edit(r)
			return r
		}
	}
	tests := []struct {
		name   string
		mk     func() *http.Request
		want   error
		status int
		code   string // the challenge's error; "" for none
	}{
		{"no Authorization header", with(func(*http.Request) {}), resource.ErrNoToken, 401, ""},
		{"Basic credentials", with(func(r *http.Request) { r.SetBasicAuth("a", "b") }), resource.ErrNoToken, 401, ""},
		{"scheme in lower case", with(func(r *http.Request) { r.Header.Set("Authorization", "bearer "+tok) }), nil, 200, ""},
		{"two Authorization headers", with(func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+tok)
			r.Header.Add("Authorization", "Bearer "+tok)
		}), resource.ErrInvalidRequest, 400, "invalid_request"},
		{"Bearer without a token", with(func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }), resource.ErrInvalidRequest, 400, "invalid_request"},
		{"Bearer alone", with(func(r *http.Request) { r.Header.Set("Authorization", "Bearer") }), resource.ErrInvalidRequest, 400, "invalid_request"},
		{"not a token68", with(func(r *http.Request) { r.Header.Set("Authorization", `Bearer a"b`) }), resource.ErrInvalidRequest, 400, "invalid_request"},
		{"token in the query string", func() *http.Request {
			return request("GET", "/v1/things?access_token="+tok, "")
		}, resource.ErrInvalidRequest, 400, "invalid_request"},
		{"token in the query string besides the header", func() *http.Request {
			return request("GET", "/v1/things?x=1&access_token="+tok, "Bearer "+tok)
		}, resource.ErrInvalidRequest, 400, "invalid_request"},
		{"a query without a token", func() *http.Request {
			return request("GET", "/v1/things?no_access_token_here=1", "Bearer "+tok)
		}, nil, 200, ""},
		{"token over MaxTokenLength", with(func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 16<<10+1))
		}), resource.ErrMalformedToken, 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ans := a.check(t, tt.mk, tt.want, tt.status)
			if tt.status == http.StatusOK {
				return
			}
			c := ans.challenge("Bearer")
			if tt.code == "" && c != "Bearer" {
				t.Errorf("challenge %q, want a bare Bearer", c)
			}
			if tt.code != "" && !strings.Contains(c, `error="`+tt.code+`"`) {
				t.Errorf("challenge %q, want error %q", c, tt.code)
			}
			if d := ans.challenge("DPoP"); d != `DPoP algs="ES256 ES384 ES512 RS256 PS256 EdDSA"` {
				t.Errorf("DPoP challenge %q", d)
			}
			if ans.header.Get("Content-Type") != "application/json" || ans.body["error_description"] == "" {
				t.Errorf("body %v (%s)", ans.body, ans.header.Get("Content-Type"))
			}
		})
	}
}

// TestRealm checks that the realm is in every challenge.
func TestRealm(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.Realm = `api "v1"`; c.Origin = "" })
	ans := a.serve(request("GET", "/", ""))
	if len(ans.challenges) != 1 || ans.challenges[0] != `Bearer realm="api v1"` {
		t.Fatalf("challenges %q", ans.challenges)
	}
}

// TestSession checks Config.Session: a request without an Authorization
// header may pass with the app's session; with one, the token decides.
func TestSession(t *testing.T) {
	var (
		ok      bool
		failure error
		asked   int
	)
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) {
		c.Session = func(r *http.Request) (string, bool, error) {
			asked++
			return "carol", ok, failure
		}
	})
	ok = true
	ans := a.serve(request("GET", "/", ""), "scope-a-session-lacks")
	if ans.status != http.StatusOK || ans.token.Subject != "carol" || !ans.token.FromSession {
		t.Fatalf("with a session: %d %+v", ans.status, ans.token)
	}
	ok = false
	a.check(t, func() *http.Request { return request("GET", "/", "") }, resource.ErrNoToken, 401)
	failure = errors.New("store down")
	a.check(t, func() *http.Request { return request("GET", "/", "") }, resource.ErrUnavailable, 503)
	ok, failure, asked = true, nil, 0
	a.check(t, bearer("not-a-valid-token"), resource.ErrInactive, 401)
	if asked != 0 {
		t.Errorf("the session was asked about a request with a token")
	}
}

func TestConfig(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	ok := resource.Config{Issuer: op.URL, Audience: "api"}
	for _, tt := range []struct {
		name string
		edit func(*resource.Config)
	}{
		{"no issuer", func(c *resource.Config) { c.Issuer = "" }},
		{"no audience", func(c *resource.Config) { c.Audience = "" }},
		{"negative skew", func(c *resource.Config) { c.ClockSkew = -1 }},
		{"skew over 5 minutes", func(c *resource.Config) { c.ClockSkew = 6 * 60e9 }},
		{"client ID without secret", func(c *resource.Config) { c.ClientID = "rs" }},
		{"unknown auth method", func(c *resource.Config) { c.ClientID, c.ClientSecret, c.AuthMethod = "rs", "s", "private_key_jwt" }},
		{"origin with a path", func(c *resource.Config) { c.Origin = "https://api.example.com/v1" }},
		{"origin not a URL", func(c *resource.Config) { c.Origin = "api.example.com" }},
		{"HS256 for proofs", func(c *resource.Config) { c.DPoPAlgorithms = []string{"HS256"} }},
		{"short nonce key", func(c *resource.Config) { c.DPoPNonceKey = []byte("short") }},
		{"negative MaxTokenLength", func(c *resource.Config) { c.MaxTokenLength = -1 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			if _, err := resource.New(testContext(t), cfg); !errors.Is(err, resource.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	v, err := resource.New(testContext(t), ok)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "introspection_endpoint") }})
	cfg := ok
	cfg.ClientID, cfg.ClientSecret = "rs", "secret"
	if _, err := resource.New(testContext(t), cfg); !errors.Is(err, resource.ErrInvalidConfig) {
		t.Fatalf("introspection without an endpoint: %v", err)
	}
	secret := resource.Config{Issuer: op.URL, Audience: "api", ClientID: "rs", ClientSecret: "hunter2"}
	for _, s := range []string{secret.String(), secret.GoString()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if b, _ := secret.MarshalJSON(); strings.Contains(string(b), "hunter2") {
		t.Errorf("secret in JSON: %s", b)
	}
}
