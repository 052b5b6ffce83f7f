package client

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/events"
)

// AuthMethod is how the client authenticates to the token endpoint (OpenID
// Connect Core section 9).
type AuthMethod string

const (
	// AuthClientSecretBasic sends the secret in an HTTP Basic header.
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost sends the secret in the request body.
	AuthClientSecretPost AuthMethod = "client_secret_post"
	// AuthClientSecretJWT sends a client assertion (RFC 7523) signed with
	// the secret, HS256 (or HS384, HS512 when the provider lists only those).
	// The secret must be at least 32 bytes long (RFC 7518 section 3.2).
	AuthClientSecretJWT AuthMethod = "client_secret_jwt"
	// AuthPrivateKeyJWT sends a client assertion (RFC 7523) signed with
	// Config.PrivateKey; the provider knows the public key (see PublicJWKS).
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
	// AuthNone is for public clients: no secret, PKCE alone binds the code.
	AuthNone AuthMethod = "none"
)

// PARMode says when authorization requests are pushed (RFC 9126); see
// Config.PushedAuthorizationRequests.
type PARMode int

const (
	// PARWhenRequired pushes when the provider's metadata requires it.
	PARWhenRequired PARMode = iota
	// PARAlways pushes every authorization request.
	PARAlways
	// PARNever never pushes.
	PARNever
)

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices,
// OAuth 2.0 Form Post Response Mode), for Config.ResponseMode.
const (
	ResponseModeQuery    = "query"
	ResponseModeFormPost = "form_post"
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
	// back to (the callback). Required for the authorization-code flow
	// (AuthCodeURL and Callback fail with ErrInvalidConfig without it); a
	// client that only uses client credentials, the device flow or token
	// exchange needs none. Native apps set it per login (WithRedirectURL).
	RedirectURL string

	// Scopes are requested at login. "openid" is added when missing. If nil,
	// "openid profile email".
	Scopes []string

	// AuthMethod is how to authenticate to the token and revocation
	// endpoints. If empty, AuthClientSecretBasic when ClientSecret is set,
	// else AuthPrivateKeyJWT when PrivateKey is set, else AuthNone.
	AuthMethod AuthMethod

	// PrivateKey signs the client assertions of AuthPrivateKeyJWT: an RSA
	// key of at least 2048 bits (RS256, or PS256 when the provider lists
	// only that), an ECDSA key on P-256 or P-384 (ES256, ES384) or an
	// Ed25519 key (EdDSA). It may be a *PrivateKey from ParsePrivateKey, a
	// key of crypto/rsa, crypto/ecdsa or crypto/ed25519, or any
	// crypto.Signer with such a public key, such as a key held in an HSM or
	// a cloud KMS. Required for AuthPrivateKeyJWT, refused with the other
	// methods. The signing algorithm is chosen at New from the provider's
	// token_endpoint_auth_signing_alg_values_supported.
	PrivateKey crypto.Signer

	// PrivateKeyID is PrivateKey's key ID, sent as the "kid" of each
	// assertion's header (and given to PublicJWKS, to publish the key under
	// it). If empty, the key's RFC 7638 thumbprint (SHA-256, base64url).
	PrivateKeyID string

	// AssertionAudienceTokenEndpoint makes client assertions name the token
	// endpoint's URL as their audience ("aud"), at the token and revocation
	// endpoints alike, for providers that insist on it (Microsoft Entra ID's
	// documentation asks for it; so does any provider whose issuer is a
	// template, with InsecureSkipIssuerCheck). If false, the audience is the
	// provider's issuer identifier. Either way it is a single string, never
	// an array (RFC 7523bis: an array lets a server that is not the
	// audience replay the assertion at one that is).
	AssertionAudienceTokenEndpoint bool

	// PushedAuthorizationRequests says when authorization requests are
	// pushed to the provider first (RFC 9126, PAR): with PARWhenRequired
	// (the zero value), when the provider's metadata says
	// require_pushed_authorization_requests; with PARAlways, always (New
	// fails when the provider has no pushed_authorization_request_endpoint);
	// with PARNever, never (New fails when the provider requires it).
	// Pushed requests need AuthCodeURLContext.
	PushedAuthorizationRequests PARMode

	// ResponseMode is how the provider returns the authorization response
	// to RedirectURL: ResponseModeQuery (if empty) in the query of a
	// redirect, or ResponseModeFormPost in the body of a POST (OAuth 2.0
	// Form Post Response Mode), which keeps the code out of URLs, logs and
	// the Referer header. New fails when the provider lists its
	// response_modes_supported without it.
	ResponseMode string

	// DPoP binds the tokens of each login to a key pair of its own (RFC
	// 9449): AuthCodeURL makes the key (ES256, or EdDSA or ES384 when the
	// provider lists only those in dpop_signing_alg_values_supported),
	// sends its thumbprint as dpop_jkt and puts the key in the Flow; the
	// code exchange, refreshes and calls with the access token carry proofs
	// signed with it (Tokens.DPoPKey). When the provider advertises DPoP,
	// a token that comes back unbound fails with ErrDPoPNotBound. If false,
	// Bearer tokens.
	DPoP bool

	// ClockSkew is the clock difference tolerated when checking exp, nbf, iat
	// and auth_time. If zero, 1 minute; at most 5 minutes.
	ClockSkew time.Duration

	// CheckIDToken, if set, checks every ID token after the checks of
	// OpenID Connect Core (at login and at refresh): a provider's own
	// claims, such as Google's hd (the Workspace domain). Its error fails
	// the token, wrapped in ErrIDTokenRefused.
	CheckIDToken func(*IDToken) error

	// AuthParams are sent with every authorization request (per request,
	// AuthRequest.Extra adds more): a provider's own parameters, such as
	// Google's access_type=offline. They cannot set a parameter the client
	// sets itself. If nil, none.
	AuthParams url.Values

	// ClientSecretFunc, if set, gives the client secret for each request
	// instead of ClientSecret: a secret that is made and renewed, such as
	// Sign in with Apple's, a signed JWT (see the providers package). For
	// client_secret_basic and client_secret_post only.
	ClientSecretFunc func(ctx context.Context) (string, error)

	// ResponseClaims, if set, reads claims from the authorization response
	// itself, for providers that send some there rather than in the ID
	// token, such as Sign in with Apple's "user" parameter (the user's
	// name, on the first login only). What it returns is kept with the
	// session's claims (Tokens.ResponseClaims). Its error fails the login.
	ResponseClaims func(response url.Values) (json.RawMessage, error)

	// IssuerAliases are other spellings of the issuer that a provider puts
	// in ID tokens, such as Google's "accounts.google.com" (without
	// "https://"), which its documentation says tokens may carry. If nil,
	// only the issuer itself.
	IssuerAliases []string

	// MultiTenant, if set, describes a multi-tenant provider (see
	// MultiTenant): Issuer is then where its discovery document is fetched
	// from, such as "https://login.microsoftonline.com/organizations/v2.0".
	MultiTenant *MultiTenant

	// OAuth2, if set, describes a provider that speaks OAuth 2.0 but not
	// OpenID Connect (see OAuth2Provider): Issuer and Provider are then
	// unused, no "openid" scope is added and no nonce sent, and logins
	// yield an Identity instead of an ID token.
	OAuth2 *OAuth2Provider

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

	// Events receives the client's events: EndpointSucceeded and
	// EndpointFailed for each call to the token, userinfo, revocation and
	// introspection endpoints, with its latency, and ClockSkew for ID and
	// logout tokens failing a time check; it is given to discovery when New
	// discovers the provider (the discovery and key-set events). If nil,
	// they are logged with slog.Default() (see events.Log).
	Events events.Sink

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// String returns the configuration with the client secret and private key
// redacted.
func (c Config) String() string {
	return fmt.Sprintf("client.Config{Issuer:%q ClientID:%q ClientSecret:%s RedirectURL:%q Scopes:%q AuthMethod:%q PrivateKey:%s PrivateKeyID:%q}",
		c.Issuer, c.ClientID, redacted(c.ClientSecret), c.RedirectURL, c.Scopes, c.AuthMethod, redactedKey(c.PrivateKey), c.PrivateKeyID)
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
		slog.String("auth_method", string(c.AuthMethod)),
		slog.String("private_key", redactedKey(c.PrivateKey)),
	)
}

