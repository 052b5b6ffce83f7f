package resource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/flight"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// Verifier checks the access tokens of requests to an API. It is safe for
// concurrent use; Close releases the provider it discovered.
type Verifier struct {
	cfg      Config
	provider *discovery.Provider
	owned    bool // provider was discovered by New: Close closes it
	cache    *cache
	flights  flight.Group[introspected] // concurrent introspections of one token, keyed by its hash

	keysMu sync.RWMutex        // guards keys
	keys   map[string]boundKey // DPoP keys by thumbprint, once a proof with a valid token showed them
}

// New validates cfg and returns a Verifier. Without cfg.Provider it
// discovers cfg.Issuer first, so that an unreachable provider or a bad
// issuer is found at start-up (errors matching discovery's). With
// cfg.ClientID, the provider must advertise an introspection_endpoint.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, provider: cfg.Provider, cache: newCache(cfg.CacheSize), keys: make(map[string]boundKey)}
	v.cfg.DPoPNonceKey = slices.Clone(cfg.DPoPNonceKey)
	v.cfg.DPoPAlgorithms = slices.Clone(cfg.DPoPAlgorithms)
	if v.provider == nil {
		p, err := discovery.New(ctx, discovery.Config{Issuer: cfg.Issuer, HTTPClient: cfg.HTTPClient, InsecureAllowHTTP: v.cfg.InsecureAllowHTTP, Events: v.cfg.Events})
		if err != nil {
			return nil, err
		}
		v.provider, v.owned = p, true
	}
	if cfg.ClientID != "" && v.provider.Metadata().IntrospectionEndpoint == "" {
		v.Close()
		return nil, fmt.Errorf("%w: ClientID is set for introspection, but the provider has no introspection_endpoint", ErrInvalidConfig)
	}
	return v, nil
}

// Close closes the provider New discovered, if any.
func (v *Verifier) Close() error {
	if v.owned {
		return v.provider.Close()
	}
	return nil
}

// Authenticate is the pure check behind Require: it reads r's access token
// (the Authorization header only) and, for the DPoP scheme, its proof, and
// returns the verified token without writing anything. It fails with
// ErrNoToken, ErrInvalidRequest, an error matching ErrInvalidToken (and
// ErrInvalidProof for DPoP proofs), or one matching ErrUnavailable.
func (v *Verifier) Authenticate(r *http.Request) (*Token, error) {
	return v.authenticate(r, nil)
}

// authenticate is Authenticate, with the cache key of the request's token
// when the caller has computed it (Issuers), else nil.
func (v *Verifier) authenticate(r *http.Request, key *cacheKey) (*Token, error) {
	s, raw, proof, err := credentials(r, v.cfg.MaxTokenLength, v.cfg.Origin != "")
	if err != nil {
		if errors.Is(err, ErrNoToken) && v.cfg.Session != nil && len(r.Header["Authorization"]) == 0 {
			return v.session(r)
		}
		return nil, err
	}
	t, err := v.token(r.Context(), raw, true, key)
	if err != nil {
		return nil, err
	}
	switch {
	case s == schemeBearer && t.JKT != "":
		return nil, ErrDPoPRequired
	case s == schemeDPoP && t.JKT == "":
		return nil, ErrNotBound
	case s == schemeDPoP:
		if err := v.checkProof(r, proof, raw, t.JKT); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// VerifyToken verifies raw as a bearer access token, for callers that read
// tokens elsewhere than an HTTP request. A DPoP-bound token fails with
// ErrDPoPRequired: its proof belongs to a request; use Authenticate.
func (v *Verifier) VerifyToken(ctx context.Context, raw string) (*Token, error) {
	if len(raw) > v.cfg.MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedToken, v.cfg.MaxTokenLength)
	}
	t, err := v.token(ctx, raw, false, nil)
	if err != nil {
		return nil, err
	}
	if t.JKT != "" {
		return nil, ErrDPoPRequired
	}
	return t, nil
}

// introspects reports whether v checks opaque tokens by introspection.
func (v *Verifier) introspects() bool { return v.cfg.ClientID != "" || v.cfg.Introspector != nil }

// session asks Config.Session about a request without a token.
func (v *Verifier) session(r *http.Request) (*Token, error) {
	sub, ok, err := v.cfg.Session(r)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: session: %w", ErrUnavailable, err)
	case !ok:
		return nil, ErrNoToken
	}
	return &Token{Subject: sub, FromSession: true}, nil
}

