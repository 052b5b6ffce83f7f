package events

import (
	"context"
	"log/slog"
	"time"
)

// Name names an event. Names are stable: a name, once released, keeps its
// meaning and attributes; new attributes may be added.
type Name string

// The events, by the package that emits them. docs/operations.md says what
// each means and which to alert on.
const (
	// LoginStarted: the login handler sent a browser to the provider.
	// Issuer. (middleware)
	LoginStarted Name = "oidcrp.login.started"

	// LoginSucceeded: a callback completed a login and created a session.
	// Issuer, Subject. (middleware)
	LoginSucceeded Name = "oidcrp.login.succeeded"

	// LoginFailed: a callback was refused or failed; no session was
	// created. Issuer, Reason, Err. A replayed callback is CallbackReplayed
	// instead. (middleware)
	LoginFailed Name = "oidcrp.login.failed"

	// CallbackReplayed: a callback named a login attempt that was used
	// already (a replay, or the back button). Issuer. (middleware)
	CallbackReplayed Name = "oidcrp.callback.replayed"

	// RefreshSucceeded: a refresh token was redeemed for new tokens, once
	// for all the requests that needed them. Issuer, Subject. (session)
	RefreshSucceeded Name = "oidcrp.refresh.succeeded"

	// RefreshShared: a request got the result of a refresh another request
	// made, or was making: it waited for it, or carried the tokens that
	// refresh replaced (sent before the new cookie arrived, or to another
	// instance). Issuer, Subject. (session)
	RefreshShared Name = "oidcrp.refresh.shared"

	// RefreshFailed: redeeming a refresh token failed. Issuer, Subject,
	// Reason (ReasonInvalidGrant: the login is over), Err. (session)
	RefreshFailed Name = "oidcrp.refresh.failed"

	// SessionExpired: a session was refused past its timeout; Kind is
	// "idle" or "absolute". Issuer, Subject, Kind. (session)
	SessionExpired Name = "oidcrp.session.expired"

	// SessionRevoked: a session was refused because a logout revoked it
	// (logged out elsewhere, or announced by the provider). Issuer,
	// Subject. (session)
	SessionRevoked Name = "oidcrp.session.revoked"

	// LogoutSucceeded: a logout ended sessions; Kind is "rp_initiated",
	// "backchannel" or "frontchannel". Issuer, Kind, Subject (when known).
	// (middleware)
	LogoutSucceeded Name = "oidcrp.logout.succeeded"

	// LogoutFailed: a logout was refused or could not be recorded. Issuer,
	// Kind, Reason, Err. (middleware)
	LogoutFailed Name = "oidcrp.logout.failed"

	// DiscoveryFetched: the discovery document was fetched and is current.
	// Issuer, Duration. (discovery)
	DiscoveryFetched Name = "oidcrp.discovery.fetched"

	// DiscoveryFailed: fetching the discovery document failed; the previous
	// one stays current. Issuer, Reason, Duration, Err. (discovery)
	DiscoveryFailed Name = "oidcrp.discovery.failed"

	// KeySetFetched: the key set was fetched; Kind says why: "first",
	// "refresh" (its cache age passed, or a caller asked) or "unknown_kid"
	// (a token named a key the set lacked: the provider rotated its keys).
	// Issuer, Kind, Duration. (discovery)
	KeySetFetched Name = "oidcrp.keyset.fetched"

	// KeySetFailed: fetching the key set failed. Issuer, Kind, Reason,
	// Duration, Err. (discovery)
	KeySetFailed Name = "oidcrp.keyset.failed"

	// UnknownKey: a token named a key ID the key set lacks even after a
	// re-fetch made for it. At most one per Config.KeyRefetchInterval, so
	// that tokens with made-up key IDs cannot flood the sink. Issuer, KeyID.
	// (discovery)
	UnknownKey Name = "oidcrp.keyset.unknown_kid"

	// EndpointSucceeded: a call to an endpoint of the provider that
	// authenticates the client or the user succeeded; Kind is "token" (with
	// GrantType), "userinfo", "revocation", "introspection", "par",
	// "device_authorization" or "identity" (an OAuth 2.0 provider's user
	// API). Issuer, Kind, GrantType, Duration. (client)
	EndpointSucceeded Name = "oidcrp.endpoint.succeeded"

	// EndpointFailed: such a call failed. Issuer, Kind, GrantType, Reason,
	// Duration, Err. (client)
	EndpointFailed Name = "oidcrp.endpoint.failed"

	// ClockSkew: a token signed by the provider failed a time check that a
	// wrong clock explains: an ID or logout token's exp, nbf or iat, an
	// access token's nbf or iat (an expired access token at an API is
	// ordinary and counted by BearerRefused instead). Reason is
	// ReasonExpired, ReasonNotYetValid or ReasonIssuedInFuture; Kind is
	// "id_token", "logout_token" or "access_token"; Skew is how far past
	// the tolerated window the claim was. Issuer, Kind, Reason, Skew.
	// (client, resource)
	ClockSkew Name = "oidcrp.token.clock_skew"

	// BearerAccepted: an API request's access token passed Require; Kind is
	// "bearer", "dpop" or "session". Issuer, Kind. (resource)
	BearerAccepted Name = "oidcrp.bearer.accepted"

	// BearerRefused: Require refused an API request. Issuer, Kind, Reason,
	// Err. (resource)
	BearerRefused Name = "oidcrp.bearer.refused"
)

