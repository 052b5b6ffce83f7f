// Package session keeps logins: encrypted, authenticated cookie sessions
// (or server-side ones behind a sealed ID), and the short-lived state of
// each login attempt.
//
//	m, err := session.New(session.Config{Keys: keys}) // keys: 32 random bytes each
//	s, err := m.Load(r)                  // ErrNoSession, ErrInvalid, ErrExpired
//	s := &session.Session{Issuer: iss, Subject: sub}
//	s.SetTokens(session.Tokens{IDToken: raw, AccessToken: at})
//	err = m.Create(w, r, s)              // at login: new ID
//	err = m.Destroy(w, r)                // at logout
//
//	err = m.SaveFlow(w, r, session.LoginFlow, flow.State, flowBytes) // at the login redirect
//	flowBytes, err = m.TakeFlow(w, r, session.LoginFlow, state)       // at the callback, once
//
// A session keeps its tokens in their compact form (base64url segments as
// their bytes, a quarter smaller than their text) and makes them text only
// for the caller that asks (IDToken, AccessToken, RefreshToken): the
// reference session, with an ID token, a JWT access token and a refresh
// token, fits one cookie of under 2,400 bytes.
//
// Load keeps the sessions the cookies it saw opened to (Config.OpenedSessions):
// a browser sends the same cookie until its session changes, and its next
// requests skip the decryption; the timeouts and revocations are checked
// every time.
//
// Cookies are sealed with AES-256-GCM (Codec) under a ring of keys: the first
// seals, all open. They are HttpOnly, SameSite=Lax, Path=/, and over TLS
// Secure with the "__Host-" prefix. A session too large for one cookie is
// split across several and joined back; stale chunks are deleted. Sessions
// end at an absolute and an idle timeout.
//
// Each login attempt has its own cookie named after its state, so logins in
// several tabs do not collide; each can be taken once (a ReplayCache
// remembers), and at most MaxFlows are kept, oldest dropped, so abandoned
// logins cannot grow the request headers past the server's limit.
//
// With a Store, sessions live server-side (MemoryStore here; Redis in its own
// module, session/redisstore) and the cookie carries only the sealed session
// ID. Revoke ends the sessions of a provider session (sid) or a user (sub)
// when the provider announces a logout: store records are deleted, and the
// logout is recorded in Revocations, which Load consults, so cookie sessions
// end too. Revocations records logouts only for the sids and subjects of
// sessions Create issued, so that anonymous logout requests naming others
// store nothing; Destroy records the user's own logout of a cookie session,
// so that a copy of its cookie stops working. A Coordinator runs each token refresh once across requests (and,
// shared, across instances). The session package knows nothing of OpenID
// Connect beyond the data it keeps.
package session