// MarshalJSON redacts the client secret.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Issuer       string `json:"issuer"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		RedirectURL  string `json:"redirect_url"`
		AuthMethod   string `json:"auth_method,omitempty"`
		PrivateKey   string `json:"private_key,omitempty"`
	}{c.Issuer, c.ClientID, redacted(c.ClientSecret), c.RedirectURL, string(c.AuthMethod), redactedKey(c.PrivateKey)})
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

func redactedKey(k crypto.Signer) string {
	if k == nil {
		return ""
	}
	return "[redacted]"
}

const maxClockSkew = 5 * time.Minute

// checkRedirectURL accepts "" (no authorization-code flow) or an absolute
// http(s) URL without a fragment.
func checkRedirectURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%w: RedirectURL %q is not an absolute http(s) URL without a fragment", ErrInvalidConfig, s)
	}
	return nil
}

// normalize validates c and fills in its defaults.
func (c *Config) normalize() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.ClientID == "" {
		return bad("ClientID is empty")
	}
	if c.OAuth2 != nil {
		c.Issuer = c.OAuth2.Issuer
		if c.Provider != nil || c.MultiTenant != nil {
			return bad("OAuth2 with a Provider or MultiTenant")
		}
	}
	if c.Issuer == "" && c.Provider == nil {
		return bad("Issuer is empty")
	}
	if c.MultiTenant != nil {
		if err := c.MultiTenant.check(); err != nil {
			return err
		}
	}
	if err := checkAuthParams(c.AuthParams); err != nil {
		return err
	}
	if err := checkRedirectURL(c.RedirectURL); err != nil {
		return err
	}
	if c.AuthMethod == "" {
		switch {
		case c.ClientSecret != "":
			c.AuthMethod = AuthClientSecretBasic
		case c.PrivateKey != nil:
			c.AuthMethod = AuthPrivateKeyJWT
		default:
			c.AuthMethod = AuthNone
		}
	}
	if c.PrivateKey != nil && c.AuthMethod != AuthPrivateKeyJWT {
		return bad("PrivateKey with AuthMethod %s, which does not use it", c.AuthMethod)
	}
	if c.PrivateKeyID != "" && c.PrivateKey == nil {
		return bad("PrivateKeyID without a PrivateKey")
	}
	if c.ClientSecretFunc != nil && c.AuthMethod != AuthClientSecretBasic && c.AuthMethod != AuthClientSecretPost {
		return bad("ClientSecretFunc with AuthMethod %s (client_secret_basic or client_secret_post only)", c.AuthMethod)
	}
	switch c.AuthMethod {
	case AuthClientSecretBasic, AuthClientSecretPost:
		if c.ClientSecret == "" && c.ClientSecretFunc == nil {
			return bad("AuthMethod %s needs a ClientSecret", c.AuthMethod)
		}
	case AuthClientSecretJWT:
		if len(c.ClientSecret) < 32 {
			return bad("AuthMethod client_secret_jwt needs a ClientSecret of at least 32 bytes to key HS256 (RFC 7518 section 3.2)")
		}
	case AuthPrivateKeyJWT:
		if c.PrivateKey == nil {
			return bad("AuthMethod private_key_jwt needs a PrivateKey")
		}
		if c.ClientSecret != "" && !c.HMACSignatures {
			return bad("ClientSecret with AuthMethod private_key_jwt, which does not send it")
		}
		if _, err := checkKey(c.PrivateKey.Public()); err != nil {
			return fmt.Errorf("%w: PrivateKey: %w", ErrInvalidConfig, err)
		}
		if c.PrivateKeyID == "" {
			id, err := thumbprint(c.PrivateKey.Public())
			if err != nil {
				return fmt.Errorf("%w: PrivateKey: %w", ErrInvalidConfig, err)
			}
			c.PrivateKeyID = id
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
	switch {
	case c.OAuth2 != nil:
		// No OpenID Connect: the scopes are the provider's own.
	case c.Scopes == nil:
		c.Scopes = []string{"openid", "profile", "email"}
	case !slices.Contains(c.Scopes, "openid"):
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	switch c.ResponseMode {
	case "":
		c.ResponseMode = ResponseModeQuery
	case ResponseModeQuery, ResponseModeFormPost:
	default:
		return bad("ResponseMode %q is neither query nor form_post", c.ResponseMode)
	}
	if c.PushedAuthorizationRequests < PARWhenRequired || c.PushedAuthorizationRequests > PARNever {
		return bad("unknown PushedAuthorizationRequests %d", c.PushedAuthorizationRequests)
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
	c.Events = events.OrLog(c.Events, nil)
	return nil
}
