package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// Revoke asks the provider to revoke token (RFC 7009), such as the refresh
// token of a session that logs out, so that it cannot be used even if it
// leaked. hint is "refresh_token", "access_token" or "". It fails with
// ErrNoEndpoint when the provider has no revocation_endpoint, a *TokenError
// when the provider refuses, and ErrProviderUnavailable when it cannot be
// reached or fails.
func (rp *RP) Revoke(ctx context.Context, token, hint string) error {
	md := rp.provider.Metadata()
	if md.RevocationEndpoint == "" {
		return fmt.Errorf("%w: revocation", ErrNoEndpoint)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if rp.cfg.AuthMethod != AuthClientSecretBasic {
		form.Set("client_id", rp.cfg.ClientID)
		if rp.cfg.AuthMethod == AuthClientSecretPost {
			form.Set("client_secret", rp.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProviderResponse, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rp.cfg.AuthMethod == AuthClientSecretBasic {
		// RFC 6749 section 2.3.1: both form-urlencoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(rp.cfg.ClientID), url.QueryEscape(rp.cfg.ClientSecret))
	}
	_, _, err = httpx.Do(rp.cfg.HTTPClient, req)
	var se *httpx.StatusError
	if errors.As(err, &se) && se.StatusCode >= 400 && se.StatusCode < 500 {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(se.Body, &body)
		return &TokenError{Code: body.Error, Description: body.Description, StatusCode: se.StatusCode, Err: err}
	}
	if err != nil {
		return providerError(err)
	}
	return nil
}
