// Package middleware turns a relying party (package client) and a session
// manager (package session) into net/http handlers: login, callback,
// logout, and middleware that requires or offers authentication. It works
// with http.ServeMux and any router that takes an http.Handler.
//
//	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions, UserInfo: true})
//	mux.Handle("GET /auth/login", auth.Login())
//	mux.Handle("GET /auth/callback", auth.Callback())
//	mux.Handle("/auth/logout", auth.Logout())
//	mux.Handle("GET /me", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		fmt.Fprintln(w, "hello", middleware.Subject(r.Context()))
//	})))
//
// Require lets through requests with a valid session; browsers without one
// are redirected to the login (which brings them back), API requests get
// 401. Authenticate is the same check without the redirect, for callers that
// answer themselves. Handlers read the session with SessionFrom, Subject and
// Claims, and call APIs as the user with HTTPClient or TokenSource, whose
// tokens refresh themselves (session.Manager.Refresh): once per refresh
// across concurrent requests and instances, so that providers rotating
// refresh tokens never see one redeemed twice. Changes to the session are
// written back on the way out, before the handler's first write. While the
// provider is down, pages that need only the login keep working; what needs
// a valid access token fails (502) until it is back. Given an Exchange
// step, HTTPClient sends a token exchanged for the downstream API's
// audience instead (RFC 8693), so a handler calls it as the user in one
// line: auth.HTTPClient(r, downstream).Get(url).
//
// An app may offer several providers (Config.Providers): the login takes
// the provider's name, or shows a chooser; one callback serves them all,
// refusing a response of another provider than the login's before any token
// request (the mix-up attack); and since a sub is unique per issuer only,
// sessions and logouts are scoped to their provider's issuer. ProviderName
// says which one a request's user logged in with. RequireStepUp asks the
// user's provider for more scopes (incremental authorization) or a stronger
// or fresher authentication (acr_values, max_age) when a route needs them,
// keeping the session, and refuses a step-up that comes back as another
// user.
//
// Errors map to statuses in one place, ErrorStatus: the browser sees a short
// safe message, the log sees the error.
package middleware
