package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/oidctest"
)

// redirector is a server in front of a provider. Under /cross/ it redirects
// (307) to the provider itself, another origin; under /same/ it redirects to
// its own /proxy/, which forwards to the provider: a redirect that stays on
// the origin of the endpoint the discovery document names.
func redirector(t *testing.T, op *oidctest.Server) *httptest.Server {
	t.Helper()
	target, err := url.Parse(op.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/proxy")
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("/cross/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, op.URL+strings.TrimPrefix(r.URL.Path, "/cross"), http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/same/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/proxy"+strings.TrimPrefix(r.URL.Path, "/same"), http.StatusTemporaryRedirect)
	})
	mux.Handle("/proxy/", proxy)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestEndpointRedirects puts each endpoint the client calls behind a
// redirect. A redirect to another origin is refused before anything is sent
// there: a token request carries the code, the PKCE verifier and the client's
// credentials, a userinfo or revocation request a token. A redirect that
// stays on the endpoint's origin is followed.
func TestEndpointRedirects(t *testing.T) {
	tests := []struct {
		endpoint string // the discovery member moved behind the redirector
		// call runs what uses the endpoint, after a login when that needs
		// the endpoint untouched.
		call func(t *testing.T, op *oidctest.Server, rp *client.RP, move func()) error
		sent func(oidctest.Stats) int // requests the provider answered at that endpoint
	}{
		{
			endpoint: "token_endpoint",
			call: func(t *testing.T, op *oidctest.Server, rp *client.RP, move func()) error {
				move()
				_, err := login(t, rp, client.AuthRequest{})
				return err
			},
			sent: func(s oidctest.Stats) int { return s.CodeGrants + s.FailedGrants },
		},
		{
			endpoint: "token_endpoint (refresh)",
			call: func(t *testing.T, op *oidctest.Server, rp *client.RP, move func()) error {
				tokens, err := login(t, rp, client.AuthRequest{})
				if err != nil {
					t.Fatal(err)
				}
				move()
				_, err = rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken)
				return err
			},
			sent: func(s oidctest.Stats) int { return s.RefreshGrants + s.FailedGrants },
		},
		{
			endpoint: "userinfo_endpoint",
			call: func(t *testing.T, op *oidctest.Server, rp *client.RP, move func()) error {
				tokens, err := login(t, rp, client.AuthRequest{})
				if err != nil {
					t.Fatal(err)
				}
				move()
				_, err = rp.UserInfo(testContext(t), tokens.AccessToken, tokens.IDToken.Subject)
				return err
			},
			sent: func(s oidctest.Stats) int { return s.UserInfoRequests },
		},
		{
			endpoint: "revocation_endpoint",
			call: func(t *testing.T, op *oidctest.Server, rp *client.RP, move func()) error {
				tokens, err := login(t, rp, client.AuthRequest{})
				if err != nil {
					t.Fatal(err)
				}
				move()
				return rp.Revoke(testContext(t), tokens.RefreshToken, "refresh_token")
			},
			sent: func(s oidctest.Stats) int { return s.Revocations },
		},
	}
	for _, tt := range tests {
		for _, mode := range []string{"cross", "same"} {
			t.Run(tt.endpoint+"/"+mode, func(t *testing.T) {
				op, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true}, nil)
				front := redirector(t, op)
				member, _, _ := strings.Cut(tt.endpoint, " ")
				move := func() {
					op.SetHooks(oidctest.Hooks{Discovery: func(doc map[string]any) {
						path := strings.TrimPrefix(doc[member].(string), op.URL)
						doc[member] = front.URL + "/" + mode + path
					}})
					if _, err := rp.Provider().Refresh(testContext(t)); err != nil {
						t.Fatalf("re-discovery: %v", err)
					}
				}
				before := tt.sent(op.Stats())

				err := tt.call(t, op, rp, move)
				sent := tt.sent(op.Stats()) - before
				if mode == "same" {
					if err != nil {
						t.Fatalf("after a same-origin redirect: %v", err)
					}
					if sent != 1 {
						t.Errorf("the provider answered %d requests at the endpoint, want 1", sent)
					}
					return
				}
				if err == nil {
					t.Fatal("the call followed a redirect to another origin")
				}
				if !errors.Is(err, client.ErrProviderResponse) || !errors.Is(err, httpx.ErrRedirect) {
					t.Errorf("err = %v, want ErrProviderResponse wrapping httpx.ErrRedirect", err)
				}
				if sent != 0 {
					t.Errorf("the other origin answered %d requests, want 0", sent)
				}
			})
		}
	}
}
