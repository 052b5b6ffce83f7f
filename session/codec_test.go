package session_test

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/session"
)

// marshalerOnly implements encoding.BinaryMarshaler but not BinaryAppender.
type marshalerOnly struct{ a, b byte }

func (m marshalerOnly) MarshalBinary() ([]byte, error) { return []byte{m.a, m.b}, nil }

func (m *marshalerOnly) UnmarshalBinary(p []byte) error {
	if len(p) != 2 {
		return errors.New("marshalerOnly: want 2 bytes")
	}
	m.a, m.b = p[0], p[1]
	return nil
}

var errMarshal = errors.New("cannot marshal")

type failingMarshaler struct{}

func (failingMarshaler) MarshalBinary() ([]byte, error) { return nil, errMarshal }

type jsonValue struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func newCodec(t testing.TB, keys ...[]byte) *session.Codec {
	t.Helper()
	c, err := session.NewCodec(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodecRoundTrip(t *testing.T) {
	clk := newClock()
	c := newCodec(t, newKey())
	tests := []struct {
		name  string
		value any
		dst   func() any    // a pointer to decode into
		got   func(any) any // the value decoded, comparable to value
		same  func(a, b any) bool
	}{
		{
			name:  "session",
			value: sample(clk),
			dst:   func() any { return new(session.Session) },
			got:   func(d any) any { return d },
			same:  func(a, b any) bool { return sameSession(a.(*session.Session), b.(*session.Session)) },
		},
		{
			name:  "empty session",
			value: &session.Session{},
			dst:   func() any { return new(session.Session) },
			got:   func(d any) any { return d },
			same:  func(a, b any) bool { return sameSession(a.(*session.Session), b.(*session.Session)) },
		},
		{
			name:  "bytes",
			value: []byte("some \x00 binary \xff bytes"),
			dst:   func() any { return new([]byte) },
			got:   func(d any) any { return *d.(*[]byte) },
		},
		{
			name:  "empty bytes",
			value: []byte{},
			dst:   func() any { return new([]byte) },
			got:   func(d any) any { return *d.(*[]byte) },
			same:  func(a, b any) bool { return len(b.([]byte)) == 0 },
		},
		{
			name:  "binary marshaler",
			value: marshalerOnly{7, 9},
			dst:   func() any { return new(marshalerOnly) },
			got:   func(d any) any { return *d.(*marshalerOnly) },
		},
		{
			name:  "binary appender",
			value: netip.MustParseAddr("2001:db8::1"),
			dst:   func() any { return new(netip.Addr) },
			got:   func(d any) any { return *d.(*netip.Addr) },
		},
		{
			name:  "json struct",
			value: jsonValue{Name: "alice", Count: 3, Tags: []string{"a", "b"}},
			dst:   func() any { return new(jsonValue) },
			got:   func(d any) any { return *d.(*jsonValue) },
		},
		{
			name:  "json map",
			value: map[string]any{"return_to": "/after", "n": 1.5},
			dst:   func() any { return new(map[string]any) },
			got:   func(d any) any { return *d.(*map[string]any) },
		},
		{
			name:  "json string",
			value: "hello",
			dst:   func() any { return new(string) },
			got:   func(d any) any { return *d.(*string) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := c.Encode("cookie", tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(sealed, ".=+/ ;,\"") {
				t.Errorf("sealed value %q is not unpadded base64url", sealed)
			}
			again, _ := c.Encode("cookie", tt.value)
			if again == sealed {
				t.Error("two seals of one value are equal: nonce reused?")
			}
			dst := tt.dst()
			if err := c.Decode("cookie", sealed, dst); err != nil {
				t.Fatal(err)
			}
			got := tt.got(dst)
			same := tt.same
			if same == nil {
				same = reflect.DeepEqual
			}
			if !same(tt.value, got) {
				t.Errorf("decoded %#v, want %#v", got, tt.value)
			}
		})
	}
}

func TestCodecDecodeBytesIsFresh(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, _ := c.Encode("n", []byte("abc"))
	var a, b []byte
	if err := c.Decode("n", sealed, &a); err != nil {
		t.Fatal(err)
	}
	if err := c.Decode("n", sealed, &b); err != nil {
		t.Fatal(err)
	}
	a[0] = 'X'
	if string(b) != "abc" {
		t.Errorf("decoded slices share memory: %q", b)
	}
}

func TestCodecEncodeErrors(t *testing.T) {
	c := newCodec(t, newKey())
	if _, err := c.Encode("n", failingMarshaler{}); !errors.Is(err, errMarshal) {
		t.Errorf("MarshalBinary failure: err = %v, want %v", err, errMarshal)
	}
	if _, err := c.Encode("n", make(chan int)); err == nil {
		t.Error("a channel encoded as JSON")
	}
}

func TestCodecDecodeWrongType(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, _ := c.Encode("n", jsonValue{Name: "x"})
	var s session.Session
	err := c.Decode("n", sealed, &s)
	if !errors.Is(err, session.ErrInvalid) || !errors.Is(err, session.ErrMalformed) {
		t.Errorf("JSON decoded as a session: err = %v, want ErrInvalid and ErrMalformed", err)
	}
	var m marshalerOnly
	if err := c.Decode("n", sealed, &m); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("JSON into BinaryUnmarshaler: err = %v, want ErrInvalid", err)
	}
	var n int
	if err := c.Decode("n", sealed, &n); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("JSON object into int: err = %v, want ErrInvalid", err)
	}
}

func TestCodecKeyRotation(t *testing.T) {
	oldKey, newKey_ := newKey(), newKey()
	old := newCodec(t, oldKey)
	rotated := newCodec(t, newKey_, oldKey)
	fresh := newCodec(t, newKey_)

	sealedOld, err := old.Encode("n", []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := rotated.Decode("n", sealedOld, &got); err != nil || string(got) != "value" {
		t.Errorf("[new, old] opening a value sealed under [old]: %q, %v", got, err)
	}
	if err := fresh.Decode("n", sealedOld, &got); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("[new] opening a value sealed under [old]: err = %v, want ErrInvalid", err)
	}

	// The first key seals: [new, old] writes values [new] reads and [old] does not.
	sealedNew, _ := rotated.Encode("n", []byte("value"))
	if err := fresh.Decode("n", sealedNew, &got); err != nil {
		t.Errorf("[new] opening a value sealed under [new, old]: %v", err)
	}
	if err := old.Decode("n", sealedNew, &got); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("[old] opening a value sealed under [new, old]: err = %v, want ErrInvalid", err)
	}

	// A different key whose ID happens to match cannot be tested, but a
	// key ring that does not hold the sealing key must reject the value.
	other := newCodec(t, newKey(), newKey())
	if err := other.Decode("n", sealedNew, &got); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("unrelated ring: err = %v, want ErrInvalid", err)
	}
}

