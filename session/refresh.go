package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/wire"
)

// Tokens are what a refresh gives a session. Its String, GoString and
// LogValue methods redact the tokens.
type Tokens struct {
	IDToken      string    // the new ID token; "" keeps the session's
	AccessToken  string    // the new access token
	RefreshToken string    // the new refresh token; "" keeps the session's
	Expiry       time.Time // of the access token; zero when unknown
}

// String describes the tokens without revealing them.
func (t Tokens) String() string {
	return fmt.Sprintf("session.Tokens{IDToken:%s AccessToken:%s RefreshToken:%s Expiry:%s}",
		redacted(t.IDToken), redacted(t.AccessToken), redacted(t.RefreshToken), t.Expiry.Format(time.RFC3339))
}

// GoString is String, so that %#v redacts too.
func (t Tokens) GoString() string { return t.String() }

// LogValue describes the tokens in structured logs without revealing them.
func (t Tokens) LogValue() slog.Value { return slog.StringValue(t.String()) }

// SetTokens gives s the tokens t. An empty t.IDToken or t.RefreshToken
// keeps s's: providers need not send them again at a refresh.
func (s *Session) SetTokens(t Tokens) {
	s.accessToken, s.Expiry = textToken(t.AccessToken), t.Expiry
	if t.IDToken != "" {
		s.idToken = textToken(t.IDToken)
	}
	if t.RefreshToken != "" {
		s.refreshToken = textToken(t.RefreshToken)
	}
}

// Tokens returns s's tokens.
func (s *Session) Tokens() Tokens {
	return Tokens{IDToken: s.IDToken(), AccessToken: s.AccessToken(), RefreshToken: s.RefreshToken(), Expiry: s.Expiry}
}

// ErrRefreshResult: a refresh result the Coordinator handed out does not
// answer this session's refresh: it was sealed for another refresh, or for
// another user. No token of it is used.
var ErrRefreshResult = events.NewError(events.ReasonRefreshResult, "session: refresh result of another refresh")

// refreshRetry is how long a failed refresh is not tried again: while the
// provider is down, requests do not each wait for it.
const refreshRetry = 5 * time.Second

// maxRefreshFailures bounds the failed refreshes remembered.
const maxRefreshFailures = 4096

// RefreshDue reports whether s's access token expires within the refresh
// leeway: Config.RefreshLeeway, but never more than a quarter of the
// token's lifetime, so that short-lived tokens are not refreshed on every
// request. A token of unknown expiry is never due.
func (m *Manager) RefreshDue(s *Session) bool {
	if s.Expiry.IsZero() {
		return false
	}
	leeway := min(m.cfg.RefreshLeeway, s.Expiry.Sub(s.RefreshedAt)/4)
	return !m.cfg.Now().Before(s.Expiry.Add(-leeway))
}

// Refresh renews s's tokens with redeem, which redeems the refresh token of
// the session it is given at the provider, and returns the renewed session
// (s itself is not changed; save the result with Save).
//
// The redemption runs once per refresh (a refresh token and the access
// token it replaces) across concurrent requests and, with a shared
// Config.Coordinator, across instances: the others wait for it and take its
// result, and so do requests that arrive within Config.RefreshGrace still
// carrying the replaced tokens (sent before the new cookie arrived, or to
// another instance). That is what keeps refresh-token rotation from logging
// users out. A result remembered that long may be due itself; it is then
// refreshed in turn. Results are sealed with the session keys under the
// refresh they answer, and one that answers another (or another user's) is
// refused with ErrRefreshResult.
//
// redeem runs under ctx's values but not its cancellation: a request that
// gives up must not abandon a redemption others wait for. Its errors are
// returned as they are, and remembered for a few seconds (see
// RecentRefreshFailure).
func (m *Manager) Refresh(ctx context.Context, s *Session, redeem func(ctx context.Context, s *Session) (Tokens, error)) (*Session, error) {
	// Results carry the time they were made, at millisecond precision.
	start := m.cfg.Now().Truncate(time.Millisecond)
	for range 3 {
		old := s
		key := refreshKey(old)
		var ran atomic.Bool // the redemption ran here, not in another request
		sealed, err := m.cfg.Coordinator.Do(ctx, key, m.cfg.RefreshGrace, func(ctx context.Context) ([]byte, error) {
			ran.Store(true)
			// The tokens count as issued when they were asked for: their
			// lifetime (Expiry - RefreshedAt), which sets the refresh
			// leeway, must not shrink by the time the answer took.
			asked := m.cfg.Now()
			tokens, err := redeem(ctx, old)
			var v []byte
			if err == nil {
				v, err = m.sealRefresh(key, old, tokens, asked)
			}
			// One event per redemption, whoever waits for it.
			if err != nil {
				m.emit(ctx, events.RefreshFailed, old, "", err)
			} else {
				m.emit(ctx, events.RefreshSucceeded, old, "", nil)
			}
			return v, err
		})
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				m.failures.remember(key, err, m.cfg.Now())
			}
			if !ran.Load() && errors.Is(err, ErrStore) {
				m.emit(ctx, events.RefreshFailed, old, "", err) // the coordinator failed
			}
			return nil, err
		}
		next, refreshedAt, err := m.openRefresh(key, old, sealed)
		if err != nil {
			m.emit(ctx, events.RefreshFailed, old, "", err)
			return nil, err
		}
		if !ran.Load() {
			// Waited for another request's refresh, or carried the tokens
			// one replaced a little earlier.
			m.emit(ctx, events.RefreshShared, old, "", nil)
		}
		s = next
		if !refreshedAt.Before(start) || !m.RefreshDue(s) || !s.HasRefreshToken() {
			break // made just now, or still fresh: used as it is
		}
	}
	return s, nil
}

