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
// back-channel logout delivery, revocation, and introspection (RFC 7662). It
// binds to 127.0.0.1 only.
//
// For tests of APIs, it mints access tokens: AccessToken (JWT, RFC 9068) and
// OpaqueAccessToken (known to its introspection endpoint), with options that
// break each claim, the type or the signature, and DPoP-bound ones for a
// DPoPKey, which makes the client's proofs (RFC 9449).
//
// Beyond the browser login it serves the client_credentials grant (to
// confidential clients; the token's sub is the client), the device
// authorization grant (RFC 8628: a device authorization endpoint, a
// verification page that approves the code it is given, and
// ApproveDevice and DenyDevice for tests; Config.DeviceInterval is
// enforced with slow_down), and token exchange (RFC 8693: a subject access
// token it issued, or an ID token it signed, for a token of another
// audience). Registered http redirect URIs on 127.0.0.1 or [::1] match any
// port (RFC 8252 section 7.3), for native apps' loopback listeners.
//
// The token and revocation endpoints authenticate clients by one method
// each request: client_secret_basic, client_secret_post, none, or a client
// assertion (RFC 7523): client_secret_jwt, signed with the client's secret,
// or private_key_jwt, verified with the keys registered in Client.JWKS. An
// assertion's iss and sub must be the client ID, its aud the issuer or the
// token endpoint as one string, its exp at most five minutes away, and its
// jti is accepted once. Client.AuthMethod pins a client to one method.
//
// It also serves pushed authorization requests (RFC 9126, at /par, one-time
// request_uris; Config.RequirePushedAuthorizationRequests and
// Client.RequirePushedAuthorizationRequests refuse unpushed ones), the
// form_post response mode (a page that posts the response; Browser submits
// such pages), and DPoP (RFC 9449): proofs checked at the token endpoint
// and userinfo (typ, algorithm, jwk, signature, htm, htu, iat, ath, jti
// replay), DPoP tokens bound by cnf.jkt, codes bound by dpop_jkt, refresh
// tokens bound to the key, and with Config.DPoPNonce, nonces required
// (RotateDPoPNonce makes clients retry).
//
// Hooks make it misbehave, so that a relying party's checks can be tested:
// ID tokens with the wrong nonce, audience or issuer, expired or badly
// signed ones, forged authorization responses, failing token endpoints.
// Stats counts grants, so tests can assert how often a relying party
// refreshed.
//
// It is for tests and local development only: it authenticates no one.
package oidctest
