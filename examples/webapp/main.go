// Command webapp is a small web app with "Log in with X": the oidcrp
// library's handlers and sessions, configured only through the environment.
//
// With no environment at all it starts an embedded development provider
// (oidctest) on a random 127.0.0.1 port and logs in its demo user:
//
//	go run ./examples/webapp    # then open http://127.0.0.1:8080
//
// The URIs to register at the providers, for the app served at HOST (over
// https with -secure), are printed by
//
//	go run ./examples/webapp urls [-secure] HOST
//
// Environment:
//
//	OIDC_ISSUER                    the provider; unset: the embedded one
//	OIDC_CLIENT_ID                 required with OIDC_ISSUER
//	OIDC_CLIENT_SECRET             empty: a public client (PKCE only)
//	OIDC_AUTH_METHOD               client_secret_basic, client_secret_post,
//	                               client_secret_jwt, private_key_jwt or none;
//	                               unset: client_secret_basic with a secret,
//	                               else private_key_jwt with a private key,
//	                               else none
//	OIDC_PRIVATE_KEY_FILE          PEM private key for private_key_jwt (PKCS#8,
//	                               PKCS#1 RSA, SEC1 EC), published at
//	                               /auth/jwks.json
//	OIDC_PRIVATE_KEY_ID            the key's kid; default its RFC 7638 thumbprint
//	OIDC_PAR                       unset: push authorization requests (RFC 9126)
//	                               when the provider requires it; true: always
//	                               (start-up fails without a PAR endpoint);
//	                               false: never
//	OIDC_RESPONSE_MODE             query (default) or form_post
//	OIDC_DPOP                      true: bind tokens to a key per login (RFC 9449)
//	OIDC_REDIRECT_URL              default http://<LISTEN_ADDR>/auth/callback
//	OIDC_SCOPES                    default "openid profile email"
//	OIDC_POST_LOGOUT_REDIRECT_URL  default http://<LISTEN_ADDR>/
//	LISTEN_ADDR                    default 127.0.0.1:8080
//	SESSION_KEYS                   comma-separated base64 keys of 32 bytes, the
//	                               first encodes; unset: random keys per process
//	REDIS_URL                      redis://[user:password@]host:port/db (or
//	                               rediss://): sessions, logouts and refreshes
//	                               shared with every instance using the same
//	                               Redis and SESSION_KEYS; unset: sessions in
//	                               cookies, logouts and refreshes per process
//	OIDC_API_AUDIENCE              the audience GET /api/me's access tokens
//	                               must name; default OIDC_CLIENT_ID
//	OIDC_API_SCOPES                space-separated scopes /api/me requires, all
//	                               of them; default none
//	OIDC_API_INTROSPECTION_CACHE   how long an introspected token's answer is
//	                               reused (the revocation delay); default 60s
//	OTEL_TRACES_EXPORTER           console: spans of every request and of every
//	                               call to the provider, on stdout; none or
//	                               unset: no traces
//	OTEL_METRICS_EXPORTER          console: the library's metrics on stdout;
//	                               none or unset: no metrics
//	OTEL_SDK_DISABLED              true: neither
//	OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL,
//	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
//	                               read by the OpenTelemetry SDK when one of
//	                               the exporters is on
//
// Several providers ("Log in with A or B"):
//
//	OIDC_PROVIDERS                 comma-separated names ([a-z0-9-]+); set, it
//	                               replaces OIDC_ISSUER, OIDC_CLIENT_ID and
//	                               OIDC_CLIENT_SECRET with, for each NAME
//	                               (upper-cased, "-" made "_"):
//	OIDC_<NAME>_ISSUER             the provider; with neither it nor a preset,
//	                               an embedded one
//	OIDC_<NAME>_CLIENT_ID          required but for an embedded provider
//	OIDC_<NAME>_CLIENT_SECRET      empty: a public client, or none needed
//	OIDC_<NAME>_SCOPES             default the preset's, or "openid profile email"
//	OIDC_<NAME>_PRESET             google[:domain,...] (Workspace domains
//	                               allowed), microsoft:<tenant>,
//	                               microsoft:organizations|common:<tenant-id>,...
//	                               (or * for any tenant), okta, auth0[:audience],
//	                               keycloak, gitlab,
//	                               apple:<team-id>:<key-id>:<.p8 file>,
//	                               github[:<GitHub Enterprise URL>]; unset: a
//	                               plain OpenID Provider at OIDC_<NAME>_ISSUER
//	                               (okta, auth0 and keycloak need it too; gitlab
//	                               takes it for a self-managed instance)
//
// OIDC_REDIRECT_URL, OIDC_POST_LOGOUT_REDIRECT_URL, OIDC_AUTH_METHOD and the
// private key serve every provider; OIDC_PAR, OIDC_RESPONSE_MODE and
// OIDC_DPOP those without a preset. /api/me takes the access tokens of
// every OpenID provider, and introspects opaque ones at the first
// confidential one only.
//
// Routes: GET / (public), GET /auth/login?return_to= (with several
// providers, ?provider=<name>; without, a page to choose), GET /auth/callback
// (and POST when a provider posts its response: OIDC_RESPONSE_MODE=form_post,
// Apple),
// GET (a confirmation page) and POST /auth/logout, POST
// /auth/backchannel-logout, GET /auth/frontchannel-logout (every provider's),
// GET /me (JSON, protected; with several providers, its "provider"), GET /userinfo (the provider's userinfo, protected), GET
// /auth/jwks.json (the app's public key, 404 without OIDC_PRIVATE_KEY_FILE),
// GET /api/me (JSON, guarded by access tokens: bearer or DPoP, JWT or
// introspected; or the session cookie), GET /healthz (200 when every
// provider's metadata and keys are loaded and Redis, if any, answers; 503
// with a JSON reason otherwise).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "urls" {
		err := printURLs(os.Args[2:], os.Getenv, func(format string, a ...any) { fmt.Printf(format, a...) })
		if err != nil {
			fmt.Fprintln(os.Stderr, "webapp:", err)
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Getenv, logger); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run configures the app from getenv, serves it until ctx ends, and returns
// the first error that keeps it from starting.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger) error {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	defer listener.Close()

	app, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()

	srv := newServer(app)
	logger.Info("listening", "url", "http://"+listener.Addr().String(), "issuer", app.issuer)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// newServer returns the server for handler, with the limits a production
// deployment should copy: request headers of at most 64 KiB (a session
// cookie split into chunks takes up to 30 KiB; the flow cookies of a few
// pending logins, a few hundred bytes each), and timeouts on reading a
// request, writing its answer (the longest handler, /userinfo, waits up to
// 30 seconds on the provider) and idle connections, so that slow or stuck
// clients cannot hold connections open.
func newServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
