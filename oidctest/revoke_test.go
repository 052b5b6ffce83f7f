package oidctest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// revoke asks the RFC 7009 revocation endpoint, as c.
func revoke(t *testing.T, op *oidctest.Server, c oidctest.Client, token string) reply {
	t.Helper()
	return post(t, op.URL+"/revoke", url.Values{"token": {token}}, []string{c.ID, c.Secret})
}

func TestRevoke(t *testing.T) {
	other := confidential("other")
	c := oidctest.DefaultClient
	tests := []struct {
		name string
		// revoke revokes (or tries to) one of tok's tokens and returns the
		// answer to the revocation request.
		revoke func(t *testing.T, op *oidctest.Server, tok tokens) reply
		// refreshOK and userinfoOK say what still works afterwards.
		refreshOK, userinfoOK bool
		wantStatus            int
	}{
		{
			name:       "refresh token",
			revoke:     func(t *testing.T, op *oidctest.Server, tok tokens) reply { return revoke(t, op, c, tok.RefreshToken) },
			refreshOK:  false,
			userinfoOK: true,
			wantStatus: http.StatusOK,
		},
		{
			name:       "access token",
			revoke:     func(t *testing.T, op *oidctest.Server, tok tokens) reply { return revoke(t, op, c, tok.AccessToken) },
			refreshOK:  true,
			userinfoOK: false,
			wantStatus: http.StatusOK,
		},
		{
			name: "another client's refresh token",
			revoke: func(t *testing.T, op *oidctest.Server, tok tokens) reply {
				return revoke(t, op, other, tok.RefreshToken)
			},
			refreshOK:  true,
			userinfoOK: true,
			wantStatus: http.StatusOK, // RFC 7009 section 2.2: nothing to tell
		},
		{
			name: "another client's access token",
			revoke: func(t *testing.T, op *oidctest.Server, tok tokens) reply {
				return revoke(t, op, other, tok.AccessToken)
			},
			refreshOK:  true,
			userinfoOK: true,
			wantStatus: http.StatusOK,
		},
		{
			name:       "unknown token",
			revoke:     func(t *testing.T, op *oidctest.Server, tok tokens) reply { return revoke(t, op, c, "not-a-token") },
			refreshOK:  true,
			userinfoOK: true,
			wantStatus: http.StatusOK,
		},
		{
			name: "wrong client secret",
			revoke: func(t *testing.T, op *oidctest.Server, tok tokens) reply {
				return revoke(t, op, oidctest.Client{ID: c.ID, Secret: "wrong"}, tok.RefreshToken)
			},
			refreshOK:  true,
			userinfoOK: true,
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "malformed form",
			revoke: func(t *testing.T, op *oidctest.Server, tok tokens) reply {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, op.URL+"/revoke", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.URL.RawQuery = "token=%zz"
				req.SetBasicAuth(c.ID, c.Secret)
				r, err := send(req)
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
			refreshOK:  true,
			userinfoOK: true,
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c, other}, AlwaysIssueRefreshToken: true})
			tok := login(t, op, c, nil)
			r := tt.revoke(t, op, tok)
			if r.Status != tt.wantStatus {
				t.Fatalf("revocation: %s, want %d", r, tt.wantStatus)
			}
			wantRevocations := 0
			if tt.wantStatus == http.StatusOK {
				wantRevocations = 1
			}
			if n := op.Stats().Revocations; n != wantRevocations {
				t.Errorf("Stats().Revocations = %d, want %d", n, wantRevocations)
			}

			refreshed := refresh(t, op, c, tok.RefreshToken)
			if tt.refreshOK && refreshed.Status != http.StatusOK {
				t.Errorf("refresh: %s, want 200", refreshed)
			}
			if !tt.refreshOK {
				wantOAuthError(t, refreshed, http.StatusBadRequest, "invalid_grant")
			}
			info := userinfo(t, op, tok.AccessToken)
			if tt.userinfoOK && info.Status != http.StatusOK {
				t.Errorf("userinfo: %s, want 200", info)
			}
			if !tt.userinfoOK {
				wantOAuthError(t, info, http.StatusUnauthorized, "invalid_token")
			}
		})
	}
}
