// Package resource is the resource-server side of OAuth 2.0: it guards an
// API with the access tokens an authorization server issued, without
// sessions, a login flow or a redirect URL. It needs the issuer and the
// API's audience; a client ID and secret only to introspect opaque tokens.
//
//	v, err := resource.New(ctx, resource.Config{
//		Issuer:   "https://accounts.example.com",
//		Audience: "https://api.example.com",
//		Origin:   "https://api.example.com", // for DPoP proofs' htu
//	})
//	defer v.Close()
//	mux.Handle("GET /v1/reports", v.Require(reports, "reports:read"))
//
//	func reports(w http.ResponseWriter, r *http.Request) {
//		t, _ := resource.TokenFrom(r.Context()) // t.Subject, t.ClientID, t.Scope, t.Claims(&v)
//	}
//
// What it checks, by default:
//
//   - JWT access tokens (RFC 9068 section 4): header typ at+jwt (an ID token
//     is not an access token; Config.InsecureAllowJWTType relaxes this),
//     an asymmetric signature with the provider's keys (never none or HMAC),
//     iss exactly the issuer, aud containing the audience, exp with no more
//     than a second of leeway, nbf and iat with the clock skew, and sub.
//   - Opaque tokens: introspection (RFC 7662) with the resource server's
//     client credentials (ClientID and ClientSecret, or a *client.RP as
//     Config.Introspector, with any of its authentication methods); active
//     must be true, a refresh_token is refused,
//     and iss, aud, exp, nbf and iat are checked when present.
//   - DPoP-bound tokens (RFC 9449 section 7): a token whose cnf.jkt binds it
//     to a key must come with the DPoP scheme and a valid proof (typ
//     dpop+jwt, an asymmetric algorithm, a public jwk whose thumbprint is
//     jkt, the signature, htm, htu against Config.Origin and the path, iat
//     within Config.ProofWindow, a jti not seen before through a
//     session.ReplayCache that Redis can share between instances, ath, and
//     the server's nonce when Config.DPoPNonceKey is set). A bound token
//     sent as Bearer is refused.
//
// Tokens are read from the Authorization header only (RFC 6750 section
// 2.1), never from the query string, which is refused, or a form body; their
// size is bounded by Config.MaxTokenLength.
//
// A verified token is kept in a bounded in-memory cache keyed by its
// SHA-256 (never the token), so that a token seen before costs a hash and a
// map lookup: a JWT until its exp, an introspection answer for
// Config.IntrospectionCacheTime at most (60 seconds by default: the delay
// before a revocation takes effect) and never past its exp. Failures are not
// cached; a flood of distinct bad tokens costs their verification, and
// tokens naming unknown keys cause at most the key set's rate-limited
// re-fetches (discovery.Config.KeyRefetchInterval).
//
// Authenticate is the pure check; Require wraps it and answers as RFC 6750
// section 3 and RFC 9449 section 7.1 say (see Require). Errors are
// sentinels: every failed token or proof check matches ErrInvalidToken, and
// those shared with ID tokens are the client package's values.
//
// An API that takes the tokens of several providers (an app with login
// through two of them) makes a Verifier for each and joins them with
// NewIssuers: a JWT goes to the Verifier of its iss, which checks it as
// alone; an opaque token to the one Verifier allowed to introspect.
package resource
