package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/oidcrp/oidcrp/internal/wire"
)

// Session is one login of one user: who they are, and the tokens the app
// holds for them. Its String, GoString, LogValue and MarshalJSON methods
// redact the tokens, so a stray log line leaks nothing.
type Session struct {
	// ID identifies the session; Manager.Create gives each login a new one,
	// so a session ID known before login is worthless after it.
	ID string

	// Issuer is the issuer of the provider the user logged in with: a sub
	// or a sid is unique per issuer only, so logouts and lookups are keyed
	// by both. A session saved without one (by an earlier version) is
	// given Config.DefaultIssuer when it is loaded.
	Issuer string

	Subject string // the user's sub at the provider
	SID     string // the provider's session ID (sid claim), named by logout requests

	// The tokens are set with SetTokens and read with IDToken,
	// AccessToken and RefreshToken: kept in their compact form, they are
	// made text only for the caller that asks.
	idToken, accessToken, refreshToken token

	Expiry      time.Time // of the access token; zero when unknown
	RefreshedAt time.Time // when the tokens were issued (login or last refresh)

	CreatedAt time.Time // login time; the absolute timeout counts from it
	LastSeen  time.Time // last use, at a granularity of Config.IdleTimeout/16

	// Claims is a JSON object of the user's claims the app keeps besides
	// the ID token's (those only userinfo gave, client.KeptUserInfo), or
	// nil. The ID token's own are read from IDToken when needed
	// (client.UserClaims), not stored twice.
	Claims []byte

	// DPoPKey is the private key the tokens are bound to (RFC 9449), in
	// client.DPoPKey's compact form (33 to 49 bytes), or nil for Bearer
	// tokens. It is as secret as the tokens, and sealed with them.
	DPoPKey []byte

	// Scopes are the scopes the user granted, space-separated, when they
	// differ from those the app asks for at every login (after an
	// incremental authorization, say); "" otherwise, which keeps a byte in
	// the cookie for the common case.
	Scopes string
}

// IDToken returns the raw ID token, sent as id_token_hint at logout; ""
// when none.
func (s *Session) IDToken() string { return s.idToken.String() }

// AccessToken returns the access token; "" when none.
func (s *Session) AccessToken() string { return s.accessToken.String() }

// RefreshToken returns the refresh token; "" when none.
func (s *Session) RefreshToken() string { return s.refreshToken.String() }

// HasRefreshToken reports whether the session has a refresh token, without
// making it text.
func (s *Session) HasRefreshToken() bool { return !s.refreshToken.empty() }

// HasAccessToken reports whether the session has an access token, without
// making it text.
func (s *Session) HasAccessToken() bool { return !s.accessToken.empty() }

// IDTokenPayload returns the decoded payload of the ID token (a JSON
// object, as the provider signed it, verified at login), or nil when there
// is none. It may share the session's memory: do not modify it.
func (s *Session) IDTokenPayload() []byte {
	p, _ := s.idToken.segmentPayload()
	return p
}

// sessionVersion is the first byte of a marshaled Session:
//   - 1: the ID, subject, sid, tokens as text, times and claims;
//   - 2: version 1 and the issuer;
//   - 3: version 2 and a DPoP key;
//   - 4: version 2, then tagged fields, each a tag byte and a
//     length-prefixed value (the DPoP key, granted scopes), so that later
//     fields need no new version;
//   - 5: the tokens first, packed (packToken): base64url segments as
//     their bytes, a quarter smaller; the issuer, subject and sid as
//     references into the ID token when they are found there (appendRef);
//     then version 4's fields and tags.
//
// Every version still decodes; sessions are written as version 5.
const (
	sessionVersionDPoP   = 3
	sessionVersionTagged = 4
	sessionVersion       = 5
)

// Tags of version 4's fields.
const (
	tagDPoPKey = 1
	tagScopes  = 2
)

// ErrMalformed is returned when bytes that decrypted fine are not a
// marshaled Session (or flow record): a bug, or a format from the future.
var ErrMalformed = errors.New("session: malformed session data")

// MarshalBinary encodes s in a compact binary form.
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.size()))
}

