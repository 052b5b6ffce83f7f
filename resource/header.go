package resource

import (
	"fmt"
	"net/http"
	"strings"
)

// scheme is the authentication scheme of a request's access token.
type scheme uint8

const (
	schemeNone   scheme = iota
	schemeBearer        // RFC 6750
	schemeDPoP          // RFC 9449 section 7.1
)

// credentials reads the access token from r's Authorization header, the
// only place it is read from (RFC 6750 section 2.1; never the query string
// or a form body), and the DPoP proof from its DPoP header. Tokens and
// proofs longer than maxLen are refused before any other work. A request
// with a token in its query string is refused even with a valid header.
func credentials(r *http.Request, maxLen int, dpop bool) (s scheme, token, proof string, err error) {
	if r.URL != nil && r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "access_token") {
		if _, ok := r.URL.Query()["access_token"]; ok {
			return schemeNone, "", "", fmt.Errorf("%w: access_token in the query string", ErrInvalidRequest)
		}
	}
	values := r.Header["Authorization"]
	switch len(values) {
	case 0:
		return schemeNone, "", "", ErrNoToken
	case 1:
	default:
		return schemeNone, "", "", fmt.Errorf("%w: %d Authorization headers", ErrInvalidRequest, len(values))
	}
	name, rest, _ := strings.Cut(values[0], " ")
	switch {
	case strings.EqualFold(name, "Bearer"):
		s = schemeBearer
	case dpop && strings.EqualFold(name, "DPoP"):
		s = schemeDPoP
	default:
		// Another scheme (Basic, ...) carries no access token: answered as
		// a request without credentials (RFC 6750 section 3.1).
		return schemeNone, "", "", ErrNoToken
	}
	token = strings.TrimLeft(rest, " ")
	if len(token) > maxLen {
		return s, "", "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedToken, maxLen)
	}
	if token == "" {
		return s, "", "", fmt.Errorf("%w: no %s token", ErrInvalidRequest, name)
	}
	// Its syntax (token68) is checked when it is not found in the cache:
	// a cached token passed that check with the same bytes.
	proofs := r.Header["Dpop"]
	switch {
	case len(proofs) > 1:
		// RFC 9449 section 4.3, check 1: one proof at most.
		return s, "", "", fmt.Errorf("%w: %d DPoP headers", ErrProofMalformed, len(proofs))
	case len(proofs) == 1:
		proof = proofs[0]
		if len(proof) > maxLen {
			return s, "", "", fmt.Errorf("%w: longer than %d bytes", ErrProofMalformed, maxLen)
		}
	}
	return s, token, proof, nil
}

// isToken68 reports whether s is a non-empty b64token (RFC 6750 section
// 2.1): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && tokenChar[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

var tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()
