package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
)

// multiTenantOP is a test provider playing a multi-tenant one: its
// discovery document names an issuer template, its ID tokens the issuer of
// their tenant (tid), and its authorization responses no iss (as Microsoft
// Entra ID's).
func multiTenantOP(t *testing.T) (op *oidctest.Server, template string, tenant func(tid, iss string)) {
	op = oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	template = op.URL + "/{tenantid}/v2.0"
	tenant = func(tid, iss string) {
		op.SetHooks(oidctest.Hooks{
			Discovery: func(d map[string]any) {
				d["issuer"] = template
				delete(d, "authorization_response_iss_parameter_supported")
			},
			AuthorizeResponse: func(q url.Values) { q.Del("iss") },
			IDToken: func(c map[string]any) {
				c["tid"] = tid
				c["iss"] = iss
			},
		})
	}
	tenant("", "")
	return op, template, tenant
}

// TestMultiTenant: a multi-tenant provider's document names a template,
// never skipped: ID tokens must name an allowed tenant, and the issuer the
// template makes of it.
func TestMultiTenant(t *testing.T) {
	op, template, tenant := multiTenantOP(t)
	issuerOf := func(tid string) string { return strings.ReplaceAll(template, "{tenantid}", tid) }
	newRP := func(mt *client.MultiTenant) *client.RP {
		t.Helper()
		c := op.Client()
		rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret,
			RedirectURL: "http://127.0.0.1/callback", MultiTenant: mt})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rp.Close() })
		return rp
	}
	allowed := newRP(&client.MultiTenant{IssuerTemplate: template, Tenants: []string{"tenant-a"}})
	anyTenant := newRP(&client.MultiTenant{IssuerTemplate: template, AnyTenant: true})
	tests := []struct {
		name     string
		rp       *client.RP
		tid, iss string
		want     error
	}{
		{"allowed tenant", allowed, "tenant-a", issuerOf("tenant-a"), nil},
		{"tenant outside the allow-list", allowed, "tenant-b", issuerOf("tenant-b"), client.ErrInvalidIssuer},
		{"tid that does not match its iss", allowed, "tenant-a", issuerOf("tenant-b"), client.ErrInvalidIssuer},
		{"iss of the allowed tenant, another tid", allowed, "tenant-b", issuerOf("tenant-a"), client.ErrInvalidIssuer},
		{"no tid", allowed, "", issuerOf("tenant-a"), client.ErrInvalidIssuer},
		{"the template itself", allowed, "tenant-a", template, client.ErrInvalidIssuer},
		{"a tid with a slash", allowed, "tenant-a/x", issuerOf("tenant-a/x"), client.ErrInvalidIssuer},
		{"any tenant", anyTenant, "tenant-b", issuerOf("tenant-b"), nil},
		{"any tenant, tid not its iss", anyTenant, "tenant-b", issuerOf("tenant-a"), client.ErrInvalidIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant(tt.tid, tt.iss)
			tokens, err := login(t, tt.rp, client.AuthRequest{})
			if !errors.Is(err, tt.want) || (tt.want == nil && tokens.IDToken.TenantID != tt.tid) {
				t.Fatalf("login: %v, want %v", err, tt.want)
			}
		})
	}

	// The document must name the template: another issuer is refused at
	// discovery, not skipped.
	_, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/cb",
		MultiTenant: &client.MultiTenant{IssuerTemplate: op.URL + "/{tenantid}/v9", AnyTenant: true}})
	if !errors.Is(err, discovery.ErrIssuerMismatch) {
		t.Errorf("a document naming another template: %v", err)
	}
	for _, mt := range []*client.MultiTenant{
		{IssuerTemplate: "https://login.example.com/v2.0", AnyTenant: true},
		{IssuerTemplate: template},
		{IssuerTemplate: template, Tenants: []string{"a/b"}},
	} {
		if _, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/cb", MultiTenant: mt}); !errors.Is(err, client.ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", mt, err)
		}
	}
}

// TestCheckIDToken: the provider-specific check runs on every ID token,
// and its refusal is a token error.
func TestCheckIDToken(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) {
		c.CheckIDToken = func(t *client.IDToken) error {
			var c struct {
				HD string `json:"hd"`
			}
			if err := t.Claims(&c); err != nil || c.HD != "example.com" {
				return errors.New("not a user of example.com")
			}
			return nil
		}
	})
	op.SetHooks(oidctest.Hooks{IDToken: func(c map[string]any) { c["hd"] = "example.com" }})
	if _, err := login(t, rp, client.AuthRequest{}); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	op.SetHooks(oidctest.Hooks{IDToken: func(c map[string]any) { c["hd"] = "evil.example.com" }})
	if _, err := login(t, rp, client.AuthRequest{}); !errors.Is(err, client.ErrIDTokenRefused) || !errors.Is(err, client.ErrInvalidToken) {
		t.Fatalf("refused: %v", err)
	}
}

