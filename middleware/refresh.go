package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

var (
	// ErrLoginEnded: the provider refused the session's refresh token
	// (invalid_grant): the login is over, and the session was deleted.
	// The user must log in again (401).
	ErrLoginEnded = errors.New("middleware: login ended at the provider")

	// ErrTokenExpired: the access token expired and the session has no
	// refresh token to renew it (401). The login session itself may live
	// on, by its own timeouts.
	ErrTokenExpired = errors.New("middleware: access token expired and cannot be refreshed")

	// ErrNoAccessToken: the session holds no access token (401).
	ErrNoAccessToken = errors.New("middleware: session has no access token")
)

// refreshDue reports whether s's access token expires within the leeway:
// RefreshLeeway, but never more than a quarter of the token's lifetime. A
// token of unknown expiry is never due.
func (a *Auth) refreshDue(s *session.Session) bool {
	if s.Expiry.IsZero() {
		return false
	}
	leeway := min(a.cfg.RefreshLeeway, s.Expiry.Sub(s.RefreshedAt)/4)
	return !a.now().Before(s.Expiry.Add(-leeway))
}

// refresh renews the session's tokens and saves the session (a new cookie
// on the response, or the store record). Concurrent calls within the request
// wait for each other; the first does the work.
func (st *requestState) refresh(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.refreshLocked(ctx)
}

func (st *requestState) refreshLocked(ctx context.Context) error {
	a := st.a
	fresh, err := a.refreshed(ctx, st.sess)
	if err != nil {
		if errors.Is(err, client.ErrInvalidGrant) {
			a.sessions.Destroy(st.w, st.r)
			return fmt.Errorf("%w: %w", ErrLoginEnded, err)
		}
		return err
	}
	st.sess = fresh
	return a.sessions.Save(st.w, st.r, fresh)
}

// refreshed returns a copy of s with renewed tokens. The refresh grant runs
// once per refresh token, across concurrent requests (and instances, with a
// shared Coordinator): the others wait for it and use its result, and so do
// requests arriving within RefreshGrace that still carry the old refresh
// token. That is what keeps refresh-token rotation from logging users out.
// The grant runs under ctx's values but not its cancellation: a request that
// gives up must not abandon a grant whose result others need.
func (a *Auth) refreshed(ctx context.Context, s *session.Session) (*session.Session, error) {
	// Results carry the time they were made, at millisecond precision.
	start := a.now().Truncate(time.Millisecond)
	for range 3 {
		old := s
		key := refreshKey(old.RefreshToken, old.AccessToken)
		sealed, err := a.cfg.Coordinator.Do(ctx, key, a.cfg.RefreshGrace, func(ctx context.Context) ([]byte, error) {
			tokens, err := a.rp.Refresh(ctx, old.RefreshToken, old.IDToken)
			if err != nil {
				return nil, err
			}
			result := &session.Session{
				Subject:      old.Subject,
				IDToken:      tokens.RawIDToken,
				AccessToken:  tokens.AccessToken,
				RefreshToken: tokens.RefreshToken,
				Expiry:       tokens.Expiry,
				RefreshedAt:  a.now(),
			}
			// Sealed under the key: a result can only be opened as the
			// answer to the refresh it was made for.
			v, err := a.sessions.Seal(key, result)
			return []byte(v), err
		})
		if err != nil {
			return nil, err
		}
		var result session.Session
		if err := a.sessions.Open(key, string(sealed), &result); err != nil {
			return nil, err
		}
		if result.Subject != old.Subject {
			return nil, fmt.Errorf("%w: refresh result of %q for a session of %q", client.ErrSubjectMismatch, result.Subject, old.Subject)
		}
		next := *old
		next.AccessToken, next.RefreshToken = result.AccessToken, result.RefreshToken
		next.Expiry, next.RefreshedAt = result.Expiry, result.RefreshedAt
		if result.IDToken != "" {
			next.IDToken = result.IDToken
		}
		next.LastSeen = a.now()
		s = &next
		// A result remembered from an earlier refresh may be due itself (its
		// grace outlived the token): refresh it in turn, under its own key.
		// A result made just now is used as it is.
		if !result.RefreshedAt.Before(start) || !a.refreshDue(s) || s.RefreshToken == "" {
			break
		}
	}
	return s, nil
}

// refreshKey names one refresh without revealing its tokens: that of
// refreshToken, replacing accessToken. With providers that do not rotate
// refresh tokens, the refresh token alone would name every refresh of a
// session, and the first one's result would be served again, expired.
func refreshKey(refreshToken, accessToken string) string {
	h := sha256.New()
	h.Write([]byte(refreshToken))
	h.Write([]byte{0})
	h.Write([]byte(accessToken))
	var sum [sha256.Size]byte
	return "refresh:" + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:18])
}

// token returns the session's access token, refreshing it first when due.
func (st *requestState) token(ctx context.Context) (*oauth2.Token, error) {
	if st == nil {
		return nil, ErrNotAuthenticated
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sess
	if s.AccessToken == "" {
		return nil, ErrNoAccessToken
	}
	if st.a.refreshDue(s) {
		switch {
		case s.RefreshToken != "":
			if err := st.refreshLocked(ctx); err != nil {
				return nil, err
			}
		case !st.a.now().Before(s.Expiry):
			return nil, ErrTokenExpired
		}
	}
	return &oauth2.Token{AccessToken: st.sess.AccessToken, TokenType: "Bearer", Expiry: st.sess.Expiry}, nil
}

// TokenSource returns the access token of r's session as an
// oauth2.TokenSource, refreshed shortly before it expires (see
// Config.RefreshLeeway) with the session saved on the response. r must have
// passed Require or Optional. Because oauth2.TokenSource takes no context,
// the source is bound to r's: use it within the request only.
func (a *Auth) TokenSource(r *http.Request) oauth2.TokenSource {
	return &tokenSource{st: stateFrom(r.Context()), ctx: r.Context()}
}

type tokenSource struct {
	st  *requestState
	ctx context.Context // the request's; oauth2.TokenSource has no ctx parameter
}

func (ts *tokenSource) Token() (*oauth2.Token, error) { return ts.st.token(ts.ctx) }

// HTTPClient returns a client that sends r's access token as a Bearer token
// with each request, refreshing it first when due, under the context of the
// outgoing request, over Config.Transport. The token goes only to the
// origin (scheme, host and port) of the request the client was given: a
// redirect to another origin, https to http included, is followed without
// it. r must have passed Require or Optional. Errors are ErrLoginEnded,
// ErrTokenExpired, ErrNoAccessToken (answer 401) or the client package's
// refresh errors (ErrorStatus maps them).
func (a *Auth) HTTPClient(r *http.Request) *http.Client {
	return &http.Client{
		Transport: &transport{st: stateFrom(r.Context()), base: a.cfg.Transport},
		Timeout:   30 * time.Second,
	}
}

type transport struct {
	st   *requestState
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !sameOriginAsFirst(req) {
		return t.base.RoundTrip(req) // a redirect elsewhere: no token
	}
	tok, err := t.st.token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	out := req.Clone(req.Context())
	tok.SetAuthHeader(out)
	return t.base.RoundTrip(out)
}

// sameOriginAsFirst reports whether req, when http.Client follows a
// redirect, goes to the origin of the first request of the chain.
func sameOriginAsFirst(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first == req || origin(first.URL) == origin(req.URL)
}

// origin is u's scheme, host and port, with the scheme's default port made
// explicit.
func origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
