package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/session"
)

// Config joins a relying party (or several) and a session manager into
// handlers. RP (or Providers) and Sessions are required; every other field
// has a working zero value.
type Config struct {
	// RP is the provider users log in with, for an app with one.
	RP *client.RP

	// Providers are the providers users may log in with, for an app with
	// several ("Log in with Google, Microsoft or GitHub"), instead of RP.
	// The login takes the provider's name (LoginPath?provider=name, a
	// chooser page without it); one callback serves them all, and refuses
	// a response from another provider than the one its login was started
	// with before any token request (the mix-up attack, RFC 9207, RFC 9700
	// section 4.4). Sessions record their provider's issuer, and logouts
	// of one provider never end another's sessions: a sub is unique per
	// issuer only. Their issuers must differ.
	Providers []Provider

	// Sessions keeps sessions and login flows. When RP's redirect URL is
	// https, its cookies are made Secure, with the "__Host-" prefix, on
	// every request (session.Manager.WithSecure), as an app behind a
	// TLS-terminating proxy needs.
	Sessions *session.Manager

	// LoginPath is where the Login handler is mounted; Require sends
	// unauthenticated browsers there. If empty, "/auth/login".
	LoginPath string

	// DefaultReturnTo is where a login without return_to lands, and where
	// logout lands when the provider cannot send the user back. If empty, "/".
	DefaultReturnTo string

	// PostLogoutRedirectURL is the absolute URL the provider sends the user
	// to after RP-initiated logout; it must be registered at the provider.
	// If empty, none is sent and the provider shows its own page.
	PostLogoutRedirectURL string

	// UserInfo makes the callback call the provider's userinfo endpoint
	// (when it has one) with the new access token, check that its sub is the
	// ID token's, and keep its claims with the ID token's in the session.
	UserInfo bool

	// AuthRequest, if set, gives the per-request parameters of each login
	// (prompt, acr_values, login_hint, ...).
	AuthRequest func(r *http.Request) client.AuthRequest

	// DisableRefresh stops Require and Optional from refreshing an access
	// token due for refresh (see session.Config.RefreshLeeway) on the
	// request path. Handlers then see expired tokens, though TokenSource
	// and HTTPClient still refresh.
	DisableRefresh bool

	// Transport is the base transport of the clients HTTPClient returns,
	// which add the session's access token to each request. If nil,
	// http.DefaultTransport.
	Transport http.RoundTripper

	// Unauthenticated, if set, answers requests Require turns away. If nil,
	// browsers navigating with GET are redirected to LoginPath with
	// return_to, and other requests get 401 with a WWW-Authenticate header.
	Unauthenticated http.Handler

	// ErrorHandler, if set, answers requests whose login, logout or
	// refresh failed, given the error. If nil, a short page (or JSON) with
	// the status of ErrorStatus and a safe message; the error is logged.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives the errors the default ErrorHandler answers. If nil,
	// slog.Default().
	Logger *slog.Logger

	// Events receives the handlers' events: LoginStarted, LoginSucceeded,
	// LoginFailed and CallbackReplayed, LogoutSucceeded and LogoutFailed
	// (rp_initiated, backchannel, frontchannel). If nil, they are logged to
	// Logger (see events.Log), in place of the log lines of the failures
	// they report. The clients and the session manager have their own
	// (client.Config.Events, session.Config.Events): give them the same.
	Events events.Sink
}

// Auth holds the handlers and middleware of one relying party. It is safe
// for concurrent use.
type Auth struct {
	cfg       Config
	providers []*provider
	sessions  *session.Manager
	now       func() time.Time
	claims    claimsCache
}

// ErrInvalidConfig: a Config field is wrong; the message says which.
var ErrInvalidConfig = errors.New("middleware: invalid config")

// New validates cfg and returns an Auth.
func New(cfg Config) (*Auth, error) {
	if cfg.Sessions == nil {
		return nil, fmt.Errorf("%w: Sessions is nil", ErrInvalidConfig)
	}
	providers, err := providersOf(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/auth/login"
	}
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	if !IsLocalPath(cfg.LoginPath) || !IsLocalPath(cfg.DefaultReturnTo) {
		return nil, fmt.Errorf("%w: LoginPath and DefaultReturnTo must be local paths", ErrInvalidConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Events = events.OrLog(cfg.Events, cfg.Logger)
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	// An app whose redirect URL is https is served over TLS, even when TLS
	// ends at a proxy and the app sees plain HTTP: its cookies must be
	// Secure, whatever the request says.
	sessions := cfg.Sessions
	redirectURL := providers[0].rp.Config().RedirectURL
	redirect, err := url.Parse(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("%w: RP's RedirectURL: %v", ErrInvalidConfig, err)
	}
	switch secure := sessions.Config().Secure; {
	case redirect.Scheme == "https" && !secure:
		sessions = sessions.WithSecure()
	case redirect.Scheme == "http" && secure && !httpx.IsLoopback(redirect.Hostname()):
		cfg.Logger.Warn("oidcrp: session cookies are Secure but the redirect URL is http: browsers will not send them back; use an https redirect URL",
			"redirect_url", redirectURL)
	}
	if len(providers) == 1 {
		// Sessions saved before they recorded their provider's issuer
		// are this provider's.
		sessions = sessions.WithDefaultIssuer(providers[0].issuer)
	}
	cfg.Sessions = sessions
	return &Auth{cfg: cfg, providers: providers, sessions: sessions, now: sessions.Config().Now}, nil
}
