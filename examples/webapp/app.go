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
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
	"github.com/oidcrp/oidcrp/session/redisstore"
)

// app is the web app: its routes, and what it must close.
type app struct {
	http.Handler
	issuer   string
	rp       *client.RP
	auth     *middleware.Auth
	embedded *oidctest.Server // nil with OIDC_ISSUER
	redis    *redis.Client    // nil without REDIS_URL
}

// newApp connects to the provider (starting the embedded one when no issuer
// is configured) and builds the routes. A provider that cannot be reached,
// or whose discovery document names another issuer, fails here, at start-up.
func newApp(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	a := &app{issuer: cfg.issuer}
	if cfg.issuer == "" {
		a.embedded = startEmbeddedProvider(cfg)
		a.issuer = a.embedded.URL
		logger.Warn("OIDC_ISSUER is unset: using the embedded development provider; it logs in a demo user without asking", "issuer", a.issuer)
	}
	if cfg.randomSessionKeys {
		logger.Warn("SESSION_KEYS is unset: using a random key; sessions end when the process does")
	}

	// Loopback issuers (a provider run next to the app for development or
	// tests) may use http; any other must use https.
	clientCfg := client.Config{
		Issuer:       a.issuer,
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientSecret,
		RedirectURL:  cfg.redirectURL,
		Scopes:       cfg.scopes,
		AuthMethod:   cfg.authMethod,

		PushedAuthorizationRequests: cfg.par,
		ResponseMode:                cfg.responseMode,
		DPoP:                        cfg.dpop,
	}
	if cfg.authMethod == client.AuthPrivateKeyJWT {
		clientCfg.PrivateKey, clientCfg.PrivateKeyID = cfg.privateKey, cfg.privateKeyID
	}
	rp, err := client.New(ctx, clientCfg)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("provider %s: %w", a.issuer, err)
	}
	a.rp = rp
	sessionCfg := session.Config{Keys: cfg.sessionKeys}
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
		RP:                    rp,
		Sessions:              sessions,
		PostLogoutRedirectURL: cfg.postLogoutURL,
		UserInfo:              true,
		Logger:                logger,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	api, err := a.newAPI(ctx, cfg, sessionCfg.Replay, logger)
	if err != nil {
		a.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", a.auth.PostLogout(a.auth.Optional(http.HandlerFunc(home))))
	mux.Handle("GET /auth/login", a.auth.Login())
	mux.Handle("GET /auth/callback", a.auth.Callback())
	if cfg.responseMode == client.ResponseModeFormPost {
		mux.Handle("POST /auth/callback", a.auth.Callback())
	}
	mux.Handle("GET /auth/logout", a.auth.Logout())
	mux.Handle("POST /auth/logout", a.auth.Logout())
	mux.Handle("POST /auth/backchannel-logout", a.auth.BackchannelLogout())
	mux.Handle("GET /auth/frontchannel-logout", a.auth.FrontchannelLogout())
	mux.Handle("GET /me", a.auth.Require(http.HandlerFunc(me)))
	mux.Handle("GET /userinfo", a.auth.Require(http.HandlerFunc(a.userinfo)))
	mux.Handle("GET /auth/jwks.json", jwksHandler(cfg.jwks))
	mux.Handle("GET /api/me", api) // access tokens, or the session (api.go)
	// Browsers' cross-origin POSTs (a forged logout form on another site)
	// are refused; the provider's back-channel POSTs carry no browser
	// headers and pass. With form_post, the provider's page posts the
	// authorization response cross-origin: that one route and method is
	// let through, its state (checked against the login's flow cookie)
	// being its CSRF defence.
	cop := http.NewCrossOriginProtection()
	if cfg.responseMode == client.ResponseModeFormPost {
		cop.AddInsecureBypassPattern("POST /auth/callback")
	}
	a.Handler = cop.Handler(mux)
	return a, nil
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

// Close releases the provider and Redis connections and stops the
// embedded provider.
func (a *app) Close() {
	if a.rp != nil {
		a.rp.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
}

// startEmbeddedProvider starts oidctest with a demo user and the app's
// client registered, with the app's authentication method (and public key).
func startEmbeddedProvider(cfg config) *oidctest.Server {
	c := oidctest.Client{ID: cfg.clientID, Secret: cfg.clientSecret, AuthMethod: string(cfg.authMethod)}
	if cfg.authMethod == client.AuthPrivateKeyJWT {
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
		RotateRefreshTokens: true,
		DPoPNonce:           cfg.dpop, // nonces too, as strict providers ask
	})
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

// me answers {"sub": ..., "claims": {...}} for the logged-in user.
func me(w http.ResponseWriter, r *http.Request) {
	var claims map[string]any
	if err := middleware.Claims(r.Context(), &claims); err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": middleware.Subject(r.Context()), "claims": claims})
}

// userinfo calls the provider's userinfo endpoint as the user, with an access
// token that refreshes itself, and relays the answer.
func (a *app) userinfo(w http.ResponseWriter, r *http.Request) {
	endpoint := a.rp.Provider().Metadata().UserinfoEndpoint
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
