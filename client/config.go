package client

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
)

// AuthMethod is how the client authenticates to the token endpoint (OpenID
// Connect Core section 9).
type AuthMethod string

const (
	// AuthClientSecretBasic sends the secret in an HTTP Basic header.
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost sends the secret in the request body.
	AuthClientSecretPost AuthMethod = "client_secret_post"
	// AuthNone is for public clients: no secret, PKCE alone binds the code.
	AuthNone AuthMethod = "none"
)

// Config describes the relying party. It is plain data, safe to copy; its
// String method and its slog and JSON forms redact ClientSecret.
type Config struct {
	// Issuer is the provider's issuer URL. Required unless Provider is set.
	Issuer string

	// ClientID is the client identifier registered at the provider. Required.
	ClientID string

	// ClientSecret is the client secret. Empty means a public client, which
	// then authenticates with AuthNone.
	ClientSecret string

	// RedirectURL is the registered redirect URI the provider sends the user
	// back to (the callback). Required.
	RedirectURL string

	// Scopes are requested at login. "openid" is added when missing. If nil,
	// "openid profile email".
	Scopes []string

	// AuthMethod is how to authenticate to the token endpoint. If empty,
	// AuthClientSecretBasic when ClientSecret is set, AuthNone otherwise.
	AuthMethod AuthMethod

	// ClockSkew is the clock difference tolerated when checking exp, iat
	// and auth_time. If zero, 1 minute; at most 5 minutes.
	ClockSkew time.Duration

	// TrustedAudiences are other audiences an ID token may name besides
	// ClientID. An ID token naming an audience outside ClientID and these is
	// rejected (OpenID Connect Core 3.1.3.7 step 3). If nil, none.
	TrustedAudiences []string

	// HMACSignatures accepts ID tokens signed with HS256, HS384 or HS512
	// using the client secret, when the provider advertises them. Off by
	// default: asymmetric signatures are verified with the provider's keys.
	HMACSignatures bool

	// HTTPClient makes the requests to the provider. If nil, a client with a
	// 30-second timeout. It is not changed: each call uses a copy that
	// follows redirects only on the origin of the endpoint called (token,
	// userinfo, revocation, key set), then as the client's own CheckRedirect
	// says.
	HTTPClient *http.Client

	// Provider is the discovered provider to use. If nil, New discovers
	// Issuer with the options below, and Close closes it.
	Provider *discovery.Provider

	// InsecureSkipIssuerCheck and InsecureAllowHTTP are passed to discovery
	// when New discovers the provider; see discovery.Config. With
	// InsecureSkipIssuerCheck, ID tokens must name the document's issuer,
	// or, when that issuer holds "{tenantid}", the issuer it yields with the
	// token's "tid" claim in its place.
	InsecureSkipIssuerCheck bool
	InsecureAllowHTTP       bool

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// String returns the configuration with the client secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("client.Config{Issuer:%q ClientID:%q ClientSecret:%s RedirectURL:%q Scopes:%q AuthMethod:%q}",
		c.Issuer, c.ClientID, redacted(c.ClientSecret), c.RedirectURL, c.Scopes, c.AuthMethod)
}

// GoString is String, so that %#v redacts too.
func (c Config) GoString() string { return c.String() }

// LogValue redacts the client secret in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", redacted(c.ClientSecret)),
		slog.String("redirect_url", c.RedirectURL),
	)
}

// MarshalJSON redacts the client secret.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Issuer       string `json:"issuer"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		RedirectURL  string `json:"redirect_url"`
	}{c.Issuer, c.ClientID, redacted(c.ClientSecret), c.RedirectURL})
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

const maxClockSkew = 5 * time.Minute

// normalize validates c and fills in its defaults.
func (c *Config) normalize() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.ClientID == "" {
		return bad("ClientID is empty")
	}
	if c.Issuer == "" && c.Provider == nil {
		return bad("Issuer is empty")
	}
	if c.RedirectURL == "" {
		return bad("RedirectURL is empty")
	}
	u, err := url.Parse(c.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return bad("RedirectURL %q is not an absolute http(s) URL without a fragment", c.RedirectURL)
	}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = AuthNone
		if c.ClientSecret != "" {
			c.AuthMethod = AuthClientSecretBasic
		}
	case AuthClientSecretBasic, AuthClientSecretPost:
		if c.ClientSecret == "" {
			return bad("AuthMethod %s needs a ClientSecret", c.AuthMethod)
		}
	case AuthNone:
		if c.ClientSecret != "" {
			return bad("AuthMethod none with a ClientSecret")
		}
	default:
		return bad("unknown AuthMethod %q", c.AuthMethod)
	}
	if c.HMACSignatures && c.ClientSecret == "" {
		return bad("HMACSignatures needs a ClientSecret")
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "profile", "email"}
	} else if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	switch {
	case c.ClockSkew < 0 || c.ClockSkew > maxClockSkew:
		return bad("ClockSkew %v is outside [0, %v]", c.ClockSkew, maxClockSkew)
	case c.ClockSkew == 0:
		c.ClockSkew = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
