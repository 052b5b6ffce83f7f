package native

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oidcrp/oidcrp/client"
)

// Errors of Login.
var (
	// ErrInvalidConfig: a LoginConfig or CacheConfig field is wrong; the
	// message says which.
	ErrInvalidConfig = errors.New("native: invalid config")

	// ErrLoginTimeout: no valid callback came within LoginConfig.Timeout.
	// It wraps context.DeadlineExceeded.
	ErrLoginTimeout = errors.New("native: login timed out")

	// ErrListen: no loopback address could be listened on.
	ErrListen = errors.New("native: cannot listen on the loopback interface")
)

// LoginConfig configures one Login. RP is required; every other field has
// a working zero value.
type LoginConfig struct {
	// RP is the client. Its RedirectURL is not used: each login's redirect
	// URI is http://127.0.0.1:PORT/callback (or http://[::1]:PORT/...),
	// PORT chosen by the system, which the provider must accept for the
	// registered http://127.0.0.1/callback (RFC 8252 section 7.3).
	RP *client.RP

	// AuthRequest holds the login's optional parameters (prompt,
	// login_hint, scopes, ...).
	AuthRequest client.AuthRequest

	// CallbackPath is the redirect URI's path. If empty, "/callback".
	CallbackPath string

	// OpenBrowser opens the login page's URL in the user's browser. If
	// nil, OpenSystemBrowser. When it fails, the user is asked to open the
	// URL, printed to Output, by hand.
	OpenBrowser func(ctx context.Context, url string) error

	// Output receives the message that names the URL to open. If nil,
	// os.Stderr.
	Output io.Writer

	// Timeout bounds the whole login, the user's time at the provider
	// included. If zero, 5 minutes.
	Timeout time.Duration
}

// Bounds of what reaches the listener, which any process of the machine
// can connect to.
const (
	maxCallbackHeader = 16 << 10 // bytes of request header, the query included
	callbackIOTimeout = 10 * time.Second
	defaultTimeout    = 5 * time.Minute
)

// result is the outcome of the valid callback.
type result struct {
	tokens *client.Tokens
	err    error
}

// Login logs the user in through the system browser and a loopback
// redirect (RFC 8252 section 7.3), and returns the verified tokens. It
// listens on 127.0.0.1 (else [::1]) on an ephemeral port, opens the
// browser on the authorization URL (state, nonce and PKCE S256), and serves
// until one request to the callback path carries the login's state: it
// completes the login (client.RP.Callback), shows the browser a short page
// and closes the listener. Requests with another state, another path,
// method or host, or a malformed query get 400, and the wait goes on.
//
// It fails with ErrInvalidConfig, ErrListen, ErrLoginTimeout, ctx's error,
// or the error of the callback: a *client.AuthError when the user declined
// (access_denied), a *client.TokenError, a failed ID-token check.
func Login(ctx context.Context, cfg LoginConfig) (*client.Tokens, error) {
	if cfg.RP == nil {
		return nil, fmt.Errorf("%w: RP is nil", ErrInvalidConfig)
	}
	if cfg.CallbackPath == "" {
		cfg.CallbackPath = "/callback"
	}
	if !strings.HasPrefix(cfg.CallbackPath, "/") || strings.ContainsAny(cfg.CallbackPath, "?#") {
		return nil, fmt.Errorf("%w: CallbackPath %q is not a path", ErrInvalidConfig, cfg.CallbackPath)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative Timeout", ErrInvalidConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.OpenBrowser == nil {
		cfg.OpenBrowser = OpenSystemBrowser
	}
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}

	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	host := ln.Addr().String() // 127.0.0.1:PORT or [::1]:PORT
	rp, err := cfg.RP.WithRedirectURL("http://" + host + cfg.CallbackPath)
	if err != nil {
		ln.Close()
		return nil, err
	}
	authURL, flow, err := rp.AuthCodeURL(cfg.AuthRequest)
	if err != nil {
		ln.Close()
		return nil, err
	}

	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, ErrLoginTimeout)
	defer cancel()
	cb := &callback{rp: rp, flow: flow, host: host, path: cfg.CallbackPath, results: make(chan result, 1)}
	srv := &http.Server{
		// The valid callback redeems the code under the login's ctx, not
		// the request's: a browser that goes away does not cancel it.
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cb.serve(ctx, w, r) }),
		ReadHeaderTimeout: callbackIOTimeout,
		ReadTimeout:       callbackIOTimeout,
		WriteTimeout:      cfg.Timeout, // the valid callback's handler redeems the code first
		IdleTimeout:       callbackIOTimeout,
		MaxHeaderBytes:    maxCallbackHeader,
		ErrorLog:          discardLog,
	}
	served := make(chan struct{})
	go func() { // owned by Login, which waits for it below
		defer close(served)
		srv.Serve(ln)
	}()
	defer func() {
		// Closes the listener at once, then waits for the handler of the
		// valid callback to finish its page.
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-served
	}()

	if err := cfg.OpenBrowser(ctx, authURL); err != nil {
		fmt.Fprintf(cfg.Output, "Open this URL in your browser to log in:\n\n    %s\n\n", authURL)
	} else {
		fmt.Fprintf(cfg.Output, "Your browser has been opened to log in. If it has not, open this URL:\n\n    %s\n\n", authURL)
	}

	select {
	case r := <-cb.results:
		return r.tokens, r.err
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), ErrLoginTimeout) {
			return nil, fmt.Errorf("%w after %v: %w", ErrLoginTimeout, cfg.Timeout, context.DeadlineExceeded)
		}
		return nil, ctx.Err()
	}
}

