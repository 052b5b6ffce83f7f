package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// jwtClaims are the registered and OpenID Connect claims the checks read.
// Pointers mark claims whose absence matters.
type jwtClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub"`
	Audience audience                   `json:"aud"`
	Expiry   *numericDate               `json:"exp"`
	IssuedAt *numericDate               `json:"iat"`
	AuthTime *numericDate               `json:"auth_time"`
	Nonce    *string                    `json:"nonce"`
	AZP      string                     `json:"azp"`
	ACR      string                     `json:"acr"`
	AMR      []string                   `json:"amr"`
	AtHash   string                     `json:"at_hash"`
	SID      string                     `json:"sid"`
	TenantID string                     `json:"tid"`
	JTI      string                     `json:"jti"`
	Events   map[string]json.RawMessage `json:"events"`
}

// audience is the aud claim: a string or an array of strings (RFC 7519
// section 4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

func (a audience) contains(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

// numericDate is a JSON number of seconds since the epoch, possibly with a
// fraction (RFC 7519 section 2).
type numericDate float64

var errNumericDate = errors.New("not a NumericDate")

func (d *numericDate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return errNumericDate
	}
	*d = numericDate(f)
	return nil
}

func (d *numericDate) time() time.Time {
	if d == nil {
		return time.Time{}
	}
	sec, frac := math.Modf(float64(*d))
	return time.Unix(int64(sec), int64(frac*1e9))
}