// AppendBinary appends the encoding of s to b.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, sessionVersion)
	b = s.idToken.appendPacked(b)
	_, n := binary.Uvarint(b[start+1:])
	idToken := b[start+1+n:] // the packed ID token, which references point into
	b = s.accessToken.appendPacked(b)
	b = s.refreshToken.appendPacked(b)
	b = wire.AppendString(b, s.ID)
	b = appendRef(b, idToken, s.Issuer)
	b = appendRef(b, idToken, s.Subject)
	b = appendRef(b, idToken, s.SID)
	// The login time, then the others relative to it (the access token's
	// expiry to its issue): small numbers, fewer bytes.
	b = appendTime(b, s.CreatedAt)
	b = appendTimeSince(b, s.LastSeen, s.CreatedAt)
	b = appendTimeSince(b, s.RefreshedAt, s.CreatedAt)
	b = appendTimeSince(b, s.Expiry, s.RefreshedAt)
	b = wire.AppendBytes(b, s.Claims)
	if s.DPoPKey != nil {
		b = append(b, tagDPoPKey)
		b = wire.AppendBytes(b, s.DPoPKey)
	}
	if s.Scopes != "" {
		b = append(b, tagScopes)
		b = wire.AppendString(b, s.Scopes)
	}
	return b, nil
}

// size bounds the length of the encoding of s.
func (s *Session) size() int {
	return 1 + 10*3 + s.idToken.packedLen() + s.accessToken.packedLen() + s.refreshToken.packedLen() +
		len(s.ID) + 3*12 + len(s.Issuer) + len(s.Subject) + len(s.SID) + 4*10 + 3 + len(s.Claims) +
		4 + len(s.DPoPKey) + 4 + len(s.Scopes)
}

// UnmarshalBinary decodes what MarshalBinary encoded. It copies data.
func (s *Session) UnmarshalBinary(data []byte) error {
	return s.decode(wire.NewCopyingReader(data))
}

// decodeOwned decodes buf without copying: the session's strings share
// buf's memory, so buf must never be modified afterwards. The per-request
// path uses it on freshly decrypted buffers.
func (s *Session) decodeOwned(buf []byte) error {
	return s.decode(wire.NewReader(buf))
}

func (s *Session) decode(r *wire.Reader) error {
	version := r.Byte()
	var ok bool
	switch {
	case version == sessionVersion:
		ok = s.decodeV5(r)
	case version >= 1 && version <= sessionVersionTagged:
		ok = s.decodeV1(r, version)
	}
	if ok && version >= sessionVersionTagged {
		ok = s.decodeTags(r, version == sessionVersionTagged)
	}
	if !ok || r.Err() != nil || r.Len() != 0 {
		*s = Session{}
		return ErrMalformed
	}
	return nil
}

// decodeV5 decodes the fields of version 5 up to its tags.
func (s *Session) decodeV5(r *wire.Reader) bool {
	*s = Session{}
	var idToken []byte
	for i, t := range []*token{&s.idToken, &s.accessToken, &s.refreshToken} {
		p := r.Bytes()
		if !validPacked(p) {
			return false
		}
		if p != nil {
			t.packed = p
		}
		if i == 0 {
			idToken = p
		}
	}
	s.ID = r.String()
	var ok1, ok2, ok3 bool
	s.Issuer, ok1 = readRef(r, idToken)
	s.Subject, ok2 = readRef(r, idToken)
	s.SID, ok3 = readRef(r, idToken)
	s.CreatedAt = readTime(r)
	s.LastSeen = readTimeSince(r, s.CreatedAt)
	s.RefreshedAt = readTimeSince(r, s.CreatedAt)
	s.Expiry = readTimeSince(r, s.RefreshedAt)
	s.Claims = r.Bytes()
	return ok1 && ok2 && ok3
}

