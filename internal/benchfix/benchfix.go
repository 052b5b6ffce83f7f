// Package benchfix holds the reference session of the benchmarks: the
// tokens a typical provider issues, at their typical sizes (an ID token of
// about 920 bytes, a JWT access token of about 1 KB, an opaque refresh
// token). It is imported by tests only.
package benchfix

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

const (
	Subject = "00u1a2b3c4d5e6f7g8h9"
	SID     = "08a5019c-17e1-4977-8f42-65a12843ea02"
	// RefreshToken is opaque, as most providers issue them.
	RefreshToken = "v1.MjQ4Mjg5NzYxMDAxLTRhYjMtOTJmNy1iMzU2ZTBkOGE3ZjEtcmVmcmVzaA.c2lnbmF0dXJl"
)

var (
	// IDToken is an RS256 ID token with profile and email claims (~920 bytes).
	IDToken = jwt(`{"alg":"RS256","kid":"sig-2026-11","typ":"JWT"}`, map[string]any{
		"iss": "https://accounts.example.com", "sub": Subject, "aud": "0oa1b2c3d4e5f6g7h8i9",
		"exp": 1795650000, "iat": 1795646400, "auth_time": 1795646390,
		"nonce": "n-0S6_WzA2Mj-Uo8xVb2e-3tLz8qRkA9fN0hQ4oP7sM1", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
		"sid": SID, "name": "Jane Doe", "preferred_username": "jane.doe@example.com",
		"email": "jane.doe@example.com", "email_verified": true,
	}, 256)
	// AccessToken is an RFC 9068 JWT access token (~1 KB).
	AccessToken = jwt(`{"alg":"RS256","kid":"sig-2026-11","typ":"at+jwt"}`, map[string]any{
		"iss": "https://accounts.example.com", "sub": Subject, "aud": "https://api.example.com",
		"client_id": "0oa1b2c3d4e5f6g7h8i9", "exp": 1795650000, "iat": 1795646400, "jti": "AT.q4K9Uw3n5tHh2Yb8Vj1mXc",
		"scope":  "openid profile email offline_access api:read api:write",
		"groups": []string{"engineering", "reports-readers", "on-call"},
		"roles":  []string{"viewer", "editor"}, "tenant": "acme-corp", "auth_time": 1795646390,
		"amr": []string{"pwd", "mfa"}, "sid": SID,
	}, 256)
)

// jwt builds a compact JWS of the given header and claims with a signature
// of sigLen bytes (256 for RS256 with a 2048-bit key). It is not valid: it
// stands for a token's bytes, which is all a session keeps.
func jwt(header string, claims map[string]any, sigLen int) string {
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	sig := make([]byte, sigLen)
	for i := range sig {
		sig[i] = byte(i*7 + 3)
	}
	return strings.Join([]string{enc.EncodeToString([]byte(header)), enc.EncodeToString(payload), enc.EncodeToString(sig)}, ".")
}
