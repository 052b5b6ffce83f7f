package session_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
)

// FuzzDecodeCookie feeds arbitrary Cookie headers to Manager.Load and
// arbitrary values to Codec.Decode. Neither may panic, and neither may
// yield a session other than a genuine one: AES-GCM makes forging a new one
// infeasible, so any session that comes out must be one the fuzzer was
// seeded with (possibly in another encoding of the same bytes).
func FuzzDecodeCookie(f *testing.F) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := testutil.NewClock(at)
	key := bytes.Repeat([]byte{7}, session.KeySize)
	m, err := session.New(session.Config{Keys: [][]byte{key}, Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	codec, _ := session.NewCodec(key)

	genuine := map[string]*session.Session{}
	seed := func(s *session.Session) {
		rec := httptest.NewRecorder()
		// Save, not Create: the fuzzer runs this in several processes, which
		// must agree on the sessions (the seals differ, by their nonces).
		s.CreatedAt, s.LastSeen = at, at
		if err := m.Save(rec, httptest.NewRequest(http.MethodGet, "http://app.example/", nil), s); err != nil {
			f.Fatal(err)
		}
		genuine[s.ID] = s
		var parts []string
		for _, c := range rec.Result().Cookies() {
			parts = append(parts, c.Name+"="+c.Value)
		}
		header := strings.Join(parts, "; ")
		value := rec.Result().Cookies()[0].Value
		f.Add(header)
		f.Add(value)
		f.Add(`oidcrp_session="` + value + `"`)
		f.Add(header[:len(header)/2])
		f.Add(header + "; oidcrp_session.1=AAAA")
		f.Add(strings.Replace(header, "A", "B", 1))
		f.Add(strings.ToUpper(header))
	}
	seed(withTokens(&session.Session{ID: "session-a", Subject: "alice"}, "id", "at", "", time.Time{}))
	seed(&session.Session{ID: "session-b", Subject: "bob", Claims: []byte(`"` + strings.Repeat("x", 5000) + `"`)})
	f.Add("")
	f.Add("oidcrp_session=")
	f.Add("oidcrp_session=2.; oidcrp_session.1=")
	f.Add("oidcrp_session=8.a;oidcrp_session.1=b;oidcrp_session.2=c;oidcrp_session.3=d;oidcrp_session.4=e;oidcrp_session.5=f;oidcrp_session.6=g;oidcrp_session.7=h")
	f.Add("oidcrp_session=AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(";;;===;\t\"")

	check := func(t *testing.T, s *session.Session, err error, via string) {
		if err != nil {
			if s != nil {
				t.Fatalf("%s: session %v with error %v", via, s, err)
			}
			return
		}
		want, ok := genuine[s.ID]
		if !ok || !sameSession(s, want) {
			t.Fatalf("%s: forged session %#v", via, s)
		}
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
		r.Header.Set("Cookie", header)
		s, err := m.Load(r)
		check(t, s, err, "Load")

		var d session.Session
		if err := codec.Decode("oidcrp_session", header, &d); err == nil {
			check(t, &d, nil, "Decode")
		} else if d.ID != "" {
			t.Fatalf("Decode failed (%v) but filled in %v", err, &d)
		}
		var b []byte
		codec.Decode("oidcrp_session", header, &b)
	})
}

// FuzzUnmarshalSession feeds arbitrary bytes to Session.UnmarshalBinary:
// no panic, and whatever decodes re-encodes to the same session.
func FuzzUnmarshalSession(f *testing.F) {
	full, _ := sample(newClock()).MarshalBinary()
	empty, _ := (&session.Session{}).MarshalBinary()
	f.Add(full)
	f.Add(empty)
	f.Add(full[:len(full)/2])
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(append([]byte{1}, bytes.Repeat([]byte{0}, 11)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s session.Session
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var s2 session.Session
		if err := s2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !sameSession(&s, &s2) {
			t.Fatalf("round trip changed the session:\n%#v\n%#v", s, s2)
		}
	})
}
