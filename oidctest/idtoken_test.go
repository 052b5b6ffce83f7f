package oidctest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/oidctest"
)

func TestIDTokenClaims(t *testing.T) {
	clk := newClock()
	op := newOP(t, oidctest.Config{
		Now:            clk.Now,
		IDTokenTTL:     5 * time.Minute,
		AccessTokenTTL: 10 * time.Minute,
	})
	c := oidctest.DefaultClient
	p := newPKCE()
	q := authParams(c.ID, p)
	q.Set("nonce", "n-0S6_WzA2Mj")
	code, err := codeFrom(authorize(t, op, q))
	if err != nil {
		t.Fatal(err)
	}
	authTime := clk.Now()
	clk.Advance(30 * time.Second) // the code is redeemed later than the login
	tok, err := decodeTokens(tokenCall(t, op, c, codeForm(code, p)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || tok.Scope != "openid" {
		t.Errorf("token_type %q, expires_in %d, scope %q; want Bearer, 600, openid", tok.TokenType, tok.ExpiresIn, tok.Scope)
	}

	h, claims := mustVerify(t, op, tok.IDToken)
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
		t.Errorf("ID token typ = %v, want JWT", typ)
	}
	issued := clk.Now().Unix()
	want := map[string]any{
		"iss":       op.URL,
		"sub":       "alice",
		"aud":       c.ID,
		"nonce":     "n-0S6_WzA2Mj",
		"iat":       float64(issued),
		"exp":       float64(issued + 300),
		"auth_time": float64(authTime.Unix()),
		"at_hash":   atHash(jose.RS256, tok.AccessToken),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s = %v, want %v", k, claims[k], v)
		}
	}
	if sid, _ := claims["sid"].(string); sid == "" {
		t.Errorf("sid = %v, want a session ID", claims["sid"])
	}

	// The access token is a JWT too (RFC 9068), for the same user and client.
	h, at := mustVerify(t, op, tok.AccessToken)
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("access token typ = %v, want at+jwt", typ)
	}
	if at["sub"] != "alice" || at["client_id"] != c.ID || at["iss"] != op.URL || numeric(t, at, "exp") != issued+600 {
		t.Errorf("access token claims %v", at)
	}

	// No nonce in the request, none in the token.
	tok = login(t, op, c, func(q url.Values) { q.Del("nonce") })
	if _, claims := mustVerify(t, op, tok.IDToken); claims["nonce"] != nil {
		t.Errorf("nonce = %v without one in the request", claims["nonce"])
	}
}

func TestReleasedClaims(t *testing.T) {
	user := oidctest.User{Subject: "carol", Claims: map[string]any{
		"name":                  "Carol",
		"given_name":            "Carol",
		"email":                 "carol@example.com",
		"email_verified":        true,
		"address":               map[string]any{"country": "NZ"},
		"phone_number":          "+64 1 234",
		"phone_number_verified": false,
		"groups":                []any{"admins"}, // no standard scope covers it
	}}
	op := newOP(t, oidctest.Config{Users: []oidctest.User{user}})
	all := []string{"name", "given_name", "email", "email_verified", "address", "phone_number", "phone_number_verified", "groups"}
	tests := []struct {
		scope string
		want  []string
	}{
		{"openid", []string{"groups"}},
		{"openid profile", []string{"name", "given_name", "groups"}},
		{"openid email", []string{"email", "email_verified", "groups"}},
		{"openid address", []string{"address", "groups"}},
		{"openid phone", []string{"phone_number", "phone_number_verified", "groups"}},
		{"openid profile email address phone", all},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			tok := login(t, op, oidctest.DefaultClient, withScope(tt.scope))
			_, idClaims := mustVerify(t, op, tok.IDToken)
			info := userinfo(t, op, tok.AccessToken)
			if info.Status != http.StatusOK {
				t.Fatalf("userinfo: %s", info)
			}
			for where, claims := range map[string]map[string]any{"ID token": idClaims, "userinfo": info.JSON(t)} {
				if claims["sub"] != "carol" {
					t.Errorf("%s sub = %v, want carol", where, claims["sub"])
				}
				for _, name := range all {
					_, got := claims[name]
					if want := slices.Contains(tt.want, name); got != want {
						t.Errorf("%s has %s: %v, want %v", where, name, got, want)
					}
				}
			}
		})
	}
}

func TestIDTokenHook(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	op.SetHooks(oidctest.Hooks{IDToken: func(claims map[string]any) {
		claims["aud"] = []string{"someone-else"}
		delete(claims, "nonce")
		claims["exp"] = 1
	}})
	tok := login(t, op, oidctest.DefaultClient, nil)
	_, claims := mustVerify(t, op, tok.IDToken) // still signed correctly
	if aud, _ := json.Marshal(claims["aud"]); string(aud) != `["someone-else"]` {
		t.Errorf("aud = %s, want the hook's", aud)
	}
	if claims["nonce"] != nil || claims["exp"] != float64(1) {
		t.Errorf("nonce %v, exp %v: the hook's edits are missing", claims["nonce"], claims["exp"])
	}
}

