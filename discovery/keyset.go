package discovery

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/flight"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jws"
)

// SignatureAlgorithms are the JWS algorithms a KeySet verifies: the
// asymmetric ones of RFC 7518 and RFC 8037. "none" and the HMAC algorithms
// are never accepted from a key set.
var SignatureAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// KeySet is a provider's JSON Web Key Set (jwks_uri), fetched on first use,
// re-fetched in the background when its cache age passes, and re-fetched at
// once when a token names a key ID it does not hold, at most once per
// Config.KeyRefetchInterval. It implements go-oidc's oidc.KeySet.
//
// The keys are those of the jwks_uri the current metadata names: when a
// refreshed discovery document names another, the keys fetched from the old
// one are no longer used, the new set is fetched before the next
// verification, and a failure to fetch it fails the verification.
type KeySet struct {
	uri    func() string // the current jwks_uri
	client *http.Client
	cfg    *Config
	bg     *background

	mu        sync.RWMutex // guards keys, from, stale, refetched and failure
	keys      []jose.JSONWebKey
	from      string    // the jwks_uri keys were fetched from
	stale     time.Time // when keys should be re-fetched in the background
	refetched time.Time // start of the last re-fetch for an unknown kid
	failure   *failure  // the last failed fetch from a URI whose keys are not held

	fetches flight.Group[[]jose.JSONWebKey] // keyed by jwks_uri
}

// failure is a failed fetch, repeated to callers for KeyRefetchInterval so
// that, while the provider's key endpoint is down, tokens do not each cause
// a request.
type failure struct {
	uri string
	at  time.Time
	err error
}

// A KeySet can back go-oidc's verifier: oidc.NewVerifier(issuer, ks, cfg).
var _ oidc.KeySet = (*KeySet)(nil)

// KeySet returns the provider's key set.
func (p *Provider) KeySet() *KeySet { return p.keys }

// VerifySignature parses a compact JWS, verifies it with the key set and
// returns its payload. It implements go-oidc's oidc.KeySet, so the key set
// can back an oidc.IDTokenVerifier. It checks the signature only, no claims;
// the algorithm must be one of SignatureAlgorithms.
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	t, err := jws.Parse(jwt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if !slices.Contains(SignatureAlgorithms, t.Header.Alg) {
		return nil, fmt.Errorf("%w: algorithm %q", ErrSignature, t.Header.Alg)
	}
	if err := k.Verify(ctx, t.Header.Kid, t.Header.Alg, t.Verify); err != nil {
		return nil, err
	}
	return t.Payload, nil
}

// Verify finds the keys of the set that may have signed a token whose
// header names kid (possibly "") and alg, and calls verify with each until
// one call returns nil. Keys whose "alg" member names another algorithm are
// skipped. When no key carries kid (or, without a kid, none verifies), the
// provider may have rotated its keys (OpenID Connect Core 10.1.1): the set is
// fetched again, at most once per KeyRefetchInterval, and tried once more.
// Callers that parsed the token to read its header thus verify without
// parsing it twice. It fails with ErrSignature, ErrUnknownKey or ErrFetch.
func (k *KeySet) Verify(ctx context.Context, kid, alg string, verify func(key crypto.PublicKey) error) error {
	keys, err := k.current(ctx)
	if err != nil {
		return err
	}
	matched, err := verifyWith(keys, kid, alg, verify)
	if err == nil || matched {
		return err
	}
	keys, err = k.refetch(ctx)
	if err != nil {
		return err
	}
	matched, err = verifyWith(keys, kid, alg, verify)
	if err != nil && !matched && kid != "" {
		// Only the caller that made the re-fetch gets here, at most once
		// per KeyRefetchInterval: made-up kids cannot flood the sink.
		if s := k.cfg.Events; s.Enabled(ctx, events.UnknownKey) {
			s.Emit(ctx, events.Event{Name: events.UnknownKey, Issuer: k.cfg.Issuer, KeyID: truncate(kid, 128)})
		}
		return fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	return err
}

// truncate returns s cut to at most n bytes, for what a stranger may make
// long.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// verifyWith tries the keys that may have made the signature. matched
// reports whether a key carried the token's kid (so that a failure is a bad
// signature, not an unknown key).
func verifyWith(keys []jose.JSONWebKey, kid, alg string, verify func(crypto.PublicKey) error) (matched bool, err error) {
	for i := range keys {
		key := &keys[i]
		if kid != "" && key.KeyID != kid {
			continue
		}
		matched = kid != ""
		if key.Algorithm != "" && key.Algorithm != alg {
			continue
		}
		if verify(key.Key) == nil {
			return true, nil
		}
	}
	switch {
	case kid == "" && len(keys) > 0:
		// Without a kid a failure cannot tell a rotated key from a bad
		// signature; report the latter once the keys are fresh.
		return false, ErrSignature
	case matched:
		return true, ErrSignature
	default:
		return false, ErrUnknownKey
	}
}

// current returns the cached keys of the current jwks_uri, fetching them on
// first use or when the metadata names another jwks_uri than the one they
// came from, and starting a background re-fetch when they are stale.
func (k *KeySet) current(ctx context.Context) ([]jose.JSONWebKey, error) {
	u := k.uri()
	k.mu.RLock()
	keys, from, stale, failed := k.keys, k.from, k.stale, k.failure
	k.mu.RUnlock()
	if keys == nil || from != u {
		if failed != nil && failed.uri == u && k.cfg.now().Sub(failed.at) < k.cfg.KeyRefetchInterval {
			return nil, failed.err
		}
		return k.fetch(ctx, u, fetchFirst)
	}
	if k.cfg.now().After(stale) {
		k.bg.start("jwks", func(ctx context.Context) { k.fetch(ctx, k.uri(), fetchRefresh) })
	}
	return keys, nil
}

// refetch fetches the keys again because a token named a key we lack, unless
// such a re-fetch began less than KeyRefetchInterval ago, in which case it
// fails with ErrUnknownKey. Other fetches (the first, background ones) do not
// count: the first unknown kid after a rotation is always looked up.
func (k *KeySet) refetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	now := k.cfg.now()
	k.mu.Lock()
	if !k.refetched.IsZero() && now.Sub(k.refetched) < k.cfg.KeyRefetchInterval {
		k.mu.Unlock()
		return nil, fmt.Errorf("%w: key set re-fetched less than %v ago", ErrUnknownKey, k.cfg.KeyRefetchInterval)
	}
	k.refetched = now
	k.mu.Unlock()
	return k.fetch(ctx, k.uri(), fetchUnknownKid)
}

