package client

import "fmt"

// errNoRedirectURL is AuthCodeURL's and Callback's error for a client made
// without a RedirectURL: one for client credentials, the device flow or
// token exchange only.
var errNoRedirectURL = fmt.Errorf("%w: RedirectURL is empty: the authorization-code flow needs one", ErrInvalidConfig)

// WithRedirectURL returns a relying party like rp whose authorization
// requests and callbacks use redirectURL, an absolute http(s) URL without a
// fragment (ErrInvalidConfig otherwise). It shares rp's provider, keys and
// client authentication, and needs no Close of its own; it is valid while
// rp is open.
//
// It serves native apps (RFC 8252 section 7.3), whose loopback redirect URI
// names a port chosen at each login: the provider must accept any port for
// a registered http://127.0.0.1 or http://[::1] redirect URI.
func (rp *RP) WithRedirectURL(redirectURL string) (*RP, error) {
	if redirectURL == "" {
		return nil, errNoRedirectURL
	}
	if err := checkRedirectURL(redirectURL); err != nil {
		return nil, err
	}
	cfg := rp.cfg
	cfg.RedirectURL = redirectURL
	return &RP{cfg: cfg, provider: rp.provider, auth: rp.auth}, nil
}
