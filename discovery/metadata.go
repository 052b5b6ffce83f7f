package discovery

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// Metadata is an OpenID Provider's configuration: every member of OpenID
// Connect Discovery 1.0 section 3 and RFC 8414 section 2 that a relying party
// uses, plus the endpoints and flags of the logout specifications, RFC 7009
// (revocation), RFC 7662 (introspection), RFC 9126 (PAR), RFC 8628 (device
// authorization) and RFC 9207 (issuer in the authorization response).
//
// A Metadata returned by this package has been validated (see Validate) and is
// shared between callers: treat it as read-only.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint,omitempty"`
	UserinfoEndpoint      string `json:"userinfo_endpoint,omitempty"`
	JWKSURI               string `json:"jwks_uri"`
	RegistrationEndpoint  string `json:"registration_endpoint,omitempty"`

	// RFC 7009, RFC 7662, RFC 9126, RFC 8628.
	RevocationEndpoint                 string `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint              string `json:"introspection_endpoint,omitempty"`
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests,omitempty"`
	DeviceAuthorizationEndpoint        string `json:"device_authorization_endpoint,omitempty"`

	// OpenID Connect RP-Initiated Logout, Session Management, Front- and
	// Back-Channel Logout 1.0.
	EndSessionEndpoint                 string `json:"end_session_endpoint,omitempty"`
	CheckSessionIframe                 string `json:"check_session_iframe,omitempty"`
	FrontchannelLogoutSupported        bool   `json:"frontchannel_logout_supported,omitempty"`
	FrontchannelLogoutSessionSupported bool   `json:"frontchannel_logout_session_supported,omitempty"`
	BackchannelLogoutSupported         bool   `json:"backchannel_logout_supported,omitempty"`
	BackchannelLogoutSessionSupported  bool   `json:"backchannel_logout_session_supported,omitempty"`

	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported,omitempty"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported,omitempty"`
	ACRValuesSupported                         []string `json:"acr_values_supported,omitempty"`
	SubjectTypesSupported                      []string `json:"subject_types_supported,omitempty"`
	ClaimsSupported                            []string `json:"claims_supported,omitempty"`
	ClaimTypesSupported                        []string `json:"claim_types_supported,omitempty"`
	ClaimsLocalesSupported                     []string `json:"claims_locales_supported,omitempty"`
	UILocalesSupported                         []string `json:"ui_locales_supported,omitempty"`
	DisplayValuesSupported                     []string `json:"display_values_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	PromptValuesSupported                      []string `json:"prompt_values_supported,omitempty"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported,omitempty"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported,omitempty"`
	RequestURIParameterSupported               *bool    `json:"request_uri_parameter_supported,omitempty"` // absent means true
	RequireRequestURIRegistration              bool     `json:"require_request_uri_registration,omitempty"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`

	IDTokenSigningAlgValuesSupported       []string `json:"id_token_signing_alg_values_supported,omitempty"`
	IDTokenEncryptionAlgValuesSupported    []string `json:"id_token_encryption_alg_values_supported,omitempty"`
	IDTokenEncryptionEncValuesSupported    []string `json:"id_token_encryption_enc_values_supported,omitempty"`
	UserinfoSigningAlgValuesSupported      []string `json:"userinfo_signing_alg_values_supported,omitempty"`
	UserinfoEncryptionAlgValuesSupported   []string `json:"userinfo_encryption_alg_values_supported,omitempty"`
	UserinfoEncryptionEncValuesSupported   []string `json:"userinfo_encryption_enc_values_supported,omitempty"`
	RequestObjectSigningAlgValuesSupported []string `json:"request_object_signing_alg_values_supported,omitempty"`

	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	DPoPSigningAlgValuesSupported              []string `json:"dpop_signing_alg_values_supported,omitempty"`

	ServiceDocumentation string `json:"service_documentation,omitempty"`
	OPPolicyURI          string `json:"op_policy_uri,omitempty"`
	OPTosURI             string `json:"op_tos_uri,omitempty"`
}

