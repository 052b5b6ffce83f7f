package client

import (
	"errors"
	"fmt"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// Errors of configuration.
var (
	// ErrInvalidConfig: a Config field is wrong; the message says which.
	ErrInvalidConfig = errors.New("client: invalid config")
)

// Errors of private keys (ParsePrivateKey, PublicJWKS, PublicJWKSet,
// Config.PrivateKey).
// Each matches ErrInvalidKey.
var (
	// ErrInvalidKey: the key cannot sign client assertions.
	ErrInvalidKey = errors.New("client: invalid private key")

	// ErrKeyNotPEM: no PEM block, or more than the key's.
	ErrKeyNotPEM = fmt.Errorf("%w: not one PEM block", ErrInvalidKey)

	// ErrKeyEncrypted: the PEM block is encrypted; decrypt it first.
	ErrKeyEncrypted = fmt.Errorf("%w: encrypted", ErrInvalidKey)

	// ErrKeyMalformed: the PEM block's content does not parse as its type says.
	ErrKeyMalformed = fmt.Errorf("%w: malformed", ErrInvalidKey)

	// ErrKeyUnsupported: not a private key (a public key, a certificate), or
	// a type, curve or size that cannot sign client assertions: RSA under
	// 2048 bits, ECDSA on curves other than P-256 and P-384, X25519, DSA.
	ErrKeyUnsupported = fmt.Errorf("%w: unsupported", ErrInvalidKey)
)

// Errors of the authorization response (the callback), RFC 6749 section
// 4.1.2 and RFC 9207. Each matches ErrInvalidResponse.
var (
	// ErrInvalidResponse matches every error below, so that callers can
	// test them at once.
	ErrInvalidResponse = errors.New("client: invalid authorization response")

	// ErrMalformedResponse: the callback's query repeats a parameter or is
	// otherwise unusable (RFC 6749 section 3.1).
	ErrMalformedResponse error = &responseError{"client: malformed authorization response", events.ReasonMalformedResponse}

	// ErrStateMismatch: the state parameter is missing or is not the one
	// sent (RFC 6749 section 10.12, CSRF).
	ErrStateMismatch error = &responseError{"client: state mismatch", events.ReasonState}

	// ErrResponseIssuer: the iss parameter names another issuer (RFC 9207
	// section 2.4: mix-up attack). Not to be confused with
	// discovery.ErrResponseIssuer, a discovery document of another issuer.
	ErrResponseIssuer error = &responseError{"client: authorization response from another issuer", events.ReasonIssuer}

	// ErrMissingIssuer: the provider advertises
	// authorization_response_iss_parameter_supported but the response has no
	// iss parameter (RFC 9207 section 2.4).
	ErrMissingIssuer error = &responseError{"client: authorization response lacks iss", events.ReasonIssuer}

	// ErrMissingCode: a successful response without a code.
	ErrMissingCode error = &responseError{"client: authorization response lacks code", events.ReasonMalformedResponse}
)

// responseError is an error of an authorization response check: it
// matches ErrInvalidResponse, and states its events reason.
type responseError struct {
	msg    string
	reason events.Reason
}

func (e *responseError) Error() string              { return e.msg }
func (e *responseError) Is(target error) bool       { return target == ErrInvalidResponse }
func (e *responseError) EventReason() events.Reason { return e.reason }

// Errors of the token endpoint.
var (
	// ErrInvalidGrant: the provider rejected the code or refresh token
	// (expired, revoked, already used, or issued to someone else). For a
	// refresh this means the login is over. The error is a *TokenError.
	ErrInvalidGrant = events.NewError(events.ReasonInvalidGrant, "client: invalid grant")

	// ErrProviderUnavailable: the provider could not be reached, timed out,
	// or answered with a server error (5xx). Retrying later may succeed.
	ErrProviderUnavailable = events.NewError(events.ReasonProviderUnavailable, "client: provider unavailable")

	// ErrProviderResponse: the provider answered, but not as the protocol
	// says (not JSON, missing access_token, a member of the wrong JSON type,
	// a token_type other than Bearer, no id_token where one is required).
	ErrProviderResponse = events.NewError(events.ReasonProviderResponse, "client: invalid response from provider")

	// ErrClientAssertion: the client assertion of private_key_jwt could not
	// be signed: Config.PrivateKey (a key in an HSM or KMS, say) failed. The
	// signer's error is wrapped.
	ErrClientAssertion = events.NewError(events.ReasonClientAssertion, "client: cannot sign the client assertion")
)

// Errors of token verification: ID tokens (OpenID Connect Core 3.1.3.7),
// ID tokens on refresh (section 12.2) and logout tokens (Back-Channel Logout
// 1.0 section 2.6). Each check has its own error, and each matches
// ErrInvalidToken too. The checks shared with access tokens are the same
// values as the resource package's errors of the same names.
var (
	// ErrInvalidToken matches every error of a token check below and of
	// the logout-token checks, so that callers can test them at once.
	ErrInvalidToken = jwt.ErrInvalidToken

	ErrMalformedToken         = jwt.ErrMalformed
	ErrUnsupportedAlgorithm   = jwt.ErrUnsupportedAlgorithm
	ErrInvalidSignature       = jwt.ErrInvalidSignature
	ErrInvalidIssuer          = jwt.ErrInvalidIssuer
	ErrInvalidAudience        = jwt.ErrInvalidAudience
	ErrInvalidAuthorizedParty = jwt.ErrInvalidAuthorizedParty
	ErrExpired                = jwt.ErrExpired
	ErrNotYetValid            = jwt.ErrNotYetValid
	ErrIssuedInFuture         = jwt.ErrIssuedInFuture
	ErrMissingSubject         = jwt.ErrMissingSubject
	ErrInvalidTokenType       = jwt.ErrInvalidTokenType

	ErrInvalidNonce    = jwt.NewError(events.ReasonNonce, "client: token nonce mismatch")
	ErrAccessTokenHash = jwt.NewError(events.ReasonAccessTokenHash, "client: at_hash does not match the access token")
	ErrAuthTime        = jwt.NewError(events.ReasonAuthTime, "client: auth_time missing or older than max_age")
	ErrSubjectMismatch = jwt.NewError(events.ReasonSubjectMismatch, "client: subject differs from the original ID token")
)

// Errors of userinfo, logout and revocation.
var (
	// ErrNoEndpoint: the provider does not offer the endpoint asked for
	// (userinfo, end_session, revocation).
	ErrNoEndpoint = events.NewError(events.ReasonNoEndpoint, "client: provider has no such endpoint")

	// ErrUserInfoSubject: the userinfo response's sub is not the ID
	// token's (OpenID Connect Core 5.3.2).
	ErrUserInfoSubject = events.NewError(events.ReasonUserInfoSubject, "client: userinfo sub does not match the ID token")

	// ErrAccessTokenRejected: a resource (userinfo) answered 401 to the
	// access token: it expired or was revoked.
	ErrAccessTokenRejected = events.NewError(events.ReasonAccessTokenRejected, "client: access token rejected")

	// Logout tokens (Back-Channel Logout 1.0 section 2.6).
	// Each matches ErrInvalidToken.
	ErrLogoutEvent   = jwt.NewError(events.ReasonLogoutToken, "client: logout token lacks the back-channel logout event")
	ErrLogoutNonce   = jwt.NewError(events.ReasonLogoutToken, "client: logout token carries a nonce")
	ErrLogoutSubject = jwt.NewError(events.ReasonLogoutToken, "client: logout token has neither sid nor sub")
)

// AuthError is an error response from the authorization endpoint (RFC 6749
// section 4.1.2.1), such as access_denied when the user declines.
type AuthError struct {
	Code        string // the error parameter, e.g. "access_denied"
	Description string // error_description, human-readable, may be empty
	URI         string // error_uri, may be empty
}

// EventReason is the reason events give for e: ReasonAccessDenied when the
// user declined, else ReasonProviderError.
func (e *AuthError) EventReason() events.Reason {
	if e.Code == "access_denied" {
		return events.ReasonAccessDenied
	}
	return events.ReasonProviderError
}

func (e *AuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("client: authorization failed: %s: %s", e.Code, e.Description)
	}
	return "client: authorization failed: " + e.Code
}

