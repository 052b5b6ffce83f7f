package resource

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/session"
)

// Config describes the resource server: whose tokens it accepts (Issuer or
// Provider) and for what (Audience). Only those are required; every other
// field's zero value is a working default. It is plain data, safe to copy;
// its String method and its slog and JSON forms redact ClientSecret.
type Config struct {
	// Issuer is the authorization server's issuer URL. Required unless
	// Provider is set; tokens must carry it as iss, character for character.
	Issuer string

	// Provider is the discovered provider whose key set verifies JWT access
	// tokens and whose introspection_endpoint introspects opaque ones. If
	// nil, New discovers Issuer (with InsecureAllowHTTP and HTTPClient), and
	// Close closes it.
	Provider *discovery.Provider

	// Audience is this API's identifier: a token's aud must contain it
	// (RFC 9068 section 4, RFC 8707). Required.
	Audience string

	// ClockSkew is the clock difference tolerated for nbf and iat. It does
	// not apply to exp, which is never exceeded by more than a second. If
	// zero, 1 minute; at most 5 minutes.
	ClockSkew time.Duration

	// InsecureAllowJWTType accepts JWT access tokens whose header typ is
	// "JWT" or absent, for providers that do not issue "at+jwt" (RFC 9068
	// section 2.1). The risk: the type is what tells an access token from
	// an ID token, so a client could then call the API with an ID token
	// issued to it whenever the ID token's aud (the client ID) is Audience.
	// Use it only when Audience is no client's ID.
	InsecureAllowJWTType bool

	// ClientID and ClientSecret authenticate this resource server at the
	// provider's introspection endpoint (RFC 7662), which opaque tokens
	// (anything that is not a JWS) are sent to. If ClientID and Introspector
	// are empty, opaque tokens are refused with ErrMalformedToken and
	// nothing is introspected.
	ClientID, ClientSecret string

	// Introspector, if set, introspects opaque tokens instead of ClientID
	// and ClientSecret (which must then be empty): a *client.RP is one, and
	// authenticates with any of the client package's methods
	// (private_key_jwt, client_secret_jwt, ...).
	Introspector Introspector

	// AuthMethod is how to authenticate at the introspection endpoint:
	// "client_secret_basic" or "client_secret_post". If empty,
	// client_secret_basic.
	AuthMethod string

	// IntrospectionCacheTime is how long an active introspection result is
	// reused for the same token: the delay before a revocation at the
	// provider takes effect here. Never past the token's exp. If zero, 60
	// seconds; if negative, results are not kept.
	IntrospectionCacheTime time.Duration

	// CacheSize bounds the verified-token cache (entries keyed by the
	// SHA-256 of the token, never the token). If zero, 10,000; if negative,
	// nothing is cached.
	CacheSize int

	// MaxTokenLength bounds the access token and the DPoP proof a request
	// may carry, in bytes; longer ones are refused before any work. If zero,
	// 16 KiB.
	MaxTokenLength int

	// Origin is the scheme and host (and port) clients use to reach this
	// API, such as "https://api.example.com": a DPoP proof's htu must be it
	// followed by the request's path (RFC 9449 section 4.3). It comes from
	// configuration, never from the request's Host header, which a client
	// chooses. If empty, DPoP is off: DPoP-bound tokens are refused with
	// ErrDPoPRequired.
	Origin string

	// DPoPAlgorithms are the proof signature algorithms accepted and
	// advertised in the DPoP challenge's algs. If nil, ES256, ES384, ES512,
	// RS256, PS256 and EdDSA. Never none or HMAC.
	DPoPAlgorithms []string

	// ProofWindow is how far a DPoP proof's iat may be from now, either way;
	// proofs' jti are remembered that long. If zero, 1 minute.
	ProofWindow time.Duration

	// Replay remembers the jti of DPoP proofs to refuse replays. If nil, a
	// session.MemoryReplayCache on Now (one instance); share a Redis one
	// (session/redisstore) between instances.
	Replay session.ReplayCache

	// DPoPNonceKey, if set (at least 32 bytes), makes proofs carry a nonce
	// this server issued (RFC 9449 section 9): a proof without a current one
	// is answered 401 use_dpop_nonce with a fresh nonce in the DPoP-Nonce
	// header. Nonces are derived from the key and the time, so instances
	// sharing the key accept each other's. If nil, no nonce is required.
	DPoPNonceKey []byte

	// DPoPNonceLifetime is how long an issued nonce is accepted. If zero,
	// 5 minutes.
	DPoPNonceLifetime time.Duration

	// Session, if set, is asked for requests without an Authorization
	// header: ok means the request carries a valid session of the app
	// (its own pages calling its API with the session cookie), and subject
	// is the user's; Require then lets the request through with a Token of
	// only that Subject, whatever the scopes. An error (the session store
	// failed) is answered 503.
	Session func(r *http.Request) (subject string, ok bool, err error)

	// Realm, if set, is sent as the realm of the WWW-Authenticate challenges.
	Realm string

	// InsecureAllowHTTP is passed to discovery when New discovers Issuer.
	InsecureAllowHTTP bool

	// HTTPClient makes the requests to the provider (discovery when New
	// discovers Issuer, introspection). If nil, a client with a 30-second
	// timeout.
	HTTPClient *http.Client

	// Logger receives the errors answered with 503. If nil, slog.Default().
	Logger *slog.Logger

	// Events receives the verifier's events: BearerAccepted and
	// BearerRefused for each request Require decides on, ClockSkew for JWT
	// access tokens whose nbf or iat is ahead of the clock; it is given to
	// discovery when New discovers Issuer. If nil, they are logged to
	// Logger (see events.Log): the per-request ones at debug level.
	Events events.Sink

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Introspector asks an introspection endpoint about a token (RFC 7662) and
// returns its answer, a JSON object, as it came; a *client.RP is one.
type Introspector interface {
	Introspect(ctx context.Context, token, hint string) ([]byte, error)
}

// String returns the configuration with the client secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("resource.Config{Issuer:%q Audience:%q ClientID:%q ClientSecret:%s Origin:%q}",
		c.Issuer, c.Audience, c.ClientID, redacted(c.ClientSecret), c.Origin)
}

