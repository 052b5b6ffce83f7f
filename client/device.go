package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// The device authorization grant (RFC 8628), for devices without a browser
// or with little input: the device shows a code, the user enters it at the
// provider on another device, and the device polls the token endpoint.

// deviceGrantType is the grant_type of RFC 8628 section 3.4.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// Defaults and bounds of RFC 8628 section 3.2 and 3.5.
const (
	defaultDeviceInterval = 5 * time.Second // when the provider sends none
	slowDownStep          = 5 * time.Second // added at each slow_down
	maxDeviceInterval     = time.Minute     // a provider's interval, and backoff, are capped
	maxDeviceLifetime     = 24 * time.Hour  // expires_in beyond this is not a device code's
	maxUserCode           = 64              // bytes: a code a person types
	maxDeviceCode         = 4096
)

// DeviceRequest holds the parameters of a device authorization request
// (RFC 8628 section 3.1). The zero value asks for Config.Scopes.
type DeviceRequest struct {
	// Scopes, if non-nil, replace Config.Scopes for this request. Unlike
	// AuthCodeURL's, "openid" is not added: without it the provider issues
	// no ID token.
	Scopes []string

	// Audiences and Resources are sent as audience and resource (RFC 8707)
	// parameters, as in ClientCredentialsRequest. If empty, none.
	Audiences []string
	Resources []string

	// Extra holds further parameters. It cannot set one the client sets
	// itself.
	Extra url.Values
}

// DeviceAuth is the provider's device authorization response (RFC 8628
// section 3.2): what to show the user, and what to poll with. Its String
// and LogValue methods redact DeviceCode.
type DeviceAuth struct {
	DeviceCode string // the device's secret, sent when polling

	// UserCode is what the user enters at VerificationURI. Show it as is:
	// it holds no control characters.
	UserCode string

	// VerificationURI is where the user goes, on any device with a browser.
	VerificationURI string

	// VerificationURIComplete, when the provider gives one, is
	// VerificationURI with the user code in it, for a link or a QR code;
	// show UserCode too, for the user to compare (RFC 8628 section 5.4).
	VerificationURIComplete string

	// Expiry is when the device code expires, by Config.Now.
	Expiry time.Time

	// Interval is how long PollDevice waits between requests: the
	// provider's interval (5 seconds when it sends none), 5 seconds more
	// after each slow_down. A caller may change it before polling.
	Interval time.Duration
}

// String describes the response without its device code.
func (d DeviceAuth) String() string {
	return fmt.Sprintf("client.DeviceAuth{UserCode:%q VerificationURI:%q VerificationURIComplete:%q Expiry:%s Interval:%s DeviceCode:%s}",
		d.UserCode, d.VerificationURI, d.VerificationURIComplete, d.Expiry.Format(time.RFC3339), d.Interval, redacted(d.DeviceCode))
}

// GoString is String, so that %#v redacts too.
func (d DeviceAuth) GoString() string { return d.String() }

// LogValue describes the response in structured logs without its device code.
func (d DeviceAuth) LogValue() slog.Value { return slog.StringValue(d.String()) }

// DeviceAuthorization starts the device flow (RFC 8628 section 3.1): it asks
// the provider's device_authorization_endpoint for a device code and a user
// code, authenticating as at the token endpoint. Show the user UserCode and
// VerificationURI, then call PollDevice. It needs no RedirectURL. It fails
// with ErrNoEndpoint when the provider has no device authorization
// endpoint, ErrInvalidConfig for a malformed request, a *TokenError when
// the provider refuses, ErrProviderUnavailable or ErrProviderResponse.
func (rp *RP) DeviceAuthorization(ctx context.Context, req DeviceRequest) (_ *DeviceAuth, err error) {
	md := rp.provider.Metadata()
	if md.DeviceAuthorizationEndpoint == "" {
		return nil, fmt.Errorf("%w: device_authorization", ErrNoEndpoint)
	}
	defer rp.called(ctx, "device_authorization", "", time.Now(), &err)
	scopes := req.Scopes
	if scopes == nil {
		scopes = rp.cfg.Scopes
	}
	form := url.Values{}
	if err := targetParams(form, scopes, req.Audiences, req.Resources, req.Extra); err != nil {
		return nil, err
	}
	_, body, err := rp.post(ctx, md.DeviceAuthorizationEndpoint, form)
	if err != nil {
		return nil, err
	}
	return parseDeviceAuth(body, rp.cfg.Now())
}

