package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/providers"
)

var creds = providers.Credentials{ClientID: "app", ClientSecret: "app-secret-0123456789abcdefghijklmnop", RedirectURL: "http://127.0.0.1/callback"}

// onTestProvider points a preset's Config at a test provider, keeping what
// the preset set otherwise.
func onTestProvider(cfg client.Config, op *oidctest.Server) client.Config {
	c := op.Client()
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = op.URL, c.ID, c.Secret, "http://127.0.0.1/callback"
	return cfg
}

// login runs a login against the test provider and returns its outcome.
func login(t *testing.T, cfg client.Config) (*client.Tokens, error) {
	t.Helper()
	rp, err := client.New(testutil.Context(t), cfg)
	if err != nil {
		return nil, err
	}
	defer rp.Close()
	u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
	if err != nil {
		return nil, err
	}
	return rp.Callback(testutil.Context(t), flow, follow(t, u))
}

// follow fetches an authorization URL and returns the query of the
// provider's redirect back.
func follow(t *testing.T, u string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization: %d %v", resp.StatusCode, err)
	}
	return loc.Query()
}

func TestGoogle(t *testing.T) {
	cfg := providers.Google(creds, "example.com")
	q := cfg.AuthParams
	if cfg.Issuer != "https://accounts.google.com" || q.Get("access_type") != "offline" || q.Get("include_granted_scopes") != "true" ||
		q.Get("hd") != "example.com" || cfg.CheckIDToken == nil {
		t.Fatalf("config %+v", cfg)
	}
	if any := providers.Google(creds); any.CheckIDToken != nil || any.AuthParams.Has("hd") {
		t.Fatalf("without domains: %+v", any)
	}
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	alias := strings.TrimPrefix(op.URL, "http://") // "accounts.google.com", without the scheme
	cfg = onTestProvider(providers.Google(creds, "example.com", "example.org"), op)
	cfg.IssuerAliases = []string{alias}
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
		want error
	}{
		{"allowed domain", func(c map[string]any) { c["hd"] = "example.org" }, nil},
		{"issuer without https (Google's other spelling)", func(c map[string]any) { c["hd"] = "example.com"; c["iss"] = alias }, nil},
		{"other domain", func(c map[string]any) { c["hd"] = "evil.example.com" }, providers.ErrHostedDomain},
		{"no hd: a consumer account", func(map[string]any) {}, providers.ErrHostedDomain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op.SetHooks(oidctest.Hooks{IDToken: tt.edit})
			_, err := login(t, cfg)
			if !errors.Is(err, tt.want) || (tt.want != nil && !errors.Is(err, client.ErrIDTokenRefused)) {
				t.Fatalf("login: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMicrosoft(t *testing.T) {
	if cfg := providers.Microsoft(creds, "contoso.onmicrosoft.com"); cfg.Issuer != "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0" || cfg.MultiTenant != nil {
		t.Fatalf("single tenant: %+v", cfg)
	}
	cfg := providers.MicrosoftMultiTenant(creds, "organizations", "tenant-a")
	if cfg.Issuer != "https://login.microsoftonline.com/organizations/v2.0" ||
		cfg.MultiTenant.IssuerTemplate != "https://login.microsoftonline.com/{tenantid}/v2.0" || cfg.MultiTenant.Tenants[0] != "tenant-a" || cfg.MultiTenant.AnyTenant {
		t.Fatalf("multi-tenant: %+v %+v", cfg, cfg.MultiTenant)
	}
	// Entra's quirks against the test provider: a document naming the
	// template, tokens naming their tenant's issuer, no iss in responses.
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	template := op.URL + "/{tenantid}/v2.0"
	tenant := func(tid, iss string) {
		op.SetHooks(oidctest.Hooks{
			Discovery: func(d map[string]any) {
				d["issuer"] = template
				delete(d, "authorization_response_iss_parameter_supported")
			},
			AuthorizeResponse: func(q url.Values) { q.Del("iss") },
			IDToken:           func(c map[string]any) { c["tid"], c["iss"] = tid, iss },
		})
	}
	cfg = onTestProvider(cfg, op)
	cfg.MultiTenant.IssuerTemplate = template
	issuerOf := func(tid string) string { return op.URL + "/" + tid + "/v2.0" }
	for _, tt := range []struct {
		name, tid, iss string
		want           error
	}{
		{"allowed tenant", "tenant-a", issuerOf("tenant-a"), nil},
		{"tenant outside the allow-list", "tenant-b", issuerOf("tenant-b"), client.ErrInvalidIssuer},
		{"tid that does not match its iss", "tenant-b", issuerOf("tenant-a"), client.ErrInvalidIssuer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tenant(tt.tid, tt.iss)
			tokens, err := login(t, cfg)
			if !errors.Is(err, tt.want) || (err == nil && (tokens.IDToken.TenantID != tt.tid || tokens.IDToken.Issuer != tt.iss)) {
				t.Fatalf("login: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOktaAuth0KeycloakGitLab(t *testing.T) {
	for _, tt := range []struct {
		cfg    client.Config
		issuer string
	}{
		{providers.Okta(creds, "example.okta.com", ""), "https://example.okta.com"},
		{providers.Okta(creds, "example.okta.com", "default"), "https://example.okta.com/oauth2/default"},
		{providers.Auth0(creds, "example.eu.auth0.com", ""), "https://example.eu.auth0.com/"},
		{providers.Keycloak(creds, "https://sso.example.com/", "staff"), "https://sso.example.com/realms/staff"},
		{providers.GitLab(creds, ""), "https://gitlab.com"},
		{providers.GitLab(creds, "https://git.example.com/"), "https://git.example.com"},
	} {
		if tt.cfg.Issuer != tt.issuer {
			t.Errorf("issuer %q, want %q", tt.cfg.Issuer, tt.issuer)
		}
	}
	if cfg := providers.Auth0(creds, "example.eu.auth0.com", "https://api.example.com"); cfg.AuthParams.Get("audience") != "https://api.example.com" {
		t.Errorf("Auth0 audience: %v", cfg.AuthParams)
	}
	// Auth0's issuer ends with a slash: kept, and checked exactly.
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.SetHooks(oidctest.Hooks{
		Discovery:         func(d map[string]any) { d["issuer"] = op.URL + "/" },
		AuthorizeResponse: func(q url.Values) { q.Set("iss", op.URL+"/") },
		IDToken:           func(c map[string]any) { c["iss"] = op.URL + "/" },
	})
	cfg := onTestProvider(providers.Auth0(creds, "example.eu.auth0.com", ""), op)
	cfg.Issuer = op.URL + "/"
	if _, err := login(t, cfg); err != nil {
		t.Fatalf("Auth0-style issuer: %v", err)
	}
	op.SetHooks(oidctest.Hooks{
		Discovery:         func(d map[string]any) { d["issuer"] = op.URL + "/" },
		AuthorizeResponse: func(q url.Values) { q.Set("iss", op.URL+"/") },
		IDToken:           func(c map[string]any) { c["iss"] = op.URL },
	})
	if _, err := login(t, cfg); !errors.Is(err, client.ErrInvalidIssuer) {
		t.Fatalf("a token without the slash: %v", err)
	}
}

func TestApple(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cfg, err := providers.Apple(creds, providers.AppleKey{TeamID: "TEAM123456", KeyID: "KEY1234567", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "https://appleid.apple.com" || cfg.AuthMethod != client.AuthClientSecretPost || cfg.ResponseMode != client.ResponseModeFormPost ||
		cfg.ClientSecret != "" || strings.Join(cfg.Scopes, " ") != "openid name email" {
		t.Fatalf("config %+v", cfg)
	}
	secret, err := cfg.ClientSecretFunc(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	header, claims := verifyES256(t, secret, &key.PublicKey)
	if header["alg"] != "ES256" || header["kid"] != "KEY1234567" || claims["iss"] != "TEAM123456" || claims["sub"] != "app" ||
		claims["aud"] != "https://appleid.apple.com" || claims["exp"].(float64)-claims["iat"].(float64) != 3600 {
		t.Fatalf("secret header %v, claims %v", header, claims)
	}
	if again, _ := cfg.ClientSecretFunc(context.Background()); again != secret {
		t.Error("the secret was not kept while valid")
	}
	if c, _ := providers.Apple(creds, providers.AppleKey{TeamID: "T", KeyID: "K", Key: key}, "email"); c.ResponseMode != client.ResponseModeFormPost {
		t.Error("email without form_post")
	}
	if c, _ := providers.Apple(creds, providers.AppleKey{TeamID: "T", KeyID: "K", Key: key}, []string{}...); c.ResponseMode == client.ResponseModeFormPost {
		t.Error("no name or email, yet form_post")
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := providers.Apple(creds, providers.AppleKey{TeamID: "T", KeyID: "K", Key: rsaKey}); !errors.Is(err, client.ErrInvalidKey) {
		t.Errorf("RSA key: %v", err)
	}
	if _, err := providers.Apple(creds, providers.AppleKey{Key: key}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("no IDs: %v", err)
	}

	// The name, on the first login only, in the response.
	for _, tt := range []struct {
		user, want string
		bad        bool
	}{
		{`{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"j@privaterelay.appleid.com"}`, `{"family_name":"Appleseed","given_name":"Jane","name":"Jane Appleseed"}`, false},
		{"", "", false},
		{`{"email":"j@example.com"}`, "", false},
		{"{garbage", "", true},
		{strings.Repeat("x", 5000), "", true},
	} {
		got, err := cfg.ResponseClaims(url.Values{"user": {tt.user}})
		if (err != nil) != tt.bad || string(got) != tt.want {
			t.Errorf("user %.40q: %s, %v", tt.user, got, err)
		}
	}
}

// verifyES256 checks a compact JWS's ES256 signature and returns its header
// and claims.
func verifyES256(t *testing.T, raw string, pub *ecdsa.PublicKey) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("ES256 signature does not verify")
	}
	for i, v := range []*map[string]any{&header, &claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// fakeOAuth2 is an OAuth 2.0 provider without OpenID Connect (GitHub's
// shape): authorize, token, and a user API whose answers the test sets.
type fakeOAuth2 struct {
	*httptest.Server
	mu      sync.Mutex // guards answers and codes
	answers map[string]string
	codes   map[string]string // code → PKCE challenge
}

func newFakeOAuth2(t *testing.T, answers map[string]string) *fakeOAuth2 {
	f := &fakeOAuth2{answers: answers, codes: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOAuth2) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		code := rand.Text()
		f.codes[code] = q.Get("code_challenge")
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+q.Get("state"), http.StatusFound)
	case "/login/oauth/access_token":
		challenge, ok := f.codes[r.PostFormValue("code")]
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || challenge != base64.RawURLEncoding.EncodeToString(sum[:]) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		delete(f.codes, r.PostFormValue("code"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":"read:user,user:email"}`))
	default:
		answer, ok := f.answers[r.URL.Path]
		if !ok || r.Header.Get("Authorization") != "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a" {
			http.Error(w, `{"message":"Requires authentication"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(answer))
	}
}

func TestGitHub(t *testing.T) {
	if cfg := providers.GitHub(creds); cfg.OAuth2 == nil || cfg.OAuth2.AuthURL != "https://github.com/login/oauth/authorize" || cfg.OAuth2.TokenURL != "https://github.com/login/oauth/access_token" {
		t.Fatalf("config %+v", cfg)
	}
	user := `{"login":"octocat","id":583231,"name":"The Octocat","avatar_url":"https://avatars.example/u/583231","html_url":"https://github.com/octocat"}`
	for _, tt := range []struct {
		name, emails string
		want         string
	}{
		{"verified primary e-mail", `[{"email":"old@example.com","primary":false,"verified":true},{"email":"octocat@example.com","primary":true,"verified":true}]`,
			`{"email":"octocat@example.com","email_verified":true,"name":"The Octocat","picture":"https://avatars.example/u/583231","preferred_username":"octocat","profile":"https://github.com/octocat"}`},
		{"unverified primary e-mail: never presented as verified", `[{"email":"octocat@example.com","primary":true,"verified":false},{"email":"other@example.com","primary":false,"verified":true}]`,
			`{"name":"The Octocat","picture":"https://avatars.example/u/583231","preferred_username":"octocat","profile":"https://github.com/octocat"}`},
		{"e-mails not granted (no user:email scope)", "",
			`{"name":"The Octocat","picture":"https://avatars.example/u/583231","preferred_username":"octocat","profile":"https://github.com/octocat"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			answers := map[string]string{"/api/v3/user": user}
			if tt.emails != "" {
				answers["/api/v3/user/emails"] = tt.emails
			}
			gh := newFakeOAuth2(t, answers)
			tokens, err := login(t, providers.GitHubEnterprise(creds, gh.URL, gh.URL+"/api/v3"))
			if err != nil {
				t.Fatal(err)
			}
			if tokens.IDToken != nil || tokens.Identity == nil || tokens.Identity.Subject != "583231" || string(tokens.Identity.Claims) != tt.want {
				t.Fatalf("tokens %v, identity %+v: %s", tokens, tokens.Identity, tokens.Identity.Claims)
			}
		})
	}
	// The API refusing the token fails the login.
	gh := newFakeOAuth2(t, map[string]string{})
	if _, err := login(t, providers.GitHubEnterprise(creds, gh.URL, gh.URL+"/api/v3")); !errors.Is(err, client.ErrAccessTokenRejected) {
		t.Fatalf("user API refusing: %v", err)
	}
}

func TestOAuth2(t *testing.T) {
	fake := newFakeOAuth2(t, map[string]string{
		"/me": `{"data":{"id":80351110224678912,"username":"nelly","global_name":"Nelly","email":"nelly@example.com","verified":false}}`,
	})
	def := providers.OAuth2{
		Issuer: fake.URL, AuthURL: fake.URL + "/login/oauth/authorize", TokenURL: fake.URL + "/login/oauth/access_token",
		Scopes: []string{"identify", "email"}, UserURL: fake.URL + "/me",
		Subject: "data.id", Username: "data.username", Name: "data.global_name", Email: "data.email", EmailVerified: "data.verified",
	}
	cfg, err := def.Config(creds)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := login(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A numeric ID keeps its digits; an unverified e-mail is left out.
	if tokens.Identity.Subject != "80351110224678912" || string(tokens.Identity.Claims) != `{"name":"Nelly","preferred_username":"nelly"}` {
		t.Fatalf("identity %+v: %s", tokens.Identity, tokens.Identity.Claims)
	}
	if _, err := (providers.OAuth2{Issuer: fake.URL}).Config(creds); !errors.Is(err, client.ErrInvalidConfig) {
		t.Fatalf("incomplete definition: %v", err)
	}
}
