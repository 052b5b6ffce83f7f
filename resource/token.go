package resource

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Token is a verified access token: a JWT (RFC 9068) or an introspection
// answer (RFC 7662). It holds no copy of the token itself. Treat it as
// read-only: it is shared by the requests that present the same token.
type Token struct {
	Issuer   string
	Subject  string   // sub; for a session (Config.Session), the user's
	ClientID string   // client_id: the client the token was issued to; "" when absent
	Scope    string   // scope, space-separated; "" when absent
	Audience []string // aud
	Expiry   time.Time
	IssuedAt time.Time // zero when absent

	// JKT is the SHA-256 thumbprint of the key the token is bound to
	// (cnf.jkt, RFC 9449 section 6), "" for a bearer token.
	JKT string

	// Introspected reports whether the provider's introspection endpoint
	// vouched for the token (an opaque token) rather than its signature.
	Introspected bool

	// FromSession reports a request let through by Config.Session: then
	// only Subject is set.
	FromSession bool

	scopes []string
	claims []byte
}

// Claims decodes the token's claims (the JWT's payload, or the
// introspection answer) into v, as json.Unmarshal does.
func (t *Token) Claims(v any) error {
	if t.claims == nil {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal(t.claims, v)
}

// Scopes returns the token's scopes. Do not modify the slice.
func (t *Token) Scopes() []string { return t.scopes }

// HasScope reports whether the token carries scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.scopes, scope) }

// setScope sets Scope and its parsed form.
func (t *Token) setScope(scope string) {
	t.Scope = scope
	t.scopes = strings.Fields(scope)
}

type tokenKey struct{}

// TokenFrom returns the token Require verified for the request of ctx.
func TokenFrom(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*Token)
	return t, ok
}

// WithToken returns ctx carrying t, as Require passes it to the handler;
// for tests of handlers.
func WithToken(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}