// parseDeviceAuth reads a device authorization response (RFC 8628 section
// 3.2), strictly: the members' JSON types, device_code, user_code,
// verification_uri and expires_in present, the URIs absolute http(s) URLs,
// and nothing a terminal would interpret in what is shown to the user.
func parseDeviceAuth(body []byte, now time.Time) (*DeviceAuth, error) {
	var r struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURL         string `json:"verification_url"` // Google's name for it
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                *int64 `json:"interval"`
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: device authorization response: "+format, append([]any{ErrProviderResponse}, args...)...)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, bad("member %s is not a %s", te.Field, te.Type)
		}
		return nil, bad("not a JSON object")
	}
	if r.VerificationURI == "" {
		r.VerificationURI = r.VerificationURL
	}
	switch {
	case r.DeviceCode == "" || len(r.DeviceCode) > maxDeviceCode:
		return nil, bad("device_code missing or over %d bytes", maxDeviceCode)
	case r.UserCode == "" || len(r.UserCode) > maxUserCode || !printable(r.UserCode):
		return nil, bad("user_code missing, over %d bytes or not printable", maxUserCode)
	case !showableURL(r.VerificationURI):
		return nil, bad("verification_uri missing or not an absolute http(s) URL")
	case r.VerificationURIComplete != "" && !showableURL(r.VerificationURIComplete):
		return nil, bad("verification_uri_complete is not an absolute http(s) URL")
	case r.ExpiresIn <= 0 || time.Duration(r.ExpiresIn)*time.Second > maxDeviceLifetime:
		return nil, bad("expires_in missing or not a number of seconds up to a day")
	case r.Interval != nil && *r.Interval < 0:
		return nil, bad("negative interval")
	}
	interval := defaultDeviceInterval
	if r.Interval != nil {
		interval = time.Duration(min(*r.Interval, int64(maxDeviceInterval/time.Second))) * time.Second
	}
	return &DeviceAuth{
		DeviceCode:              r.DeviceCode,
		UserCode:                r.UserCode,
		VerificationURI:         r.VerificationURI,
		VerificationURIComplete: r.VerificationURIComplete,
		Expiry:                  now.Add(time.Duration(r.ExpiresIn) * time.Second),
		Interval:                interval,
	}, nil
}

// printable reports whether s is printable text without control or
// formatting characters (no terminal escapes, no bidi overrides).
func printable(s string) bool {
	for _, c := range s {
		if c == unicode.ReplacementChar || !unicode.IsPrint(c) && c != ' ' || unicode.Is(unicode.Cf, c) {
			return false
		}
	}
	return true
}

// showableURL reports whether s is an absolute http(s) URL with a host that
// can be printed for the user as is.
func showableURL(s string) bool {
	if s == "" || len(s) > 2048 || !printable(s) || strings.ContainsRune(s, ' ') {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// DeviceToken polls the token endpoint once for auth's device code (RFC
// 8628 section 3.4). Until the user has finished it fails with an error
// matching ErrAuthorizationPending or ErrSlowDown (and then adds 5 seconds
// to auth.Interval, RFC 8628 section 3.5); a declined request gives
// ErrAccessDenied, an expired code ErrDeviceCodeExpired, each a *TokenError.
// On success an ID token, if the provider issued one, is verified as
// VerifyIDToken does (with the access token's hash; the device flow has no
// nonce).
func (rp *RP) DeviceToken(ctx context.Context, auth *DeviceAuth) (*Tokens, error) {
	tok, err := rp.tokenRequest(ctx, url.Values{
		"grant_type":  {deviceGrantType},
		"device_code": {auth.DeviceCode},
	})
	if errors.Is(err, ErrSlowDown) {
		auth.Interval = min(auth.Interval+slowDownStep, maxDeviceInterval+slowDownStep)
	}
	if err != nil {
		return nil, err
	}
	tokens, err := rp.newTokens(tok)
	if err != nil {
		return nil, err
	}
	if tokens.RawIDToken != "" {
		tokens.IDToken, err = rp.VerifyIDToken(ctx, tokens.RawIDToken, IDTokenChecks{AccessToken: tokens.AccessToken})
		if err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// PollDevice waits for the user to finish at the verification URI: it
// polls with DeviceToken every auth.Interval, longer after slow_down, and
// backs off (doubling the interval, up to a minute) while the provider
// cannot be reached, as RFC 8628 section 3.5 asks. It returns the tokens,
// or the first other error: ErrAccessDenied, ErrDeviceCodeExpired (also
// when auth.Expiry passes, without asking), ctx's error when ctx ends, or
// any error of DeviceToken.
func (rp *RP) PollDevice(ctx context.Context, auth *DeviceAuth) (*Tokens, error) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		timer.Reset(auth.Interval)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		if !rp.cfg.Now().Before(auth.Expiry) {
			return nil, fmt.Errorf("%w: expired at %s", ErrDeviceCodeExpired, auth.Expiry.Format(time.RFC3339))
		}
		tokens, err := rp.DeviceToken(ctx, auth)
		switch {
		case err == nil:
			return tokens, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, ErrAuthorizationPending), errors.Is(err, ErrSlowDown):
		case errors.Is(err, ErrProviderUnavailable):
			auth.Interval = min(2*max(auth.Interval, time.Second), maxDeviceInterval)
		default:
			return nil, err
		}
	}
}
