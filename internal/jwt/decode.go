package jwt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/oidcrp/oidcrp/internal/jsonx"
)

// The payload of every token verified is decoded here, by hand, instead of
// with encoding/json: on the verification path that is the most of the
// cost after the signature (reflection, a copy of every string, an
// allocation for each pointer). The decoder reads only the claims the
// checks read, skips the others after validating them, and gives the same
// values as encoding/json for every payload it accepts (FuzzDecode compares
// them):
//   - member names match as encoding/json matches them to the struct tags,
//     exactly or else under Unicode case folding ("ISS" fills iss);
//   - a claim that is read and appears twice (under any of those names) is
//     refused, where encoding/json keeps the last: a token whose claims two
//     JSON parsers would read differently is not one to trust, and the
//     application decodes the same payload with encoding/json (Claims);
//   - a top-level null, which encoding/json decodes into nothing, is refused;
//   - strings share the payload's memory, which the callers never modify;
//     one allocation holds the dates, a single audience, the nonce and cnf.

// Decode decodes the claims the ID-token and logout-token checks read from
// a token's payload. A payload that is not a JSON object, holds a claim of
// the wrong type, or holds one of these claims twice is ErrMalformed.
func (c *Claims) Decode(payload []byte) error {
	var (
		seen uint32
		a    *arena
	)
	obj := jsonx.NewObject(payload)
	for {
		name, v, ok := obj.Next()
		if !ok {
			break
		}
		i := idClaim(name)
		if i < 0 {
			continue
		}
		if seen&(1<<i) != 0 {
			return duplicate(name)
		}
		seen |= 1 << i
		if a == nil && needsArena(i, v) {
			a = new(arena)
		}
		var err error
		switch i {
		case cIss:
			c.Issuer, err = jsonx.String(v)
		case cSub:
			c.Subject, err = jsonx.String(v)
		case cAud:
			c.Audience, err = audience(v, a)
		case cExp:
			c.Expiry, err = date(v, a, 0)
		case cNbf:
			c.NotBefore, err = date(v, a, 1)
		case cIat:
			c.IssuedAt, err = date(v, a, 2)
		case cAuthTime:
			c.AuthTime, err = date(v, a, 3)
		case cNonce:
			if !jsonx.IsNull(v) {
				a.nonce, err = jsonx.String(v)
				c.Nonce = &a.nonce
			}
		case cAZP:
			c.AZP, err = jsonx.String(v)
		case cACR:
			c.ACR, err = jsonx.String(v)
		case cAMR:
			c.AMR, err = jsonx.Strings(v, nil)
		case cAtHash:
			c.AtHash, err = jsonx.String(v)
		case cSID:
			c.SID, err = jsonx.String(v)
		case cTID:
			c.TenantID, err = jsonx.String(v)
		case cJTI:
			c.JTI, err = jsonx.String(v)
		case cEvents:
			// Logout tokens only, and read as a whole: encoding/json
			// (into a variable of its own, so that c does not escape).
			var events map[string]json.RawMessage
			err = json.Unmarshal(v, &events)
			c.Events = events
		}
		if err != nil {
			return badClaim(name, err)
		}
	}
	if err := obj.Err(); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return nil
}

// Decode decodes the claims of a JWT access token that are checked or
// exposed, as Claims.Decode does.
func (c *AccessClaims) Decode(payload []byte) error {
	var (
		seen uint32
		a    *arena
	)
	obj := jsonx.NewObject(payload)
	for {
		name, v, ok := obj.Next()
		if !ok {
			break
		}
		i := accessClaim(name)
		if i < 0 {
			continue
		}
		if seen&(1<<i) != 0 {
			return duplicate(name)
		}
		seen |= 1 << i
		if a == nil && needsArena(i, v) {
			a = new(arena)
		}
		var err error
		switch i {
		case cIss:
			c.Issuer, err = jsonx.String(v)
		case cSub:
			c.Subject, err = jsonx.String(v)
		case cAud:
			c.Audience, err = audience(v, a)
		case cExp:
			c.Expiry, err = date(v, a, 0)
		case cNbf:
			c.NotBefore, err = date(v, a, 1)
		case cIat:
			c.IssuedAt, err = date(v, a, 2)
		case cClientID:
			c.ClientID, err = jsonx.String(v)
		case cScope:
			c.Scope, err = jsonx.String(v)
		case cCnf:
			if !jsonx.IsNull(v) {
				err = a.cnf.decode(v)
				c.Cnf = &a.cnf
			}
		}
		if err != nil {
			return badClaim(name, err)
		}
	}
	if err := obj.Err(); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return nil
}