func TestCodecTampered(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, err := c.Encode("n", sample(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one bit in each byte in turn: version, key ID, nonce,
	// ciphertext, tag.
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			var s session.Session
			err := c.Decode("n", base64.RawURLEncoding.EncodeToString(b), &s)
			if !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrInvalid", i, bit, err)
			}
			if s.ID != "" {
				t.Fatalf("byte %d ^ %#x: session filled in: %v", i, bit, &s)
			}
		}
	}
	// Replace each character of the text with another base64url one: the
	// value either fails to open or (when only the unused low bits of the
	// last character changed) opens to the same session.
	want := new(session.Session)
	if err := c.Decode("n", sealed, want); err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		repl := byte('A')
		if sealed[i] == 'A' {
			repl = 'B'
		}
		v := sealed[:i] + string(repl) + sealed[i+1:]
		var s session.Session
		if err := c.Decode("n", v, &s); err == nil {
			if i != len(sealed)-1 || !sameSession(&s, want) {
				t.Fatalf("character %d changed: opened to %v", i, &s)
			}
		} else if !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("character %d changed: err = %v, want ErrInvalid", i, err)
		}
	}
}

func TestCodecTruncated(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, _ := c.Encode("n", []byte("a value long enough to be worth cutting"))
	for n := range len(sealed) {
		var got []byte
		if err := c.Decode("n", sealed[:n], &got); !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("truncated to %d of %d: err = %v, want ErrInvalid", n, len(sealed), err)
		}
	}
	// Extended values fail too.
	var got []byte
	for _, v := range []string{sealed + "A", sealed + "AAAA", "AAAA" + sealed} {
		if err := c.Decode("n", v, &got); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("extended %q: err = %v, want ErrInvalid", v, err)
		}
	}
}