// listenLoopback listens on an ephemeral port of 127.0.0.1, or of [::1]
// on a machine without IPv4 loopback. Never "localhost" (RFC 8252 section
// 8.3): a name can resolve elsewhere, and a firewall may treat it so.
func listenLoopback() (net.Listener, error) {
	ln, err4 := net.Listen("tcp4", "127.0.0.1:0")
	if err4 == nil {
		return ln, nil
	}
	ln, err6 := net.Listen("tcp6", "[::1]:0")
	if err6 == nil {
		return ln, nil
	}
	return nil, fmt.Errorf("%w: %v; %v", ErrListen, err4, err6)
}

// callback serves the loopback listener.
type callback struct {
	rp      *client.RP
	flow    client.Flow
	host    string // the listener's address, the Host a valid callback names
	path    string
	done    atomic.Bool // the valid callback has come
	results chan result // receives its outcome; buffered, sent to once
}

// serve answers one request to the listener; ctx is the login's.
func (c *callback) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Only a GET of the callback path, on the listener's own address (a
	// page that rebinds a DNS name to 127.0.0.1 sends its own name), with a
	// well-formed query whose one state is the login's.
	if r.Method != http.MethodGet || r.URL.Path != c.path || r.Host != c.host {
		badRequest(w)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["state"]) != 1 ||
		subtle.ConstantTimeCompare([]byte(q["state"][0]), []byte(c.flow.State)) != 1 {
		badRequest(w)
		return
	}
	if !c.done.CompareAndSwap(false, true) {
		badRequest(w) // the login is used once
		return
	}
	tokens, err := c.rp.Callback(ctx, c.flow, q)
	if err != nil {
		page(w, http.StatusBadRequest, "Login failed", "The login did not succeed. Return to the application for details.")
	} else {
		page(w, http.StatusOK, "Logged in", "You are logged in. You may close this window and return to the application.")
	}
	c.results <- result{tokens, err}
}

func badRequest(w http.ResponseWriter) {
	page(w, http.StatusBadRequest, "Bad request", "This address only receives the login's answer from the provider.")
}

// page writes a small HTML page; title and text are constants.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>%s</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222}</style>
<h1 id="title">%s</h1>
<p>%s</p>
`, title, title, text)
}