// decode reads cnf's jkt, refusing it twice, as Claims.Decode reads claims.
func (c *Confirmation) decode(v []byte) error {
	if v[0] != '{' {
		return jsonx.ErrType
	}
	seen := false
	obj := jsonx.NewObject(v)
	for {
		name, v, ok := obj.Next()
		if !ok {
			return obj.Err()
		}
		if string(name) != "jkt" && jsonx.Fold(name, jktName) < 0 {
			continue
		}
		if seen {
			return fmt.Errorf("%q twice", name)
		}
		seen = true
		var err error
		if c.JKT, err = jsonx.String(v); err != nil {
			return err
		}
	}
}

var jktName = []string{"jkt"}

// arena holds, in one allocation, what the claims point to.
type arena struct {
	dates [4]NumericDate // exp, nbf, iat, auth_time
	aud   [1]string      // a single audience
	nonce string
	cnf   Confirmation
}

// needsArena reports whether claim i with the raw value v points into the
// arena.
func needsArena(i int, v []byte) bool {
	switch i {
	case cAud, cExp, cNbf, cIat, cAuthTime, cNonce, cCnf:
		return !jsonx.IsNull(v)
	}
	return false
}

// The claims decoded, by index: the first six are the registered claims
// both kinds of token read.
const (
	cIss = iota
	cSub
	cAud
	cExp
	cNbf
	cIat
	cAuthTime
	cNonce
	cAZP
	cACR
	cAMR
	cAtHash
	cSID
	cTID
	cJTI
	cEvents
	cClientID
	cScope
	cCnf
)

// idNames and accessNames are the claims of Claims and of AccessClaims,
// by index (accessNames maps an index to a name only for folding).
var (
	idNames     = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "auth_time", "nonce", "azp", "acr", "amr", "at_hash", "sid", "tid", "jti", "events"}
	accessNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "client_id", "scope", "cnf"}
	accessIndex = []int{cIss, cSub, cAud, cExp, cNbf, cIat, cClientID, cScope, cCnf}
)

func idClaim(name []byte) int {
	switch string(name) {
	case "iss":
		return cIss
	case "sub":
		return cSub
	case "aud":
		return cAud
	case "exp":
		return cExp
	case "nbf":
		return cNbf
	case "iat":
		return cIat
	case "auth_time":
		return cAuthTime
	case "nonce":
		return cNonce
	case "azp":
		return cAZP
	case "acr":
		return cACR
	case "amr":
		return cAMR
	case "at_hash":
		return cAtHash
	case "sid":
		return cSID
	case "tid":
		return cTID
	case "jti":
		return cJTI
	case "events":
		return cEvents
	}
	return jsonx.Fold(name, idNames)
}

func accessClaim(name []byte) int {
	switch string(name) {
	case "iss":
		return cIss
	case "sub":
		return cSub
	case "aud":
		return cAud
	case "exp":
		return cExp
	case "nbf":
		return cNbf
	case "iat":
		return cIat
	case "client_id":
		return cClientID
	case "scope":
		return cScope
	case "cnf":
		return cCnf
	}
	if i := jsonx.Fold(name, accessNames); i >= 0 {
		return accessIndex[i]
	}
	return -1
}

// audience decodes aud: a string, an array of strings, or null.
func audience(v []byte, a *arena) (Audience, error) {
	switch v[0] {
	case '"':
		s, err := jsonx.String(v)
		a.aud[0] = s
		return a.aud[:], err
	case '[':
		return jsonx.Strings(v, &a.aud)
	case 'n':
		return nil, nil
	}
	return nil, jsonx.ErrType
}

// date decodes a NumericDate into a.dates[i]; null is nil.
func date(v []byte, a *arena, i int) (*NumericDate, error) {
	d, ok, err := ParseNumericDate(v)
	if !ok || err != nil {
		return nil, err
	}
	a.dates[i] = d
	return &a.dates[i], nil
}

// ParseNumericDate decodes a raw JSON value (validated, as internal/jsonx
// hands it out) as NumericDate.UnmarshalJSON does; ok is false for null.
func ParseNumericDate(v []byte) (d NumericDate, ok bool, err error) {
	if jsonx.IsNull(v) {
		return 0, false, nil
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return 0, true, errNumericDate
	}
	f, isInt := parseInt(v)
	if !isInt {
		// No copy: strconv keeps no reference to its argument.
		if f, err = strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64); err != nil {
			return 0, true, errNumericDate
		}
	}
	if f < 0 || f > 1e11 { // NaN and infinities fail ParseFloat
		return 0, true, errNumericDate
	}
	return NumericDate(f), true, nil
}

// parseInt parses the usual NumericDate, a non-negative integer of at most
// 15 digits, exactly; ok is false for any other number.
func parseInt(v []byte) (float64, bool) {
	if len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), true
}

func duplicate(name []byte) error {
	return fmt.Errorf("%w: payload: claim %q appears twice", ErrMalformed, name)
}

func badClaim(name []byte, err error) error {
	return fmt.Errorf("%w: payload: claim %q: %v", ErrMalformed, name, err)
}
