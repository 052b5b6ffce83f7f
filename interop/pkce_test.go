package interop_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// codeVerifier is RFC 7636 section 4.1's code_verifier: 43 to 128
// unreserved characters.
var codeVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// TestPKCEVerifierIsRFC7636 checks the PKCE verifier and challenge of
// client.RP.AuthCodeURL without any provider process: oidc-provider refuses
// a verifier outside RFC 7636's alphabet ("code_verifier contains invalid
// characters"), and so every login of the suite fails with 400 at the
// callback when this test fails. The library's own provider, oidctest,
// compares the challenge only, which is why only the interop suite caught it
// (BUG found by the interop suite: client/authorize.go AuthCodeURL encoded
// 96 random bytes into a 129-byte buffer, so the verifier, its last 43
// bytes, ended with a NUL byte).
func TestPKCEVerifierIsRFC7636(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(t.Context(), client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  "http://127.0.0.1:1/auth/callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	for range 20 {
		authURL, flow, err := rp.AuthCodeURL(client.AuthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !codeVerifier.MatchString(flow.Verifier) {
			t.Fatalf("code_verifier %q (%d bytes) is not 43-128 characters of [A-Za-z0-9._~-] (RFC 7636 section 4.1)", flow.Verifier, len(flow.Verifier))
		}
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(flow.Verifier))
		q := u.Query()
		if want := base64.RawURLEncoding.EncodeToString(sum[:]); q.Get("code_challenge") != want || q.Get("code_challenge_method") != "S256" {
			t.Fatalf("code_challenge %q method %q, want S256 %q", q.Get("code_challenge"), q.Get("code_challenge_method"), want)
		}
		for _, name := range []string{"state", "nonce"} {
			if v := q.Get(name); len(v) < 43 || !codeVerifier.MatchString(v) {
				t.Fatalf("%s %q: want 43 or more URL-safe characters", name, v)
			}
		}
	}
}
