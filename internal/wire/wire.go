// Package wire is the compact binary form of the values the library seals
// into cookies and stores: a sequence of unsigned varints and
// length-prefixed byte strings. It is not self-describing; each type writes
// and reads its fields in a fixed order behind a version byte.
package wire

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// ErrShort is returned when the input ends before a value does, or a length
// runs past the end.
var ErrShort = errors.New("wire: truncated or malformed value")

// AppendUvarint appends v.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendVarint appends v (zig-zag encoded, for values that may be negative).
func AppendVarint(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendString appends s with its length.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends p with its length.
func AppendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Reader reads values in order. After the first error every read returns a
// zero value and Err reports the error.
type Reader struct {
	buf string // the input; strings read are substrings of it
	err error
}

// NewReader reads b. The strings it returns share b's memory: b must never
// be modified afterwards (the callers hand it freshly decrypted buffers they
// own). This makes decoding a session one allocation instead of one per field.
func NewReader(b []byte) *Reader {
	return &Reader{buf: unsafe.String(unsafe.SliceData(b), len(b))}
}

// NewStringReader reads s.
func NewStringReader(s string) *Reader { return &Reader{buf: s} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not yet read.
func (r *Reader) Len() int { return len(r.buf) }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.buf) == 0 {
		r.fail()
		return 0
	}
	c := r.buf[0]
	r.buf = r.buf[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	var s uint
	for i := 0; i < len(r.buf) && i < binary.MaxVarintLen64; i++ {
		c := r.buf[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflow
			}
			r.buf = r.buf[i+1:]
			return v | uint64(c)<<s
		}
		v |= uint64(c&0x7f) << s
		s += 7
	}
	r.fail()
	return 0
}

// Varint reads a zig-zag encoded varint.
func (r *Reader) Varint() int64 {
	u := r.Uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// String reads a length-prefixed string, sharing the input's memory.
func (r *Reader) String() string {
	n := r.Uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.buf)) {
		r.fail()
		return ""
	}
	s := r.buf[:n]
	r.buf = r.buf[n:]
	return s
}

func (r *Reader) fail() {
	if r.err == nil {
		r.err = ErrShort
	}
	r.buf = ""
}
