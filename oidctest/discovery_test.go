package oidctest_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/oidctest"
)

func TestDiscovery(t *testing.T) {
	op := newOP(t, oidctest.Config{SigningAlg: "ES256"})
	r := get(t, op.URL+"/.well-known/openid-configuration")
	if r.Status != http.StatusOK {
		t.Fatalf("discovery: %s", r)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	doc := r.JSON(t)

	endpoints := []struct {
		field, want string
	}{
		{"issuer", op.URL},
		{"authorization_endpoint", op.URL + "/authorize"},
		{"token_endpoint", op.URL + "/token"},
		{"userinfo_endpoint", op.URL + "/userinfo"},
		{"jwks_uri", op.URL + "/jwks"},
		{"end_session_endpoint", op.URL + "/end_session"},
		{"revocation_endpoint", op.URL + "/revoke"},
	}
	for _, e := range endpoints {
		if doc[e.field] != e.want {
			t.Errorf("%s = %v, want %s", e.field, doc[e.field], e.want)
		}
	}

	lists := []struct {
		field string
		want  []string // each must be listed
		only  bool     // and nothing else
	}{
		{"id_token_signing_alg_values_supported", []string{"ES256"}, true},
		{"response_types_supported", []string{"code"}, true},
		{"code_challenge_methods_supported", []string{"S256"}, true},
		{"grant_types_supported", []string{"authorization_code", "refresh_token", "client_credentials", oidctest.DeviceGrantType, oidctest.TokenExchangeGrantType}, true},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}, true},
		{"revocation_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}, true},
		{"token_endpoint_auth_signing_alg_values_supported", []string{"HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"}, false},
		{"scopes_supported", []string{"openid", "profile", "email", "offline_access"}, false},
		{"subject_types_supported", []string{"public"}, false},
	}
	for _, l := range lists {
		got := stringList(doc[l.field])
		for _, w := range l.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s = %v, lacks %s", l.field, got, w)
			}
		}
		if l.only && len(got) != len(l.want) {
			t.Errorf("%s = %v, want only %v", l.field, got, l.want)
		}
	}

	for _, flag := range []string{
		"authorization_response_iss_parameter_supported",
		"backchannel_logout_supported",
		"backchannel_logout_session_supported",
		"frontchannel_logout_supported",
	} {
		if doc[flag] != true {
			t.Errorf("%s = %v, want true", flag, doc[flag])
		}
	}

	// Every advertised endpoint is served.
	if r := get(t, doc["jwks_uri"].(string)); r.Status != http.StatusOK {
		t.Errorf("jwks_uri: %s", r)
	}
}

func stringList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestDiscoveryHook(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	op.SetHooks(oidctest.Hooks{Discovery: func(doc map[string]any) {
		doc["issuer"] = "https://evil.example"
		delete(doc, "end_session_endpoint")
	}})
	doc := get(t, op.URL+"/.well-known/openid-configuration").JSON(t)
	if doc["issuer"] != "https://evil.example" {
		t.Errorf("issuer = %v, want the hook's", doc["issuer"])
	}
	if _, ok := doc["end_session_endpoint"]; ok {
		t.Error("end_session_endpoint still served after the hook deleted it")
	}

	op.SetHooks(oidctest.Hooks{})
	doc = get(t, op.URL+"/.well-known/openid-configuration").JSON(t)
	if doc["issuer"] != op.URL || doc["end_session_endpoint"] == nil {
		t.Errorf("Hooks{} did not restore the document: issuer %v, end_session_endpoint %v", doc["issuer"], doc["end_session_endpoint"])
	}
}

