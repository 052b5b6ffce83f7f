package client

import (
	"net/http"
	"net/url"
)

// Client authentication at the token endpoint (OpenID Connect Core section
// 9, RFC 6749 section 2.3): one method per request, chosen in the Config and
// fixed at New.

// clientAuth is how the RP authenticates, resolved at New.
type clientAuth struct {
	method AuthMethod
}

// authenticate adds the client's authentication to a request for an
// endpoint of the authorization server: to req's header (Basic) or to form,
// the request's body to be. Exactly one method, never two.
func (rp *RP) authenticate(req *http.Request, form url.Values) error {
	id := rp.cfg.ClientID
	switch rp.auth.method {
	case AuthClientSecretBasic:
		// RFC 6749 section 2.3.1: both form-urlencoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(rp.cfg.ClientSecret))
	case AuthClientSecretPost:
		form.Set("client_id", id)
		form.Set("client_secret", rp.cfg.ClientSecret)
	default: // AuthNone
		form.Set("client_id", id)
	}
	return nil
}