// TestIDTokenSigning checks that each tampering mode makes an ID token that
// fails verification with the published keys, in the way its name says.
func TestIDTokenSigning(t *testing.T) {
	tests := []struct {
		name    string
		signing oidctest.Signing
		// check inspects the token; header and claims were read without
		// verification, set is the provider's key set.
		check func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string)
	}{
		{"SignNormally", oidctest.SignNormally, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if _, _, err := verifyJWT(set, raw); err != nil {
				t.Errorf("does not verify: %v", err)
			}
		}},
		{"SignNone", oidctest.SignNone, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if header["alg"] != "none" {
				t.Errorf("alg = %v, want none", header["alg"])
			}
			if _, sig := splitSig(raw); sig != "" {
				t.Errorf("signature %q, want none", sig)
			}
			if _, _, err := verifyJWT(set, raw); err == nil {
				t.Error("an alg:none token verifies")
			}
		}},
		{"SignHS256", oidctest.SignHS256, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if header["alg"] != "HS256" {
				t.Errorf("alg = %v, want HS256", header["alg"])
			}
			if _, _, err := verifyJWT(set, raw); err == nil {
				t.Error("an HS256 token verifies with the key set")
			}
			// By hand: go-jose refuses HMAC keys shorter than the hash, and
			// a client secret may be that short, or empty.
			input, sig := splitSig(raw)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(input))
			if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); sig != want {
				t.Errorf("does not verify with the client secret %q as HMAC key", secret)
			}
		}},
		{"SignWrongKey", oidctest.SignWrongKey, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if header["kid"] != set.Keys[0].KeyID || header["alg"] != set.Keys[0].Algorithm {
				t.Errorf("kid %v alg %v, want the current key's %s %s", header["kid"], header["alg"], set.Keys[0].KeyID, set.Keys[0].Algorithm)
			}
			if _, _, err := verifyJWT(set, raw); !errors.Is(err, jose.ErrCryptoFailure) {
				t.Errorf("err = %v, want a bad signature", err)
			}
		}},
		{"SignUnknownKey", oidctest.SignUnknownKey, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if _, _, err := verifyJWT(set, raw); !errors.Is(err, errUnknownKid) {
				t.Errorf("err = %v, want %v", err, errUnknownKid)
			}
			jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range set.Keys {
				if _, err := jws.Verify(k); err == nil {
					t.Errorf("verifies with published key %s", k.KeyID)
				}
			}
		}},
		{"CorruptSignature", oidctest.CorruptSignature, func(t *testing.T, raw string, header map[string]any, set jose.JSONWebKeySet, secret string) {
			if header["kid"] != set.Keys[0].KeyID {
				t.Errorf("kid %v, want the current key's %s", header["kid"], set.Keys[0].KeyID)
			}
			if _, _, err := verifyJWT(set, raw); !errors.Is(err, jose.ErrCryptoFailure) {
				t.Errorf("err = %v, want a bad signature", err)
			}
		}},
	}
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.ES384, jose.EdDSA}
	public := oidctest.Client{ID: "public-spa"}
	short := oidctest.Client{ID: "short-secret", Secret: "short"}
	for _, alg := range algs {
		for _, c := range []oidctest.Client{oidctest.DefaultClient, public, short} {
			op := newOP(t, oidctest.Config{SigningAlg: string(alg), Clients: []oidctest.Client{c}})
			for _, tt := range tests {
				t.Run(string(alg)+"/"+c.ID+"/"+tt.name, func(t *testing.T) {
					op.SetHooks(oidctest.Hooks{IDTokenSigning: tt.signing})
					defer op.SetHooks(oidctest.Hooks{})
					set := keySet(t, op)
					tok := login(t, op, c, nil)
					header, claims, _ := unverifiedParts(t, tok.IDToken)
					if claims["iss"] != op.URL || claims["sub"] != "alice" {
						t.Errorf("claims %v, want the usual ones", claims)
					}
					tt.check(t, tok.IDToken, header, set, c.Secret)
					// The access token is always signed correctly.
					if _, _, err := verifyJWT(set, tok.AccessToken); err != nil {
						t.Errorf("access token: %v", err)
					}
				})
			}
		}
	}
}

// splitSig returns a compact JWS's signing input and signature.
func splitSig(raw string) (input, sig string) {
	i := len(raw) - 1
	for i >= 0 && raw[i] != '.' {
		i--
	}
	return raw[:max(i, 0)], raw[i+1:]
}
