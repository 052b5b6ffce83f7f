// Package setup wires the relying party the framework examples share: a
// client, cookie sessions and the middleware, configured from the
// environment like examples/webapp (OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, SESSION_KEYS, LISTEN_ADDR, API_URL), or, without
// OIDC_ISSUER, against an embedded oidctest provider with a demo user.
package setup

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// App is what a framework example mounts.
type App struct {
	Auth *middleware.Auth
	RP   *client.RP

	// APIURL is the API that GET /api calls as the user: API_URL, or the
	// provider's userinfo endpoint.
	APIURL string

	// Addr is where to listen: LISTEN_ADDR, or 127.0.0.1:8080.
	Addr string

	embedded *oidctest.Server
}

// New configures the app from getenv. baseURL, if not empty, is the app's
// own URL (tests pass their server's); otherwise http://Addr.
func New(ctx context.Context, getenv func(string) string, baseURL string, logger *slog.Logger) (*App, error) {
	a := &App{Addr: getenv("LISTEN_ADDR")}
	if a.Addr == "" {
		a.Addr = "127.0.0.1:8080"
	}
	if baseURL == "" {
		baseURL = "http://" + a.Addr
	}
	issuer, clientID, secret := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID"), getenv("OIDC_CLIENT_SECRET")
	if issuer == "" {
		a.embedded = oidctest.NewServer(oidctest.Config{Users: []oidctest.User{{
			Subject: "demo", Claims: map[string]any{"name": "Demo User", "email": "demo@example.com"},
		}}})
		issuer, clientID, secret = a.embedded.URL, a.embedded.Client().ID, a.embedded.Client().Secret
		logger.Warn("OIDC_ISSUER is unset: using the embedded development provider", "issuer", issuer)
	} else if clientID == "" {
		return nil, errors.New("OIDC_CLIENT_ID is required with OIDC_ISSUER")
	}
	keys, err := sessionKeys(getenv("SESSION_KEYS"))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.RP, err = client.New(ctx, client.Config{
		Issuer: issuer, ClientID: clientID, ClientSecret: secret,
		RedirectURL: baseURL + "/auth/callback",
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("provider %s: %w", issuer, err)
	}
	sessions, err := session.New(session.Config{Keys: keys})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Auth, err = middleware.New(middleware.Config{RP: a.RP, Sessions: sessions, Logger: logger})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.APIURL = getenv("API_URL")
	if a.APIURL == "" {
		a.APIURL = a.RP.Provider().Metadata().UserinfoEndpoint
	}
	return a, nil
}

// sessionKeys parses SESSION_KEYS, or makes a random key.
func sessionKeys(v string) ([][]byte, error) {
	if v != "" {
		keys, err := session.ParseKeys(v)
		if err != nil {
			return nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		return keys, nil
	}
	key := make([]byte, session.KeySize)
	rand.Read(key)
	return [][]byte{key}, nil
}

// Close releases the provider and stops the embedded one.
func (a *App) Close() {
	if a.RP != nil {
		a.RP.Close()
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
}

// Main runs an example: the app from the environment, its routes served
// on Addr with the limits the web app documents (64 KiB of headers, read,
// write and idle timeouts), until the server fails. name names the example
// in its log.
func Main(name string, routes func(auth *middleware.Auth, apiURL string) http.Handler) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	app, err := New(context.Background(), os.Getenv, "", logger)
	if err != nil {
		logger.Error(name+" example", "error", err)
		os.Exit(1)
	}
	defer app.Close()
	srv := &http.Server{
		Addr:              app.Addr,
		Handler:           routes(app.Auth, app.APIURL),
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	logger.Info("listening", "url", "http://"+app.Addr+"/me")
	logger.Error(name+" example", "error", srv.ListenAndServe())
}
