// Package client is the OpenID Connect and OAuth 2.0 protocol of a relying
// party: the authorization-code flow with PKCE, ID-token verification,
// refresh, userinfo and logout URLs. It has no cookies and no HTTP handlers;
// the session and middleware packages build those on top of it.
//
// The happy path:
//
//	rp, err := client.New(ctx, client.Config{
//		Issuer:       "https://accounts.example.com",
//		ClientID:     "my-app",
//		ClientSecret: secret,
//		RedirectURL:  "https://app.example.com/auth/callback",
//	})
//	// Login: send the user to authURL, keep flow (sealed, one use) until the callback.
//	authURL, flow, err := rp.AuthCodeURL(client.AuthRequest{})
//	// Callback: checks iss, state, exchanges the code, verifies the ID token.
//	tokens, err := rp.Callback(ctx, flow, r.URL.Query())
//	fmt.Println(tokens.IDToken.Subject)
//	// Later: fresh tokens, and the user's claims.
//	tokens, err = rp.Refresh(ctx, tokens.RefreshToken, tokens.RawIDToken)
//	info, err := rp.UserInfo(ctx, tokens.AccessToken, tokens.IDToken.Subject)
//
// What is enforced, always:
//   - state, nonce and PKCE S256 on every authorization request, also for
//     confidential clients (RFC 7636; RFC 9700 section 2.1.1); state is
//     compared in constant time (RFC 6749 section 10.12);
//   - the iss authorization response parameter, when present or advertised
//     (RFC 9207), and no repeated response parameters (RFC 6749 section 3.1);
//   - every ID-token check of OpenID Connect Core 3.1.3.7: signature with the
//     provider's keys and advertised algorithms (never "none"; HMAC only with
//     Config.HMACSignatures), iss, aud (no untrusted extra audiences), azp,
//     exp and iat within a bounded clock skew, nonce, sub, at_hash (3.1.3.8)
//     and auth_time when max_age was sent;
//   - on refresh, an ID token must match the original login (12.2); the
//     userinfo sub must match the ID token's (5.3.2).
//
// The client authenticates at the token and revocation endpoints by one
// method (Config.AuthMethod): client_secret_basic, client_secret_post, none,
// or a client assertion (RFC 7523) signed with the secret
// (client_secret_jwt) or with Config.PrivateKey (private_key_jwt: RSA, ECDSA
// P-256/P-384 or Ed25519, any crypto.Signer, so keys in an HSM or KMS work).
// Each request gets a new assertion: iss and sub the client ID, aud the
// issuer as one string (RFC 7523bis), a random jti, a one-minute lifetime.
// ParsePrivateKey reads a PEM key; PublicJWKS publishes its public half,
// and PublicJWKSet several keys, for a rotation.
//
// Beyond the browser login, every grant of the client role goes through the
// same token-endpoint request and client authentication, and needs no
// RedirectURL:
//   - ClientCredentials and ClientCredentialsSource (RFC 6749 section 4.4):
//     a service's own token, with scopes, audiences and resources (RFC
//     8707); the source caches it, renews it within RefreshLeeway of its
//     expiry, and sends one request at a time however many goroutines ask;
//   - DeviceAuthorization, DeviceToken and PollDevice (RFC 8628): the
//     device flow, honouring interval, slow_down, authorization_pending,
//     access_denied and expired_token, the ID token verified;
//   - ExchangeToken (RFC 8693): a token for another audience on behalf of
//     the subject of the token given (ErrInvalidTarget when refused);
//   - WithRedirectURL: the same client with a per-login redirect URI, for
//     native apps' loopback listeners (RFC 8252 section 7.3; see the native
//     package).
//
// Modern authorization requests, each a Config field:
//   - PushedAuthorizationRequests (RFC 9126): the request's parameters are
//     pushed to the provider, authenticated like a token request, and the
//     browser carries only client_id and request_uri. Pushing is I/O, so
//     it happens in AuthCodeURLContext; AuthCodeURL, which does none,
//     answers ErrPARRequired. A failed push is an error matching ErrPAR (a
//     *PARError for the provider's answer), never an unpushed request.
//   - ResponseMode ResponseModeFormPost: the provider posts the response
//     to the redirect URI; Callback takes the posted form as it takes a
//     query.
//   - DPoP (RFC 9449): each login gets a key pair (NewDPoPKey, ES256 by
//     default), carried in the Flow (dpop_jkt binds the code to it) and
//     then kept with the tokens (Tokens.DPoPKey). The code exchange,
//     RefreshDPoP, UserInfoDPoP and DPoPRoundTrip sign a proof per request
//     (fresh jti, ath for the token), answer a use_dpop_nonce challenge
//     once with the server's nonce (ParseDPoPNonce, DPoPError), and
//     remember nonces per origin. A provider that advertises DPoP must
//     return DPoP tokens: ErrDPoPNotBound.
//
// Each failed check returns its own error (ErrStateMismatch,
// ErrInvalidNonce, ErrExpired, ...) for errors.Is; provider answers come as
// *AuthError and *TokenError for errors.As. ErrProviderUnavailable marks
// failures worth retrying.
//
// ID tokens are parsed once, strictly, and their signatures verified with
// the standard library's crypto and the key set of the discovery package
// (which implements go-oidc's oidc.KeySet): go-oidc's own verifier parses
// each token twice and cannot rate-limit key re-fetches, and go-jose's
// parsing alone costs more than the whole check; see the README.
package client
