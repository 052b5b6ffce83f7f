package events

import (
	"context"
	"errors"
)

// Reason says in one word why something failed. Reasons are stable and
// few, so that they can label metrics; an error that states none is
// ReasonOther.
type Reason string

// Reasons of the login, callback and logout requests.
const (
	// ReasonState: the callback's state names no login attempt of this
	// browser, or differs from the attempt's (CSRF, or a login started in
	// another browser).
	ReasonState Reason = "state"

	// ReasonReplay: a one-time value came a second time: a login attempt,
	// a logout token's jti, a DPoP proof's jti.
	ReasonReplay Reason = "replay"

	// ReasonMalformedResponse: the callback's query repeats or lacks a
	// parameter.
	ReasonMalformedResponse Reason = "malformed_response"

	// ReasonAccessDenied: the user declined at the provider.
	ReasonAccessDenied Reason = "access_denied"

	// ReasonProviderError: the provider answered with an OAuth error code
	// other than those named here (login_required, invalid_request, ...).
	ReasonProviderError Reason = "provider_error"
)

// Reasons of calls to the provider.
const (
	// ReasonInvalidGrant: the provider refused the code or refresh token;
	// for a refresh, the login is over.
	ReasonInvalidGrant Reason = "invalid_grant"

	// ReasonInvalidClient: the provider refused the client's
	// authentication (invalid_client, unauthorized_client): a wrong or
	// rotated secret or key.
	ReasonInvalidClient Reason = "invalid_client"

	// ReasonProviderUnavailable: the provider could not be reached, timed
	// out or answered 5xx.
	ReasonProviderUnavailable Reason = "provider_unavailable"

	// ReasonProviderResponse: the provider answered against the protocol
	// (not JSON, a member missing, a redirect to elsewhere).
	ReasonProviderResponse Reason = "provider_response"

	// ReasonClientAssertion: the client assertion could not be signed (the
	// private key, in an HSM or KMS, failed).
	ReasonClientAssertion Reason = "client_assertion"

	// ReasonNoEndpoint: the provider lacks the endpoint asked for.
	ReasonNoEndpoint Reason = "no_endpoint"

	// ReasonUserInfoSubject: userinfo answered for another sub.
	ReasonUserInfoSubject Reason = "userinfo_subject"

	// ReasonAccessTokenRejected: a resource (userinfo) refused the access
	// token.
	ReasonAccessTokenRejected Reason = "access_token_rejected"

	// ReasonUnavailable: something a check needs failed (an API's key set,
	// introspection or replay cache): no access was granted.
	ReasonUnavailable Reason = "unavailable"
)

// Reasons of token checks: ID tokens, logout tokens, access tokens.
const (
	ReasonMalformedToken  Reason = "malformed_token"
	ReasonAlgorithm       Reason = "algorithm"
	ReasonSignature       Reason = "signature"
	ReasonUnknownKey      Reason = "unknown_kid"
	ReasonIssuer          Reason = "issuer" // a token's iss, the callback's iss, or the discovery document's
	ReasonAudience        Reason = "audience"
	ReasonAuthorizedParty Reason = "azp"
	ReasonExpired         Reason = "expired"
	ReasonNotYetValid     Reason = "not_yet_valid"
	ReasonIssuedInFuture  Reason = "issued_in_future"
	ReasonMissingSubject  Reason = "missing_subject"
	ReasonTokenType       Reason = "token_type"
	ReasonNonce           Reason = "nonce"
	ReasonAccessTokenHash Reason = "at_hash"
	ReasonAuthTime        Reason = "auth_time"
	ReasonSubjectMismatch Reason = "subject_mismatch" // a refreshed ID token of another user
	ReasonIDTokenRefused  Reason = "id_token_refused" // the app's own check (client.Config.CheckIDToken) refused it
	ReasonLogoutToken     Reason = "logout_token"     // a logout token without its event, with a nonce, or without sid and sub
	ReasonInactive        Reason = "inactive"         // introspection says the token is not active
	ReasonDPoPBinding     Reason = "dpop_binding"     // a DPoP-bound token as Bearer, or an unbound one as DPoP
	ReasonDPoPProof       Reason = "dpop_proof"
	ReasonDPoPNonce       Reason = "dpop_nonce"
	ReasonNoToken         Reason = "no_token"
	ReasonInvalidRequest  Reason = "invalid_request"
	ReasonScope           Reason = "scope"
)

// Reasons of sessions and of everything else.
const (
	ReasonStore         Reason = "store"          // the session store (Redis) failed
	ReasonRefreshResult Reason = "refresh_result" // a refresh result sealed for another refresh
	ReasonCanceled      Reason = "canceled"       // the caller gave up (context canceled)
	ReasonTimeout       Reason = "timeout"        // a deadline passed
	ReasonOther         Reason = "other"
)

// Reasoner is an error that states its reason. The library's sentinels and
// error types are Reasoners; ReasonOf asks them.
type Reasoner interface {
	EventReason() Reason
}

// ReasonOf returns why err happened: the reason of the first error in its
// tree that states one (a Reasoner), looked for in the order errors.As
// looks, so that an umbrella wrapping a cause (client.ErrProviderUnavailable
// around a network error) gives the umbrella's reason; for a context's
// error, ReasonCanceled or ReasonTimeout; else ReasonOther. For nil, "".
//
// This is the one function that turns errors into reasons: every event's
// Reason comes from it, so a bad signature is ReasonSignature whether a
// login, a refresh, a logout or an API request failed on it.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var r Reasoner
	switch {
	case errors.As(err, &r):
		return r.EventReason()
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	return ReasonOther
}

// NewError returns a new sentinel error with the text msg that states
// reason: errors.Is compares it by identity, and ReasonOf of an error
// wrapping it is reason (unless a Reasoner wraps it first).
func NewError(reason Reason, msg string) error { return &reasonError{msg, reason} }

type reasonError struct {
	msg    string
	reason Reason
}

func (e *reasonError) Error() string       { return e.msg }
func (e *reasonError) EventReason() Reason { return e.reason }
