package middleware_test

import (
	"errors"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// TestNewNeedsRedirectURL: the web login needs the RP's redirect URL,
// which the client package no longer requires of every client.
func TestNewNeedsRedirectURL(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	rp, err := client.New(ctx(t), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, ClientSecret: oidctest.DefaultClient.Secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	sessions, err := session.New(session.Config{Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions}); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("RP without RedirectURL: %v, want ErrInvalidConfig", err)
	}
}
