package client

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Introspect asks the provider's introspection endpoint about token (RFC
// 7662), authenticated as the client with its AuthMethod (every method of
// this package), and returns the answer, a JSON object, as it came: the
// resource package checks it. hint is "access_token", "refresh_token" or "".
// It fails with ErrNoEndpoint when the provider has no
// introspection_endpoint, a *TokenError when the provider refuses (such as
// invalid_client), and ErrProviderUnavailable when it cannot be reached or
// fails.
func (rp *RP) Introspect(ctx context.Context, token, hint string) (body []byte, err error) {
	md := rp.provider.Metadata()
	if md.IntrospectionEndpoint == "" {
		return nil, fmt.Errorf("%w: introspection", ErrNoEndpoint)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	defer rp.called(ctx, "introspection", "", time.Now(), &err)
	_, body, err = rp.post(ctx, md.IntrospectionEndpoint, form)
	return body, err
}
