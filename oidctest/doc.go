// Package oidctest runs a real OpenID Provider in-process, for tests, the way
// net/http/httptest runs a server:
//
//	op := oidctest.NewServer(oidctest.Config{})
//	defer op.Close()
//	rp, err := client.New(ctx, client.Config{
//		Issuer:       op.URL,
//		ClientID:     oidctest.DefaultClient.ID,
//		ClientSecret: oidctest.DefaultClient.Secret,
//		RedirectURL:  "http://127.0.0.1/callback",
//	})
//
// It serves discovery, a key set (with RotateKeys), an authorization endpoint
// that logs the configured user in at once (code + PKCE S256 required), a
// token endpoint (authorization_code and refresh_token grants, optional
// refresh-token rotation with reuse detection), userinfo, end_session with
// back-channel logout delivery, and revocation. It binds to 127.0.0.1 only.
//
// Hooks make it misbehave, so that a relying party's checks can be tested:
// ID tokens with the wrong nonce, audience or issuer, expired or badly
// signed ones, forged authorization responses, failing token endpoints.
// Stats counts grants, so tests can assert how often a relying party
// refreshed.
//
// It is for tests and local development only: it authenticates no one.
package oidctest