// decodeV1 decodes the fields of versions 1 to 4 up to their tags.
func (s *Session) decodeV1(r *wire.Reader, version byte) bool {
	id := r.String()
	var issuer string
	if version >= 2 {
		issuer = r.String()
	}
	*s = Session{ID: id, Issuer: issuer, Subject: r.String(), SID: r.String()}
	s.idToken, s.accessToken, s.refreshToken = textToken(r.String()), textToken(r.String()), textToken(r.String())
	s.Expiry, s.RefreshedAt, s.CreatedAt, s.LastSeen = readTime(r), readTime(r), readTime(r), readTime(r)
	s.Claims = r.Bytes()
	if version == sessionVersionDPoP {
		s.DPoPKey = r.Bytes()
		return len(s.DPoPKey) > 0
	}
	return true
}

// decodeTags decodes the tagged fields that end versions 4 and 5: in tag
// order, each once; version 4 has at least one.
func (s *Session) decodeTags(r *wire.Reader, atLeastOne bool) bool {
	last := byte(0)
	for r.Err() == nil && r.Len() > 0 {
		tag := r.Byte()
		if tag <= last {
			return false
		}
		last = tag
		switch tag {
		case tagDPoPKey:
			if s.DPoPKey = r.Bytes(); len(s.DPoPKey) == 0 {
				return false
			}
		case tagScopes:
			s.Scopes = r.String()
		default:
			r.Bytes() // a field of a later version: skipped
		}
	}
	return last != 0 || !atLeastOne
}

// readRef reads what appendRef wrote: a string, or a reference into
// idToken, the packed ID token.
func readRef(r *wire.Reader, idToken []byte) (string, bool) {
	v := r.Uvarint()
	if v == 0 {
		return r.String(), true
	}
	n := r.Uvarint()
	off := v - 1
	if r.Err() != nil || off > uint64(len(idToken)) || n > uint64(len(idToken))-off {
		return "", false
	}
	ref := idToken[off : off+n]
	return unsafe.String(unsafe.SliceData(ref), len(ref)), true
}

// appendTime appends t as milliseconds since the epoch, 0 for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return wire.AppendVarint(b, 0)
	}
	return wire.AppendVarint(b, t.UnixMilli())
}

// appendTimeSince appends t as milliseconds after base (before, when
// negative), 0 for the zero time. A zero base counts from the epoch.
func appendTimeSince(b []byte, t, base time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	d := t.UnixMilli()
	if !base.IsZero() {
		d -= base.UnixMilli()
	}
	// Zig-zag, plus one: 0 stays the zero time.
	return wire.AppendUvarint(b, uint64(d<<1^d>>63)+1)
}

func readTimeSince(r *wire.Reader, base time.Time) time.Time {
	v := r.Uvarint()
	if v == 0 {
		return time.Time{}
	}
	v--
	d := int64(v>>1) ^ -int64(v&1)
	if !base.IsZero() {
		d += base.UnixMilli()
	}
	return time.UnixMilli(d)
}

func readTime(r *wire.Reader) time.Time {
	ms := r.Varint()
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// String describes the session without revealing its tokens.
func (s Session) String() string {
	return fmt.Sprintf("session.Session{ID:%s Issuer:%q Subject:%q SID:%q IDToken:%s AccessToken:%s RefreshToken:%s DPoPKey:%s Expiry:%s CreatedAt:%s}",
		redacted(s.ID), s.Issuer, s.Subject, s.SID, redactedToken(s.idToken), redactedToken(s.accessToken), redactedToken(s.refreshToken),
		redacted(string(s.DPoPKey)), s.Expiry.Format(time.RFC3339), s.CreatedAt.Format(time.RFC3339))
}

// GoString is String, so that %#v redacts too.
func (s Session) GoString() string { return s.String() }

// LogValue describes the session in structured logs without its tokens.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", s.Issuer),
		slog.String("subject", s.Subject),
		slog.String("sid", s.SID),
		slog.Time("created_at", s.CreatedAt),
		slog.Time("expiry", s.Expiry),
	)
}

// MarshalJSON describes the session without its tokens. Use MarshalBinary
// to store one.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Subject   string `json:"subject"`
		SID       string `json:"sid"`
		CreatedAt string `json:"created_at"`
	}{s.Subject, s.SID, s.CreatedAt.Format(time.RFC3339)})
}

func redactedToken(t token) string {
	if t.empty() {
		return `""`
	}
	return "[redacted]"
}

func redacted(v string) string {
	if v == "" {
		return `""`
	}
	return "[redacted]"
}