// RecentRefreshFailure returns the error of a refresh of s's tokens that
// failed in the last few seconds, or nil. A caller that can do without a
// fresh token, such as middleware serving a page, skips the refresh then,
// so that while the provider is down its requests do not each wait for it.
func (m *Manager) RecentRefreshFailure(s *Session) error {
	return m.failures.recent(refreshKey(s), m.cfg.Now())
}

// KeepRefreshed keeps the result of a refresh, that of replaced into
// refreshed, until refreshed's session expires, for a result that could
// not reach the browser: the refresh happened after the response's header
// was written, so its cookie could not be set. The next request of the
// session, carrying replaced's tokens, then takes it up, and no rotated
// refresh token is lost. With a Store the record holds the new tokens
// already and KeepRefreshed need not be called.
func (m *Manager) KeepRefreshed(ctx context.Context, replaced, refreshed *Session) error {
	key := refreshKey(replaced)
	v, err := m.sealRefresh(key, replaced, refreshed.Tokens(), refreshed.RefreshedAt)
	if err != nil {
		return err
	}
	ttl := refreshed.CreatedAt.Add(m.cfg.AbsoluteTimeout).Sub(m.cfg.Now())
	if ttl <= 0 {
		return nil
	}
	if err := m.cfg.Coordinator.Keep(ctx, key, v, ttl); err != nil {
		return fmt.Errorf("%w: keep refresh result: %w", ErrStore, err)
	}
	return nil
}

// Persist saves s, which replaced a session whose cookie the browser holds,
// when the response can no longer carry a cookie (its header is written):
// with a Store, s's record is saved, and the cookie, which names it, needs
// no change; without, the refresh that made s is kept (KeepRefreshed) for
// the next request of the session, which carries replaced's tokens.
func (m *Manager) Persist(ctx context.Context, replaced, s *Session) error {
	if m.cfg.Store == nil {
		return m.KeepRefreshed(ctx, replaced, s)
	}
	return m.saveRecord(ctx, s)
}

// refreshKey names the refresh of s's tokens without revealing them: its
// refresh token, and the access token it replaces. With providers that do
// not rotate refresh tokens, the refresh token alone would name every
// refresh of a session, and the first one's result would be served again,
// expired.
func refreshKey(s *Session) string {
	h := sha256.New()
	h.Write([]byte(s.RefreshToken()))
	h.Write([]byte{0})
	h.Write([]byte(s.AccessToken()))
	var sum [sha256.Size]byte
	return "refresh:" + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:18])
}

// refreshVersion is the first byte of a sealed refresh result.
const refreshVersion = 1

// sealRefresh seals the result of the refresh named key, of old's tokens,
// under key: it opens only as the answer to that refresh.
func (m *Manager) sealRefresh(key string, old *Session, t Tokens, at time.Time) ([]byte, error) {
	b := make([]byte, 0, 32+len(old.Subject)+len(t.IDToken)+len(t.AccessToken)+len(t.RefreshToken))
	b = append(b, refreshVersion)
	b = wire.AppendString(b, old.Subject)
	b = wire.AppendString(b, t.IDToken)
	b = wire.AppendString(b, t.AccessToken)
	b = wire.AppendString(b, t.RefreshToken)
	b = appendTime(b, t.Expiry)
	b = appendTime(b, at)
	v, err := m.encode(key, b)
	return []byte(v), err
}

// openRefresh opens the result sealed for the refresh named key, of old's
// tokens, and returns old with them.
func (m *Manager) openRefresh(key string, old *Session, sealed []byte) (*Session, time.Time, error) {
	var b []byte
	if err := m.decode(key, string(sealed), &b); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrRefreshResult, err)
	}
	r := wire.NewCopyingReader(b)
	if r.Byte() != refreshVersion {
		return nil, time.Time{}, ErrRefreshResult
	}
	sub, idToken, accessToken, refreshToken := r.String(), r.String(), r.String(), r.String()
	expiry, at := readTime(r), readTime(r)
	if r.Err() != nil || r.Len() != 0 {
		return nil, time.Time{}, ErrRefreshResult
	}
	if sub != old.Subject {
		return nil, time.Time{}, fmt.Errorf("%w: of %q, for a session of %q", ErrRefreshResult, sub, old.Subject)
	}
	next := *old
	next.SetTokens(Tokens{IDToken: idToken, AccessToken: accessToken, RefreshToken: refreshToken, Expiry: expiry})
	next.RefreshedAt, next.LastSeen = at, m.cfg.Now()
	return &next, at, nil
}

// refreshFailures remembers failed refreshes for refreshRetry.
type refreshFailures struct {
	mu     sync.Mutex // guards failed
	failed map[string]refreshFailure
}

type refreshFailure struct {
	at  time.Time
	err error
}

func (f *refreshFailures) recent(key string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.failed[key]; ok {
		if now.Sub(e.at) < refreshRetry {
			return e.err
		}
		delete(f.failed, key)
	}
	return nil
}

func (f *refreshFailures) remember(key string, err error, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = make(map[string]refreshFailure)
	}
	if len(f.failed) >= maxRefreshFailures {
		for k, e := range f.failed {
			if now.Sub(e.at) >= refreshRetry || len(f.failed) >= maxRefreshFailures {
				delete(f.failed, k)
			}
		}
	}
	f.failed[key] = refreshFailure{at: now, err: err}
}
