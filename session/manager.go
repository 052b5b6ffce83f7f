package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/gorilla/securecookie"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/randstr"
)

var (
	// ErrNoSession: the request carries no session cookie.
	ErrNoSession = errors.New("session: no session")

	// ErrExpired: the session passed its absolute or idle timeout.
	ErrExpired = errors.New("session: expired")

	// ErrInvalidConfig: a Config field is wrong; the message says which.
	ErrInvalidConfig = errors.New("session: invalid config")

	// ErrStore: the session store failed. No session is granted: callers
	// should fail closed (503) rather than treat the user as logged out.
	ErrStore = events.NewError(events.ReasonStore, "session: store unavailable")
)

// Config configures a Manager. Every field but Keys (or Codecs) has a
// working zero value.
type Config struct {
	// Keys are the session keys, each KeySize random bytes: the first seals,
	// all open (see Codec). Required unless Codecs is set.
	Keys [][]byte

	// Codecs, if set, replace Keys: the first encodes, all decode, as with
	// securecookie.EncodeMulti. A *Codec is the fast default; codecs from
	// securecookie.CodecsFromPairs work too.
	Codecs []securecookie.Codec

	// Store, if set, keeps sessions server-side and the cookie holds only
	// the sealed session ID. If nil, the whole session is in the cookie.
	Store Store

	// CookieName names the session cookie. If empty, "oidcrp_session".
	// Served over TLS (see Secure), it gets the "__Host-" prefix.
	CookieName string

	// FlowCookieName prefixes the per-login cookies. If empty, "oidcrp_flow".
	FlowCookieName string

	// Secure marks cookies Secure, with the "__Host-" prefix, on every
	// request, as needed when TLS ends at a proxy in front of the app.
	// Without it they are Secure on requests that came over TLS (r.TLS !=
	// nil). The middleware package sets it when the app's redirect URL is
	// https (see WithSecure).
	Secure bool

	// SameSite is the cookies' SameSite attribute. If zero, Lax, which lets
	// the provider's redirect back to the callback carry the flow cookie.
	SameSite http.SameSite

	// AbsoluteTimeout ends a session this long after login, used or not.
	// If zero, 24 hours.
	AbsoluteTimeout time.Duration

	// IdleTimeout ends a session unused this long. If zero, 2 hours. Use
	// is recorded at most every IdleTimeout/16, so that most requests need
	// not rewrite the cookie.
	IdleTimeout time.Duration

	// FlowTimeout bounds a login attempt, from redirect to callback. If
	// zero, 10 minutes.
	FlowTimeout time.Duration

	// MaxFlows bounds the login attempts pending in one browser (each is a
	// cookie); starting another drops the oldest, so abandoned logins cannot
	// grow the request headers past the server's limit. If zero, 4.
	MaxFlows int

	// OpenedSessions bounds the cookie sessions Load keeps opened, by their
	// exact cookie value, so that a browser's next request with the same
	// cookie skips the decryption (each takes about the cookie's size
	// twice in memory). If zero, 1024; if negative, none are kept. Only
	// cookies that open with a key are kept; timeouts and revocations are
	// checked at every Load all the same.
	OpenedSessions int

	// Replay remembers consumed login attempts, so that none is used twice
	// even if its cookie is replayed. If nil, a ReplayCache in memory.
	Replay ReplayCache

	// Revocations records logouts announced by the provider (see Revoke);
	// Load refuses the sessions they cover with ErrRevoked. If nil, a
	// MemoryRevocations, for one instance; share a Redis one between
	// instances.
	//
	// Store, Replay, Revocations and Coordinator of this package's Memory
	// types without a clock get Now.
	Revocations Revocations

	// Coordinator runs each token refresh once across concurrent requests
	// (see Refresh). If nil, a MemoryCoordinator, for one instance; share a
	// Redis one between instances.
	Coordinator Coordinator

	// RefreshLeeway is how long before its expiry an access token is due for
	// refresh (see RefreshDue). It never exceeds a quarter of the token's
	// lifetime. If zero, 30 seconds.
	RefreshLeeway time.Duration

	// RefreshGrace is how long the result of a refresh is kept for requests
	// that still carry the tokens it replaced (sent before the new cookie
	// arrived, or to another instance). If zero, 2 minutes.
	RefreshGrace time.Duration

	// DefaultIssuer is the issuer given to sessions saved without one (by an
	// earlier version of this package, or by an app that never sets
	// Session.Issuer), so that logouts keyed by issuer find them. The
	// middleware package sets it to its provider's issuer when it has one.
	DefaultIssuer string

	// Events receives the manager's events: SessionExpired and
	// SessionRevoked when Load refuses a session, RefreshSucceeded,
	// RefreshFailed and RefreshShared from Refresh. If nil, they are
	// logged with slog.Default() (see events.Log).
	Events events.Sink

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Manager loads and saves sessions and login flows in cookies (or a Store).
// It is safe for concurrent use.
type Manager struct {
	cfg    Config
	codecs []securecookie.Codec
	codec  *Codec // codecs[0] when it is ours: the fast path

	// secureName is CookieName with the "__Host-" prefix, made once rather
	// than on every TLS request.
	secureName string

	failures *refreshFailures // shared by the Managers WithSecure makes

	// opened keeps the sessions cookies opened to (see openCookie): with
	// our Codec alone, whose values carry no expiry of their own (unlike
	// securecookie's), and only for cookie sessions.
	opened *openedCache
}

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	m := &Manager{cfg: cfg, codecs: cfg.Codecs}
	if len(m.codecs) == 0 {
		if len(cfg.Keys) == 0 {
			return nil, bad("no Keys and no Codecs")
		}
		c, err := NewCodec(cfg.Keys...)
		if err != nil {
			return nil, err
		}
		m.codecs = []securecookie.Codec{c}
	}
	m.codec, _ = m.codecs[0].(*Codec)
	switch {
	case m.cfg.OpenedSessions == 0:
		m.cfg.OpenedSessions = 1024
	case m.cfg.OpenedSessions < 0:
		m.cfg.OpenedSessions = -1
	}
	if m.codec != nil && len(m.codecs) == 1 && cfg.Store == nil && m.cfg.OpenedSessions > 0 {
		m.opened = &openedCache{max: m.cfg.OpenedSessions}
	}
	c := &m.cfg
	if c.CookieName == "" {
		c.CookieName = "oidcrp_session"
	}
	if c.FlowCookieName == "" {
		c.FlowCookieName = "oidcrp_flow"
	}
	if !validCookieName(c.CookieName) || !validCookieName(c.FlowCookieName) {
		return nil, bad("CookieName and FlowCookieName must be cookie-name tokens")
	}
	if strings.HasPrefix(c.CookieName, c.FlowCookieName+"_") {
		// SaveFlow would take the session cookie for a stale flow cookie.
		return nil, bad("CookieName %q is in the flow cookies' namespace %q", c.CookieName, c.FlowCookieName+"_")
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AbsoluteTimeout", &c.AbsoluteTimeout, 24 * time.Hour},
		{"IdleTimeout", &c.IdleTimeout, 2 * time.Hour},
		{"FlowTimeout", &c.FlowTimeout, 10 * time.Minute},
		{"RefreshLeeway", &c.RefreshLeeway, 30 * time.Second},
		{"RefreshGrace", &c.RefreshGrace, 2 * time.Minute},
	} {
		switch {
		case *d.v < 0:
			return nil, bad("negative %s", d.name)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	switch {
	case c.MaxFlows < 0:
		return nil, bad("negative MaxFlows")
	case c.MaxFlows == 0:
		c.MaxFlows = 4
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Events = events.OrLog(c.Events, nil)
	m.secureName = hostPrefix + c.CookieName
	m.failures = new(refreshFailures)
	if c.Coordinator == nil {
		c.Coordinator = &MemoryCoordinator{}
	}
	if c.Revocations == nil {
		c.Revocations = &MemoryRevocations{}
	}
	if c.Replay == nil {
		c.Replay = &MemoryReplayCache{}
	}
	// Expiries come from c.Now: the Memory types judge them by the same
	// clock.
	for _, v := range []any{c.Store, c.Replay, c.Revocations, c.Coordinator} {
		if mc, ok := v.(clocked); ok {
			mc.setClock(c.Now)
		}
	}
	return m, nil
}

// WithSecure returns a Manager that shares m's codecs, store and caches
// but marks every cookie Secure, with the "__Host-" prefix (Config.Secure).
// The middleware package uses it when the app's redirect URL is https, so
// that cookies stay Secure when TLS ends at a proxy in front of the app.
func (m *Manager) WithSecure() *Manager {
	if m.cfg.Secure {
		return m
	}
	c := *m
	c.cfg.Secure = true
	return &c
}

// WithDefaultIssuer returns a Manager that shares m's codecs, store and
// caches, with Config.DefaultIssuer set to issuer (if m has none). The
// middleware package uses it with its provider's issuer.
func (m *Manager) WithDefaultIssuer(issuer string) *Manager {
	if m.cfg.DefaultIssuer != "" || issuer == "" {
		return m
	}
	c := *m
	c.cfg.DefaultIssuer = issuer
	if c.opened != nil {
		c.opened = &openedCache{max: c.opened.max} // its sessions are given the default issuer
	}
	return &c
}

// Config returns the configuration with defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

func (m *Manager) secure(r *http.Request) bool { return m.cfg.Secure || r.TLS != nil }

// cookie is the template of a cookie the Manager sets.
func (m *Manager) cookie(r *http.Request, name string) http.Cookie {
	c := http.Cookie{Name: name, Path: "/", HttpOnly: true, SameSite: m.cfg.SameSite}
	if m.secure(r) {
		c.Secure = true
		c.Name = hostPrefix + name
	}
	return c
}

// hostPrefix marks a cookie the browser keeps only if it is Secure, has Path
// "/" and no Domain: no subdomain or plain-HTTP page can set or shadow it.
const hostPrefix = "__Host-"

func (m *Manager) encode(name string, v any) (string, error) {
	if m.codec != nil {
		return m.codec.Encode(name, v)
	}
	return securecookie.EncodeMulti(name, v, m.codecs...)
}

func (m *Manager) decode(name, value string, dst any) error {
	if m.codec != nil && len(m.codecs) == 1 {
		return m.codec.Decode(name, value, dst)
	}
	if err := securecookie.DecodeMulti(name, value, dst, m.codecs...); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return nil
}

// Load returns the request's session. It fails with ErrNoSession when there
// is none, ErrInvalid when the cookie was tampered with, ErrExpired past a
// timeout, and with the store's error when a server-side store fails (in
// which case no session is granted).
func (m *Manager) Load(r *http.Request) (*Session, error) {
	name := m.cfg.CookieName
	cookieName := name
	if m.secure(r) {
		cookieName = m.secureName
	}
	value, present, complete := readChunked(r, cookieName)
	switch {
	case !present:
		return nil, ErrNoSession
	case !complete:
		return nil, fmt.Errorf("%w: %s: chunks missing", ErrInvalid, name)
	}
	var s *Session
	if m.cfg.Store == nil {
		var err error
		if s, err = m.openCookie(name, value); err != nil {
			return nil, err
		}
	} else {
		s = new(Session)
		var id []byte
		if err := m.decode(name, value, &id); err != nil {
			return nil, err
		}
		data, err := m.cfg.Store.Load(r.Context(), string(id))
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNoSession
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStore, err)
		}
		if err := m.decode(name, unsafe.String(unsafe.SliceData(data), len(data)), s); err != nil {
			return nil, err
		}
		if s.ID != string(id) {
			return nil, fmt.Errorf("%w: store record of another session", ErrInvalid)
		}
	}
	if s.Issuer == "" {
		s.Issuer = m.cfg.DefaultIssuer // sealed before sessions recorded their issuer
	}
	now := m.cfg.Now()
	if absolute := now.After(s.CreatedAt.Add(m.cfg.AbsoluteTimeout)); absolute || now.After(s.LastSeen.Add(m.cfg.IdleTimeout)) {
		kind := "idle"
		if absolute {
			kind = "absolute"
		}
		m.emit(r.Context(), events.SessionExpired, s, kind, nil)
		return nil, ErrExpired
	}
	revoked, err := m.cfg.Revocations.Revoked(r.Context(), s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: revocations: %w", ErrStore, err)
	case revoked:
		m.emit(r.Context(), events.SessionRevoked, s, "", nil)
		return nil, ErrRevoked
	}
	return s, nil
}

// emit emits the event name about s, with kind and, for a failure, err.
func (m *Manager) emit(ctx context.Context, name events.Name, s *Session, kind string, err error) {
	if e := m.cfg.Events; e.Enabled(ctx, name) {
		e.Emit(ctx, events.Event{Name: name, Issuer: s.Issuer, Subject: s.Subject, Kind: kind,
			Reason: events.ReasonOf(err), Err: err})
	}
}

// Create starts a new session for a login: it gives s a new random ID (so a
// session ID planted before login is worthless after it), sets its creation
// and last-use times, deletes the request's previous session if any,
// records its sid and subject in Config.Revocations (so that a logout the
// provider announces for them is recorded), and saves s.
func (m *Manager) Create(w http.ResponseWriter, r *http.Request, s *Session) error {
	if m.cfg.Store != nil {
		if id, ok := m.sealedID(r); ok {
			m.cfg.Store.Delete(r.Context(), id) // best effort: it expires anyway
		}
	}
	now := m.cfg.Now()
	s.ID = randstr.Token()
	s.CreatedAt, s.LastSeen = now, now
	if s.RefreshedAt.IsZero() {
		s.RefreshedAt = now
	}
	if s.Issuer == "" {
		s.Issuer = m.cfg.DefaultIssuer
	}
	if err := m.cfg.Revocations.Issue(r.Context(), s, now.Add(m.cfg.AbsoluteTimeout)); err != nil {
		return fmt.Errorf("%w: revocations: %w", ErrStore, err)
	}
	return m.Save(w, r, s)
}

// Save writes s: a new cookie, and with a Store, the store record. Call it
// before the response's header is written.
func (m *Manager) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	if s.ID == "" {
		return fmt.Errorf("session: save: session has no ID (use Create)")
	}
	name := m.cfg.CookieName
	expires := s.CreatedAt.Add(m.cfg.AbsoluteTimeout)
	var value string
	var err error
	if m.cfg.Store == nil {
		value, err = m.encode(name, s)
	} else {
		if err := m.saveRecord(r.Context(), s); err != nil {
			return err
		}
		value, err = m.encode(name, []byte(s.ID))
	}
	if err != nil {
		return err
	}
	c := m.cookie(r, name)
	c.MaxAge = max(1, int(expires.Sub(m.cfg.Now()).Seconds()))
	if chunks := (len(value) + maxChunk - 1) / maxChunk; chunks > maxChunks {
		return fmt.Errorf("session: save: session needs %d cookies, more than %d: keep it in a Store", chunks, maxChunks)
	}
	writeChunked(w, r, c, value)
	return nil
}

