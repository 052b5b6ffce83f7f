// Package discovery fetches, validates and caches an OpenID Provider's
// metadata (OpenID Connect Discovery 1.0, RFC 8414) and its signing keys.
//
//	p, err := discovery.New(ctx, discovery.Config{Issuer: "https://accounts.example.com"})
//	md := p.Metadata()          // never blocks; refreshed in the background when stale
//	payload, err := p.KeySet().VerifySignature(ctx, jwt)
//	defer p.Close()
//
// The document's issuer must equal the configured one, character for
// character (Discovery 1.0 section 4.3), unless InsecureSkipIssuerCheck is
// set for a provider known to differ. Documents and key sets are cached for
// the provider's Cache-Control max-age within [MinCacheAge, MaxCacheAge],
// re-fetched off the request path, and concurrent callers share one fetch.
// A token naming an unknown key ID makes the key set be fetched again (OpenID
// Connect Core 10.1.1), at most once per KeyRefetchInterval, so that a flood
// of forged kids cannot make us hammer the provider.
//
// Endpoints must be https; http is accepted only for a loopback issuer
// (http://127.0.0.1:port, a development provider) and its loopback
// endpoints, or with InsecureAllowHTTP. Redirects are held to the same
// rules at every hop, and the key set's to the origin of jwks_uri.
package discovery