func TestJWKS(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	set := keySet(t, op)
	if len(set.Keys) != 1 {
		t.Fatalf("key set has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID == "" || k.Algorithm != "RS256" || k.Use != "sig" {
		t.Errorf("key kid %q alg %q use %q, want a kid, RS256, sig", k.KeyID, k.Algorithm, k.Use)
	}
	if !k.IsPublic() {
		t.Error("the key set publishes a private key")
	}
	tok := login(t, op, oidctest.DefaultClient, nil)
	h, _ := mustVerify(t, op, tok.IDToken)
	if h.KeyID != k.KeyID {
		t.Errorf("ID token kid = %q, want %q", h.KeyID, k.KeyID)
	}
}

func TestRotateKeys(t *testing.T) {
	op := newOP(t, oidctest.Config{SigningAlg: "ES256"})
	old := login(t, op, oidctest.DefaultClient, nil)
	oldHeader, _ := mustVerify(t, op, old.IDToken)

	op.RotateKeys()
	set := keySet(t, op)
	if len(set.Keys) != 2 {
		t.Fatalf("after RotateKeys the key set has %d keys, want 2", len(set.Keys))
	}
	cur := login(t, op, oidctest.DefaultClient, nil)
	curHeader, _ := mustVerify(t, op, cur.IDToken)
	if curHeader.KeyID == oldHeader.KeyID {
		t.Fatalf("a token issued after RotateKeys has the old kid %q", curHeader.KeyID)
	}
	if curHeader.KeyID != set.Keys[1].KeyID {
		t.Errorf("new token kid = %q, want the added key's %q", curHeader.KeyID, set.Keys[1].KeyID)
	}
	mustVerify(t, op, old.IDToken) // still published
	mustVerify(t, op, old.AccessToken)

	op.RetireOldKeys()
	set = keySet(t, op)
	if len(set.Keys) != 1 || set.Keys[0].KeyID != curHeader.KeyID {
		t.Fatalf("after RetireOldKeys the key set is %v, want only %q", kids(set), curHeader.KeyID)
	}
	if _, _, err := verifyJWT(set, old.IDToken); !errors.Is(err, errUnknownKid) {
		t.Errorf("token of a retired key: err = %v, want %v", err, errUnknownKid)
	}
	mustVerify(t, op, cur.IDToken)

	// Rotating again after a retirement brings a key never used before.
	op.RotateKeys()
	set = keySet(t, op)
	if got := kids(set); len(got) != 2 || got[0] == got[1] || slices.Contains(got, oldHeader.KeyID) {
		t.Fatalf("after RetireOldKeys and RotateKeys the kids are %v, want %q and a new one", got, curHeader.KeyID)
	}
	next := login(t, op, oidctest.DefaultClient, nil)
	nextHeader, _ := mustVerify(t, op, next.IDToken)
	if nextHeader.KeyID != set.Keys[1].KeyID {
		t.Errorf("token kid = %q, want the newest key's %q", nextHeader.KeyID, set.Keys[1].KeyID)
	}
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// TestSigningAlgs checks every Config.SigningAlg: the provider advertises it,
// publishes a key for it and signs ID and access tokens that verify, with an
// at_hash of the hash the algorithm names.
func TestSigningAlgs(t *testing.T) {
	for _, alg := range asymmetricAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{SigningAlg: string(alg)})
			doc := get(t, op.URL+"/.well-known/openid-configuration").JSON(t)
			if got := stringList(doc["id_token_signing_alg_values_supported"]); !slices.Equal(got, []string{string(alg)}) {
				t.Errorf("id_token_signing_alg_values_supported = %v, want [%s]", got, alg)
			}
			set := keySet(t, op)
			if len(set.Keys) != 1 || set.Keys[0].Algorithm != string(alg) {
				t.Fatalf("key set %v, want one %s key", set.Keys, alg)
			}
			tok := login(t, op, oidctest.DefaultClient, nil)
			for name, raw := range map[string]string{"ID token": tok.IDToken, "access token": tok.AccessToken} {
				h, _, err := verifyJWT(set, raw)
				if err != nil {
					t.Fatalf("%s does not verify: %v", name, err)
				}
				if h.Algorithm != string(alg) {
					t.Errorf("%s alg = %s, want %s", name, h.Algorithm, alg)
				}
			}
			_, claims, _ := verifyJWT(set, tok.IDToken)
			if want := atHash(alg, tok.AccessToken); claims["at_hash"] != want {
				t.Errorf("at_hash = %v, want %s", claims["at_hash"], want)
			}
		})
	}
}
