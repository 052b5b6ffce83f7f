package client

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Revoke asks the provider to revoke token (RFC 7009), such as the refresh
// token of a session that logs out, so that it cannot be used even if it
// leaked. hint is "refresh_token", "access_token" or "". It fails with
// ErrNoEndpoint when the provider has no revocation_endpoint, a *TokenError
// when the provider refuses, and ErrProviderUnavailable when it cannot be
// reached or fails. The client authenticates as at the token endpoint.
func (rp *RP) Revoke(ctx context.Context, token, hint string) (err error) {
	md := rp.provider.Metadata()
	if md.RevocationEndpoint == "" {
		return fmt.Errorf("%w: revocation", ErrNoEndpoint)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	defer rp.called(ctx, "revocation", "", time.Now(), &err)
	_, _, err = rp.post(ctx, md.RevocationEndpoint, form)
	return err
}
