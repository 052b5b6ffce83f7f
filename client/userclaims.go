package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// protocolClaims are claims about a token rather than its user: the ID
// token's business, left out of the user's claims.
var protocolClaims = []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "auth_time"}

func isProtocolClaim(name []byte) bool {
	for _, c := range protocolClaims {
		if string(name) == c {
			return true
		}
	}
	return false
}

// KeptUserInfo returns the claims of a userinfo answer worth keeping beside
// the ID token it was fetched for, as a JSON object, or nil when there are
// none: those the ID token does not carry with the same value, protocol
// claims (iss, aud, iat, ...) left out, since some providers put their own
// in userinfo. UserClaims joins the two again.
func KeptUserInfo(id *IDToken, info *UserInfo) ([]byte, error) {
	var extra, inToken map[string]json.RawMessage
	if err := info.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", ErrProviderResponse, err)
	}
	if err := id.Claims(&inToken); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	for k, v := range extra {
		if t, ok := inToken[k]; (ok && bytes.Equal(t, v)) || slices.Contains(protocolClaims, k) {
			delete(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil, nil
	}
	return json.Marshal(extra)
}

// UserClaims returns the user's claims as one JSON object: those of the
// compact ID token rawIDToken (which was verified when it was issued, and is
// only decoded here), protocol claims left out, overlaid with kept, a JSON
// object of further claims such as KeptUserInfo's (or nil). It decodes no
// JSON: the members are copied as they are, and where both carry a claim,
// kept's comes last, which is the one json.Unmarshal keeps.
func UserClaims(rawIDToken string, kept []byte) ([]byte, error) {
	var p string
	if rawIDToken != "" {
		_, rest, ok1 := strings.Cut(rawIDToken, ".")
		var ok2 bool
		if p, _, ok2 = strings.Cut(rest, "."); !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: ID token is not a compact JWS", ErrMalformedToken)
		}
	}
	// The payload is decoded into the result's own buffer, after its
	// opening brace, and its members kept are moved left in place: each
	// lands at or before where it was read.
	enc := base64.RawURLEncoding
	out := make([]byte, 1+enc.DecodedLen(len(p))+len(kept)+2)
	out[0] = '{'
	n, err := enc.Decode(out[1:], []byte(p))
	if err != nil {
		return nil, fmt.Errorf("%w: ID token payload: %v", ErrMalformedToken, err)
	}
	payload := out[1 : 1+n]
	if out, err = appendMembers(out[:1], payload); err != nil {
		return nil, fmt.Errorf("%w: ID token payload: %v", ErrMalformedToken, err)
	}
	if out, err = appendMembers(out, kept); err != nil {
		return nil, fmt.Errorf("%w: kept claims: %v", ErrMalformedToken, err)
	}
	return append(out, '}'), nil
}

// UserClaimsOf is UserClaims given the ID token's decoded payload (as
// session.Session.IDTokenPayload returns it; nil when there is no ID token)
// rather than the token.
func UserClaimsOf(idTokenPayload, kept []byte) ([]byte, error) {
	out := make([]byte, 1, 1+len(idTokenPayload)+len(kept)+2)
	out[0] = '{'
	out, err := appendMembers(out, idTokenPayload)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token payload: %v", ErrMalformedToken, err)
	}
	if out, err = appendMembers(out, kept); err != nil {
		return nil, fmt.Errorf("%w: kept claims: %v", ErrMalformedToken, err)
	}
	return append(out, '}'), nil
}

// appendMembers appends the members of the JSON object obj that are not
// protocol claims to out, which holds an object's opening brace and any
// members before. An empty obj has no members.
func appendMembers(out, obj []byte) ([]byte, error) {
	s := scanner{b: obj}
	s.space()
	if s.i == len(s.b) {
		return out, nil
	}
	if !s.take('{') {
		return nil, errNotObject
	}
	s.space()
	if s.take('}') {
		return out, s.end()
	}
	for {
		start := s.i
		name, ok := s.str()
		if !ok {
			return nil, errNotObject
		}
		s.space()
		if !s.take(':') || !s.value() {
			return nil, errNotObject
		}
		member := s.b[start:s.i]
		if !isProtocolClaim(unquote(name)) {
			if out[len(out)-1] != '{' {
				out = append(out, ',')
			}
			out = append(out, member...)
		}
		s.space()
		if s.take('}') {
			return out, s.end()
		}
		if !s.take(',') {
			return nil, errNotObject
		}
		s.space()
	}
}

var errNotObject = fmt.Errorf("not a JSON object")

// unquote returns a member name without its quotes. A name with escapes
// is decoded; it never names a protocol claim unless it decodes to one.
func unquote(name []byte) []byte {
	inner := name[1 : len(name)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(name, &s) != nil {
		return inner
	}
	return []byte(s)
}

// scanner finds the extent of JSON values without decoding them. It
// trusts its input to be JSON, as the verified ID token's payload and the
// claims json.Marshal wrote are, but never reads past its end.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) take(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.space()
	if s.i != len(s.b) {
		return errNotObject
	}
	return nil
}

// str reads a string, returning it with its quotes. It jumps from quote
// to quote (bytes.IndexByte), and a quote after an odd number of
// backslashes is escaped.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	if !s.take('"') {
		return nil, false
	}
	for {
		q := bytes.IndexByte(s.b[s.i:], '"')
		if q < 0 {
			return nil, false
		}
		s.i += q + 1
		backslashes := 0
		for j := s.i - 2; j > start && s.b[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return s.b[start:s.i], true
		}
	}
}

// value skips one value: a string, an object or array (its nested strings
// skipped whole, so that brackets in them do not count), or a literal.
func (s *scanner) value() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		start := s.i
		for s.i < len(s.b) && !endsLiteral(s.b[s.i]) {
			s.i++
		}
		return s.i > start
	}
}

// endsLiteral reports whether c ends a number, true, false or null.
func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
