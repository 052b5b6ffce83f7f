// Package frameworks holds three small apps that put oidcrp's middleware in
// front of a route of a web framework: chi (./chi), echo (./echo) and gin
// (./gin). Each guards GET /me and GET /api with the login, reads the user
// (middleware.Subject, middleware.Claims) and calls an API as the user with
// the access token that refreshes itself (Auth.HTTPClient).
//
// chi takes net/http middleware as it is; echo wraps it with
// echo.WrapMiddleware; gin needs the small adapter in gin/adapter.go, so
// that the session written back on the way out reaches gin's writer before
// the handler's first byte.
//
// Each runs with no environment against an embedded development provider
// (oidctest), or against a real one with the web app's variables:
//
//	go run ./examples/frameworks/chi    # then open http://127.0.0.1:8080/me
//
// This is a module of its own, so that the frameworks stay out of the
// library's go.mod and the other examples'.
package frameworks
