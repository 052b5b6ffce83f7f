// Package jwt holds the JSON Web Token claim checks that ID tokens, logout
// tokens and access tokens share (RFC 7519 section 4.1, OpenID Connect Core
// 3.1.3.7, RFC 9068 section 4): the registered claims, their decoding, and
// the checks of iss, aud, azp, exp, nbf and iat. Signatures are internal/jws's
// concern; what each kind of token adds (nonce, events, scope, cnf) stays
// with the package that verifies it.
//
// Its errors are the token-check sentinels of the client and resource
// packages, which re-export them under the same names: each matches
// ErrInvalidToken too, so that callers and status mappings test one umbrella.
package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/oidcrp/oidcrp/events"
)

// ErrInvalidToken is the umbrella of every token-check error: errors.Is(err,
// ErrInvalidToken) holds for each sentinel below and for every sentinel made
// with NewError.
var ErrInvalidToken = errors.New("oidcrp: invalid token")

// checkError is a token-check sentinel: its own identity, a match for
// ErrInvalidToken, and the reason events give for it.
type checkError struct {
	msg    string
	reason events.Reason
}

func (e *checkError) Error() string              { return e.msg }
func (e *checkError) Is(target error) bool       { return target == ErrInvalidToken }
func (e *checkError) EventReason() events.Reason { return e.reason }

// NewError returns a new token-check sentinel with the message msg and the
// events reason: it is itself (errors.Is compares identity), matches
// ErrInvalidToken, and events.ReasonOf gives reason for it. Packages declare
// with it the checks only they make (nonce, at_hash, DPoP proofs).
func NewError(reason events.Reason, msg string) error { return &checkError{msg, reason} }

// The checks every kind of token shares.
var (
	ErrMalformed              = NewError(events.ReasonMalformedToken, "oidcrp: malformed token")
	ErrUnsupportedAlgorithm   = NewError(events.ReasonAlgorithm, "oidcrp: token signed with a disallowed algorithm")
	ErrInvalidSignature       = NewError(events.ReasonSignature, "oidcrp: invalid token signature")
	ErrInvalidIssuer          = NewError(events.ReasonIssuer, "oidcrp: token from another issuer")
	ErrInvalidAudience        = NewError(events.ReasonAudience, "oidcrp: token not for this audience")
	ErrInvalidAuthorizedParty = NewError(events.ReasonAuthorizedParty, "oidcrp: token azp is not this client")
	ErrExpired                = NewError(events.ReasonExpired, "oidcrp: token expired")
	ErrNotYetValid            = NewError(events.ReasonNotYetValid, "oidcrp: token not yet valid (nbf)")
	ErrIssuedInFuture         = NewError(events.ReasonIssuedInFuture, "oidcrp: token issued in the future")
	ErrMissingSubject         = NewError(events.ReasonMissingSubject, "oidcrp: token has no sub")
	ErrInvalidTokenType       = NewError(events.ReasonTokenType, "oidcrp: token of another type")
)

// Registered are the claims every kind of token is checked on (RFC 7519
// section 4.1). Pointers mark claims whose absence matters. Access tokens
// embed only these, so that decoding skips the rest at no cost.
type Registered struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  Audience     `json:"aud"`
	Expiry    *NumericDate `json:"exp"`
	NotBefore *NumericDate `json:"nbf"`
	IssuedAt  *NumericDate `json:"iat"`
}

// Claims are the registered and OpenID Connect claims the ID-token and
// logout-token checks read. Packages that read more embed it in a struct of
// their own, so that the payload is decoded once. The registered claims are
// repeated rather than embedded: encoding/json allocates more for an
// embedded struct, and ID tokens are verified on a budget.
type Claims struct {
	Issuer    string                     `json:"iss"`
	Subject   string                     `json:"sub"`
	Audience  Audience                   `json:"aud"`
	Expiry    *NumericDate               `json:"exp"`
	NotBefore *NumericDate               `json:"nbf"`
	IssuedAt  *NumericDate               `json:"iat"`
	AuthTime  *NumericDate               `json:"auth_time"`
	Nonce     *string                    `json:"nonce"`
	AZP       string                     `json:"azp"`
	ACR       string                     `json:"acr"`
	AMR       []string                   `json:"amr"`
	AtHash    string                     `json:"at_hash"`
	SID       string                     `json:"sid"`
	TenantID  string                     `json:"tid"`
	JTI       string                     `json:"jti"`
	Events    map[string]json.RawMessage `json:"events"`
}

// Decode unmarshals a token's payload into v; a payload that does not fit
// is ErrMalformed. A *Claims or *AccessClaims is decoded by its own Decode
// (decode.go), anything else with encoding/json.
func Decode(payload []byte, v any) error {
	switch c := v.(type) {
	case *Claims:
		return c.Decode(payload)
	case *AccessClaims:
		return c.Decode(payload)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return nil
}

// Times says how CheckTimes judges exp, nbf and iat at Now.
type Times struct {
	Now time.Time

	// Skew is the clock difference tolerated for nbf and iat.
	Skew time.Duration

	// ExpiryLeeway is how long past exp a token is still accepted.
	ExpiryLeeway time.Duration

	// RequireExpiry and RequireIssuedAt refuse a token without exp or iat.
	RequireExpiry, RequireIssuedAt bool
}

// CheckTimes checks exp (ErrExpired), nbf (ErrNotYetValid) and iat
// (ErrIssuedInFuture; ErrMalformed when required and absent).
func (c *Registered) CheckTimes(t Times) error {
	return checkTimes(c.Expiry, c.NotBefore, c.IssuedAt, t)
}

// CheckTimes checks exp, nbf and iat as Registered.CheckTimes does.
func (c *Claims) CheckTimes(t Times) error {
	return checkTimes(c.Expiry, c.NotBefore, c.IssuedAt, t)
}

func checkTimes(exp, nbf, iat *NumericDate, t Times) error {
	if exp == nil {
		if t.RequireExpiry {
			return fmt.Errorf("%w: no exp", ErrExpired)
		}
	} else if !t.Now.Before(exp.Time().Add(t.ExpiryLeeway)) {
		return fmt.Errorf("%w: at %v", ErrExpired, exp.Time().UTC())
	}
	if nbf != nil && nbf.Time().After(t.Now.Add(t.Skew)) {
		return fmt.Errorf("%w: nbf %v", ErrNotYetValid, nbf.Time().UTC())
	}
	if iat == nil {
		if t.RequireIssuedAt {
			return fmt.Errorf("%w: no iat", ErrMalformed)
		}
	} else if iat.Time().After(t.Now.Add(t.Skew)) {
		return fmt.Errorf("%w: iat %v", ErrIssuedInFuture, iat.Time().UTC())
	}
	return nil
}

// Audience is the aud claim: a string or an array of strings (RFC 7519
// section 4.1.3).
type Audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

// Contains reports whether s is one of the audiences.
func (a Audience) Contains(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

// NumericDate is a JSON number of seconds since the epoch, possibly with a
// fraction (RFC 7519 section 2), between 0 and 1e11.
type NumericDate float64

var errNumericDate = errors.New("not a NumericDate")

// UnmarshalJSON accepts a finite number in [0, 1e11].
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return errNumericDate
	}
	*d = NumericDate(f)
	return nil
}

// Time returns the date, or the zero time for a nil d.
func (d *NumericDate) Time() time.Time {
	if d == nil {
		return time.Time{}
	}
	sec, frac := math.Modf(float64(*d))
	return time.Unix(int64(sec), int64(frac*1e9))
}