// Refresh fetches the key set now, sharing a fetch already under way.
func (k *KeySet) Refresh(ctx context.Context) error {
	_, err := k.fetch(ctx, k.uri(), fetchRefresh)
	return err
}

// Ready reports whether the key set holds the keys of the current
// jwks_uri, fetching them when it does not (sharing a fetch under way).
// After a failed fetch it repeats that failure for KeyRefetchInterval
// instead of fetching again, so that a health check polled often costs the
// provider one request per interval at most. It fails with ErrFetch or
// ErrInvalidKeySet.
func (k *KeySet) Ready(ctx context.Context) error {
	_, err := k.current(ctx)
	return err
}

// Why a key set is fetched: the KeySetFetched event's Kind.
const (
	fetchFirst      = "first"       // no keys of the current jwks_uri yet
	fetchRefresh    = "refresh"     // the cache age passed, or Refresh
	fetchUnknownKid = "unknown_kid" // a token named a key the set lacks
)

// fetch fetches the key set at u, sharing a fetch of u already under way,
// and keeps it if u is still the current jwks_uri when it arrives. kind says
// why, for the events.
func (k *KeySet) fetch(ctx context.Context, u, kind string) ([]jose.JSONWebKey, error) {
	keys, _, err := k.fetches.Do(ctx, u, func(ctx context.Context) ([]jose.JSONWebKey, error) {
		ctx, cancel := k.bg.shared(ctx)
		defer cancel()
		start := time.Now()
		keys, err := k.fetchNow(ctx, u)
		k.cfg.emitFetch(ctx, events.KeySetFetched, events.KeySetFailed, kind, start, err)
		return keys, err
	})
	return keys, err
}

// fetchNow fetches and parses the key set at u, and keeps it (or the
// failure).
func (k *KeySet) fetchNow(ctx context.Context, u string) ([]jose.JSONWebKey, error) {
	now := k.cfg.now()
	// Redirects are followed only on the origin of jwks_uri (httpx.Get).
	resp, body, err := httpx.Get(ctx, k.client, u, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, k.failed(u, now, fetchError(u, err))
	}
	keys, err := parseKeySet(body)
	if err != nil {
		return nil, k.failed(u, now, err)
	}
	// A set that arrives after the metadata moved on to another jwks_uri
	// answers the callers who asked for it, but is not kept.
	if k.uri() == u {
		k.mu.Lock()
		k.keys, k.from, k.stale, k.failure = keys, u, now.Add(cacheAge(resp.Header, k.cfg)), nil
		k.mu.Unlock()
	}
	return keys, nil
}

// failed records a failed fetch from u: keys held from u are tried again
// after MinCacheAge; without them (none yet, or only keys of another
// jwks_uri, which are not used), err is repeated for KeyRefetchInterval.
func (k *KeySet) failed(u string, now time.Time, err error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil && k.from == u {
		k.stale = now.Add(k.cfg.MinCacheAge)
	} else {
		k.failure = &failure{uri: u, at: now, err: err}
	}
	return err
}

// parseKeySet decodes a JSON Web Key Set, keeping the public signing keys
// it can use. As RFC 7517 section 5 asks, keys of unknown types or
// algorithms are skipped rather than failing the set, and so are keys whose
// "use" is not "sig" and private or symmetric keys (a provider must never
// publish those). An empty result is not an error: tokens will then fail
// with ErrUnknownKey.
func parseKeySet(body []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKeySet, err)
	}
	if raw.Keys == nil {
		return nil, fmt.Errorf("%w: no \"keys\" member", ErrInvalidKeySet)
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, rk := range raw.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(rk); err != nil {
			continue // unsupported key type or curve, or a malformed key
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		if !key.IsPublic() || !key.Valid() {
			continue
		}
		if key.Algorithm != "" && !supportedAlg(key.Algorithm) {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func supportedAlg(alg string) bool { return slices.Contains(SignatureAlgorithms, alg) }
