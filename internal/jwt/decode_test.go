package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeSeeds are payloads of every shape the decoder must agree with
// encoding/json on, or refuse on purpose.
var decodeSeeds = []string{
	`{"iss":"https://op.example.com","sub":"248289761001","aud":"client","exp":1795650000,"iat":1795646400,"auth_time":1795646390,"nonce":"n-0S6","sid":"08a5","name":"Jane Doe","email_verified":true}`,
	`{"iss":"a","aud":["x","y"],"azp":"x","amr":["pwd","mfa"],"acr":"urn:x","at_hash":"77Q","tid":"t1","jti":"j","nbf":1.5e9}`,
	`{"events":{"http://schemas.openid.net/event/backchannel-logout":{}},"sid":"s","iat":1700000000}`,
	`{"iss":"https://op.example.com","sub":"u","aud":"https://api.example.com","client_id":"c","scope":"a b","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},"exp":1795650000,"iat":1795646400}`,
	` { "sub" : "a\"b\\u00e9\/" , "aud" : [ ] , "exp" : 0 , "x" : [ { "y" : [ null , true , false , -1.5E+3 ] } ] } `,
	`{"sub":"José","name":"\ud83d\ude00","aud":null,"nonce":null,"exp":null,"cnf":null,"amr":null,"events":null}`,
	`{"ISS":"upper","Sub":"mixed","ſub":"long s","AUD":"K"}`,
	`{"\u0069ss":"escaped name","aud":["a",null]}`,
	`{"iss":"a","iss":"b"}`,
	`{"iss":"a","ISS":"b"}`,
	`{"cnf":{"jkt":"a","JKT":"b"}}`,
	`{"exp":"1795650000"}`, `{"exp":-1}`, `{"exp":1e12}`, `{"exp":1e400}`, `{"exp":17956500000000000000}`,
	`{"aud":1}`, `{"aud":[1]}`, `{"amr":"pwd"}`, `{"nonce":5}`, `{"cnf":"x"}`, `{"cnf":{"jkt":5}}`, `{"events":[]}`,
	`null`, `[]`, `"x"`, `{}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`,
	`{"a":tru}`, `{"sub":"a"} x`, `{"sub":"a"`, `{"sub":"\xff\xfe"}`, `{"sub":"\ud800"}`, `{"a":[[[[]]]]}`,
}

// TestDecodeAgrees checks the seeds as FuzzDecode does.
func TestDecodeAgrees(t *testing.T) {
	for _, s := range decodeSeeds {
		checkAgreement(t, []byte(s))
	}
	checkAgreement(t, []byte(`{"a":`+strings.Repeat("[", 9999)+strings.Repeat("]", 9999)+`}`))
	checkAgreement(t, []byte(`{"a":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`))
}

// FuzzDecode holds the hand-written decoder to encoding/json: on every
// input, what it accepts encoding/json accepts too, with the same values;
// what it refuses that encoding/json accepts has a claim it reads twice,
// or is a top-level null.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAgreement(t, b) })
}

func checkAgreement(t *testing.T, b []byte) {
	t.Helper()
	null := bytes.Equal(bytes.TrimSpace(b), []byte("null"))
	var ours, ref Claims
	errOurs, errRef := ours.Decode(b), json.Unmarshal(b, &ref)
	agree(t, b, "Claims", ours, ref, errOurs, errRef, func() bool { return null || hasDuplicate(b, idNames) })
	var oursAT, refAT AccessClaims
	errOurs, errRef = oursAT.Decode(b), json.Unmarshal(b, &refAT)
	agree(t, b, "AccessClaims", oursAT, refAT, errOurs, errRef, func() bool {
		if null || hasDuplicate(b, accessNames) {
			return true
		}
		// A jkt twice inside cnf is the one refusal below the top level.
		var cnf struct {
			Cnf json.RawMessage `json:"cnf"`
		}
		json.Unmarshal(b, &cnf)
		return hasDuplicate(cnf.Cnf, jktName)
	})
}

// agree fails t unless the decoders agree: our refusal of what
// encoding/json accepts must be explained.
func agree[T any](t *testing.T, b []byte, kind string, ours, ref T, errOurs, errRef error, explained func() bool) {
	t.Helper()
	if errOurs != nil && !errors.Is(errOurs, ErrMalformed) {
		t.Fatalf("%s of %q: %v is not ErrMalformed", kind, b, errOurs)
	}
	switch {
	case errOurs == nil && errRef != nil:
		t.Errorf("%s of %q: accepted, but encoding/json refuses it: %v", kind, b, errRef)
	case errOurs == nil && !reflect.DeepEqual(ours, ref):
		t.Errorf("%s of %q:\n got %#v\nwant %#v", kind, b, ours, ref)
	case errOurs != nil && errRef == nil && !explained():
		t.Errorf("%s of %q: refused (%v), but encoding/json accepts it", kind, b, errOurs)
	}
}

// hasDuplicate reports whether the JSON object b has two members that
// encoding/json would decode into the same field named in names.
func hasDuplicate(b []byte, names []string) bool {
	var members map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&members); err != nil {
		return false
	}
	// The map keeps one value per exact name: count the names from the
	// token stream instead.
	d = json.NewDecoder(bytes.NewReader(b))
	d.Token() // {
	count := make([]int, len(names))
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		name := tok.(string)
		for i, n := range names {
			if name == n {
				count[i]++
				goto next
			}
		}
		for i, n := range names {
			if strings.EqualFold(name, n) {
				count[i]++
				break
			}
		}
	next:
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return false
		}
	}
	for _, c := range count {
		if c > 1 {
			return true
		}
	}
	return false
}

func TestDecodeRefusesDuplicates(t *testing.T) {
	for _, s := range []string{`{"iss":"a","iss":"a"}`, `{"sub":"a","SUB":"b"}`, `{"aud":"a","ſub":"x","sub":"y"}`, `{"nonce":null,"nonce":"n"}`} {
		var c Claims
		if err := c.Decode([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", s, err)
		}
	}
	var c AccessClaims
	if err := c.Decode([]byte(`{"cnf":{"jkt":"a","jkt":"b"}}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicate jkt: %v, want ErrMalformed", err)
	}
	// Claims the decoder does not read may repeat: the application's
	// encoding/json decides which it keeps.
	if err := c.Decode([]byte(`{"sub":"a","name":"x","name":"y","nonce":1,"nonce":2}`)); err != nil {
		t.Errorf("duplicates of unread claims: %v", err)
	}
}

func TestDecodeSharesOneAllocation(t *testing.T) {
	payload := []byte(decodeSeeds[0])
	allocs := testing.AllocsPerRun(100, func() {
		var c Claims
		if err := c.Decode(payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Claims.Decode: %.0f allocations, want 1", allocs)
	}
	payload = []byte(decodeSeeds[3])
	allocs = testing.AllocsPerRun(100, func() {
		var c AccessClaims
		if err := c.Decode(payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("AccessClaims.Decode: %.0f allocations, want 1", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := []byte(decodeSeeds[0])
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c Claims
			if err := json.Unmarshal(payload, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oidcrp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c Claims
			if err := c.Decode(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}
