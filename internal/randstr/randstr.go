// Package randstr makes unguessable strings for protocol values: state,
// nonce, PKCE verifiers and session IDs.
package randstr

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns n random bytes encoded as unpadded base64url, which is safe in
// URLs, cookies and as a PKCE code_verifier (RFC 7636 section 4.1).
func New(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Token returns a 256-bit random value, the strength used for state, nonce,
// code_verifier and session IDs (RFC 9700 section 4.7.1 asks for at least 128 bits).
func Token() string { return New(32) }
