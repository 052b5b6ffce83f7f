package client_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"testing"

	"github.com/oidcrp/oidcrp/client"
)

// referenceUserClaims is UserClaims the slow way: decode both objects,
// drop the protocol claims of the ID token's, overlay.
func referenceUserClaims(payload, kept []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &m); err != nil {
			return nil, err
		}
	}
	for _, c := range []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "auth_time"} {
		delete(m, c)
	}
	if len(kept) > 0 {
		var k map[string]any
		if err := json.Unmarshal(kept, &k); err != nil {
			return nil, err
		}
		for c := range k {
			switch c {
			case "iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "auth_time":
				delete(k, c)
			}
		}
		maps.Copy(m, k)
	}
	return m, nil
}

func idToken(payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestUserClaims(t *testing.T) {
	tests := []struct {
		name          string
		payload, kept string
	}{
		{"token only", `{"iss":"https://op","sub":"alice","aud":["c"],"exp":1,"iat":1,"name":"Alice","email":"a@x"}`, ``},
		{"kept overrides", `{"sub":"alice","name":"Alice"}`, `{"name":"Alice B.","department":"R&D"}`},
		{"nested values", `{"sub":"a","address":{"street":"1 } Main ]","x":[1,{"y":"\""}]},"groups":["a","b"]}`, `{"roles":{"admin":true}}`},
		{"escaped names", `{"sub":"a","\u0069ss":"x","na\"me":"q"}`, ``},
		{"whitespace", " {\n\t\"sub\" : \"a\" ,\r\n \"n\":1 } ", ` { } `},
		{"empty token object", `{}`, `{"a":1}`},
		{"no kept claims", `{"sub":"a","nonce":"n","sid":"s","auth_time":5,"at_hash":"h"}`, ``},
		{"kept protocol claims dropped", `{"sub":"a"}`, `{"iat":5,"b":false,"c":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.UserClaims(idToken(tt.payload), []byte(tt.kept))
			if err != nil {
				t.Fatal(err)
			}
			var gotMap map[string]any
			if err := json.Unmarshal(got, &gotMap); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			want, _ := referenceUserClaims([]byte(tt.payload), []byte(tt.kept))
			if !reflect.DeepEqual(gotMap, want) {
				t.Fatalf("UserClaims = %s\nwant %v", got, want)
			}
		})
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", idToken(`[1]`), idToken(`{"a":1`), idToken(`{"a" 1}`), idToken(`{"a":"x}`)} {
		if bad == "" {
			continue
		}
		if _, err := client.UserClaims(bad, nil); !errors.Is(err, client.ErrMalformedToken) {
			t.Errorf("UserClaims(%q): err = %v, want ErrMalformedToken", bad, err)
		}
	}
	if got, err := client.UserClaims("", []byte(`{"a":1}`)); err != nil || string(got) != `{"a":1}` {
		t.Errorf("without an ID token: %s %v", got, err)
	}
}

// FuzzUserClaims: whatever the input, UserClaims fails cleanly or agrees
// with decoding both objects and overlaying them.
func FuzzUserClaims(f *testing.F) {
	f.Add(`{"sub":"a","iss":"x","n":[1,{"b":"}"}]}`, `{"n":2}`)
	f.Add(`{"\u0061ud":1}`, ``)
	f.Add(` {} `, `{"x":"\"{"}`)
	f.Fuzz(func(t *testing.T, payload, kept string) {
		got, err := client.UserClaims(idToken(payload), []byte(kept))
		want, werr := referenceUserClaims([]byte(payload), []byte(kept))
		if err != nil {
			if !errors.Is(err, client.ErrMalformedToken) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var gotMap map[string]any
		if uerr := json.Unmarshal(got, &gotMap); uerr != nil {
			if werr == nil {
				t.Fatalf("UserClaims made invalid JSON %s from valid input", got)
			}
			return
		}
		if werr == nil && !reflect.DeepEqual(gotMap, want) {
			t.Fatalf("UserClaims = %s, want %v", got, want)
		}
	})
}
