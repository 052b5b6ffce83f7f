package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestPAR: a pushed request's front-channel URL carries client_id and
// request_uri only; the push carries state, nonce, PKCE and the rest; the
// login then completes. AuthCodeURL, which does no I/O, refuses to build
// an unpushed URL.
func TestPAR(t *testing.T) {
	for name, tc := range map[string]struct {
		provider oidctest.Config
		mode     client.PARMode
	}{
		"configured":           {mode: client.PARAlways},
		"required by provider": {provider: oidctest.Config{RequirePushedAuthorizationRequests: true}},
	} {
		t.Run(name, func(t *testing.T) {
			op, rp := newRP(t, tc.provider, func(c *client.Config) {
				c.PushedAuthorizationRequests = tc.mode
				c.ResponseMode = client.ResponseModeQuery
				c.DPoP = true
			})
			if _, _, err := rp.AuthCodeURL(client.AuthRequest{}); !errors.Is(err, client.ErrPARRequired) {
				t.Fatalf("AuthCodeURL = %v, want ErrPARRequired", err)
			}
			u, flow, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{LoginHint: "alice", MaxAge: 60e9})
			if err != nil {
				t.Fatal(err)
			}
			parsed, _ := url.Parse(u)
			if q := parsed.Query(); len(q) != 2 || q.Get("client_id") != op.Client().ID || q.Get("request_uri") == "" ||
				!strings.HasPrefix(u, op.URL+"/authorize?") {
				t.Fatalf("front-channel URL %s", u)
			}
			tokens, err := rp.Callback(testContext(t), flow, authorize(t, u))
			if err != nil || tokens.TokenType != "DPoP" {
				t.Fatalf("Callback = %v, %v", tokens, err)
			}
			if st := op.Stats(); st.PushedRequests != 1 || st.CodeGrants != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestPARPushedParameters: what is pushed, and how the client
// authenticates there.
func TestPARPushedParameters(t *testing.T) {
	var got url.Values
	var user, pass string
	par := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got, user, pass = r.PostForm, "", ""
		user, pass, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}`))
	}))
	t.Cleanup(par.Close)
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["pushed_authorization_request_endpoint"] = par.URL }})
	rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret,
		RedirectURL: "http://127.0.0.1/callback", PushedAuthorizationRequests: client.PARAlways,
		ResponseMode: client.ResponseModeFormPost, DPoP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	u, flow, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{Prompt: "login", Extra: url.Values{"resource": {"https://api.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := op.URL + "/authorize?client_id=" + op.Client().ID + "&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"; u != want {
		t.Fatalf("URL %s, want %s", u, want)
	}
	for name, want := range map[string]string{
		"client_id": op.Client().ID, "redirect_uri": "http://127.0.0.1/callback", "response_type": "code",
		"state": flow.State, "nonce": flow.Nonce, "code_challenge_method": "S256", "prompt": "login",
		"response_mode": "form_post", "dpop_jkt": flow.DPoPKey.Thumbprint(), "resource": "https://api.example",
		"scope": "openid profile email",
	} {
		if got.Get(name) != want {
			t.Errorf("pushed %s = %q, want %q", name, got.Get(name), want)
		}
	}
	if got.Get("code_challenge") == "" || got.Has("client_secret") || user != op.Client().ID || pass != op.Client().Secret {
		t.Errorf("pushed %v, Basic %q", got, user)
	}
}

// TestPARErrors: every failure of the push is an error matching ErrPAR,
// typed when the provider answered with an error, and no URL is returned.
func TestPARErrors(t *testing.T) {
	tests := map[string]struct {
		status      int
		body        string
		code        string // a *PARError with this code, if set
		unavailable bool
		response    bool // ErrProviderResponse
	}{
		"invalid_request":    {status: 400, body: `{"error":"invalid_request","error_description":"bad scope"}`, code: "invalid_request"},
		"invalid_client":     {status: 401, body: `{"error":"invalid_client"}`, code: "invalid_client"},
		"server error":       {status: 503, body: `{"error":"temporarily_unavailable"}`, code: "temporarily_unavailable", unavailable: true},
		"4xx without code":   {status: 400, body: `<html>`, response: true},
		"not JSON":           {status: 201, body: `<html>`, response: true},
		"no request_uri":     {status: 201, body: `{"expires_in":60}`, response: true},
		"request_uri number": {status: 201, body: `{"request_uri":5,"expires_in":60}`, response: true},
		"no expires_in":      {status: 201, body: `{"request_uri":"urn:x"}`, response: true},
		"long request_uri":   {status: 201, body: `{"request_uri":"` + strings.Repeat("u", 3000) + `","expires_in":60}`, response: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			par := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			t.Cleanup(par.Close)
			rp := parRP(t, par.URL)
			u, _, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{})
			if u != "" || !errors.Is(err, client.ErrPAR) {
				t.Fatalf("AuthCodeURLContext = %q, %v; want ErrPAR", u, err)
			}
			var pe *client.PARError
			if tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code || pe.StatusCode != tc.status) {
				t.Fatalf("error %v, want a *PARError %s", err, tc.code)
			}
			if errors.Is(err, client.ErrProviderUnavailable) != tc.unavailable || errors.Is(err, client.ErrProviderResponse) != tc.response {
				t.Fatalf("error %v: unavailable %v, response %v", err, errors.Is(err, client.ErrProviderUnavailable), errors.Is(err, client.ErrProviderResponse))
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		par := httptest.NewServer(http.NotFoundHandler())
		par.Close()
		rp := parRP(t, par.URL)
		if _, _, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{}); !errors.Is(err, client.ErrPAR) || !errors.Is(err, client.ErrProviderUnavailable) {
			t.Fatalf("AuthCodeURLContext = %v", err)
		}
	})
	t.Run("refused by oidctest", func(t *testing.T) {
		op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{{ID: "c", Secret: oidctest.DefaultClient.Secret, RedirectURIs: []string{"http://127.0.0.1/cb"}}}})
		t.Cleanup(op.Close)
		rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: "c", ClientSecret: oidctest.DefaultClient.Secret,
			RedirectURL: "http://127.0.0.1/elsewhere", PushedAuthorizationRequests: client.PARAlways})
		if err != nil {
			t.Fatal(err)
		}
		defer rp.Close()
		var pe *client.PARError
		if _, _, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{}); !errors.As(err, &pe) || pe.Code != "invalid_request" {
			t.Fatalf("unregistered redirect URI: %v", err)
		}
	})
}

func parRP(t *testing.T, endpoint string) *client.RP {
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["pushed_authorization_request_endpoint"] = endpoint }})
	rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret,
		RedirectURL: "http://127.0.0.1/callback", PushedAuthorizationRequests: client.PARAlways})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

// TestPARAndResponseModeConfig: settings the provider cannot serve fail at
// New.
func TestPARAndResponseModeConfig(t *testing.T) {
	tests := map[string]struct {
		discovery func(map[string]any)
		edit      func(*client.Config)
	}{
		"PARAlways without an endpoint": {func(d map[string]any) { delete(d, "pushed_authorization_request_endpoint") },
			func(c *client.Config) { c.PushedAuthorizationRequests = client.PARAlways }},
		"PARNever when required": {func(d map[string]any) { d["require_pushed_authorization_requests"] = true },
			func(c *client.Config) { c.PushedAuthorizationRequests = client.PARNever }},
		"unknown PAR mode":        {nil, func(c *client.Config) { c.PushedAuthorizationRequests = 7 }},
		"unknown response mode":   {nil, func(c *client.Config) { c.ResponseMode = "fragment" }},
		"form_post not supported": {func(d map[string]any) { d["response_modes_supported"] = []string{"query"} }, func(c *client.Config) { c.ResponseMode = client.ResponseModeFormPost }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			op := oidctest.NewServer(oidctest.Config{})
			t.Cleanup(op.Close)
			if tc.discovery != nil {
				op.SetHooks(oidctest.Hooks{Discovery: tc.discovery})
			}
			cfg := client.Config{Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret, RedirectURL: "http://127.0.0.1/callback"}
			tc.edit(&cfg)
			if rp, err := client.New(testContext(t), cfg); !errors.Is(err, client.ErrInvalidConfig) {
				if rp != nil {
					rp.Close()
				}
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestFormPostResponseMode: response_mode=form_post is sent, the provider
// posts the response to the redirect URI, and the posted parameters are
// checked as a query is.
func TestFormPostResponseMode(t *testing.T) {
	var posted url.Values
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.ParseForm()
			posted = r.PostForm
		}
	}))
	t.Cleanup(cb.Close)
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) {
		c.ResponseMode = client.ResponseModeFormPost
		c.RedirectURL = cb.URL + "/callback"
	})
	u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
	if err != nil || !strings.Contains(u, "response_mode=form_post") {
		t.Fatalf("AuthCodeURL = %s, %v", u, err)
	}
	// oidctest's browser submits the provider's auto-posting page.
	if _, err := oidctest.NewBrowser().Get(testContext(t), u); err != nil {
		t.Fatal(err)
	}
	if posted.Get("code") == "" || posted.Get("state") != flow.State {
		t.Fatalf("posted %v", posted)
	}
	if _, err := rp.Callback(testContext(t), flow, posted); err != nil {
		t.Fatalf("Callback with the posted form: %v", err)
	}
	posted.Set("state", "forged")
	if _, err := rp.Callback(testContext(t), flow, posted); !errors.Is(err, client.ErrStateMismatch) {
		t.Fatalf("Callback with a forged state: %v", err)
	}
}
