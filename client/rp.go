package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
)

// RP is an OpenID Connect relying party: one client registered at one
// provider. It builds authorization requests, completes callbacks, verifies
// ID tokens, refreshes tokens, calls userinfo and builds logout URLs. An RP
// is safe for concurrent use.
type RP struct {
	cfg          Config
	provider     *discovery.Provider
	ownsProvider bool
	auth         clientAuth // how the client authenticates, resolved at New
	authURL      atomic.Pointer[authURLPrefix]
	nonces       dpopNonces // the DPoP nonce last given by each server
}

// New returns an RP for cfg, discovering the provider unless cfg.Provider is
// set. It fails with an error matching ErrInvalidConfig (a bad Config),
// ErrProviderUnavailable (the provider cannot be reached or fails) or
// ErrProviderResponse (its discovery document is unusable or names another
// issuer); the discovery package's error is wrapped (discovery.ErrFetch,
// discovery.ErrIssuerMismatch, ...).
func New(ctx context.Context, cfg Config) (*RP, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	rp := &RP{cfg: cfg, provider: cfg.Provider}
	switch {
	case cfg.OAuth2 != nil:
		p, err := newOAuth2Provider(&cfg)
		if err != nil {
			return nil, err
		}
		rp.provider, rp.ownsProvider = p, true
	case rp.provider == nil:
		dc := discovery.Config{
			Issuer:                  cfg.Issuer,
			HTTPClient:              cfg.HTTPClient,
			InsecureSkipIssuerCheck: cfg.InsecureSkipIssuerCheck,
			InsecureAllowHTTP:       cfg.InsecureAllowHTTP,
			Events:                  cfg.Events,
			Now:                     cfg.Now,
		}
		if cfg.MultiTenant != nil {
			dc.DocumentIssuer = cfg.MultiTenant.IssuerTemplate
		}
		p, err := discovery.New(ctx, dc)
		if err != nil {
			return nil, discoveryError(err)
		}
		rp.provider, rp.ownsProvider = p, true
	}
	rp.cfg.Issuer = rp.provider.Issuer()
	if err := rp.checkProvider(rp.provider.Metadata()); err != nil {
		rp.Close()
		return nil, err
	}
	return rp, nil
}

// discoveryError classifies a failure to discover the provider in this
// package's terms, so that callers need not import discovery: the provider
// unreachable or failing (ErrProviderUnavailable), a document that is not
// usable or names another issuer (ErrProviderResponse), a bad issuer
// (ErrInvalidConfig). discovery's own error stays wrapped.
func discoveryError(err error) error {
	var fe *discovery.FetchError
	switch {
	case errors.As(err, &fe) && (fe.StatusCode == 0 || fe.StatusCode >= 500):
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	case errors.Is(err, discovery.ErrInvalidConfig):
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	default:
		return fmt.Errorf("%w: %w", ErrProviderResponse, err)
	}
}

// checkProvider refuses a provider that cannot serve this client: one that
// lists its response types or auth methods and leaves ours out.
func (rp *RP) checkProvider(md *discovery.Metadata) error {
	if len(md.ResponseTypesSupported) > 0 && !slices.Contains(md.ResponseTypesSupported, "code") {
		return fmt.Errorf("%w: provider does not support response_type code", ErrInvalidConfig)
	}
	if len(md.TokenEndpointAuthMethodsSupported) > 0 && !md.SupportsAuthMethod(string(rp.cfg.AuthMethod)) {
		return fmt.Errorf("%w: provider does not support token endpoint auth method %s (it lists %s)",
			ErrInvalidConfig, rp.cfg.AuthMethod, strings.Join(md.TokenEndpointAuthMethodsSupported, ", "))
	}
	if len(md.ResponseModesSupported) > 0 && !slices.Contains(md.ResponseModesSupported, rp.cfg.ResponseMode) {
		return fmt.Errorf("%w: provider does not support response_mode %s (it lists %s)",
			ErrInvalidConfig, rp.cfg.ResponseMode, strings.Join(md.ResponseModesSupported, ", "))
	}
	switch rp.cfg.PushedAuthorizationRequests {
	case PARAlways:
		if md.PushedAuthorizationRequestEndpoint == "" {
			return fmt.Errorf("%w: PARAlways, and the provider has no pushed_authorization_request_endpoint", ErrInvalidConfig)
		}
	case PARNever:
		if md.RequirePushedAuthorizationRequests {
			return fmt.Errorf("%w: PARNever, and the provider requires pushed authorization requests", ErrInvalidConfig)
		}
	}
	if rp.cfg.DPoP && dpopAlg(md.DPoPSigningAlgValuesSupported) == "" {
		return fmt.Errorf("%w: DPoP, and the provider accepts proofs signed with %s only; the client signs ES256, EdDSA or ES384",
			ErrInvalidConfig, strings.Join(md.DPoPSigningAlgValuesSupported, ", "))
	}
	auth, err := newClientAuth(&rp.cfg, md)
	if err != nil {
		return err
	}
	rp.auth = auth
	return nil
}

// Close releases the provider if New discovered it.
func (rp *RP) Close() error {
	if rp.ownsProvider {
		return rp.provider.Close()
	}
	return nil
}

// Provider returns the discovered provider: its metadata and key set.
func (rp *RP) Provider() *discovery.Provider { return rp.provider }

// Config returns the configuration, with defaults filled in.
func (rp *RP) Config() Config { return rp.cfg }

// providerError classifies a failure to talk to the provider that is not an
// answer in the protocol's terms.
func providerError(err error) error {
	var ne net.Error // *url.Error, returned for every transport failure, is one
	var se *httpx.StatusError
	switch {
	case errors.Is(err, httpx.ErrRedirect):
		// A redirect to another origin, or from https to http: the
		// provider answered, not as an endpoint may.
		return fmt.Errorf("%w: %w", ErrProviderResponse, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	case errors.As(err, &se) && se.StatusCode >= 500:
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	default:
		return fmt.Errorf("%w: %w", ErrProviderResponse, err)
	}
}
