package session_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/wire"
	"github.com/oidcrp/oidcrp/session"
)

func TestSessionBinaryRoundTrip(t *testing.T) {
	clk := newClock()
	full := sample(clk)
	tests := []struct {
		name string
		s    *session.Session
	}{
		{"full", full},
		{"zero", &session.Session{}},
		{"zero times, nil claims", withTokens(&session.Session{ID: "id", Subject: "sub"}, "idt", "", "", time.Time{})},
		{"only times", &session.Session{Expiry: full.Expiry, RefreshedAt: full.RefreshedAt, CreatedAt: full.CreatedAt, LastSeen: full.LastSeen}},
		{"times before 1970", &session.Session{CreatedAt: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), LastSeen: time.UnixMilli(-1)}},
		{"far future", &session.Session{Expiry: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)}},
		{"non-UTC zone", &session.Session{CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 5*3600+1800))}},
		{"binary in strings", &session.Session{ID: "\x00\xff", Subject: "ü\n\"", Claims: []byte{0, 1, 2}}},
		{"long fields", withTokens(&session.Session{Claims: bytes.Repeat([]byte("c"), 20000)}, strings.Repeat("i", 300), "", "", time.Time{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			appended, _ := tt.s.AppendBinary([]byte("prefix"))
			if !bytes.Equal(appended, append([]byte("prefix"), b...)) {
				t.Error("AppendBinary differs from MarshalBinary")
			}
			var got session.Session
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !sameSession(&got, tt.s) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, *tt.s)
			}
			if tt.s.Expiry.IsZero() && got.Expiry != (time.Time{}) {
				t.Errorf("zero Expiry came back as %v", got.Expiry)
			}
			if tt.s.Claims == nil && got.Claims != nil {
				t.Errorf("nil Claims came back as %q", got.Claims)
			}
		})
	}
}

func TestSessionTimesKeepMilliseconds(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	b, _ := (&session.Session{CreatedAt: at}).MarshalBinary()
	var got session.Session
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if want := at.Truncate(time.Millisecond); !got.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
}

func TestSessionUnmarshalCopies(t *testing.T) {
	s := sample(newClock())
	b, _ := s.MarshalBinary()
	var got session.Session
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if !sameSession(&got, s) {
		t.Errorf("session changed with the buffer it was decoded from: %#v", got)
	}
}

func TestSessionUnmarshalMalformed(t *testing.T) {
	good, _ := sample(newClock()).MarshalBinary()
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version 0", append([]byte{0}, good[1:]...)},
		{"version 3", append([]byte{3}, good[1:]...)},
		{"version only", []byte{1}},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"length past end", []byte{1, 0xff, 0x01}},
		{"overlong varint", append([]byte{1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"garbage", []byte("garbage that is not a session")},
		{"json", []byte(`{"subject":"x"}`)},
	}
	for n := 1; n < len(good); n += 7 {
		tests = append(tests, struct {
			name string
			data []byte
		}{fmt.Sprintf("truncated to %d", n), good[:n]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := withTokens(&session.Session{ID: "before"}, "", "before", "", time.Time{})
			err := s.UnmarshalBinary(tt.data)
			if !errors.Is(err, session.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if s.AccessToken() != "" && s.AccessToken() != "before" {
				t.Errorf("partial decode left AccessToken = %q", s.AccessToken())
			}
		})
	}
}

// secrets are the values of s no printed or logged form may contain.
func secrets(s *session.Session) []string {
	return []string{s.ID, s.IDToken(), s.AccessToken(), s.RefreshToken(), "secret"}
}

func TestSessionRedacts(t *testing.T) {
	s := sample(newClock())
	var logJSON, logText bytes.Buffer
	slog.New(slog.NewJSONHandler(&logJSON, nil)).Info("login", "session", s)
	slog.New(slog.NewTextHandler(&logText, nil)).Info("login", "session", s)
	jsonPtr, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	jsonVal, err := json.Marshal(*s)
	if err != nil {
		t.Fatal(err)
	}
	jsonField, err := json.Marshal(struct{ S session.Session }{*s})
	if err != nil {
		t.Fatal(err)
	}
	var logVal bytes.Buffer
	slog.New(slog.NewJSONHandler(&logVal, nil)).Info("login", "session", *s)
	outputs := map[string]string{
		"%v":              fmt.Sprintf("%v", s),
		"%+v":             fmt.Sprintf("%+v", s),
		"%#v":             fmt.Sprintf("%#v", s),
		"%s":              fmt.Sprintf("%s", s),
		"%v value":        fmt.Sprintf("%v", *s),
		"%+v value":       fmt.Sprintf("%+v", *s),
		"%#v value":       fmt.Sprintf("%#v", *s),
		"%v in a slice":   fmt.Sprint([]*session.Session{s}),
		"slog JSON":       logJSON.String(),
		"slog text":       logText.String(),
		"slog JSON value": logVal.String(),
		"json.Marshal":    string(jsonPtr),
		"json value":      string(jsonVal),
		"json field":      string(jsonField),
	}
	for name, out := range outputs {
		for _, secret := range secrets(s) {
			if strings.Contains(out, secret) {
				t.Errorf("%s reveals %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, s.Subject) {
			t.Errorf("%s omits the subject: %s", name, out)
		}
	}
	if !strings.Contains(outputs["%v"], "[redacted]") {
		t.Errorf("String does not mark redacted tokens: %s", outputs["%v"])
	}
	var fields map[string]any
	if err := json.Unmarshal(jsonPtr, &fields); err != nil || fields["subject"] != s.Subject || fields["sid"] != s.SID {
		t.Errorf("MarshalJSON = %s (%v)", jsonPtr, err)
	}
	// Absent tokens show as empty, not as redacted.
	empty := &session.Session{Subject: "x"}
	if str := empty.String(); strings.Contains(str, "[redacted]") {
		t.Errorf("empty tokens shown as redacted: %s", str)
	}
}

// The subject and sid come from the provider; whatever they hold, the JSON
// form of a session must be valid JSON that says so.
func TestSessionMarshalJSONEscapes(t *testing.T) {
	for _, sub := range []string{`a"b`, `back\slash`, "ctl\x01\x7f", "\u2028", "<script>", "🙂", "bad \xff utf-8"} {
		s := &session.Session{Subject: sub, SID: sub}
		b, err := json.Marshal(s)
		if err != nil {
			t.Errorf("subject %q: %v", sub, err)
			continue
		}
		var got struct {
			Subject string `json:"subject"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("subject %q: %s: %v", sub, b, err)
		} else if got.Subject != strings.ToValidUTF8(sub, "\uFFFD") {
			t.Errorf("subject %q came back as %q", sub, got.Subject)
		}
	}
}

// TestSessionVersion1: sessions saved before they recorded their issuer
// still decode, without one.
func TestSessionVersion1(t *testing.T) {
	b := []byte{1}
	for _, v := range []string{"id-1", "alice", "sid-1", "id.token.x", "access", "refresh"} {
		b = wire.AppendString(b, v)
	}
	for range 4 {
		b = wire.AppendVarint(b, 1795646400000)
	}
	b = wire.AppendBytes(b, []byte(`{"department":"R&D"}`))
	var s session.Session
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s.ID != "id-1" || s.Issuer != "" || s.Subject != "alice" || s.SID != "sid-1" || s.RefreshToken() != "refresh" || string(s.Claims) != `{"department":"R&D"}` {
		t.Fatalf("version 1 session decoded as %+v", s)
	}
}
