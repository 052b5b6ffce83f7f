package client_test

import (
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestLogin(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tokens.IDToken.Subject != "alice" {
		t.Errorf("sub = %q", tokens.IDToken.Subject)
	}
	t.Log(tokens)
}