// saveRecord saves s in the Store.
func (m *Manager) saveRecord(ctx context.Context, s *Session) error {
	data, err := m.encode(m.cfg.CookieName, s)
	if err != nil {
		return err
	}
	rec := Record{ID: s.ID, Issuer: s.Issuer, Subject: s.Subject, SID: s.SID, Data: []byte(data), Expires: s.CreatedAt.Add(m.cfg.AbsoluteTimeout)}
	if err := m.cfg.Store.Save(ctx, rec); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	return nil
}

// Touch records that s was used now, if it was last recorded more than
// IdleTimeout/16 ago, by saving a copy of it with LastSeen now (s itself is
// not changed). Most requests therefore write nothing.
func (m *Manager) Touch(w http.ResponseWriter, r *http.Request, s *Session) error {
	now := m.cfg.Now()
	if now.Sub(s.LastSeen) < m.cfg.IdleTimeout/16 {
		return nil
	}
	touched := *s
	touched.LastSeen = now
	return m.Save(w, r, &touched)
}

// Destroy ends the request's session: its cookies are deleted and, with a
// Store, its record too, found by the ID the cookie seals (so that a session
// the store cannot load is still deleted). A cookie session cannot be
// deleted from the browsers that copied its cookie, so its end is recorded
// in Config.Revocations, which Load consults. It fails with ErrStore when
// the record or the revocation could not be written: the session then lives
// on, its cookie is kept, and the caller must not report a logout.
func (m *Manager) Destroy(w http.ResponseWriter, r *http.Request) error {
	var err error
	if m.cfg.Store != nil {
		if id, ok := m.sealedID(r); ok {
			if derr := m.cfg.Store.Delete(r.Context(), id); derr != nil {
				err = fmt.Errorf("%w: %w", ErrStore, derr)
			}
		}
	} else if s, ok := m.cookieSession(r); ok {
		expires := s.CreatedAt.Add(m.cfg.AbsoluteTimeout)
		if now := m.cfg.Now(); now.Before(expires) {
			if rerr := m.cfg.Revocations.Revoke(r.Context(), Revocation{ID: s.ID, At: now, Expires: expires}); rerr != nil {
				err = fmt.Errorf("%w: revocations: %w", ErrStore, rerr)
			}
		}
	}
	if err != nil {
		return err // the session lives on: keep its cookie, so that the user can try again
	}
	c := m.cookie(r, m.cfg.CookieName)
	expire(w, c)
	deleteChunks(w, r, c, 1)
	return nil
}