// SupportsPKCE reports whether the provider advertises the S256 code challenge
// method. Providers that advertise nothing may still support it; the client
// sends PKCE regardless (RFC 9700 section 2.1.1).
func (m *Metadata) SupportsPKCE() bool {
	return slices.Contains(m.CodeChallengeMethodsSupported, "S256")
}

// SupportsAuthMethod reports whether the token endpoint accepts the client
// authentication method. Absent the member, RFC 8414 section 2 says
// client_secret_basic is the default.
func (m *Metadata) SupportsAuthMethod(method string) bool {
	if len(m.TokenEndpointAuthMethodsSupported) == 0 {
		return method == "client_secret_basic"
	}
	return slices.Contains(m.TokenEndpointAuthMethodsSupported, method)
}

// Validate checks what a relying party relies on: the issuer and the endpoints
// of the authorization-code flow are present and are absolute URLs whose scheme
// is https, and every other endpoint given is such a URL too. The issuer may be
// http on a loopback host (see checkIssuerURL); endpoints may be http on loopback
// hosts only when the issuer itself is such a loopback http issuer (a
// development or test provider), never for an https issuer. allowHTTP accepts
// http for the issuer and every endpoint. It returns a *MetadataError.
func (m *Metadata) Validate(allowHTTP bool) error {
	return m.validate(allowHTTP, isLoopbackHTTP(m.Issuer), true)
}

// validate is Validate, with loopbackHTTP saying whether endpoints may be
// http on loopback hosts, and needJWKS whether jwks_uri is required (not
// for an OAuth 2.0 server that issues no ID tokens).
func (m *Metadata) validate(allowHTTP, loopbackHTTP, needJWKS bool) error {
	required := []struct{ name, value string }{
		{"issuer", m.Issuer},
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	}
	for _, f := range required {
		if f.name == "jwks_uri" && !needJWKS {
			continue
		}
		if f.value == "" {
			return &MetadataError{Field: f.name, Reason: "missing"}
		}
	}
	if err := checkIssuerURL(m.Issuer, allowHTTP); err != nil {
		return &MetadataError{Field: "issuer", Reason: err.Error()}
	}
	if u, _ := url.Parse(m.Issuer); u.RawQuery != "" || u.Fragment != "" {
		return &MetadataError{Field: "issuer", Reason: "has a query or fragment"}
	}
	optional := []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"registration_endpoint", m.RegistrationEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"introspection_endpoint", m.IntrospectionEndpoint},
		{"pushed_authorization_request_endpoint", m.PushedAuthorizationRequestEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
	}
	for _, f := range optional {
		if f.value == "" {
			continue
		}
		if err := checkURL(f.value, allowHTTP, loopbackHTTP); err != nil {
			return &MetadataError{Field: f.name, Reason: err.Error()}
		}
	}
	return nil
}

// checkIssuerURL reports whether raw is an absolute https URL, or an http
// URL whose host is a loopback address or "localhost" (the exception RFC
// 8252 makes for native apps, which lets development providers run on
// 127.0.0.1), or any http URL when allowHTTP is set.
func checkIssuerURL(raw string, allowHTTP bool) error {
	return checkURL(raw, allowHTTP, true)
}

// checkURL is checkIssuerURL, with loopbackHTTP saying whether http is
// accepted on loopback hosts.
func checkURL(raw string, allowHTTP, loopbackHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	if u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (allowHTTP || loopbackHTTP && httpx.IsLoopback(u.Hostname())):
		return nil
	case u.Scheme == "http" && !loopbackHTTP:
		return fmt.Errorf("scheme is http and the issuer is https")
	case u.Scheme == "http":
		return fmt.Errorf("scheme is http and host %q is not loopback", u.Hostname())
	default:
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	}
}

// isLoopbackHTTP reports whether raw is an http URL on a loopback host, the
// issuer of a development or test provider.
func isLoopbackHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && httpx.IsLoopback(u.Hostname())
}
