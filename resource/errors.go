package resource

import (
	"errors"
	"fmt"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// ErrInvalidConfig: a Config field is wrong; the message says which.
var ErrInvalidConfig = errors.New("resource: invalid config")

// Errors of the request: no access token at all, or one sent in a way this
// package does not accept. Neither matches ErrInvalidToken.
var (
	// ErrNoToken: the request has no Authorization header (and, with
	// Config.Session, no session either). Require answers 401 with a bare
	// challenge (RFC 6750 section 3.1).
	ErrNoToken = events.NewError(events.ReasonNoToken, "resource: no access token")

	// ErrInvalidRequest: the Authorization header is repeated, malformed or
	// of another scheme, the DPoP header is repeated, or a token came in the
	// query string, which is never read (RFC 6750 section 2.3, RFC 9700
	// section 4.3.2). Require answers 400 invalid_request.
	ErrInvalidRequest = events.NewError(events.ReasonInvalidRequest, "resource: invalid request")

	// ErrInsufficientScope: the token is valid but lacks a scope the route
	// requires. Require answers 403 insufficient_scope. The error is an
	// *ScopeError.
	ErrInsufficientScope = events.NewError(events.ReasonScope, "resource: insufficient scope")

	// ErrUnavailable: the token could not be checked because something it
	// needs failed: the provider's key set could not be fetched, the
	// introspection endpoint could not be reached or answered with an error,
	// or the DPoP replay cache failed. Require answers 503; never access.
	ErrUnavailable = events.NewError(events.ReasonUnavailable, "resource: cannot check the token now")
)

// Errors of token checks. Each matches ErrInvalidToken, and those shared
// with ID tokens are the client package's values of the same names.
// Require answers 401 invalid_token.
var (
	// ErrInvalidToken matches every error of a token or DPoP-proof check.
	ErrInvalidToken = jwt.ErrInvalidToken

	ErrMalformedToken       = jwt.ErrMalformed
	ErrUnsupportedAlgorithm = jwt.ErrUnsupportedAlgorithm
	ErrInvalidSignature     = jwt.ErrInvalidSignature
	ErrInvalidIssuer        = jwt.ErrInvalidIssuer
	ErrInvalidAudience      = jwt.ErrInvalidAudience
	ErrExpired              = jwt.ErrExpired
	ErrNotYetValid          = jwt.ErrNotYetValid
	ErrIssuedInFuture       = jwt.ErrIssuedInFuture
	ErrMissingSubject       = jwt.ErrMissingSubject

	// ErrInvalidTokenType: a JWT whose typ is not at+jwt (RFC 9068 section
	// 4: an ID token is not an access token), or an introspected token whose
	// token_type is refresh_token.
	ErrInvalidTokenType = jwt.ErrInvalidTokenType

	// ErrInactive: the introspection endpoint says the token is not active
	// (revoked, expired, or unknown; RFC 7662 section 2.2).
	ErrInactive = jwt.NewError(events.ReasonInactive, "resource: token not active")

	// ErrDPoPRequired: a DPoP-bound token (cnf.jkt) sent with the Bearer
	// scheme (RFC 9449 section 7.2), or a DPoP-bound token while this
	// Verifier has no Config.Origin to check proofs against.
	ErrDPoPRequired = jwt.NewError(events.ReasonDPoPBinding, "resource: DPoP-bound token without DPoP")

	// ErrNotBound: a token sent with the DPoP scheme that is not bound to
	// a key (no cnf.jkt).
	ErrNotBound = jwt.NewError(events.ReasonDPoPBinding, "resource: DPoP scheme with a token not bound to a key")
)

// ErrInvalidProof matches every error of a DPoP proof check (RFC 9449
// section 4.3), and so ErrInvalidToken too; Require answers 401 with a DPoP
// challenge carrying invalid_dpop_proof (use_dpop_nonce for ErrProofNonce).
var ErrInvalidProof = &proofError{"resource: invalid DPoP proof", events.ReasonDPoPProof}

// Errors of DPoP proofs, one per check of RFC 9449 section 4.3; each
// matches ErrInvalidProof and ErrInvalidToken.
var (
	ErrProofMissing    = newProofError("resource: no DPoP proof", events.ReasonDPoPProof)
	ErrProofMalformed  = newProofError("resource: malformed DPoP proof", events.ReasonDPoPProof)
	ErrProofType       = newProofError("resource: DPoP proof typ is not dpop+jwt", events.ReasonDPoPProof)
	ErrProofAlgorithm  = newProofError("resource: DPoP proof signed with a disallowed algorithm", events.ReasonDPoPProof)
	ErrProofKey        = newProofError("resource: DPoP proof jwk is not a usable public key", events.ReasonDPoPProof)
	ErrProofSignature  = newProofError("resource: invalid DPoP proof signature", events.ReasonDPoPProof)
	ErrProofMethod     = newProofError("resource: DPoP proof htm is not the request's method", events.ReasonDPoPProof)
	ErrProofURL        = newProofError("resource: DPoP proof htu is not the request's URL", events.ReasonDPoPProof)
	ErrProofTime       = newProofError("resource: DPoP proof iat outside the accepted window", events.ReasonDPoPProof)
	ErrProofReplay     = newProofError("resource: DPoP proof replayed (jti seen before)", events.ReasonReplay)
	ErrProofTokenHash  = newProofError("resource: DPoP proof ath is not the access token's hash", events.ReasonDPoPProof)
	ErrProofThumbprint = newProofError("resource: DPoP proof key is not the one the token is bound to", events.ReasonDPoPProof)
	ErrProofNonce      = newProofError("resource: DPoP proof lacks the nonce this server requires", events.ReasonDPoPNonce)
)

// proofError is a DPoP proof sentinel: its own identity, a match for
// ErrInvalidProof and ErrInvalidToken, and its events reason
// (ReasonDPoPProof for most).
type proofError struct {
	msg    string
	reason events.Reason
}

func newProofError(msg string, reason events.Reason) error { return &proofError{msg, reason} }

func (e *proofError) Error() string              { return e.msg }
func (e *proofError) EventReason() events.Reason { return e.reason }
func (e *proofError) Is(target error) bool {
	return target == ErrInvalidProof || target == ErrInvalidToken
}

// ScopeError is ErrInsufficientScope with the scopes the route requires.
type ScopeError struct {
	Required []string // every scope the route requires
	Missing  []string // those the token lacks
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("resource: insufficient scope: missing %q", e.Missing)
}

func (e *ScopeError) Is(target error) bool { return target == ErrInsufficientScope }

// EventReason is events.ReasonScope.
func (e *ScopeError) EventReason() events.Reason { return events.ReasonScope }

// IntrospectionError is a failed call to the introspection endpoint: no
// answer (StatusCode 0), a status other than 200, or a body that is not
// an introspection response. errors.Is(err, ErrUnavailable) holds.
type IntrospectionError struct {
	StatusCode int
	Err        error
}

func (e *IntrospectionError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("resource: introspection: status %d", e.StatusCode)
	}
	return fmt.Sprintf("resource: introspection: %v", e.Err)
}

func (e *IntrospectionError) Is(target error) bool { return target == ErrUnavailable }

// EventReason is events.ReasonProviderUnavailable: the introspection
// endpoint could not answer.
func (e *IntrospectionError) EventReason() events.Reason { return events.ReasonProviderUnavailable }
func (e *IntrospectionError) Unwrap() error              { return e.Err }
