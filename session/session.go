package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

	IDToken      string    // the raw ID token, sent as id_token_hint at logout
	AccessToken  string    // "" when none
	RefreshToken string    // "" when none
	Expiry       time.Time // of the access token; zero when unknown
	RefreshedAt  time.Time // when the tokens were issued (login or last refresh)

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

// sessionVersion is the first byte of a marshaled Session. Version 2 adds
// the issuer; version 1 sessions still decode, without it. A session with
// more (a DPoP key, granted scopes) is version 4: version 2's fields, then
// tagged ones, each a tag byte and a length-prefixed value, so that later
// fields need no new version. Version 3 (version 2 and a DPoP key) still
// decodes.
const (
	sessionVersion       = 2
	sessionVersionDPoP   = 3
	sessionVersionTagged = 4
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
	version := byte(sessionVersion)
	if s.DPoPKey != nil || s.Scopes != "" {
		version = sessionVersionTagged
	}
	b = append(b, version)
	b = wire.AppendString(b, s.ID)
	b = wire.AppendString(b, s.Issuer)
	b = wire.AppendString(b, s.Subject)
	b = wire.AppendString(b, s.SID)
	b = wire.AppendString(b, s.IDToken)
	b = wire.AppendString(b, s.AccessToken)
	b = wire.AppendString(b, s.RefreshToken)
	b = appendTime(b, s.Expiry)
	b = appendTime(b, s.RefreshedAt)
	b = appendTime(b, s.CreatedAt)
	b = appendTime(b, s.LastSeen)
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
	return 1 + 7*3 + len(s.ID) + len(s.Issuer) + len(s.Subject) + len(s.SID) + len(s.IDToken) +
		len(s.AccessToken) + len(s.RefreshToken) + 4*10 + 3 + len(s.Claims) + 4 + len(s.DPoPKey) + 4 + len(s.Scopes)
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
	if version < 1 || version > sessionVersionTagged {
		return ErrMalformed
	}
	id := r.String()
	var issuer string
	if version >= 2 {
		issuer = r.String()
	}
	*s = Session{
		ID:           id,
		Issuer:       issuer,
		Subject:      r.String(),
		SID:          r.String(),
		IDToken:      r.String(),
		AccessToken:  r.String(),
		RefreshToken: r.String(),
		Expiry:       readTime(r),
		RefreshedAt:  readTime(r),
		CreatedAt:    readTime(r),
		LastSeen:     readTime(r),
		Claims:       r.Bytes(),
	}
	switch version {
	case sessionVersionDPoP:
		if s.DPoPKey = r.Bytes(); len(s.DPoPKey) == 0 {
			*s = Session{}
			return ErrMalformed
		}
	case sessionVersionTagged:
		last := byte(0)
		for r.Err() == nil && r.Len() > 0 {
			tag := r.Byte()
			if tag <= last { // in order, each once
				*s = Session{}
				return ErrMalformed
			}
			last = tag
			switch tag {
			case tagDPoPKey:
				if s.DPoPKey = r.Bytes(); len(s.DPoPKey) == 0 {
					*s = Session{}
					return ErrMalformed
				}
			case tagScopes:
				s.Scopes = r.String()
			default:
				r.Bytes() // a field of a later version: skipped
			}
		}
		if last == 0 {
			*s = Session{}
			return ErrMalformed
		}
	}
	if r.Err() != nil || r.Len() != 0 {
		*s = Session{}
		return ErrMalformed
	}
	return nil
}

// appendTime appends t as milliseconds since the epoch, 0 for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return wire.AppendVarint(b, 0)
	}
	return wire.AppendVarint(b, t.UnixMilli())
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
		redacted(s.ID), s.Issuer, s.Subject, s.SID, redacted(s.IDToken), redacted(s.AccessToken), redacted(s.RefreshToken),
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

func redacted(v string) string {
	if v == "" {
		return `""`
	}
	return "[redacted]"
}
