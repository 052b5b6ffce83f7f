package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
	"github.com/oidcrp/oidcrp/session/redisstore"
)

// app is the web app: its routes, and what it must close.
type app struct {
	http.Handler
	issuer   string                // the first provider's
	rp       *client.RP            // the first provider's
	rps      map[string]*client.RP // every provider's, by name ("default" for the one of OIDC_ISSUER)
	multi    bool                  // OIDC_PROVIDERS is set
	auth     *middleware.Auth
	embedded []*oidctest.Server // the embedded providers started
	redis    *redis.Client      // nil without REDIS_URL
	logger   *slog.Logger

	// The library's events go to sink: the app's log and, when OTEL_*
	// asks (tel), OpenTelemetry, with every call to the providers made
	// through httpClient (nil: the library's default) and traced.
	sink       events.Sink
	tel        *telemetry
	httpClient *http.Client
}

// newApp connects to the providers (starting an embedded one for each
// provider without an issuer) and builds the routes. A provider that
// cannot be reached, or whose discovery document names another issuer,
// fails here, at start-up.
func newApp(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	a := &app{rps: map[string]*client.RP{}, multi: cfg.providers != nil, logger: logger, sink: events.Log(logger)}
	if cfg.randomSessionKeys {
		logger.Warn("SESSION_KEYS is unset: using a random key; sessions end when the process does")
	}
	transport := http.DefaultTransport
	if cfg.otel.enabled() {
		tel, err := newTelemetry(ctx, cfg.otel, logger)
		if err != nil {
			return nil, err
		}
		a.tel, a.sink, a.httpClient, transport = tel, tel.sink, tel.sink.HTTPClient(), tel.sink.Transport(nil)
	}
	list, err := a.connect(ctx, cfg, logger)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.rp, a.issuer = list[0].RP, list[0].RP.Config().Issuer
	sessionCfg := session.Config{Keys: cfg.sessionKeys, Events: a.sink}
	if cfg.redis != nil {
		store, err := a.connectRedis(ctx, cfg.redis)
		if err != nil {
			a.Close()
			return nil, err
		}
		sessionCfg.Store, sessionCfg.Replay, sessionCfg.Revocations, sessionCfg.Coordinator = store, store, store, store
		logger.Info("sessions in Redis", "addr", cfg.redis.Addr, "db", cfg.redis.DB)
	}
	sessions, err := session.New(sessionCfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.auth, err = middleware.New(middleware.Config{
		Providers:             list,
		Sessions:              sessions,
		PostLogoutRedirectURL: cfg.postLogoutURL,
		UserInfo:              true,
		Logger:                logger,
		Events:                a.sink,
		Transport:             transport,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	api, err := a.newAPI(ctx, cfg, list, sessionCfg.Replay, logger, a.sink)
	if err != nil {
		a.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", a.auth.PostLogout(a.auth.Optional(http.HandlerFunc(home))))
	mux.Handle("GET /auth/login", a.auth.Login())
	mux.Handle("GET /auth/callback", a.auth.Callback())
	formPost := a.formPost()
	if formPost {
		mux.Handle("POST /auth/callback", a.auth.Callback())
	}
	mux.Handle("GET /auth/logout", a.auth.Logout())
	mux.Handle("POST /auth/logout", a.auth.Logout())
	mux.Handle("POST /auth/backchannel-logout", a.auth.BackchannelLogout())
	mux.Handle("GET /auth/frontchannel-logout", a.auth.FrontchannelLogout())
	mux.Handle("GET /me", a.auth.Require(http.HandlerFunc(a.me)))
	mux.Handle("GET /userinfo", a.auth.Require(http.HandlerFunc(a.userinfo)))
	mux.Handle("GET /auth/jwks.json", jwksHandler(cfg.jwks))
	mux.Handle("GET /api/me", api) // access tokens, or the session (api.go)
	mux.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	// Browsers' cross-origin POSTs (a forged logout form on another site)
	// are refused; the provider's back-channel POSTs carry no browser
	// headers and pass. With form_post, the provider's page posts the
	// authorization response cross-origin: that one route and method is
	// let through, its state (checked against the login's flow cookie)
	// being its CSRF defence.
	cop := http.NewCrossOriginProtection()
	if formPost {
		cop.AddInsecureBypassPattern("POST /auth/callback")
	}
	a.Handler = a.tel.handler(cop.Handler(mux), mux)
	return a, nil
}

// embeddedAlgs are the signing algorithms of the embedded providers, one
// each in turn, so that each signs with keys of its own (see
// oidctest.Config.SigningAlg).
var embeddedAlgs = []string{"RS256", "ES256", "PS256", "ES384", "EdDSA", "RS384", "PS384", "ES512", "RS512", "PS512"}

// connect makes the client of each provider (clientConfigs), starting an
// embedded provider for each without an issuer.
func (a *app) connect(ctx context.Context, cfg config, logger *slog.Logger) ([]middleware.Provider, error) {
	ccs, err := cfg.clientConfigs()
	if err != nil {
		return nil, err
	}
	var out []middleware.Provider
	for i, pc := range cfg.providerList() {
		ccfg := ccs[i]
		if pc.embedded() {
			c := oidctest.Client{ID: ccfg.ClientID, Secret: ccfg.ClientSecret, AuthMethod: string(ccfg.AuthMethod)}
			op := startEmbeddedProvider(cfg, c, embeddedAlgs[i%len(embeddedAlgs)])
			a.embedded = append(a.embedded, op)
			ccfg.Issuer = op.URL
			logger.Warn(cfg.prefix(pc)+"ISSUER is unset: using an embedded development provider; it logs in a demo user without asking",
				"provider", pc.name, "issuer", op.URL)
		}
		ccfg.HTTPClient, ccfg.Events = a.httpClient, a.sink
		// Loopback issuers (a provider run next to the app for
		// development or tests) may use http; any other must use https.
		rp, err := client.New(ctx, ccfg)
		if err != nil {
			return nil, fmt.Errorf("provider %s (%s): %w", pc.name, ccfg.Issuer, err)
		}
		a.rps[pc.name] = rp
		out = append(out, middleware.Provider{Name: pc.name, Label: label(pc), RP: rp})
	}
	return out, nil
}

// label is the chooser page's name of a provider.
func label(pc providerConfig) string {
	kind, _, _ := strings.Cut(pc.preset, ":")
	switch kind {
	case "google":
		return "Google"
	case "microsoft":
		return "Microsoft"
	case "apple":
		return "Apple"
	case "github":
		return "GitHub"
	case "gitlab":
		return "GitLab"
	}
	return pc.name
}

// startEmbeddedProvider starts oidctest with a demo user and the app's
// client c registered, with its authentication method (and the app's
// public key), signing with alg.
func startEmbeddedProvider(cfg config, c oidctest.Client, alg string) *oidctest.Server {
	if c.AuthMethod == string(client.AuthPrivateKeyJWT) {
		c.JWKS = cfg.jwks
	}
	c.RedirectURIs = []string{cfg.redirectURL}
	c.PostLogoutRedirectURIs = []string{cfg.postLogoutURL}
	if u, err := url.Parse(cfg.redirectURL); err == nil {
		c.BackchannelLogoutURI = u.Scheme + "://" + u.Host + "/auth/backchannel-logout"
	}
	return oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{c},
		Users: []oidctest.User{{
			Subject: "demo",
			Claims: map[string]any{
				"name": "Demo User", "given_name": "Demo", "family_name": "User",
				"preferred_username": "demo", "email": "demo@example.com", "email_verified": true,
			},
		}},
		SigningAlg:          alg,
		RotateRefreshTokens: true,
		DPoPNonce:           cfg.dpop, // nonces too, as strict providers ask
	})
}

// connectRedis connects to Redis and checks, with PING, that it answers:
// an unreachable Redis stops the app at start-up.
func (a *app) connectRedis(ctx context.Context, opts *redis.Options) (*redisstore.Store, error) {
	a.redis = redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.redis.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("REDIS_URL: Redis at %s does not answer: %w", opts.Addr, err)
	}
	return redisstore.New(a.redis, redisstore.Options{})
}

// Close releases the provider and Redis connections, stops the embedded
// providers, and exports the telemetry still pending.
func (a *app) Close() {
	if a.tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.tel.Close(ctx)
		cancel()
	}
	for _, rp := range a.rps {
		rp.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	for _, op := range a.embedded {
		op.Close()
	}
}

// formPost reports whether a provider posts its authorization responses
// (response_mode=form_post): the callback then takes POST too.
func (a *app) formPost() bool {
	for _, rp := range a.rps {
		if rp.Config().ResponseMode == client.ResponseModeFormPost {
			return true
		}
	}
	return false
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<meta charset="utf-8">
<title>oidcrp example</title>
<h1>oidcrp example app</h1>
{{if .LoggedIn}}
<p>Hello, <strong id="user">{{.Name}}</strong>.</p>
<p><a href="/me">Your session (JSON)</a> · <a href="/userinfo">Your userinfo (JSON)</a></p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Log out</button></form>
{{else}}
<p>You are not logged in.</p>
<p><a id="login" href="/auth/login">Log in</a></p>
{{end}}
`))

// home greets the user by name, or offers a login link.
func home(w http.ResponseWriter, r *http.Request) {
	var page struct {
		LoggedIn bool
		Name     string
	}
	if s, ok := middleware.SessionFrom(r.Context()); ok {
		var claims struct {
			Name              string `json:"name"`
			PreferredUsername string `json:"preferred_username"`
			Email             string `json:"email"`
		}
		middleware.Claims(r.Context(), &claims)
		page.LoggedIn = true
		page.Name = firstNonEmpty(claims.Name, claims.PreferredUsername, claims.Email, s.Subject)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	homePage.Execute(w, page)
}

// me answers {"sub": ..., "claims": {...}} for the logged-in user, and
// with OIDC_PROVIDERS, "provider": the name of the one the user logged in
// with.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	var claims map[string]any
	if err := middleware.Claims(r.Context(), &claims); err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	v := map[string]any{"sub": middleware.Subject(r.Context()), "claims": claims}
	if a.multi {
		v["provider"] = middleware.ProviderName(r.Context())
	}
	writeJSON(w, http.StatusOK, v)
}

// userinfo calls the provider's userinfo endpoint as the user, with an access
// token that refreshes itself, and relays the answer.
func (a *app) userinfo(w http.ResponseWriter, r *http.Request) {
	endpoint := a.rps[middleware.ProviderName(r.Context())].Provider().Metadata().UserinfoEndpoint
	if endpoint == "" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "the provider has no userinfo endpoint"})
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, endpoint, nil)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "bad userinfo endpoint"})
		return
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.auth.HTTPClient(r).Do(req)
	if err != nil {
		status := middleware.ErrorStatus(err)
		if status == http.StatusInternalServerError {
			status = http.StatusBadGateway // the request to the provider failed
		}
		writeJSON(w, status, map[string]string{"error": http.StatusText(status)})
		return
	}
	defer resp.Body.Close()
	status := resp.StatusCode
	if status >= 500 {
		status = http.StatusBadGateway
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

// jwksHandler serves the app's public key (client.PublicJWKS), for
// providers that fetch a private_key_jwt client's keys from its jwks_uri;
// without a private key, 404.
func jwksHandler(jwks []byte) http.Handler {
	if jwks == nil {
		return http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(jwks)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