// GoString is String, so that %#v redacts too.
func (c Config) GoString() string { return c.String() }

// LogValue redacts the client secret in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("audience", c.Audience),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted(c.ClientSecret)),
		slog.String("origin", c.Origin),
	)
}

// MarshalJSON redacts the client secret.
func (c Config) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"issuer":%q,"audience":%q,"client_id":%q,"client_secret":%q,"origin":%q}`,
		c.Issuer, c.Audience, c.ClientID, redacted(c.ClientSecret), c.Origin), nil
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

const (
	maxClockSkew = 5 * time.Minute
	// expiryLeeway is all a token gets past its exp: NumericDates are whole
	// seconds. The clock skew applies to nbf and iat only.
	expiryLeeway = time.Second
)

// defaultDPoPAlgorithms are the proof algorithms accepted by default.
var defaultDPoPAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"}

// normalize validates c and fills in its defaults.
func (c *Config) normalize() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.Issuer == "" && c.Provider == nil {
		return bad("Issuer is empty")
	}
	if c.Issuer == "" {
		c.Issuer = c.Provider.Issuer()
	}
	if c.Audience == "" {
		return bad("Audience is empty")
	}
	switch {
	case c.ClockSkew < 0 || c.ClockSkew > maxClockSkew:
		return bad("ClockSkew %v is outside [0, %v]", c.ClockSkew, maxClockSkew)
	case c.ClockSkew == 0:
		c.ClockSkew = time.Minute
	}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = "client_secret_basic"
	case "client_secret_basic", "client_secret_post":
	default:
		return bad("AuthMethod %q is not client_secret_basic or client_secret_post", c.AuthMethod)
	}
	if c.Introspector != nil && c.ClientID != "" {
		return bad("Introspector and ClientID both set: one introspects")
	}
	if c.ClientID != "" && c.ClientSecret == "" {
		return bad("ClientID without ClientSecret: introspection needs the resource server's credentials")
	}
	if c.IntrospectionCacheTime == 0 {
		c.IntrospectionCacheTime = 60 * time.Second
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10_000
	}
	if c.MaxTokenLength < 0 {
		return bad("MaxTokenLength is negative")
	}
	if c.MaxTokenLength == 0 {
		c.MaxTokenLength = 16 << 10
	}
	if c.Origin != "" {
		u, err := url.Parse(c.Origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return bad("Origin %q is not an http(s) origin such as https://api.example.com", c.Origin)
		}
		c.Origin = normalizeOrigin(u)
	}
	if c.DPoPAlgorithms == nil {
		c.DPoPAlgorithms = defaultDPoPAlgorithms
	}
	for _, alg := range c.DPoPAlgorithms {
		if !asymmetric(alg) {
			return bad("DPoPAlgorithms: %q is not an asymmetric JWS algorithm", alg)
		}
	}
	switch {
	case c.ProofWindow < 0:
		return bad("ProofWindow is negative")
	case c.ProofWindow == 0:
		c.ProofWindow = time.Minute
	}
	if c.DPoPNonceKey != nil && len(c.DPoPNonceKey) < 32 {
		return bad("DPoPNonceKey is shorter than 32 bytes")
	}
	switch {
	case c.DPoPNonceLifetime < 0:
		return bad("DPoPNonceLifetime is negative")
	case c.DPoPNonceLifetime == 0:
		c.DPoPNonceLifetime = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Replay == nil {
		c.Replay = &session.MemoryReplayCache{Now: c.Now}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Events = events.OrLog(c.Events, c.Logger)
	return nil
}

// normalizeOrigin returns u's scheme and host in lower case, without a
// default port (RFC 3986 section 6.2.3).
func normalizeOrigin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "https" && p == "443") || (scheme == "http" && p == "80") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return scheme + "://" + host
}
