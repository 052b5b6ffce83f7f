package native

import (
	"errors"
	"testing"
)

// FuzzParseRecord reads arbitrary cache files: nothing may panic, and a
// file is accepted only whole.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"version":1,"issuer":"https://op","client_id":"c","access_token":"a","token_type":"Bearer","refresh_token":"r","expiry":"2030-01-01T00:00:00Z","issued_at":"2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"issuer":"https://op","client_id":"c","access_token":"a","token_type":"Bearer"}{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRecord(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptCache) {
				t.Fatalf("%q: unclassified error %v", data, err)
			}
			return
		}
		if r.Issuer == "" || r.ClientID == "" || r.AccessToken == "" || r.TokenType == "" {
			t.Fatalf("%q accepted: %v", data, r)
		}
	})
}
