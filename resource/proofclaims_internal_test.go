package resource

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/internal/jwt"
)

// FuzzProofClaims holds the hand-written decoder of proof claims to
// encoding/json, which decoded them before: every proof it accepts,
// encoding/json accepts with the same values; it refuses more only a claim
// it reads twice, or a top-level null.
func FuzzProofClaims(f *testing.F) {
	for _, s := range []string{
		`{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://api.example.com/v1/reports","iat":1795646400,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo","nonce":"n"}`,
		`{"JTI":"a","Htm":"POST","iat":1.5e9,"iat2":null,"x":[{"y":1}]}`, `{"iat":null,"nonce":null}`, `{"iat":"1"}`, `{"htu":5}`,
		`{"jti":"a","jti":"b"}`, `{"jti":"a","JTI":"b"}`, `{"jti":"\u0061\"b"}`, `null`, `[]`, `{"iat":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours proofClaims
		errOurs := ours.decode(b)
		var ref struct {
			JTI   string           `json:"jti"`
			HTM   string           `json:"htm"`
			HTU   string           `json:"htu"`
			IAT   *jwt.NumericDate `json:"iat"`
			ATH   string           `json:"ath"`
			Nonce string           `json:"nonce"`
		}
		errRef := json.Unmarshal(b, &ref)
		switch {
		case errOurs == nil && errRef != nil:
			t.Errorf("%q: accepted, but encoding/json refuses it: %v", b, errRef)
		case errOurs == nil:
			sameIAT := ours.HasIAT == (ref.IAT != nil) && (ref.IAT == nil || *ref.IAT == ours.IAT)
			if ours.JTI != ref.JTI || ours.HTM != ref.HTM || ours.HTU != ref.HTU || ours.ATH != ref.ATH || ours.Nonce != ref.Nonce || !sameIAT {
				t.Errorf("%q: got %+v, want %+v", b, ours, ref)
			}
		case errRef == nil && !bytes.Equal(bytes.TrimSpace(b), []byte("null")) && !strings.Contains(errOurs.Error(), "twice"):
			t.Errorf("%q: refused (%v), but encoding/json accepts it", b, errOurs)
		}
	})
}