// TestAuthParams: sent with every request, overridden by a request's own
// Extra, and never in place of the client's own parameters.
func TestAuthParams(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) {
		c.AuthParams = url.Values{"access_type": {"offline"}, "hd": {"example.com"}}
	})
	u, _, err := rp.AuthCodeURL(client.AuthRequest{Extra: url.Values{"hd": {"other.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	q := must(url.Parse(u)).Query()
	if q.Get("access_type") != "offline" || len(q["hd"]) != 1 || q.Get("hd") != "other.example.com" {
		t.Fatalf("query %v", q)
	}
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	_, err = client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/cb", AuthParams: url.Values{"state": {"x"}}})
	if !errors.Is(err, client.ErrInvalidConfig) {
		t.Fatalf("AuthParams setting state: %v", err)
	}
}

// TestClientSecretFunc: a secret made per request (Sign in with Apple's)
// authenticates like a static one; its failure fails the request.
func TestClientSecretFunc(t *testing.T) {
	calls := 0
	var fail error
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) {
		secret := c.ClientSecret
		c.ClientSecret, c.AuthMethod = "", client.AuthClientSecretPost
		c.ClientSecretFunc = func(context.Context) (string, error) { calls++; return secret, fail }
	})
	if _, err := login(t, rp, client.AuthRequest{}); err != nil || calls != 1 {
		t.Fatalf("login: %v, %d calls", err, calls)
	}
	fail = errors.New("no key")
	if _, err := login(t, rp, client.AuthRequest{}); !errors.Is(err, client.ErrClientAssertion) {
		t.Fatalf("login with the secret failing: %v", err)
	}
}

// githubAPI stands in for an OAuth 2.0 provider's user API.
func githubAPI(t *testing.T, user string) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(user))
	}))
	t.Cleanup(api.Close)
	return api
}

// TestOAuth2Provider: a provider without OpenID Connect: no openid scope,
// no nonce, no ID token; the identity is what its API says.
func TestOAuth2Provider(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	api := githubAPI(t, `{"id":583231,"login":"octocat","name":"The Octocat"}`)
	identity := func(ctx context.Context, c *http.Client, token string) (*client.Identity, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/user", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var u struct {
			ID   json.Number `json:"id"`
			Name string      `json:"name"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			return nil, err
		}
		claims, _ := json.Marshal(map[string]any{"name": u.Name})
		return &client.Identity{Subject: u.ID.String(), Claims: claims}, nil
	}
	c := op.Client()
	rp, err := client.New(testContext(t), client.Config{
		ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: "http://127.0.0.1/callback", Scopes: []string{"read:user"},
		OAuth2: &client.OAuth2Provider{Issuer: op.URL, AuthURL: op.URL + "/authorize", TokenURL: op.URL + "/token", Identity: identity},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	q := must(url.Parse(u)).Query()
	if q.Get("scope") != "read:user" || q.Has("nonce") || q.Get("code_challenge") == "" || q.Get("state") == "" || flow.Nonce != "" {
		t.Fatalf("authorization request %v", q)
	}
	tokens, err := rp.Callback(testContext(t), flow, authorize(t, u))
	if err != nil {
		t.Fatal(err)
	}
	if tokens.IDToken != nil || tokens.Identity == nil || tokens.Identity.Subject != "583231" || string(tokens.Identity.Claims) != `{"name":"The Octocat"}` {
		t.Fatalf("tokens %v, identity %+v", tokens, tokens.Identity)
	}
	if rp.Config().Issuer != op.URL {
		t.Fatalf("issuer %q", rp.Config().Issuer)
	}
	if _, err := client.New(testContext(t), client.Config{ClientID: "c", RedirectURL: "http://127.0.0.1/cb", OAuth2: &client.OAuth2Provider{Issuer: "https://x.example"}}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Fatalf("OAuth2 without endpoints: %v", err)
	}
}

// TestResponseClaims: claims a provider sends in the authorization
// response itself (Apple's "user") come back with the tokens.
func TestResponseClaims(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) {
		c.ResponseClaims = func(q url.Values) (json.RawMessage, error) {
			if q.Get("user") == "" {
				return nil, nil
			}
			var u struct {
				Name struct{ FirstName, LastName string } `json:"name"`
			}
			if err := json.Unmarshal([]byte(q.Get("user")), &u); err != nil {
				return nil, err
			}
			return json.Marshal(map[string]string{"given_name": u.Name.FirstName, "family_name": u.Name.LastName})
		}
	})
	op.SetHooks(oidctest.Hooks{AuthorizeResponse: func(q url.Values) {
		q.Set("user", `{"name":{"firstName":"Jane","lastName":"Appleseed"}}`)
	}})
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil || string(tokens.ResponseClaims) != `{"family_name":"Appleseed","given_name":"Jane"}` {
		t.Fatalf("login: %v, claims %s", err, tokens.ResponseClaims)
	}
	op.SetHooks(oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Set("user", "{garbage") }})
	if _, err := login(t, rp, client.AuthRequest{}); !errors.Is(err, client.ErrMalformedResponse) {
		t.Fatalf("garbage user: %v", err)
	}
}
