package wire_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/internal/wire"
)

// value is one field of a record: how to append it and read it back.
type value struct {
	name   string
	append func([]byte) []byte
	read   func(*wire.Reader) any
	want   any
}

func uvarint(v uint64) value {
	return value{"uvarint", func(b []byte) []byte { return wire.AppendUvarint(b, v) }, func(r *wire.Reader) any { return r.Uvarint() }, v}
}

func varint(v int64) value {
	return value{"varint", func(b []byte) []byte { return wire.AppendVarint(b, v) }, func(r *wire.Reader) any { return r.Varint() }, v}
}

func str(s string) value {
	return value{"string", func(b []byte) []byte { return wire.AppendString(b, s) }, func(r *wire.Reader) any { return r.String() }, s}
}

func byts(p []byte) value {
	want := string(p)
	return value{"bytes", func(b []byte) []byte { return wire.AppendBytes(b, p) }, func(r *wire.Reader) any { return string(r.Bytes()) }, want}
}

func byt(c byte) value {
	return value{"byte", func(b []byte) []byte { return append(b, c) }, func(r *wire.Reader) any { return r.Byte() }, c}
}

// zero is what read returns after an error.
func (v value) zero() any {
	switch v.want.(type) {
	case uint64:
		return uint64(0)
	case int64:
		return int64(0)
	case string:
		return ""
	case byte:
		return byte(0)
	}
	panic("unknown type")
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		fields []value
	}{
		{"empty record", nil},
		{"uvarints", []value{uvarint(0), uvarint(1), uvarint(127), uvarint(128), uvarint(1 << 32), uvarint(math.MaxUint64)}},
		{"varints", []value{varint(0), varint(-1), varint(1), varint(-64), varint(64), varint(math.MinInt64), varint(math.MaxInt64), varint(1767225600000)}},
		{"strings", []value{str(""), str("a"), str("ünïcode"), str("\x00\xff"), str(strings.Repeat("x", 300)), str(strings.Repeat("y", 70000))}},
		{"bytes", []value{byts(nil), byts([]byte{}), byts([]byte{0}), byts(bytes.Repeat([]byte{0xab}, 129))}},
		{"mixed", []value{byt(1), str("id"), varint(-5), byts([]byte("claims")), uvarint(9), byt(0xff)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, f := range tt.fields {
				b = f.append(b)
			}
			for _, mk := range []struct {
				name string
				new  func([]byte) *wire.Reader
			}{{"shared", wire.NewReader}, {"copying", wire.NewCopyingReader}} {
				r := mk.new(b)
				for i, f := range tt.fields {
					if got := f.read(r); got != f.want {
						t.Errorf("%s: field %d (%s) = %v, want %v", mk.name, i, f.name, got, f.want)
					}
				}
				if r.Err() != nil || r.Len() != 0 {
					t.Errorf("%s: Err = %v, Len = %d after the last field", mk.name, r.Err(), r.Len())
				}
			}
		})
	}
}

// Every proper prefix of a record fails to read with ErrShort, and reads
// after the first error return zero values.
func TestTruncated(t *testing.T) {
	fields := []value{byt(1), str("hello"), varint(-300), byts([]byte("world")), uvarint(math.MaxUint64), str("end")}
	var b []byte
	for _, f := range fields {
		b = f.append(b)
	}
	for n := range len(b) {
		r := wire.NewReader(b[:n])
		failed := false
		for i, f := range fields {
			got := f.read(r)
			if r.Err() != nil {
				if !failed {
					failed = true
					if got != f.zero() {
						t.Errorf("prefix %d: failing read of field %d returned %v", n, i, got)
					}
					continue
				}
				if got != f.zero() {
					t.Errorf("prefix %d: read of field %d after an error returned %v", n, i, got)
				}
			}
		}
		if !errors.Is(r.Err(), wire.ErrShort) || r.Len() != 0 {
			t.Errorf("prefix %d of %d: Err = %v, Len = %d", n, len(b), r.Err(), r.Len())
		}
	}
}