// sealedID returns the session ID the request's cookie seals, with a Store.
func (m *Manager) sealedID(r *http.Request) (string, bool) {
	value, ok := m.cookieValue(r)
	if !ok {
		return "", false
	}
	var id []byte
	if m.decode(m.cfg.CookieName, value, &id) != nil {
		return "", false
	}
	return string(id), true
}

// cookieSession decodes the request's cookie session, without a Store and
// without checking its timeouts or revocations.
func (m *Manager) cookieSession(r *http.Request) (*Session, bool) {
	value, ok := m.cookieValue(r)
	if !ok {
		return nil, false
	}
	s := new(Session)
	if m.decode(m.cfg.CookieName, value, s) != nil {
		return nil, false
	}
	return s, true
}

// cookieValue returns the value of the request's session cookie, its
// chunks joined.
func (m *Manager) cookieValue(r *http.Request) (string, bool) {
	name := m.cfg.CookieName
	if m.secure(r) {
		name = m.secureName
	}
	value, present, complete := readChunked(r, name)
	return value, present && complete
}

// Revoke ends, for a logout announced by the provider, the sessions r
// names (see Revocation): the store's records are deleted when the store is
// a Revoker, and the logout is recorded in Config.Revocations, which Load
// consults, so that cookie sessions (which cannot be deleted) are refused
// too. If r.At is zero, it is now; r.Expires is set to when the sessions it
// covers expire; r.Issuer, if empty, is Config.DefaultIssuer. An
// Unverified logout (a front-channel request, which anyone can send) is
// recorded only for sids and subjects of sessions this app issued, so that
// a request naming others stores nothing.
func (m *Manager) Revoke(ctx context.Context, r Revocation) error {
	if r.SID == "" && r.Subject == "" {
		return fmt.Errorf("session: revoke: neither sid nor sub")
	}
	if r.Issuer == "" {
		r.Issuer = m.cfg.DefaultIssuer
	}
	if rv, ok := m.cfg.Store.(Revoker); ok {
		var err error
		if r.SID != "" {
			_, err = rv.DeleteBySID(ctx, r.Issuer, r.SID)
		} else {
			_, err = rv.DeleteBySubject(ctx, r.Issuer, r.Subject)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	now := m.cfg.Now()
	if r.At.IsZero() || r.At.After(now) {
		r.At = now
	}
	r.ID, r.Expires = "", r.At.Add(m.cfg.AbsoluteTimeout)
	if err := m.cfg.Revocations.Revoke(ctx, r); err != nil {
		return fmt.Errorf("%w: revocations: %w", ErrStore, err)
	}
	return nil
}
