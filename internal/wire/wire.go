// Package wire is the compact binary form of the values the library seals
// into cookies and stores: a sequence of varints and length-prefixed byte
// strings. It is not self-describing; each type writes and reads its fields
// in a fixed order behind a version byte.
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
	buf    []byte
	shared bool // strings and byte slices read share buf's memory
	err    error
}

// NewReader reads a copy-free view of b: the strings and slices it returns
// share b's memory, so b must never be modified afterwards. Callers hand it
// freshly decrypted buffers they own; decoding a session then costs no
// allocation per field.
func NewReader(b []byte) *Reader { return &Reader{buf: b, shared: true} }

// NewCopyingReader reads b, copying every string and slice it returns, so b
// may be reused afterwards (as encoding.BinaryUnmarshaler requires).
func NewCopyingReader(b []byte) *Reader { return &Reader{buf: b} }

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
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Varint reads a zig-zag encoded varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// String reads a length-prefixed string.
func (r *Reader) String() string {
	b := r.next()
	if len(b) == 0 {
		return ""
	}
	if r.shared {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(b)
}

// Bytes reads a length-prefixed byte string; nil when empty.
func (r *Reader) Bytes() []byte {
	b := r.next()
	if len(b) == 0 {
		return nil
	}
	if r.shared {
		return b[:len(b):len(b)]
	}
	return append([]byte(nil), b...)
}

func (r *Reader) next() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.fail()
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *Reader) fail() {
	if r.err == nil {
		r.err = ErrShort
	}
	r.buf = nil
}
