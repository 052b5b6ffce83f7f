package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/flight"
	"golang.org/x/oauth2"
)

// ErrExchange: a token exchange step of HTTPClient failed; the client
// package's error is wrapped (a *client.TokenError matching
// client.ErrInvalidTarget, client.ErrProviderUnavailable, ...). ErrorStatus
// maps it to 502: the call to the downstream API could not be made.
var ErrExchange = errors.New("middleware: token exchange failed")

// ExchangeConfig configures a token exchange step (RFC 8693). RP is
// required; every other field has a working zero value.
type ExchangeConfig struct {
	// RP exchanges the tokens: usually the Auth's own, or another client
	// registered for the exchange.
	RP *client.RP

	// Audiences, Resources, Scopes and RequestedTokenType are those of
	// client.ExchangeRequest: what the downstream token is for. The
	// subject token is the one HTTPClient would have sent: the session's
	// access token, or the previous step's token.
	Audiences          []string
	Resources          []string
	Scopes             []string
	RequestedTokenType string
	Extra              url.Values

	// Actor, if set, returns the actor token of each exchange (delegation,
	// RFC 8693 section 1.1): the token of this service, acting for the user,
	// sent as an access token, so that the downstream token names both
	// (its act claim). Usually a client credentials source's method:
	//
	//	src, _ := rp.ClientCredentialsSource(client.ClientCredentialsRequest{})
	//	x, _ := middleware.NewExchange(middleware.ExchangeConfig{RP: rp, Audiences: aud, Actor: src.TokenContext})
	//
	// If nil, exchanges carry no actor token (impersonation).
	Actor func(context.Context) (*oauth2.Token, error)

	// MaxEntries bounds the exchanged tokens kept, one per subject token,
	// so that a session's requests exchange its token once until the
	// result is due. If zero, 1024.
	MaxEntries int

	// RefreshLeeway is how long before its expiry an exchanged token is
	// exchanged anew, never more than a quarter of its lifetime. If zero,
	// 30 seconds.
	RefreshLeeway time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Exchange is a token exchange step for HTTPClient: a handler calls a
// downstream API as the user in one line,
//
//	resp, err := auth.HTTPClient(r, downstream).Get("https://b.example.com/v1/items")
//
// with the session's access token exchanged for one for the downstream
// API. Exchanged tokens are kept, by subject token, until they are due, at
// most MaxEntries of them; concurrent requests with one subject token
// exchange it once. An Exchange is safe for concurrent use.
type Exchange struct {
	cfg    ExchangeConfig
	flight flight.Group[*exchanged] // one exchange per subject token at a time

	mu    sync.Mutex              // guards cache
	cache map[[32]byte]*exchanged // by SHA-256 of the subject token
}

type exchanged struct {
	token  string
	issued time.Time
	expiry time.Time // zero: unknown, kept until evicted
}

// NewExchange checks cfg and returns the step. It sends nothing yet.
func NewExchange(cfg ExchangeConfig) (*Exchange, error) {
	switch {
	case cfg.RP == nil:
		return nil, fmt.Errorf("%w: ExchangeConfig.RP is nil", ErrInvalidConfig)
	case cfg.MaxEntries < 0 || cfg.RefreshLeeway < 0:
		return nil, fmt.Errorf("%w: negative MaxEntries or RefreshLeeway", ErrInvalidConfig)
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 1024
	}
	if cfg.RefreshLeeway == 0 {
		cfg.RefreshLeeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Exchange{cfg: cfg, cache: make(map[[32]byte]*exchanged)}, nil
}

// Token returns a token for the downstream API in exchange for subject,
// an access token: the kept one while it is not due, else a new exchange.
// It fails with an error matching ErrExchange.
func (x *Exchange) Token(ctx context.Context, subject string) (string, error) {
	key := sha256.Sum256([]byte(subject))
	if t := x.cached(key); t != nil {
		return t.token, nil
	}
	t, _, err := x.flight.Do(ctx, string(key[:]), func(ctx context.Context) (*exchanged, error) {
		if t := x.cached(key); t != nil {
			return t, nil
		}
		var actor string
		if x.cfg.Actor != nil {
			at, err := x.cfg.Actor(ctx)
			if err != nil {
				return nil, fmt.Errorf("actor token: %w", err)
			}
			if at == nil || at.AccessToken == "" {
				return nil, errors.New("actor token: none")
			}
			actor = at.AccessToken
		}
		tok, err := x.cfg.RP.ExchangeToken(ctx, client.ExchangeRequest{
			SubjectToken:       subject,
			SubjectTokenType:   client.TokenTypeAccessToken,
			ActorToken:         actor,
			RequestedTokenType: x.cfg.RequestedTokenType,
			Audiences:          x.cfg.Audiences,
			Resources:          x.cfg.Resources,
			Scopes:             x.cfg.Scopes,
			Extra:              x.cfg.Extra,
		})
		if err != nil {
			return nil, err
		}
		if tok.TokenType != "Bearer" {
			return nil, fmt.Errorf("%w: exchanged token_type %q cannot be sent as a Bearer token", client.ErrProviderResponse, tok.TokenType)
		}
		t := &exchanged{token: tok.Token, issued: x.cfg.Now(), expiry: tok.Expiry}
		x.store(key, t)
		return t, nil
	})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrExchange, err)
	}
	return t.token, nil
}

// due is session.Manager.RefreshDue's rule.
func (x *Exchange) due(t *exchanged) bool {
	if t.expiry.IsZero() {
		return false
	}
	leeway := min(x.cfg.RefreshLeeway, t.expiry.Sub(t.issued)/4)
	return !x.cfg.Now().Before(t.expiry.Add(-leeway))
}

func (x *Exchange) cached(key [32]byte) *exchanged {
	x.mu.Lock()
	defer x.mu.Unlock()
	t := x.cache[key]
	if t == nil || x.due(t) {
		return nil
	}
	return t
}

// store keeps t, making room when the cache is full: the due entries go
// first, then arbitrary ones (a session whose token is dropped exchanges
// again at its next call).
func (x *Exchange) store(key [32]byte, t *exchanged) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.cache) >= x.cfg.MaxEntries {
		for k, e := range x.cache {
			if x.due(e) {
				delete(x.cache, k)
			}
		}
		for k := range x.cache {
			if len(x.cache) < x.cfg.MaxEntries {
				break
			}
			delete(x.cache, k)
		}
	}
	x.cache[key] = t
}
