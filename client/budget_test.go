package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestVerifyIDTokenBudget holds ID-token verification to the allocations
// the benchmarks measured (bench/, BenchmarkVerifyIDToken), without timing
// anything: the parse (one buffer for the three parts), the claims (one
// allocation for the dates, a single audience and the nonce), the IDToken,
// and what crypto/* allocates for the signature check itself, which the
// floor pays too.
func TestVerifyIDTokenBudget(t *testing.T) {
	for _, tt := range []struct {
		alg    string
		allocs float64
	}{
		{"RS256", 13}, {"ES256", 15}, {"EdDSA", 3},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			op := oidctest.NewServer(oidctest.Config{SigningAlg: tt.alg})
			t.Cleanup(op.Close)
			ctx := context.Background()
			rp, err := client.New(ctx, client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, RedirectURL: "https://app.example.com/cb"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rp.Close() })
			now := time.Now()
			const nonce = "n-0S6_WzA2Mj-Uo8xVb2e-3tLz8qRkA9fN0hQ4oP7sM1"
			raw := op.SignJWT(map[string]any{
				"iss": op.URL, "sub": "248289761001", "aud": oidctest.DefaultClient.ID, "exp": now.Add(time.Hour).Unix(),
				"iat": now.Unix(), "auth_time": now.Unix(), "nonce": nonce, "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
				"name": "Jane Doe", "email": "jane.doe@example.com", "email_verified": true,
			}, "JWT")
			checks := client.IDTokenChecks{Nonce: nonce}
			if _, err := rp.VerifyIDToken(ctx, raw, checks); err != nil { // fetches the keys
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := rp.VerifyIDToken(ctx, raw, checks); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > tt.allocs {
				t.Errorf("%s ID token: %.0f allocations, want at most %.0f", tt.alg, allocs, tt.allocs)
			}
			t.Logf("%s: %.0f allocations", tt.alg, allocs)
		})
	}
}