// Names lists every event, in the order above.
var Names = []Name{
	LoginStarted, LoginSucceeded, LoginFailed, CallbackReplayed,
	RefreshSucceeded, RefreshShared, RefreshFailed,
	SessionExpired, SessionRevoked, LogoutSucceeded, LogoutFailed,
	DiscoveryFetched, DiscoveryFailed, KeySetFetched, KeySetFailed, UnknownKey,
	EndpointSucceeded, EndpointFailed, ClockSkew, BearerAccepted, BearerRefused,
}

// Level is the slog level Log writes name at: Warn for failures an
// operator may have to act on, Info for the logins, logouts and sessions
// ended, Debug for what happens on every request or every token lifetime.
func (n Name) Level() slog.Level {
	switch n {
	case LoginFailed, CallbackReplayed, RefreshFailed, LogoutFailed, DiscoveryFailed,
		KeySetFailed, UnknownKey, EndpointFailed, ClockSkew:
		return slog.LevelWarn
	case LoginSucceeded, SessionExpired, SessionRevoked, LogoutSucceeded:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// Event is one outcome. Each name fills the fields its documentation lists
// and leaves the others zero. No field ever holds a secret: tokens, codes,
// cookies and client secrets have no place here.
type Event struct {
	Name Name

	// Issuer is the provider's issuer identifier.
	Issuer string

	// Reason says why a failure failed (see ReasonOf); "" for successes.
	Reason Reason

	// Kind is the variant of the event: the logout's channel, the endpoint
	// called, why the key set was fetched, ... (see each Name).
	Kind string

	// Subject is the user's sub, when the event concerns a known user. It
	// identifies a person: keep it out of metric attributes.
	Subject string

	// KeyID is the kid a token named (UnknownKey), at most 128 bytes.
	KeyID string

	// GrantType is the grant of a token-endpoint call
	// ("authorization_code", "refresh_token", ...).
	GrantType string

	// Duration is how long the call to the provider took.
	Duration time.Duration

	// Skew is how far a token's time claim was past the tolerated window
	// (ClockSkew).
	Skew time.Duration

	// Err is the failure, for logs. The library's errors name what failed,
	// never a token or secret.
	Err error
}

// Attrs returns the event's non-zero fields as slog attributes, under the
// keys "issuer", "reason", "kind", "sub", "kid", "grant_type", "duration",
// "skew" and "error". The name is not among them.
func (e *Event) Attrs() []slog.Attr {
	attrs := make([]slog.Attr, 0, 8)
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	add("issuer", e.Issuer)
	add("reason", string(e.Reason))
	add("kind", e.Kind)
	add("sub", e.Subject)
	add("kid", e.KeyID)
	add("grant_type", e.GrantType)
	if e.Duration != 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Skew != 0 {
		attrs = append(attrs, slog.Duration("skew", e.Skew))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return attrs
}

// Sink receives events. Emitters call Enabled first and build the event
// only when it returns true, so a sink that ignores an event costs one call.
// Implementations must be safe for concurrent use and must not block: they
// run on the request path.
type Sink interface {
	// Enabled reports whether the sink wants events named name.
	Enabled(ctx context.Context, name Name) bool

	// Emit receives an event. ctx is that of the request or the call that
	// produced it (a background fetch has its own), for trace correlation.
	Emit(ctx context.Context, e Event)
}

// Emit sends e to s if s is enabled for e.Name; a nil s is Log(nil). Use it
// where e costs nothing to build; elsewhere ask Enabled first.
func Emit(ctx context.Context, s Sink, e Event) {
	if s == nil {
		s = defaultLog
	}
	if s.Enabled(ctx, e.Name) {
		s.Emit(ctx, e)
	}
}

// OrLog returns s, or Log(l) when s is nil: what a Config's nil Events
// field means.
func OrLog(s Sink, l *slog.Logger) Sink {
	switch {
	case s != nil:
		return s
	case l == nil:
		return defaultLog
	default:
		return Log(l)
	}
}

// Log returns a Sink that writes each event to l at its name's Level, with
// the name as the message and Attrs as the attributes. A nil l is
// slog.Default(), looked up at each event, so that slog.SetDefault applies.
func Log(l *slog.Logger) Sink { return logSink{l} }

var defaultLog Sink = logSink{}

type logSink struct{ l *slog.Logger }

func (s logSink) logger() *slog.Logger {
	if s.l == nil {
		return slog.Default()
	}
	return s.l
}

func (s logSink) Enabled(ctx context.Context, name Name) bool {
	return s.logger().Enabled(ctx, name.Level())
}

func (s logSink) Emit(ctx context.Context, e Event) {
	s.logger().LogAttrs(ctx, e.Name.Level(), string(e.Name), e.Attrs()...)
}

// Discard is a Sink that wants nothing.
var Discard Sink = discard{}

type discard struct{}

func (discard) Enabled(context.Context, Name) bool { return false }
func (discard) Emit(context.Context, Event)        {}

// Join returns a Sink that sends each event to every sink of sinks that
// wants it. Nil sinks are skipped.
func Join(sinks ...Sink) Sink {
	var j joined
	for _, s := range sinks {
		if s != nil {
			j = append(j, s)
		}
	}
	return j
}

type joined []Sink

func (j joined) Enabled(ctx context.Context, name Name) bool {
	for _, s := range j {
		if s.Enabled(ctx, name) {
			return true
		}
	}
	return false
}

func (j joined) Emit(ctx context.Context, e Event) {
	for _, s := range j {
		if s.Enabled(ctx, e.Name) {
			s.Emit(ctx, e)
		}
	}
}
