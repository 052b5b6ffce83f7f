package client

import (
	"fmt"
	"net/url"
	"strings"
)

// EndSessionURL returns the URL of the provider's end_session_endpoint to
// send the user to for RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0 section 2). idTokenHint is the raw ID token of the session,
// postLogoutRedirectURL a registered post-logout redirect URI, and state is
// echoed back to it; each is omitted when empty. client_id is always sent.
// It fails with ErrNoEndpoint when the provider has no end_session_endpoint.
func (rp *RP) EndSessionURL(idTokenHint, postLogoutRedirectURL, state string) (string, error) {
	endpoint := rp.provider.Metadata().EndSessionEndpoint
	if endpoint == "" {
		return "", fmt.Errorf("%w: end_session", ErrNoEndpoint)
	}
	q := url.Values{"client_id": {rp.cfg.ClientID}}
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURL)
		if state != "" {
			q.Set("state", state)
		}
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + q.Encode(), nil
}