func TestCodecNameBinding(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, _ := c.Encode("oidcrp_session", []byte("x"))
	for _, name := range []string{"oidcrp_flow", "oidcrp_session.1", "Oidcrp_session", "oidcrp_sessio", ""} {
		var got []byte
		if err := c.Decode(name, sealed, &got); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("opened under %q: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestCodecGarbage(t *testing.T) {
	c := newCodec(t, newKey())
	sealed, _ := c.Encode("n", []byte("x"))
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	b64 := base64.RawURLEncoding.EncodeToString
	withVersion := func(v byte) string { b := append([]byte(nil), raw...); b[0] = v; return b64(b) }
	withKeyID := func() string { b := append([]byte(nil), raw...); b[1] ^= 0xff; return b64(b) }
	tests := []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"one char", "A"},
		{"header only", b64(raw[:5])},
		{"header and nonce", b64(raw[:17])},
		{"no tag", b64(raw[:len(raw)-16])},
		{"not base64", "not base64!"},
		{"spaces", "AAAA AAAA"},
		{"padded", base64.URLEncoding.EncodeToString(raw[:len(raw)-1])},
		{"standard alphabet", "++//++//++//++//++//++//++//++//++//++//"},
		{"quoted", `"` + sealed + `"`},
		{"version 0", withVersion(0)},
		{"version 2", withVersion(2)},
		{"unknown key ID", withKeyID()},
		{"zeros", b64(make([]byte, 64))},
		{"random", randomText(200)},
		{"over 64 KiB", strings.Repeat("A", 64<<10+1)},
		{"over 64 KiB, genuine prefix", sealed + strings.Repeat("A", 64<<10)},
		{"unicode", "ünïcödé"},
		{"NUL", "\x00\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s session.Session
			if err := c.Decode("n", tt.value, &s); !errors.Is(err, session.ErrInvalid) {
				t.Errorf("into *Session: err = %v, want ErrInvalid", err)
			}
			var b []byte
			if err := c.Decode("n", tt.value, &b); !errors.Is(err, session.ErrInvalid) || b != nil {
				t.Errorf("into *[]byte: %q, err = %v, want ErrInvalid", b, err)
			}
		})
	}
}

func TestNewCodecRejects(t *testing.T) {
	tests := []struct {
		name string
		keys [][]byte
	}{
		{"no keys", nil},
		{"nil key", [][]byte{nil}},
		{"16 bytes", [][]byte{make([]byte, 16)}},
		{"31 bytes", [][]byte{make([]byte, 31)}},
		{"33 bytes", [][]byte{make([]byte, 33)}},
		{"64 bytes", [][]byte{make([]byte, 64)}},
		{"second key short", [][]byte{newKey(), make([]byte, 24)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := session.NewCodec(tt.keys...)
			if !errors.Is(err, session.ErrInvalidKey) || c != nil {
				t.Errorf("NewCodec = %v, %v; want nil, ErrInvalidKey", c, err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2, k3 := newKey(), newKey(), newKey()
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		in      string
		want    [][]byte
		wantErr error
	}{
		{name: "one", in: std(k1), want: [][]byte{k1}},
		{name: "three", in: std(k1) + "," + std(k2) + "," + std(k3), want: [][]byte{k1, k2, k3}},
		{name: "spaces", in: "  " + std(k1) + " ,\t" + std(k2) + " \n", want: [][]byte{k1, k2}},
		{name: "empty", in: "", wantErr: session.ErrInvalidKey},
		{name: "empty second", in: std(k1) + ",", wantErr: session.ErrInvalidKey},
		{name: "not base64", in: "not-a-key!", wantErr: session.ErrInvalidKey},
		{name: "url alphabet", in: base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, k1[2:]...)), wantErr: session.ErrInvalidKey},
		{name: "unpadded", in: base64.RawStdEncoding.EncodeToString(k1), wantErr: session.ErrInvalidKey},
		{name: "16 bytes", in: std(k1[:16]), wantErr: session.ErrInvalidKey},
		{name: "33 bytes", in: std(append(k1, 0)), wantErr: session.ErrInvalidKey},
		{name: "second bad", in: std(k1) + "," + std(k2[:31]), wantErr: session.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := session.ParseKeys(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Errorf("ParseKeys = %x, %v; want nil, %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseKeys = %x, %v; want %x", got, err, tt.want)
			}
			if _, err := session.NewCodec(got...); err != nil {
				t.Errorf("NewCodec(ParseKeys(...)): %v", err)
			}
		})
	}
}
