package oidctest

import (
	"net/url"
)

// Signing says how the provider signs the ID tokens it issues, so that tests
// can feed a relying party tokens it must reject.
type Signing int

const (
	SignNormally     Signing = iota // with the current key of the key set
	SignNone                        // "alg":"none", no signature
	SignHS256                       // HMAC with the client secret
	SignWrongKey                    // a key outside the key set, with the current key's kid
	SignUnknownKey                  // a key outside the key set, with a kid the set lacks
	CorruptSignature                // the current key, then one signature byte changed
)

// Hooks make the provider misbehave. Each field left nil or zero keeps the
// correct behaviour. Set them with Server.SetHooks.
type Hooks struct {
	// Discovery edits the discovery document before it is served.
	Discovery func(doc map[string]any)

	// AuthorizeResponse edits the parameters of the redirect back to the
	// client: drop "iss", change "state", set "error", ...
	AuthorizeResponse func(q url.Values)

	// IDToken edits the claims of each ID token before it is signed:
	// another "aud", an "exp" in the past, no "nonce", ...
	IDToken func(claims map[string]any)

	// IDTokenSigning says how ID tokens are signed.
	IDTokenSigning Signing

	// TokenResponse edits the token endpoint's JSON answer to a successful
	// grant; grantType is "authorization_code", "refresh_token",
	// "client_credentials", DeviceGrantType or TokenExchangeGrantType.
	TokenResponse func(grantType string, resp map[string]any)

	// TokenError, if it returns a non-zero status, makes the token
	// endpoint answer with that status and RFC 6749 error code instead.
	TokenError func(grantType string) (status int, code string)

	// UserInfo edits the userinfo answer.
	UserInfo func(claims map[string]any)
}

// SetHooks replaces the provider's hooks; Hooks{} restores correct behaviour.
func (s *Server) SetHooks(h Hooks) {
	s.mu.Lock()
	s.hooks = h
	s.mu.Unlock()
}
