package discovery

import (
	"errors"
	"fmt"

	"github.com/oidcrp/oidcrp/events"
)

var (
	// ErrIssuerMismatch: the discovery document's issuer is not, character
	// for character, the issuer it was fetched for (OpenID Connect Discovery
	// 1.0 section 4.3). The error is an *IssuerMismatchError.
	ErrIssuerMismatch = errors.New("discovery: issuer mismatch")

	// ErrInvalidMetadata: the document is not JSON, or lacks or garbles a
	// member the relying party needs. The error is a *MetadataError.
	ErrInvalidMetadata = errors.New("discovery: invalid provider metadata")

	// ErrFetch: the provider could not be reached, or answered with a status
	// other than 2xx. The error is a *FetchError.
	ErrFetch = errors.New("discovery: fetch failed")

	// ErrInvalidKeySet: the jwks_uri document is not a JSON Web Key Set.
	ErrInvalidKeySet = events.NewError(events.ReasonProviderResponse, "discovery: invalid JSON Web Key Set")

	// ErrUnknownKey: a token names a key (kid) that is not in the provider's
	// key set, even after re-fetching it, or a re-fetch was refused because
	// the last one was too recent (see Config.KeyRefetchInterval).
	ErrUnknownKey = events.NewError(events.ReasonUnknownKey, "discovery: signing key not found")

	// ErrSignature: the signature does not verify with the provider's key.
	ErrSignature = events.NewError(events.ReasonSignature, "discovery: invalid signature")

	// ErrInvalidConfig: a Config field is wrong; the message says which.
	ErrInvalidConfig = errors.New("discovery: invalid config")
)

// IssuerMismatchError is returned when the document's issuer differs from the
// expected one. errors.Is(err, ErrIssuerMismatch) holds for it.
type IssuerMismatchError struct {
	Expected, Got string
}

func (e *IssuerMismatchError) Error() string {
	return fmt.Sprintf("discovery: issuer mismatch: expected %q, document says %q", e.Expected, e.Got)
}

func (e *IssuerMismatchError) Is(target error) bool { return target == ErrIssuerMismatch }

// EventReason is events.ReasonIssuer.
func (e *IssuerMismatchError) EventReason() events.Reason { return events.ReasonIssuer }

// MetadataError names the member of the discovery document that is wrong.
// errors.Is(err, ErrInvalidMetadata) holds for it.
type MetadataError struct {
	Field  string // the JSON member, "" when the document as a whole is bad
	Reason string
	Err    error // the underlying decode error, if any
}

func (e *MetadataError) Error() string {
	if e.Field == "" {
		return "discovery: invalid provider metadata: " + e.Reason
	}
	return fmt.Sprintf("discovery: invalid provider metadata: %s: %s", e.Field, e.Reason)
}

func (e *MetadataError) Is(target error) bool { return target == ErrInvalidMetadata }
func (e *MetadataError) Unwrap() error        { return e.Err }

// EventReason is events.ReasonProviderResponse: the provider's document is
// not usable.
func (e *MetadataError) EventReason() events.Reason { return events.ReasonProviderResponse }

// FetchError is a failed request to the provider. StatusCode is 0 when no
// HTTP answer came (network error, timeout). errors.Is(err, ErrFetch) holds.
type FetchError struct {
	URL        string
	StatusCode int
	Err        error
}

func (e *FetchError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("discovery: fetch %s: status %d", e.URL, e.StatusCode)
	}
	return fmt.Sprintf("discovery: fetch %s: %v", e.URL, e.Err)
}

func (e *FetchError) Is(target error) bool { return target == ErrFetch }
func (e *FetchError) Unwrap() error        { return e.Err }

// EventReason is events.ReasonProviderUnavailable when no answer came or
// the answer was 5xx, else events.ReasonProviderResponse.
func (e *FetchError) EventReason() events.Reason {
	if e.StatusCode == 0 || e.StatusCode >= 500 {
		return events.ReasonProviderUnavailable
	}
	return events.ReasonProviderResponse
}
