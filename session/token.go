package session

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"

	"github.com/oidcrp/oidcrp/internal/wire"
)

// token is one of a session's tokens. Set from text (SetTokens), it is
// kept as text and packed when the session is encoded; decoded from a
// cookie or a store, it stays packed, and is made text again only when a
// caller asks for it: the per-request path never pays for the tokens it
// does not use.
type token struct {
	text   string // the token, when set as text or decoded from an older format
	packed []byte // its packed form (packToken), when decoded; nil otherwise
}

// textToken is t as a token.
func textToken(t string) token { return token{text: t} }

// empty reports whether there is no token.
func (t token) empty() bool { return t.text == "" && len(t.packed) == 0 }

// String returns the token as issued.
func (t token) String() string {
	if t.packed == nil {
		return t.text
	}
	return unpackToken(t.packed)
}

// appendPacked appends t's packed form, with its length.
func (t token) appendPacked(b []byte) []byte {
	if t.packed != nil {
		b = binary.AppendUvarint(b, uint64(len(t.packed)))
		return append(b, t.packed...)
	}
	if t.text == "" {
		return append(b, 0)
	}
	// Packed at the end of b, then moved right by the size of its
	// length, which goes before it.
	start := len(b)
	b = packToken(b, t.text)
	n := len(b) - start
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	b = append(b, hdr[:h]...)
	copy(b[start+h:], b[start:start+n])
	copy(b[start:], hdr[:h])
	return b
}

// packedLen is the length of t's packed form, at most.
func (t token) packedLen() int {
	if t.packed != nil {
		return len(t.packed)
	}
	return packedBound(t.text)
}

// segmentPayload returns the raw bytes of the token's second segment, its
// payload when it is a JWS (decoded, for a text token), and whether it has
// one.
func (t token) segmentPayload() ([]byte, bool) {
	if t.packed == nil {
		_, rest, ok1 := strings.Cut(t.text, ".")
		p, _, ok2 := strings.Cut(rest, ".")
		if !ok1 || !ok2 {
			return nil, false
		}
		b, err := base64.RawURLEncoding.DecodeString(p)
		return b, err == nil
	}
	seg, text, ok := packedSegment(t.packed, 1)
	if !ok || text {
		return nil, false
	}
	return seg, true
}

// A packed token is its "."-separated segments in order, each a uvarint
// header (its length times two, plus one when it is kept as text) and its
// bytes: the decoded bytes of a segment that is strict unpadded base64url
// (re-encoding gives the same text back), its text otherwise. JWTs, and
// most opaque tokens, are base64url: they take three quarters of their
// text's bytes.

// packedBound is the most bytes packToken makes of t.
func packedBound(t string) int {
	return len(t) + (strings.Count(t, ".")+1)*binary.MaxVarintLen32
}

var strict = base64.RawURLEncoding.Strict()

// packToken appends t's packed form to b.
func packToken(b []byte, t string) []byte {
	for {
		seg, rest, more := strings.Cut(t, ".")
		n := strict.DecodedLen(len(seg))
		start := len(b)
		b = binary.AppendUvarint(b, uint64(n)<<1)
		hdr := len(b) - start
		b = slices.Grow(b, n)[:len(b)+n]
		if m, err := strict.Decode(b[start+hdr:], unsafe.Slice(unsafe.StringData(seg), len(seg))); err != nil || m != n || strict.EncodedLen(m) != len(seg) {
			// Not base64url, or not in its one canonical form (the
			// decoder skips newlines): as text.
			b = binary.AppendUvarint(b[:start], uint64(len(seg))<<1|1)
			b = append(b, seg...)
		}
		if !more {
			return b
		}
		t = rest
	}
}

// unpackToken returns the text of the packed token p. p was checked when
// it was decoded (validPacked).
func unpackToken(p []byte) string {
	size := 0
	for r := p; len(r) > 0; {
		h, n := binary.Uvarint(r)
		l := int(h >> 1)
		if h&1 == 0 {
			size += base64.RawURLEncoding.EncodedLen(l)
		} else {
			size += l
		}
		size++
		r = r[n+l:]
	}
	out := make([]byte, 0, size)
	for first := true; len(p) > 0; first = false {
		h, n := binary.Uvarint(p)
		l := int(h >> 1)
		seg := p[n : n+l]
		if !first {
			out = append(out, '.')
		}
		if h&1 == 0 {
			out = base64.RawURLEncoding.AppendEncode(out, seg)
		} else {
			out = append(out, seg...)
		}
		p = p[n+l:]
	}
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// validPacked reports whether p is a well-formed packed token: segments
// whose lengths fit.
func validPacked(p []byte) bool {
	for len(p) > 0 {
		h, n := binary.Uvarint(p)
		if n <= 0 || h>>1 > uint64(len(p)-n) {
			return false
		}
		p = p[n+int(h>>1):]
	}
	return true
}

// packedSegment returns segment i of the packed token p, and whether it is
// text.
func packedSegment(p []byte, i int) (seg []byte, text, ok bool) {
	for ; len(p) > 0; i-- {
		h, n := binary.Uvarint(p)
		l := int(h >> 1)
		if i == 0 {
			return p[n : n+l], h&1 == 1, true
		}
		p = p[n+l:]
	}
	return nil, false, false
}

// A session's Issuer, Subject and SID are most often in its ID token's
// payload too. Encoded, each is a reference into the packed ID token when
// its bytes are found there (a uvarint of the offset plus one, then the
// length), or itself (a zero, then the string): a few bytes instead of
// dozens, and no JSON to read when decoding.

// appendRef appends v as a reference into idToken (the packed ID token as
// encoded), or as itself.
func appendRef(b, idToken []byte, v string) []byte {
	if len(v) >= 4 {
		if i := bytes.Index(idToken, unsafe.Slice(unsafe.StringData(v), len(v))); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i)+1)
			return binary.AppendUvarint(b, uint64(len(v)))
		}
	}
	return wire.AppendString(append(b, 0), v)
}
