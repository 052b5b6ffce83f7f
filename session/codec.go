package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/gorilla/securecookie"
)

// KeySize is the length of a session key: 32 random bytes.
const KeySize = 32

// codecVersion is the first byte of every sealed value.
const codecVersion = 1

// header is version (1) + key ID (4); the AEAD then adds nonce (12) and tag (16).
const headerLen = 5

// maxEncodedLen bounds a value Decode accepts: a few chunked cookies.
const maxEncodedLen = 64 << 10

var (
	// ErrInvalid: a cookie or stored value does not open: tampered,
	// truncated, sealed under another name, or with a key no longer in the
	// ring.
	ErrInvalid = errors.New("session: invalid or tampered value")

	// ErrInvalidKey: a key is not 32 bytes, or a key string is not base64.
	ErrInvalidKey = errors.New("session: invalid key")
)

// Codec seals values with AES-256-GCM under a ring of keys: the first key
// seals, every key opens, so keys can be rotated by putting a new one first
// and dropping the oldest later. The value's name (the cookie name) is
// authenticated too, so a value cannot be moved to another cookie.
//
// Codec implements securecookie.Codec, so it serves wherever gorilla's
// codecs do (securecookie.EncodeMulti, gorilla/sessions stores), and a
// Manager accepts securecookie codecs in its place. It is the default
// because it meets the per-request targets securecookie's framing cannot (see
// the README): a session cookie a quarter smaller, decoded several times
// faster, in two allocations.
//
// Sealed values are base64url text: a version byte, a 4-byte key ID (a hash
// of the key, not the key), a random 96-bit nonce, the ciphertext and the tag.
type Codec struct {
	keys []codecKey // keys[0] seals
}

type codecKey struct {
	id   [4]byte
	aead cipher.AEAD
}

var _ securecookie.Codec = (*Codec)(nil)

// NewCodec returns a Codec for keys, each KeySize random bytes, the first of
// which seals. The AES key is derived from each with HKDF-SHA256, so the same
// key material may serve other purposes without the keys colliding.
func NewCodec(keys ...[]byte) (*Codec, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKey)
	}
	c := &Codec{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrInvalidKey, i, len(k), KeySize)
		}
		aesKey, err := hkdf.Key(sha256.New, k, nil, "oidcrp session codec v1", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(aesKey)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("oidcrp key id\x00"), aesKey...))
		c.keys = append(c.keys, codecKey{id: [4]byte(sum[:4]), aead: aead})
	}
	return c, nil
}

// ParseKeys reads keys written as comma-separated standard base64, each
// decoding to KeySize bytes: the form of the SESSION_KEYS variable of the
// example app. Spaces around keys are ignored.
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d is not standard base64", ErrInvalidKey, i)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrInvalidKey, i, len(k), KeySize)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// bufPool holds scratch buffers for base64 and sealing; sized for a session
// cookie, they keep the per-request path free of allocations but the result.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Encode seals value under name. A *Session is written in its compact
// binary form, a []byte as is, an encoding.BinaryMarshaler by its method,
// anything else as JSON.
func (c *Codec) Encode(name string, value any) (string, error) {
	var err error
	out, sealErr := c.seal(name, func(plain []byte) []byte {
		switch v := value.(type) {
		case *Session:
			plain, err = v.AppendBinary(plain)
		case []byte:
			plain = append(plain, v...)
		case encoding.BinaryAppender:
			plain, err = v.AppendBinary(plain)
		case encoding.BinaryMarshaler:
			var b []byte
			b, err = v.MarshalBinary()
			plain = append(plain, b...)
		default:
			var b []byte
			b, err = json.Marshal(v)
			plain = append(plain, b...)
		}
		return plain
	})
	if err != nil {
		return "", fmt.Errorf("session: encode %s: %w", name, err)
	}
	return out, sealErr
}

// seal seals under name the plaintext build appends to the (pooled) buffer
// it is given.
func (c *Codec) seal(name string, build func(plain []byte) []byte) (string, error) {
	plainp := bufPool.Get().(*[]byte)
	defer bufPool.Put(plainp)
	plain := build((*plainp)[:0])
	*plainp = plain

	sealedp := bufPool.Get().(*[]byte)
	defer bufPool.Put(sealedp)
	k := &c.keys[0]
	sealed := append((*sealedp)[:0], codecVersion)
	sealed = append(sealed, k.id[:]...)
	sealed = k.aead.Seal(sealed, nil, plain, bytesOf(name))
	*sealedp = sealed
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(sealed)))
	base64.RawURLEncoding.Encode(out, sealed)
	return unsafe.String(unsafe.SliceData(out), len(out)), nil // out is never written again
}

// Decode opens value, sealed under name, into dst: a *Session, a *[]byte,
// an encoding.BinaryUnmarshaler, or anything json.Unmarshal takes. It fails
// with ErrInvalid for anything Encode did not produce with a key of the
// ring under the same name.
func (c *Codec) Decode(name, value string, dst any) error {
	plain, err := c.open(name, value)
	if err != nil {
		return err
	}
	switch d := dst.(type) {
	case *Session:
		// plain is ours alone: the session may share its memory.
		err = d.decodeOwned(plain)
	case *[]byte:
		*d = plain
	case encoding.BinaryUnmarshaler:
		err = d.UnmarshalBinary(plain)
	default:
		err = json.Unmarshal(plain, dst)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return nil
}

// open returns the plaintext of value in a newly allocated buffer.
func (c *Codec) open(name, value string) ([]byte, error) {
	if len(value) > maxEncodedLen {
		return nil, fmt.Errorf("%w: %s: too long", ErrInvalid, name)
	}
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	buf := (*bufp)[:cap(*bufp)]
	if n := base64.RawURLEncoding.DecodedLen(len(value)); n > len(buf) {
		buf = make([]byte, n)
		*bufp = buf
	}
	n, err := base64.RawURLEncoding.Decode(buf, bytesOf(value))
	if err != nil || n < headerLen || buf[0] != codecVersion {
		return nil, fmt.Errorf("%w: %s: not a sealed value", ErrInvalid, name)
	}
	sealed := buf[:n]
	for i := range c.keys {
		k := &c.keys[i]
		if [4]byte(sealed[1:headerLen]) != k.id {
			continue
		}
		plain, err := k.aead.Open(nil, nil, sealed[headerLen:], bytesOf(name))
		if err != nil {
			break
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w: %s: does not open with any key", ErrInvalid, name)
}

// bytesOf views s as bytes without copying, for APIs that only read.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