// token returns the verified token raw stands for: from the cache when it
// was verified before and its entry is still valid, else verified now (and
// cached if valid). With header, raw came from an Authorization header and
// must be a token68 (RFC 6750 section 2.1). keyed, if not nil, is raw's
// cache key, computed by the caller.
func (v *Verifier) token(ctx context.Context, raw string, header bool, keyed *cacheKey) (*Token, error) {
	now := v.cfg.Now()
	var key cacheKey
	if keyed != nil {
		key = *keyed
	} else {
		key = keyOf(raw)
	}
	if t := v.cache.get(key, now); t != nil {
		return t, nil
	}
	if header && !isToken68(raw) {
		return nil, fmt.Errorf("%w: the credentials are not a token68", ErrInvalidRequest)
	}
	var (
		t     *Token
		until time.Time
		err   error
	)
	var jt jws.Token
	if perr := jt.Parse(raw); perr == nil {
		t, until, err = v.verifyJWT(ctx, &jt, now)
	} else if v.introspects() {
		t, until, err = v.introspect(ctx, raw, key, now)
	} else {
		err = fmt.Errorf("%w: %v (and no introspection is configured for opaque tokens)", ErrMalformedToken, perr)
	}
	if err != nil {
		return nil, err
	}
	v.cache.put(key, t, until, now)
	return t, nil
}

// atClaims are the claims of a JWT access token (RFC 9068 section 2.2) and
// of an introspection answer (RFC 7662 section 2.2) that are checked or
// exposed.
type atClaims = jwt.AccessClaims

// verifyJWT checks a JWT access token as RFC 9068 section 4 says: typ
// at+jwt, an asymmetric signature with the provider's keys, iss, aud, exp
// (with no leeway past a second), nbf and iat (with the skew), and sub.
func (v *Verifier) verifyJWT(ctx context.Context, t *jws.Token, now time.Time) (*Token, time.Time, error) {
	if alg := t.Header.Alg; !asymmetric(alg) {
		return nil, time.Time{}, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	switch typ := strings.ToLower(t.Header.Typ); {
	case typ == "at+jwt" || typ == "application/at+jwt":
	case v.cfg.InsecureAllowJWTType && (typ == "" || typ == "jwt" || typ == "application/jwt"):
	default:
		return nil, time.Time{}, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidTokenType, t.Header.Typ)
	}
	err := v.provider.KeySet().Verify(ctx, t.Header.Kid, t.Header.Alg, t.Verify)
	switch {
	case errors.Is(err, discovery.ErrFetch):
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	var c atClaims
	if err := c.Decode(t.Payload); err != nil {
		return nil, time.Time{}, err
	}
	tok, err := v.check(&c, now, true)
	if err != nil {
		v.clockSkew(ctx, &c, now, err)
		return nil, time.Time{}, err
	}
	if c.Subject == "" {
		return nil, time.Time{}, ErrMissingSubject
	}
	tok.claims = t.Payload
	return tok, c.Expiry.Time().Add(expiryLeeway), nil
}

// check checks the claims JWTs and introspection answers share; a JWT
// must carry iss, aud, exp and iat, an introspection answer is checked for
// those it has (RFC 7662 section 4).
func (v *Verifier) check(c *atClaims, now time.Time, jwtToken bool) (*Token, error) {
	if (jwtToken || c.Issuer != "") && c.Issuer != v.cfg.Issuer {
		return nil, fmt.Errorf("%w: %q", ErrInvalidIssuer, c.Issuer)
	}
	if (jwtToken || c.Audience != nil) && !c.Audience.Contains(v.cfg.Audience) {
		return nil, fmt.Errorf("%w: aud %q", ErrInvalidAudience, []string(c.Audience))
	}
	err := c.CheckTimes(jwt.Times{Now: now, Skew: v.cfg.ClockSkew, ExpiryLeeway: expiryLeeway,
		RequireExpiry: jwtToken, RequireIssuedAt: jwtToken})
	if err != nil {
		return nil, err
	}
	t := &Token{
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		ClientID: c.ClientID,
		Audience: c.Audience,
		Expiry:   c.Expiry.Time(),
		IssuedAt: c.IssuedAt.Time(),
	}
	t.setScope(c.Scope)
	if c.Cnf != nil {
		if c.Cnf.JKT == "" {
			// Bound to a key by other means (mutual TLS, RFC 8705), which
			// this package cannot check: refused rather than taken as bearer.
			return nil, fmt.Errorf("%w: cnf without jkt", ErrMalformedToken)
		}
		t.JKT = c.Cnf.JKT
	}
	return t, nil
}

// clockSkew emits ClockSkew for a JWT access token signed by the provider
// whose nbf or iat is ahead of now by more than the skew: a clock is off.
// An expired access token is not: clients send stale tokens all the time.
func (v *Verifier) clockSkew(ctx context.Context, c *atClaims, now time.Time, err error) {
	var off time.Duration
	switch {
	case errors.Is(err, ErrNotYetValid):
		off = c.NotBefore.Time().Sub(now.Add(v.cfg.ClockSkew))
	case errors.Is(err, ErrIssuedInFuture):
		off = c.IssuedAt.Time().Sub(now.Add(v.cfg.ClockSkew))
	default:
		return
	}
	if s := v.cfg.Events; s.Enabled(ctx, events.ClockSkew) {
		s.Emit(ctx, events.Event{Name: events.ClockSkew, Issuer: v.cfg.Issuer, Kind: "access_token",
			Reason: events.ReasonOf(err), Skew: off})
	}
}

// asymmetric reports whether alg is a JWS algorithm verified with a public
// key: never none, never HMAC.
func asymmetric(alg string) bool { return slices.Contains(discovery.SignatureAlgorithms, alg) }
