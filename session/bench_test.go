package session_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/oidcrp/oidcrp/internal/benchfix"
	"github.com/oidcrp/oidcrp/session"
)

func benchSession() *session.Session {
	now := time.Now()
	return withTokens(&session.Session{
		ID: "k3J9mQ2xV8bN4pL7wR1tY6uI0oP5aS3dF8gH2jK4lZ0", Subject: benchfix.Subject, SID: benchfix.SID,
		RefreshedAt: now, CreatedAt: now, LastSeen: now,
	}, benchfix.IDToken, benchfix.AccessToken, benchfix.RefreshToken, now.Add(time.Hour))
}

// gorillaSession is the session as an app hand-writing securecookie keeps it.
type gorillaSession struct {
	Subject, SID, IDToken, AccessToken, RefreshToken string
	Expiry, CreatedAt, LastSeen                      time.Time
}

func gorillaOf(s *session.Session) gorillaSession {
	return gorillaSession{s.Subject, s.SID, s.IDToken(), s.AccessToken(), s.RefreshToken(), s.Expiry, s.CreatedAt, s.LastSeen}
}

type codecs struct {
	ours     *session.Codec
	aead     cipher.AEAD
	gob      *securecookie.SecureCookie
	compact  *securecookie.SecureCookie // securecookie's framing around our compact form
	sealed   string                     // the reference session sealed by ours
	bare     string                     // ... by the baseline
	gobbed   string                     // ... by securecookie with gob
	framed   string                     // ... by securecookie around the compact form
	s        *session.Session
	nonceBuf []byte
}

// binarySerializer hands securecookie our compact form.
type binarySerializer struct{}

func (binarySerializer) Serialize(src any) ([]byte, error) {
	return src.(*session.Session).MarshalBinary()
}
func (binarySerializer) Deserialize(b []byte, dst any) error {
	return dst.(*session.Session).UnmarshalBinary(b)
}

func newCodecs(tb testing.TB) *codecs {
	key := make([]byte, 32)
	rand.Read(key)
	c := &codecs{s: benchSession()}
	var err error
	if c.ours, err = session.NewCodec(key); err != nil {
		tb.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	c.aead, _ = cipher.NewGCMWithRandomNonce(block)
	c.gob = securecookie.New(key, key).MaxLength(16 << 10)
	c.compact = securecookie.New(key, key).MaxLength(16 << 10).SetSerializer(binarySerializer{})
	if c.sealed, err = c.ours.Encode("oidcrp_session", c.s); err != nil {
		tb.Fatal(err)
	}
	c.bare = c.bareEncode(c.s)
	if c.gobbed, err = c.gob.Encode("s", gorillaOf(c.s)); err != nil {
		tb.Fatal(err)
	}
	if c.framed, err = c.compact.Encode("s", c.s); err != nil {
		tb.Fatal(err)
	}
	return c
}

// bareEncode is the floor of encoding: compact form, AES-GCM seal, base64url.
func (c *codecs) bareEncode(s *session.Session) string {
	plain, _ := s.MarshalBinary()
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nil, nil, plain, nil))
}

// bareDecode is the floor of decoding: base64url, AES-GCM open, and a
// straightforward decode of the compact form.
func (c *codecs) bareDecode(v string) (*session.Session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	plain, err := c.aead.Open(nil, nil, raw, nil)
	if err != nil {
		return nil, err
	}
	var s session.Session
	return &s, s.UnmarshalBinary(plain)
}

// BenchmarkSessionDecode opens the reference session's cookie value.
func BenchmarkSessionDecode(b *testing.B) {
	c := newCodecs(b)
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.bareDecode(c.bare); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(c.bare)), "cookie-bytes")
	})
	b.Run("oidcrp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s session.Session
			if err := c.ours.Decode("oidcrp_session", c.sealed, &s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(c.sealed)), "cookie-bytes")
	})
	b.Run("securecookie-compact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s session.Session
			if err := c.compact.Decode("s", c.framed, &s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(c.framed)), "cookie-bytes")
	})
	b.Run("securecookie-gob", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s gorillaSession
			if err := c.gob.Decode("s", c.gobbed, &s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(c.gobbed)), "cookie-bytes")
	})
}

// BenchmarkSessionEncode seals the reference session into a cookie value.
func BenchmarkSessionEncode(b *testing.B) {
	c := newCodecs(b)
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.bareEncode(c.s)
		}
	})
	b.Run("oidcrp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.ours.Encode("oidcrp_session", c.s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securecookie-compact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.compact.Encode("s", c.s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securecookie-gob", func(b *testing.B) {
		b.ReportAllocs()
		g := gorillaOf(c.s)
		for b.Loop() {
			if _, err := c.gob.Encode("s", g); err != nil {
				b.Fatal(err)
			}
		}
	})
}
