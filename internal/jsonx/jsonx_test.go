package jsonx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var seeds = []string{
	`{}`, ` { "a" : 1 , "b" : [ true , false , null , "x\"\\\/\b\f\n\r\t\u00e9" , -0.5e+10 , { } , [ ] ] } `,
	`{"a":{"b":{"c":[1,2,{"d":"e"}]}}}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a":1 "b":2}`, `{"a":01}`, `{"a":-}`,
	`{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`, `{"a":"\u12"}`, `{"a":"\q"}`, "{\"a\":\"\x1f\"}", `{"a":"\xff"}`,
	`{"a":nul}`, `{"a":truex}`, `{"a":1}}`, `{"a":1} {}`, `[]`, `"x"`, `1`, `null`, ``, ` `, `{"a":[1,]}`, `{"a":[,1]}`,
	"{\"a\":1}\n\t\r ", `{"a":"b"`, `{"a`, `{"a":[`,
}

// FuzzObject holds Object's validation to encoding/json's: an object is
// read to its end without error exactly when json.Valid accepts it.
func FuzzObject(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o := NewObject(b)
		n := 0
		for _, _, ok := o.Next(); ok; _, _, ok = o.Next() {
			n++
		}
		valid := json.Valid(b) && strings.HasPrefix(strings.TrimLeft(string(b), " \t\r\n"), "{")
		if (o.Err() == nil) != valid {
			t.Fatalf("%q: Object error %v, json.Valid %v", b, o.Err(), valid)
		}
		if valid {
			var m map[string]json.RawMessage
			json.Unmarshal(b, &m)
			if n < len(m) {
				t.Fatalf("%q: %d members read, encoding/json has %d names", b, n, len(m))
			}
		}
	})
}

func TestDepth(t *testing.T) {
	for _, d := range []int{9999, 10000} {
		b := []byte(`{"a":` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}`)
		o := NewObject(b)
		for _, _, ok := o.Next(); ok; _, _, ok = o.Next() {
		}
		if valid := json.Valid(b); (o.Err() == nil) != valid {
			t.Errorf("depth %d: Object error %v, json.Valid %v", d+1, o.Err(), valid)
		}
	}
}

func TestStringAndMatch(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"abc"`, "abc"}, {`"a\"b"`, `a"b`}, {`"\u00e9t\u00e9"`, "été"}, {`"été"`, "été"}, {"\"\xff\"", "\ufffd"}, {`null`, ""},
	} {
		got, err := String([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("String(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := String([]byte(`5`)); !errors.Is(err, ErrType) {
		t.Errorf("String(5): %v, want ErrType", err)
	}
	names := []string{"iss", "sub", "kid"}
	for _, tt := range []struct {
		name string
		want int
	}{{"iss", 0}, {"SUB", 1}, {"ſub", 1}, {"\u212aid", 2}, {"is", -1}, {"issuer", -1}, {"name", -1}} {
		if got := Match([]byte(tt.name), names); got != tt.want {
			t.Errorf("Match(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
