package session_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

// bigClaims returns a JSON object of about n bytes that does not compress.
func bigClaims(n int) []byte {
	return []byte(`{"blob":"` + randomText(n-11) + `"}`)
}

func TestChunking(t *testing.T) {
	for _, target := range []string{"http://app.example/", "https://app.example/"} {
		t.Run(target, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, nil)
			name := "oidcrp_session"
			if strings.HasPrefix(target, "https") {
				name = session.HostPrefix + name
			}
			s := sample(clk)
			s.Claims = bigClaims(6000)
			j := newJar(t)
			rec := httptest.NewRecorder()
			if err := m.Create(rec, j.request(target), s); err != nil {
				t.Fatal(err)
			}
			headers := rec.Header()["Set-Cookie"]
			if len(headers) != 3 {
				t.Fatalf("a ~8 KB cookie in %d cookies, want 3", len(headers))
			}
			for _, h := range headers {
				if len(h) >= 4096 {
					t.Errorf("Set-Cookie of %d bytes: browsers drop it", len(h))
				}
			}
			j.update(rec)
			if want := []string{name, name + ".1", name + ".2"}; strings.Join(j.names, " ") != strings.Join(want, " ") {
				t.Errorf("cookies %v, want %v", j.names, want)
			}
			if !strings.HasPrefix(j.cookies[name], "3.") {
				t.Errorf("first chunk %.10q... lacks the count", j.cookies[name])
			}
			for _, c := range rec.Result().Cookies() {
				if !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
					t.Errorf("chunk %s lacks attributes: %+v", c.Name, c)
				}
			}
			got, err := m.Load(j.request(target))
			if err != nil || !sameSession(got, s) {
				t.Fatalf("Load = %v, %v", got, err)
			}

			// A request missing a chunk has a broken session: invalid, so
			// that callers delete it, not absent.
			for _, missing := range []string{name + ".1", name + ".2"} {
				partial := newJar(t)
				for _, n := range j.names {
					if n != missing {
						partial.set(n, j.cookies[n])
					}
				}
				if s, err := m.Load(partial.request(target)); !errors.Is(err, session.ErrInvalid) || s != nil {
					t.Errorf("without %s: Load = %v, %v; want ErrInvalid", missing, s, err)
				}
			}
			// Without its head, the chunks are not a session.
			headless := newJar(t)
			headless.set(name+".1", j.cookies[name+".1"])
			headless.set(name+".2", j.cookies[name+".2"])
			if _, err := m.Load(headless.request(target)); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("chunks without the first: err = %v, want ErrNoSession", err)
			}
			// Chunks swapped do not open.
			swapped := newJar(t)
			swapped.set(name, j.cookies[name])
			swapped.set(name+".1", j.cookies[name+".2"])
			swapped.set(name+".2", j.cookies[name+".1"])
			if _, err := m.Load(swapped.request(target)); !errors.Is(err, session.ErrInvalid) {
				t.Errorf("chunks in the wrong order: err = %v, want ErrInvalid", err)
			}

			// A smaller session replaces it and deletes the stale chunks.
			s.Claims = bigClaims(3000)
			rec = httptest.NewRecorder()
			if err := m.Save(rec, j.request(target), s); err != nil {
				t.Fatal(err)
			}
			set := setCookies(rec)
			if c := set[name+".2"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("stale chunk %s not deleted: %v", name+".2", rec.Header()["Set-Cookie"])
			}
			if c := set[name+".1"]; c == nil || c.MaxAge <= 0 {
				t.Errorf("chunk %s not rewritten: %v", name+".1", rec.Header()["Set-Cookie"])
			}
			j.update(rec)
			if !strings.HasPrefix(j.cookies[name], "2.") || len(j.names) != 2 {
				t.Errorf("after shrinking to two chunks: %v", j.names)
			}
			if got, err := m.Load(j.request(target)); err != nil || !sameSession(got, s) {
				t.Fatalf("Load = %v, %v", got, err)
			}

			s.Claims = nil
			rec = httptest.NewRecorder()
			if err := m.Save(rec, j.request(target), s); err != nil {
				t.Fatal(err)
			}
			if c := setCookies(rec)[name+".1"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("stale chunk %s not deleted: %v", name+".1", rec.Header()["Set-Cookie"])
			}
			j.update(rec)
			if len(j.names) != 1 || strings.Contains(j.cookies[name], ".") {
				t.Errorf("after shrinking to one cookie: %v", j.names)
			}
			if got, err := m.Load(j.request(target)); err != nil || !sameSession(got, s) {
				t.Fatalf("Load = %v, %v", got, err)
			}
		})
	}
}

// The largest session that fits in MaxChunks cookies is saved; one that
// needs more is refused, and nothing is written.
func TestChunkLimit(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	// Each plaintext byte is 4/3 bytes of cookie; the seal adds 33.
	fits := (session.MaxChunks*session.MaxChunk)*3/4 - 33 - 200
	s := &session.Session{Subject: "alice", Claims: bigClaims(fits)}
	j := newJar(t)
	rec := httptest.NewRecorder()
	if err := m.Create(rec, j.request("https://app.example/"), s); err != nil {
		t.Fatalf("a session of %d bytes: %v", fits, err)
	}
	j.update(rec)
	if n := len(j.names); n != session.MaxChunks {
		t.Errorf("in %d cookies, want %d", n, session.MaxChunks)
	}
	for _, h := range rec.Header()["Set-Cookie"] {
		if len(h) >= 4096 {
			t.Errorf("Set-Cookie of %d bytes", len(h))
		}
	}
	if got, err := m.Load(j.request("https://app.example/")); err != nil || !sameSession(got, s) {
		t.Errorf("Load = %v, %v", got, err)
	}

	s.Claims = bigClaims(fits + 300)
	rec = httptest.NewRecorder()
	if err := m.Save(rec, j.request("https://app.example/"), s); err == nil {
		t.Error("a session needing more than MaxChunks cookies was saved")
	}
	if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
		t.Errorf("a failed Save wrote %d cookies", len(h))
	}
	if err := m.Create(httptest.NewRecorder(), j.request("https://app.example/"), &session.Session{Claims: bigClaims(30000)}); err == nil {
		t.Error("a 40 KB session was created")
	}
}

