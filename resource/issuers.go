package resource

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/oidcrp/oidcrp/internal/jws"
)

// Issuers guards an API whose access tokens come from several
// authorization servers: an app offering login with two providers, whose
// clients call its API with either's tokens. Each Verifier checks its own
// provider's tokens exactly as it does alone; Issuers only chooses which
// Verifier checks a request:
//
//   - a token one of them verified before (it is in that Verifier's cache),
//     that one;
//   - a JWT, the Verifier whose issuer is the token's iss claim, read before
//     any check only to choose (that Verifier then checks the signature with
//     its provider's keys and iss exactly); a JWT naming none of them is
//     refused with ErrInvalidIssuer;
//   - an opaque token, the one Verifier that introspects (Config.ClientID or
//     Config.Introspector), so that a token is never sent to the
//     introspection endpoint of a provider that did not issue it on a guess;
//     without one, opaque tokens are refused;
//   - a request without a token (Config.Session) or with a malformed
//     Authorization header, the first Verifier.
//
// An Issuers is safe for concurrent use. It does not own its Verifiers:
// close them when done.
type Issuers struct {
	all          []*Verifier
	byIssuer     map[string]*Verifier
	introspector *Verifier // nil: opaque tokens are refused
	maxLen       int       // the longest token any of them reads
}

// NewIssuers returns the Issuers of vs, which must be Verifiers of distinct
// issuers, at most one of them introspecting opaque tokens.
func NewIssuers(vs ...*Verifier) (*Issuers, error) {
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: Issuers needs at least one Verifier", ErrInvalidConfig)
	}
	m := &Issuers{all: vs, byIssuer: make(map[string]*Verifier, len(vs))}
	for _, v := range vs {
		if v == nil {
			return nil, fmt.Errorf("%w: a nil Verifier", ErrInvalidConfig)
		}
		if m.byIssuer[v.cfg.Issuer] != nil {
			return nil, fmt.Errorf("%w: two Verifiers of the issuer %q", ErrInvalidConfig, v.cfg.Issuer)
		}
		m.byIssuer[v.cfg.Issuer] = v
		if v.introspects() {
			if m.introspector != nil {
				return nil, fmt.Errorf("%w: %q and %q both introspect: an opaque token names no issuer, so only one may", ErrInvalidConfig, m.introspector.cfg.Issuer, v.cfg.Issuer)
			}
			m.introspector = v
		}
		m.maxLen = max(m.maxLen, v.cfg.MaxTokenLength)
	}
	return m, nil
}

// Authenticate is Verifier.Authenticate by the Verifier the request's token
// belongs to (see Issuers). Its errors are those of Verifier.Authenticate,
// and ErrInvalidIssuer for a JWT of none of the issuers.
func (m *Issuers) Authenticate(r *http.Request) (*Token, error) {
	_, t, err := m.authenticate(r)
	return t, err
}

// Require is Verifier.Require by the Verifier the request's token belongs
// to (see Issuers): a refused request is answered as that Verifier's
// configuration says (the first one's for a token of none of them, whose
// bearer.refused event names no issuer).
func (m *Issuers) Require(next http.Handler, scopes ...string) http.Handler {
	return require(m.authenticate, m.all[0], next, scopes)
}

// authenticate authenticates r with the Verifier it chooses.
func (m *Issuers) authenticate(r *http.Request) (*Verifier, *Token, error) {
	v, key, keyed, err := m.choose(r)
	if err != nil {
		return nil, nil, err // answered as the first Verifier's configuration says
	}
	var known *cacheKey
	if keyed {
		known = &key
	}
	t, err := v.authenticate(r, known)
	return v, t, err
}

// choose returns the Verifier that checks r (see Issuers), and the cache
// key of r's token when it computed one (keyed). What it reads of the token
// is only for choosing, never trusted.
func (m *Issuers) choose(r *http.Request) (v *Verifier, key cacheKey, keyed bool, err error) {
	values := r.Header["Authorization"]
	if len(m.all) == 1 || len(values) != 1 {
		return m.all[0], key, false, nil
	}
	_, raw, _ := strings.Cut(values[0], " ")
	raw = strings.TrimLeft(raw, " ")
	if raw == "" || len(raw) > m.maxLen {
		return m.all[0], key, false, nil // refused there, as malformed
	}
	key = keyOf(raw)
	for _, c := range m.all {
		if c.cache.get(key, c.cfg.Now()) != nil {
			return c, key, true, nil
		}
	}
	var jt jws.Token
	if jt.Parse(raw) != nil {
		if m.introspector != nil {
			return m.introspector, key, true, nil
		}
		return m.all[0], key, true, nil // refused there: no introspection, or not a token
	}
	var claims atClaims
	if claims.Decode(jt.Payload) != nil {
		return m.all[0], key, true, nil // refused there, as malformed
	}
	if v := m.byIssuer[claims.Issuer]; v != nil {
		return v, key, true, nil
	}
	return nil, key, false, fmt.Errorf("%w: %.100q is none of the API's issuers", ErrInvalidIssuer, claims.Issuer)
}
