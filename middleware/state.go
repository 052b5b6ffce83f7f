package middleware

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

// requestState is what Require and Optional put in the request's context:
// the session, and what is needed to write it back on the way out. It is
// one allocation per request, its response writer included.
type requestState struct {
	a     *Auth
	p     *provider      // the provider the session was logged in with
	r     *http.Request  // as the middleware got it: its cookies name the session
	w     responseWriter // the handler's: writes the session before the header
	outer *requestState  // the state of an enclosing Auth's middleware, if any

	mu         sync.Mutex       // guards the fields below; a refresh replaces sess, never mutates it
	sess       *session.Session // the session, as the handler sees it
	cookie     *session.Session // the session the browser holds after this response
	sent       bool             // the header is written: no cookie can be set any more
	refreshErr error            // why the last refresh in this request failed, if it did
	claims     []byte           // the user's claims as one JSON object, made on first use
	dpop       *client.DPoPKey  // the session's DPoP key, parsed on first use
}

type stateKey struct{}

// stateFrom returns the state of the innermost Require or Optional.
func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// state returns the state a's middleware put in ctx, so that two Auths
// nested on one route each find their own.
func (a *Auth) state(ctx context.Context) *requestState {
	for st := stateFrom(ctx); st != nil; st = st.outer {
		if st.a == a {
			return st
		}
	}
	return nil
}

func (a *Auth) newState(w http.ResponseWriter, r *http.Request, s *session.Session, p *provider) *requestState {
	st := &requestState{a: a, p: p, r: r, outer: stateFrom(r.Context()), sess: s, cookie: s}
	st.w = responseWriter{ResponseWriter: w, st: st}
	return st
}

func (st *requestState) session() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sess
}

// replace makes s the request's session, changed by a refresh: it is written
// back before the header or, once the header is written, kept where the
// next request of the session finds it.
func (st *requestState) replace(ctx context.Context, s *session.Session) error {
	st.sess, st.claims = s, nil // the DPoP key stays: a refresh keeps it
	if !st.sent {
		return nil // commit writes it
	}
	err := st.a.sessions.Persist(ctx, st.cookie, s)
	if err == nil {
		st.cookie = s
	}
	return err
}

// commit writes the session's cookie, when it changed or its use is due to
// be recorded, just before the response's header is written. It runs once.
func (st *requestState) commit() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sent {
		return
	}
	st.sent = true
	m, s := st.a.sessions, st.sess
	if s == st.cookie {
		// Unchanged: record its use (when due), unless its tokens are due
		// for a refresh, which another request may be making right now: a
		// touched cookie with the replaced tokens, arriving after that
		// request's cookie, would bring them back.
		if !m.RefreshDue(s) {
			m.Touch(st.w.ResponseWriter, st.r, s) // best effort: a failed touch costs idle time only
		}
		return
	}
	if err := m.Save(st.w.ResponseWriter, st.r, s); err != nil {
		st.a.cfg.Logger.WarnContext(st.r.Context(), "oidcrp: saving the refreshed session failed", "error", err)
		return
	}
	st.cookie = s
}

// claimsJSON returns the user's claims as one JSON object, found on first
// use (see claimsCache).
func (st *requestState) claimsJSON() ([]byte, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.claims == nil {
		c, err := st.a.claims.get(st.sess)
		if err != nil {
			return nil, err
		}
		st.claims = c
	}
	return st.claims, nil
}

// responseWriter is the handler's ResponseWriter: it writes the session's
// cookie (commit) before the header goes out.
type responseWriter struct {
	http.ResponseWriter
	st *requestState
}

func (w *responseWriter) WriteHeader(code int) {
	w.st.commit()
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.st.commit()
	return w.ResponseWriter.Write(b)
}

// Flush writes the header, with the session, and flushes.
func (w *responseWriter) Flush() {
	w.st.commit()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection, for protocols such as WebSocket.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.st.commit()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
