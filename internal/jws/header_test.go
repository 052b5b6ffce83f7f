package jws

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var headerSeeds = []string{
	`{"alg":"RS256","kid":"sig-2026-11","typ":"JWT"}`,
	`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}}`,
	`{"alg":"EdDSA","jwk":null,"x5c":["a"],"cty":"JWT"}`,
	`{"ALG":"RS256","Kid":"k"}`, `{"\u0061lg":"RS256"}`, `{"alg":"RS256","alg":"none"}`, `{"alg":"RS256","ALG":"HS256"}`,
	`{"alg":"RS256","crit":["exp"]}`, `{"alg":"RS256","crit":null}`, `{"alg":"RS256","b64":false}`, `{"alg":"RS256","B64":false}`,
	`{"alg":""}`, `{"alg":null}`, `{"alg":5}`, `{"kid":"k"}`, `null`, `[]`, `{"alg":"RS256"`, `{"alg":"RS\u0032\u0035\u0036"}`,
}

// FuzzHeader holds the hand-written header decoder to what encoding/json
// decoded before (a struct of alg, kid, typ, jwk, crit and b64): the same
// headers accepted, with the same values, except those with one of these
// members twice, which are refused.
func FuzzHeader(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours Header
		errOurs := ours.decode(b)
		var probe struct {
			Header
			Crit json.RawMessage `json:"crit"`
			B64  json.RawMessage `json:"b64"`
		}
		errRef := json.Unmarshal(b, &probe)
		if errRef == nil && (probe.Alg == "" || probe.Crit != nil || probe.B64 != nil) {
			errRef = errors.New("refused")
		}
		if errOurs != nil && !errors.Is(errOurs, ErrMalformed) {
			t.Fatalf("%q: %v is not ErrMalformed", b, errOurs)
		}
		switch {
		case errOurs == nil && errRef != nil:
			t.Errorf("%q: accepted, but encoding/json refused it: %v", b, errRef)
		case errOurs == nil && (ours.Alg != probe.Alg || ours.Kid != probe.Kid || ours.Typ != probe.Typ || !bytes.Equal(ours.JWK, probe.JWK)):
			t.Errorf("%q: got %+v, want %+v", b, ours, probe.Header)
		case errOurs != nil && errRef == nil && !strings.Contains(errOurs.Error(), "twice"):
			t.Errorf("%q: refused (%v), but encoding/json accepted it", b, errOurs)
		}
	})
}
