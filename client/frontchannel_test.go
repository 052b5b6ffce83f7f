package client_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestFrontchannelLogout(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	tests := []struct {
		name    string
		query   url.Values
		wantSID string
		wantErr bool
	}{
		{"iss and sid", url.Values{"iss": {op.URL}, "sid": {"08a5019c-17e1-4977-8f42-65a12843ea02"}}, "08a5019c-17e1-4977-8f42-65a12843ea02", false},
		{"neither", url.Values{}, "", false},
		{"both empty", url.Values{"iss": {""}, "sid": {""}}, "", false},
		{"sid of 255 bytes", url.Values{"iss": {op.URL}, "sid": {strings.Repeat("s", 255)}}, strings.Repeat("s", 255), false},
		{"sid without iss", url.Values{"sid": {"x"}}, "", true},
		{"iss without sid", url.Values{"iss": {op.URL}}, "", true},
		{"empty sid", url.Values{"iss": {op.URL}, "sid": {""}}, "", true},
		{"other issuer", url.Values{"iss": {"https://evil.example.com"}, "sid": {"x"}}, "", true},
		{"issuer with a trailing slash", url.Values{"iss": {op.URL + "/"}, "sid": {"x"}}, "", true},
		{"repeated sid", url.Values{"iss": {op.URL}, "sid": {"x", "y"}}, "", true},
		{"repeated iss", url.Values{"iss": {op.URL, op.URL}, "sid": {"x"}}, "", true},
		{"sid of 256 bytes", url.Values{"iss": {op.URL}, "sid": {strings.Repeat("s", 256)}}, "", true},
		{"sid of 64 KiB", url.Values{"iss": {op.URL}, "sid": {strings.Repeat("s", 64<<10)}}, "", true},
		{"sid with a space", url.Values{"iss": {op.URL}, "sid": {"a b"}}, "", true},
		{"sid with a NUL", url.Values{"iss": {op.URL}, "sid": {"a\x00b"}}, "", true},
		{"sid with UTF-8", url.Values{"iss": {op.URL}, "sid": {"sé"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid, err := rp.FrontchannelLogout(tt.query)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, client.ErrLogoutRequest)) || sid != tt.wantSID {
				t.Errorf("FrontchannelLogout = %q, %v", sid, err)
			}
		})
	}
}

func FuzzFrontchannelLogout(f *testing.F) {
	f.Add("iss=http%3A%2F%2F127.0.0.1&sid=abc")
	f.Add("sid=%00&iss=&sid=")
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(testContextF(f), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		sid, err := rp.FrontchannelLogout(q)
		if err != nil && !errors.Is(err, client.ErrLogoutRequest) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && sid != "" && (len(sid) > 255 || q.Get("iss") != op.URL) {
			t.Fatalf("accepted sid %q with iss %q", sid, q.Get("iss"))
		}
	})
}
