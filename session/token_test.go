package session

import (
	"strings"
	"testing"
)

var tokenCases = []string{
	"",
	"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",     // a JWS
	"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn", // a JWE, its key segment empty
	"4c5Jb0-KpNv_s1xjRk3Qdw8yTgHfZeAa2uLmO6iPbE9",                // opaque, base64url
	"v1.MjQ4Mjg5NzYxMDAxLTRhYjMtOTJmNy1iMzU2ZTBkOGE3ZjEtcmVmcmVzaA.c2lnbmF0dXJl",
	"AB",                              // base64url with trailing bits set: kept as text
	"abc=",                            // padded
	"a+b/c",                           // standard alphabet
	"ya29.a0AfB_byC-token_with~tilde", // Google's
	".", "..", "a.", ".a",
	"ünïcode.tøken",
	"gho_16C7e42F292c6912E7710c838347Ae178B4a",
	strings.Repeat("x", 5000),
}

func TestPackToken(t *testing.T) {
	for _, tok := range tokenCases {
		p := textToken(tok).appendPacked(nil)
		n, ok := uvarintLen(p)
		if !ok || !validPacked(p[n:]) {
			t.Fatalf("%q: packed form %x does not check", tok, p)
		}
		packed := token{packed: p[n:]}
		if len(p[n:]) == 0 {
			packed = token{}
		}
		if got := packed.String(); got != tok {
			t.Errorf("%q came back as %q", tok, got)
		}
		if packed.empty() != (tok == "") {
			t.Errorf("%q: empty %v", tok, packed.empty())
		}
	}
	// base64url segments take three quarters of their text.
	jws := tokenCases[1]
	if p := textToken(jws).appendPacked(nil); len(p) > len(jws)*3/4+6 {
		t.Errorf("a JWS of %d bytes packed in %d", len(jws), len(p))
	}
}

func uvarintLen(p []byte) (int, bool) {
	for i, c := range p {
		if c < 0x80 {
			return i + 1, true
		}
	}
	return 0, false
}

func TestTokenPayload(t *testing.T) {
	jws := tokenCases[1]
	for _, tok := range []token{textToken(jws), {packed: textToken(jws).appendPacked(nil)[1:]}} {
		if p, ok := tok.segmentPayload(); !ok || string(p) != `{"sub":"alice"}` {
			t.Errorf("payload %q, %v", p, ok)
		}
	}
	for _, tok := range []string{"", "opaque", "a.b"} {
		if p, ok := textToken(tok).segmentPayload(); ok {
			t.Errorf("%q: payload %q", tok, p)
		}
	}
}

// FuzzPackToken: every string packs and comes back the same.
func FuzzPackToken(f *testing.F) {
	for _, tok := range tokenCases {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p := textToken(tok).appendPacked(nil)
		n, ok := uvarintLen(p)
		if !ok || !validPacked(p[n:]) {
			t.Fatalf("packed form %x does not check", p)
		}
		if len(p[n:]) > packedBound(tok) {
			t.Fatalf("packed in %d bytes, bound %d", len(p[n:]), packedBound(tok))
		}
		if got := (token{packed: p[n:]}).String(); got != tok {
			t.Fatalf("%q came back as %q", tok, got)
		}
	})
}

// TestIdentityReferences: the issuer, subject and sid found in the ID
// token are encoded as references into it, and decode to themselves; a
// reference outside the ID token is malformed.
func TestIdentityReferences(t *testing.T) {
	payload := `{"iss":"https://op.example","sub":"248289761001","sid":"08a5019c-17e1-4977-8f42-65a12843ea02"}`
	idToken := "eyJhbGciOiJSUzI1NiJ9." + strict.EncodeToString([]byte(payload)) + ".c2ln"
	s := &Session{ID: "id", Issuer: "https://op.example", Subject: "248289761001", SID: "08a5019c-17e1-4977-8f42-65a12843ea02", Claims: []byte(`{}`)}
	s.SetTokens(Tokens{IDToken: idToken})
	b, _ := s.MarshalBinary()
	for _, v := range []string{s.Issuer, s.Subject, s.SID} {
		if n := strings.Count(string(b), v); n != 1 {
			t.Errorf("%q is %d times in the encoding, want once (in the ID token)", v, n)
		}
	}
	var back Session
	if err := back.UnmarshalBinary(b); err != nil || back.Issuer != s.Issuer || back.Subject != s.Subject || back.SID != s.SID || back.IDToken() != idToken {
		t.Fatalf("decoded %v, %v", back, err)
	}
	// Not in the ID token (or none): as themselves.
	s.Subject = "someone-else"
	b, _ = s.MarshalBinary()
	if err := back.UnmarshalBinary(b); err != nil || back.Subject != "someone-else" {
		t.Fatalf("literal subject: %v, %v", back.Subject, err)
	}
	// References inside the ID token decode; past its end, they do not.
	packed := textToken(idToken).appendPacked(nil)
	n, _ := uvarintLen(packed)
	packed = packed[n:]
	if err := back.UnmarshalBinary(encodeWithIssuerRef(packed, 3, 4)); err != nil || back.Issuer != string(packed[3:7]) {
		t.Fatalf("a reference inside: %q, %v", back.Issuer, err)
	}
	for _, ref := range [][2]int{{len(packed) - 2, 3}, {len(packed) + 1, 0}, {0, len(packed) + 1}} {
		if err := back.UnmarshalBinary(encodeWithIssuerRef(packed, ref[0], ref[1])); err == nil {
			t.Errorf("a reference of %d bytes at %d, past the ID token's %d, decoded", ref[1], ref[0], len(packed))
		}
	}
}