func TestReaderErrors(t *testing.T) {
	overlong := bytes.Repeat([]byte{0xff}, 11)
	tests := []struct {
		name    string
		data    []byte
		read    func(*wire.Reader) any
		want    any
		wantErr error
	}{
		{"byte of nothing", nil, func(r *wire.Reader) any { return r.Byte() }, byte(0), wire.ErrShort},
		{"uvarint of nothing", nil, func(r *wire.Reader) any { return r.Uvarint() }, uint64(0), wire.ErrShort},
		{"varint of nothing", nil, func(r *wire.Reader) any { return r.Varint() }, int64(0), wire.ErrShort},
		{"uvarint unterminated", []byte{0x80, 0x80}, func(r *wire.Reader) any { return r.Uvarint() }, uint64(0), wire.ErrShort},
		{"uvarint overlong", overlong, func(r *wire.Reader) any { return r.Uvarint() }, uint64(0), wire.ErrShort},
		{"uvarint overflow in the 10th byte", append(bytes.Repeat([]byte{0xff}, 9), 0x02), func(r *wire.Reader) any { return r.Uvarint() }, uint64(0), wire.ErrShort},
		{"uvarint max", append(bytes.Repeat([]byte{0xff}, 9), 0x01), func(r *wire.Reader) any { return r.Uvarint() }, uint64(math.MaxUint64), nil},
		{"uvarint non-minimal zero", []byte{0x80, 0x00}, func(r *wire.Reader) any { return r.Uvarint() }, uint64(0), nil},
		{"varint overlong", overlong, func(r *wire.Reader) any { return r.Varint() }, int64(0), wire.ErrShort},
		{"string of nothing", nil, func(r *wire.Reader) any { return r.String() }, "", wire.ErrShort},
		{"string past the end", []byte{5, 'a', 'b'}, func(r *wire.Reader) any { return r.String() }, "", wire.ErrShort},
		{"string of huge length", append(wire.AppendUvarint(nil, math.MaxUint64), 'a'), func(r *wire.Reader) any { return r.String() }, "", wire.ErrShort},
		{"string with overlong length", overlong, func(r *wire.Reader) any { return r.String() }, "", wire.ErrShort},
		{"bytes past the end", []byte{2, 'a'}, func(r *wire.Reader) any { return string(r.Bytes()) }, "", wire.ErrShort},
		{"bytes of huge length", wire.AppendUvarint(nil, 1<<62), func(r *wire.Reader) any { return string(r.Bytes()) }, "", wire.ErrShort},
		{"empty string", []byte{0}, func(r *wire.Reader) any { return r.String() }, "", nil},
		{"empty bytes are nil", []byte{0}, func(r *wire.Reader) any { return r.Bytes() == nil }, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []*wire.Reader{wire.NewReader(tt.data), wire.NewCopyingReader(tt.data)} {
				got := tt.read(r)
				if got != tt.want || !errors.Is(r.Err(), tt.wantErr) || (tt.wantErr == nil) != (r.Err() == nil) {
					t.Errorf("read = %v, Err = %v; want %v, %v", got, r.Err(), tt.want, tt.wantErr)
				}
				if tt.wantErr != nil {
					// Sticky: every later read fails and returns zero.
					if r.Len() != 0 || r.Byte() != 0 || r.Uvarint() != 0 || r.Varint() != 0 || r.String() != "" || r.Bytes() != nil {
						t.Error("reads after an error returned data")
					}
					if !errors.Is(r.Err(), tt.wantErr) {
						t.Errorf("error changed to %v", r.Err())
					}
				}
			}
		})
	}
}

func TestLen(t *testing.T) {
	b := wire.AppendString([]byte{7}, "abc")
	r := wire.NewReader(b)
	if r.Len() != 5 {
		t.Errorf("Len = %d, want 5", r.Len())
	}
	r.Byte()
	if r.Len() != 4 {
		t.Errorf("after Byte, Len = %d, want 4", r.Len())
	}
	_ = r.String()
	if r.Len() != 0 {
		t.Errorf("after String, Len = %d, want 0", r.Len())
	}
}

// NewReader shares the buffer's memory; NewCopyingReader does not.
func TestSharedAndCopyingReaders(t *testing.T) {
	record := func() []byte {
		b := wire.AppendString(nil, "string")
		b = wire.AppendBytes(b, []byte("bytes"))
		return append(b, "tail"...)
	}

	b := record()
	r := wire.NewReader(b)
	s, p := r.String(), r.Bytes()
	if s != "string" || string(p) != "bytes" {
		t.Fatalf("read %q, %q", s, p)
	}
	if cap(p) != len(p) {
		t.Errorf("shared Bytes has capacity %d past its length %d: appends would overwrite the buffer", cap(p), len(p))
	}
	_ = append(p, '!')
	if string(b[len(b)-4:]) != "tail" {
		t.Error("appending to shared Bytes overwrote the rest of the buffer")
	}
	for i := range b {
		b[i] = '#'
	}
	if s == "string" {
		t.Error("NewReader: String did not share the buffer")
	}
	if q := b[len(b)-4:]; string(q) != "####" {
		t.Error("buffer not overwritten")
	}

	b = record()
	r = wire.NewCopyingReader(b)
	s, p = r.String(), r.Bytes()
	for i := range b {
		b[i] = '#'
	}
	if s != "string" || string(p) != "bytes" {
		t.Errorf("NewCopyingReader: values changed with the buffer: %q, %q", s, p)
	}
}

func TestAppendAppends(t *testing.T) {
	b := []byte("prefix")
	b = wire.AppendString(b, "x")
	b = wire.AppendBytes(b, []byte("y"))
	b = wire.AppendUvarint(b, 300)
	b = wire.AppendVarint(b, -1)
	want := []byte("prefix\x01x\x01y\xac\x02\x01")
	if !bytes.Equal(b, want) {
		t.Errorf("got %q, want %q", b, want)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{1, 2, 'a', 'b', 3})
	f.Add(bytes.Repeat([]byte{0xff}, 12))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range []*wire.Reader{wire.NewReader(data), wire.NewCopyingReader(data)} {
			total := 0
			for r.Err() == nil && r.Len() > 0 {
				before := r.Len()
				switch before % 5 {
				case 0:
					r.Byte()
				case 1:
					r.Uvarint()
				case 2:
					r.Varint()
				case 3:
					total += len(r.String())
				case 4:
					total += len(r.Bytes())
				}
				if r.Err() == nil && r.Len() >= before {
					t.Fatal("a read consumed nothing")
				}
			}
			if total > len(data) {
				t.Fatalf("read %d bytes of strings from %d", total, len(data))
			}
		}
	})
}