// TokenError is an error response from the token endpoint (RFC 6749 section
// 5.2). errors.Is(err, ErrInvalidGrant) holds when Code is "invalid_grant",
// and errors.Is(err, ErrProviderUnavailable) when StatusCode is 5xx; the
// device flow's and token exchange's codes match their sentinels
// (ErrAuthorizationPending, ErrSlowDown, ErrAccessDenied,
// ErrDeviceCodeExpired, ErrInvalidTarget).
type TokenError struct {
	Code        string // e.g. "invalid_grant", "invalid_client"; may be empty
	Description string
	URI         string // error_uri, may be empty
	StatusCode  int
	Err         error // an *oauth2.RetrieveError with the response
}

func (e *TokenError) Error() string {
	switch {
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("client: token endpoint: %s: %s", e.Code, e.Description)
	case e.Code != "":
		return "client: token endpoint: " + e.Code
	default:
		return fmt.Sprintf("client: token endpoint: status %d", e.StatusCode)
	}
}

func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidGrant:
		return e.Code == "invalid_grant"
	case ErrProviderUnavailable:
		return e.StatusCode >= 500
	}
	code, ok := grantErrorCodes[target]
	return ok && e.Code == code
}

func (e *TokenError) Unwrap() error { return e.Err }

// EventReason is the reason events give for e: ReasonInvalidGrant,
// ReasonInvalidClient (invalid_client, unauthorized_client: the client's
// credentials), ReasonAccessDenied (the user declined a device
// authorization), ReasonProviderUnavailable for 5xx, else
// ReasonProviderError.
func (e *TokenError) EventReason() events.Reason {
	switch {
	case e.Code == "invalid_grant":
		return events.ReasonInvalidGrant
	case e.Code == "invalid_client", e.Code == "unauthorized_client":
		return events.ReasonInvalidClient
	case e.Code == "access_denied":
		return events.ReasonAccessDenied
	case e.StatusCode >= 500:
		return events.ReasonProviderUnavailable
	default:
		return events.ReasonProviderError
	}
}
