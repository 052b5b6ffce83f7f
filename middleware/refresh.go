package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/httpx"
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

// refreshLocked renews the session's tokens (st.mu held). A refresh token
// the provider refuses (invalid_grant) ends the login: the session is
// deleted. Any failure is remembered for the rest of the request, which
// does not try again.
func (st *requestState) refreshLocked(ctx context.Context) error {
	a := st.a
	fresh, err := a.sessions.Refresh(ctx, st.sess, func(ctx context.Context, s *session.Session) (session.Tokens, error) {
		var key *client.DPoPKey
		if s.DPoPKey != nil {
			// The session's key: the new tokens stay bound to it.
			var err error
			if key, err = client.ParseDPoPKey(s.DPoPKey); err != nil {
				return session.Tokens{}, err
			}
		}
		tokens, err := st.p.rp.RefreshDPoP(ctx, key, s.RefreshToken(), s.IDToken())
		if err != nil {
			return session.Tokens{}, err
		}
		return sessionTokens(tokens), nil
	})
	if errors.Is(err, client.ErrInvalidGrant) {
		a.sessions.Destroy(st.w.ResponseWriter, st.r)
		err = fmt.Errorf("%w: %w", ErrLoginEnded, err)
	}
	if err != nil {
		st.refreshErr = err
		return err
	}
	return st.replace(ctx, fresh)
}

// sessionTokens is what a session keeps of the tokens the provider issued.
func sessionTokens(t *client.Tokens) session.Tokens {
	return session.Tokens{IDToken: t.RawIDToken, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// token returns the session's access token, refreshing it first when due.
// When the refresh fails, a token still valid is used; an expired one is
// not, and the refresh's error is returned.
func (st *requestState) token(ctx context.Context) (*oauth2.Token, error) {
	if st == nil {
		return nil, ErrNotAuthenticated
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sess
	if !s.HasAccessToken() {
		return nil, ErrNoAccessToken
	}
	if st.a.sessions.RefreshDue(s) {
		expired := !st.a.now().Before(s.Expiry)
		switch {
		case !s.HasRefreshToken() && expired:
			return nil, ErrTokenExpired
		case !s.HasRefreshToken():
		case st.refreshErr != nil && expired:
			return nil, st.refreshErr
		case st.refreshErr == nil:
			if err := st.refreshLocked(ctx); err != nil && (expired || errors.Is(err, ErrLoginEnded)) {
				return nil, err
			}
		}
	}
	tokenType := "Bearer"
	if st.sess.DPoPKey != nil {
		tokenType = "DPoP"
	}
	return &oauth2.Token{AccessToken: st.sess.AccessToken(), TokenType: tokenType, Expiry: st.sess.Expiry}, nil
}

// dpopKey returns the DPoP key of the session, parsed once per request.
func (st *requestState) dpopKey() (*client.DPoPKey, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dpop == nil {
		k, err := client.ParseDPoPKey(st.sess.DPoPKey)
		if err != nil {
			return nil, err
		}
		st.dpop = k
	}
	return st.dpop, nil
}

// TokenSource returns the access token of r's session as an
// oauth2.TokenSource, refreshed shortly before it expires (see
// Config.RefreshLeeway) with the session saved on the response. r must have
// passed Require or Optional. Because oauth2.TokenSource takes no context,
// the source is bound to r's: use it within the request only. A
// DPoP-bound session's token has TokenType "DPoP" and is useless without
// a proof, which a token source cannot add: call APIs with HTTPClient,
// which signs one for every request.
func (a *Auth) TokenSource(r *http.Request) oauth2.TokenSource {
	return &tokenSource{st: a.state(r.Context()), ctx: r.Context()}
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
// it. For a DPoP-bound session (client.Config.DPoP) each request carries
// "Authorization: DPoP" and a fresh proof signed with the session's key,
// with the token's hash and the server's nonce; a 401 asking for a nonce
// (use_dpop_nonce) is answered once (see client.RP.DPoPRoundTrip). r must
// have passed Require or Optional. Errors are ErrLoginEnded,
// ErrTokenExpired, ErrNoAccessToken (answer 401) or the client package's
// refresh errors (ErrorStatus maps them).
//
// With exchange steps, the token sent is the session's access token
// exchanged for one of the downstream API (RFC 8693; see Exchange), each
// step's token the next one's subject; their errors match ErrExchange.
func (a *Auth) HTTPClient(r *http.Request, exchange ...*Exchange) *http.Client {
	return &http.Client{
		Transport: &transport{st: a.state(r.Context()), base: a.cfg.Transport, exchange: exchange},
		Timeout:   30 * time.Second,
	}
}

type transport struct {
	st       *requestState
	base     http.RoundTripper
	exchange []*Exchange // applied in order to the session's token
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
	if len(t.exchange) > 0 {
		// The downstream API's token, exchanged for the session's, goes
		// as a bearer token.
		for _, x := range t.exchange {
			if tok.AccessToken, err = x.Token(req.Context(), tok.AccessToken); err != nil {
				if req.Body != nil {
					req.Body.Close()
				}
				return nil, err
			}
		}
		tok.TokenType = "Bearer"
	} else if tok.TokenType == "DPoP" {
		key, err := t.st.dpopKey()
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		return t.st.p.rp.DPoPRoundTrip(t.base, req, key, tok.AccessToken)
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
	return first == req || httpx.SameOrigin(first.URL, req.URL)
}