// jwtOfLen returns a string of n characters shaped like an RS256 JWT:
// base64url header, payload and 256-byte signature.
func jwtOfLen(n int, claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","kid":"8c2e0a1f4b6d","typ":"JWT"}`))
	sig := make([]byte, 256)
	rand.Read(sig)
	signature := enc(sig)
	room := n - len(header) - len(signature) - 2
	claims["pad"] = ""
	p, _ := json.Marshal(claims)
	// Pad the payload so that its encoding has room characters.
	pad := room*3/4 - len(p)
	if pad < 0 {
		panic(fmt.Sprintf("claims too long for a %d-byte JWT", n))
	}
	claims["pad"] = randomText(pad)
	p, _ = json.Marshal(claims)
	payload := enc(p)
	for len(payload) < room {
		payload += "A"
	}
	return header + "." + payload[:room] + "." + signature
}

// referenceSession is the session the cookie size targets are stated for:
// an ID token of 920 bytes, a JWT access token of 1000, an opaque refresh
// token of 100, and about 150 bytes of claims that only userinfo gave (those
// the ID token has are not kept twice: client.KeptUserInfo).
func referenceSession(clk *clock) *session.Session {
	now := clk.Now()
	idToken := jwtOfLen(920, map[string]any{
		"iss": "https://accounts.example.com", "sub": "248289761001", "aud": "s6BhdRkqt3",
		"nonce": "n-0S6_WzA2Mj", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "email": "alice@example.com",
	})
	accessToken := jwtOfLen(1000, map[string]any{
		"iss": "https://accounts.example.com", "sub": "248289761001", "aud": "https://api.example.com",
		"scope": "openid profile email offline_access", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "jti": "b1c2d3e4f5", "client_id": "s6BhdRkqt3",
	})
	claims := fmt.Appendf(nil, `{"email_verified":true,"name":"Alice Example","given_name":"Alice","family_name":"Example","picture":"https://example.com/a.png","locale":"%s"}`, "en-US")
	return withTokens(&session.Session{
		ID:          randomText(43),
		Subject:     "248289761001",
		SID:         "08a5019c-17e1-4977-8f42-65a12843ea02",
		RefreshedAt: now,
		CreatedAt:   now,
		LastSeen:    now,
		Claims:      claims,
	}, idToken, accessToken, randomText(100), now.Add(time.Hour))
}

func TestReferenceCookieSize(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	s := referenceSession(clk)
	if len(s.IDToken()) != 920 || len(s.AccessToken()) != 1000 || len(s.RefreshToken()) != 100 || strings.Count(s.AccessToken(), ".") != 2 {
		t.Fatalf("reference tokens: %d, %d, %d bytes", len(s.IDToken()), len(s.AccessToken()), len(s.RefreshToken()))
	}
	j := newJar(t)
	rec := httptest.NewRecorder()
	if err := m.Create(rec, j.request("https://app.example/"), s); err != nil {
		t.Fatal(err)
	}
	headers := rec.Header()["Set-Cookie"]
	if len(headers) != 1 {
		t.Fatalf("reference session in %d cookies, want 1", len(headers))
	}
	j.update(rec)
	value := j.cookies["__Host-oidcrp_session"]
	plain, _ := s.MarshalBinary()
	t.Logf("reference session: %d bytes of claims, %d bytes binary, cookie value %d bytes, Set-Cookie %d bytes",
		len(s.Claims), len(plain), len(value), len(headers[0]))
	if len(value) > 2400 {
		t.Errorf("cookie value is %d bytes, want at most 2400", len(value))
	}
	if got, err := m.Load(j.request("https://app.example/")); err != nil || !sameSession(got, s) {
		t.Errorf("Load = %v, %v", got, err)
	}

	// With a DPoP key (ES256: an algorithm byte and a 32-byte scalar, as
	// client.DPoPKey.MarshalBinary writes it): 45 bytes more, still one
	// cookie, its Set-Cookie header well under the browsers' 4096 bytes.
	// (The 2,400-byte target is the Bearer session's.)
	s.DPoPKey = append([]byte{1}, []byte(randomText(32))...)
	rec = httptest.NewRecorder()
	if err := m.Create(rec, j.request("https://app.example/"), s); err != nil {
		t.Fatal(err)
	}
	if headers := rec.Header()["Set-Cookie"]; len(headers) != 1 {
		t.Fatalf("reference session with a DPoP key in %d cookies, want 1", len(headers))
	}
	j.update(rec)
	withKey := j.cookies["__Host-oidcrp_session"]
	t.Logf("with a DPoP key: cookie value %d bytes (+%d)", len(withKey), len(withKey)-len(value))
	if len(withKey) > len(value)+48 || len(rec.Header()["Set-Cookie"][0]) > 3300 {
		t.Errorf("cookie value with a DPoP key is %d bytes (Set-Cookie %d), want at most %d (3300)", len(withKey), len(rec.Header()["Set-Cookie"][0]), len(value)+48)
	}
	if got, err := m.Load(j.request("https://app.example/")); err != nil || !sameSession(got, s) {
		t.Errorf("Load with a DPoP key = %v, %v", got, err)
	}
}
