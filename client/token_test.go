package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestTokenResponseTypes feeds token responses whose members have the wrong
// JSON type (RFC 6749 section 5.1): each is ErrProviderResponse.
func TestTokenResponseTypes(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r map[string]any)
		want  error
		check func(t *testing.T, tok *client.Tokens)
	}{
		{name: "access_token a number", edit: func(r map[string]any) { r["access_token"] = 42 }, want: client.ErrProviderResponse},
		{name: "access_token null", edit: func(r map[string]any) { r["access_token"] = nil }, want: client.ErrProviderResponse},
		{name: "token_type missing", edit: func(r map[string]any) { delete(r, "token_type") }, want: client.ErrProviderResponse},
		{name: "token_type a bool", edit: func(r map[string]any) { r["token_type"] = true }, want: client.ErrProviderResponse},
		{name: "expires_in a string", edit: func(r map[string]any) { r["expires_in"] = "3600" }, want: client.ErrProviderResponse},
		{name: "expires_in a fraction", edit: func(r map[string]any) { r["expires_in"] = 3600.5 }, want: client.ErrProviderResponse},
		{name: "expires_in negative", edit: func(r map[string]any) { r["expires_in"] = -1 }, want: client.ErrProviderResponse},
		{name: "expires_in absurd", edit: func(r map[string]any) { r["expires_in"] = 1e15 }, want: client.ErrProviderResponse},
		{name: "id_token a number", edit: func(r map[string]any) { r["id_token"] = 1 }, want: client.ErrProviderResponse},
		{name: "refresh_token an object", edit: func(r map[string]any) { r["refresh_token"] = map[string]any{} }, want: client.ErrProviderResponse},
		{name: "scope an array", edit: func(r map[string]any) { r["scope"] = []string{"openid"} }, want: client.ErrProviderResponse},
		{name: "error a number", edit: func(r map[string]any) { r["error"] = 1 }, want: client.ErrProviderResponse},
		{
			name: "optional members null",
			edit: func(r map[string]any) {
				r["refresh_token"], r["scope"], r["expires_in"], r["error"] = nil, nil, nil, nil
			},
			check: func(t *testing.T, tok *client.Tokens) {
				if tok.RefreshToken != "" || tok.Scope != "" || !tok.Expiry.IsZero() {
					t.Errorf("tokens = %+v", tok)
				}
			},
		},
		{
			name: "expires_in zero: no expiry",
			edit: func(r map[string]any) { r["expires_in"] = 0 },
			check: func(t *testing.T, tok *client.Tokens) {
				if !tok.Expiry.IsZero() {
					t.Errorf("expiry %v", tok.Expiry)
				}
			},
		},
		{
			name: "members read",
			edit: func(r map[string]any) { r["expires_in"], r["scope"] = 120, "openid email" },
			check: func(t *testing.T, tok *client.Tokens) {
				if tok.Scope != "openid email" || time.Until(tok.Expiry) > 2*time.Minute || time.Until(tok.Expiry) < time.Minute {
					t.Errorf("tokens = %+v", tok)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newRP(t, oidctest.Config{}, nil)
			op.SetHooks(oidctest.Hooks{TokenResponse: func(_ string, r map[string]any) { tt.edit(r) }})
			tok, err := login(t, rp, client.AuthRequest{})
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, tok)
			}
		})
	}
}

// tokenEndpoint is a token endpoint that answers as the test says, in
// place of the provider's, and records what it was sent.
type tokenEndpoint struct {
	*httptest.Server
	answer func(w http.ResponseWriter, r *http.Request)
	got    chan *http.Request // each request, its form parsed
}

// newFakeTokenEndpoint serves answer at op's token endpoint, and returns an
// RP whose HTTP client times out after timeout.
func newFakeTokenEndpoint(t *testing.T, answer func(w http.ResponseWriter, r *http.Request), timeout time.Duration) (*tokenEndpoint, *client.RP) {
	t.Helper()
	te := &tokenEndpoint{answer: answer, got: make(chan *http.Request, 10)}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		select {
		case te.got <- r:
		default:
		}
		te.answer(w, r)
	}))
	t.Cleanup(te.Close)
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["token_endpoint"] = te.URL + "/token" }})
	rp, err := client.New(testContext(t), client.Config{
		Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret,
		RedirectURL: "http://127.0.0.1/callback",
		HTTPClient:  &http.Client{Timeout: timeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return te, rp
}

func answer(status int, contentType, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// TestTokenEndpointAnswers classifies the token endpoint's answers: RFC 6749
// errors, server errors, garbled answers, oversized ones, timeouts.
func TestTokenEndpointAnswers(t *testing.T) {
	long := strings.Repeat("the grant is not valid; ", 100) // 2,400 bytes, like Entra's descriptions with trace IDs
	tests := []struct {
		name        string
		answer      func(http.ResponseWriter, *http.Request)
		want        []error
		wantCode    string // of the *TokenError, when one is wanted
		wantStatus  int
		description string
	}{
		{name: "invalid_grant with a long description", answer: answer(400, "application/json", `{"error":"invalid_grant","error_description":"`+long+`","error_uri":"https://op.example/e"}`),
			want: []error{client.ErrInvalidGrant}, wantCode: "invalid_grant", wantStatus: 400, description: long},
		{name: "invalid_client", answer: answer(401, "application/json;charset=utf-8", `{"error":"invalid_client"}`),
			wantCode: "invalid_client", wantStatus: 401},
		{name: "400 in HTML", answer: answer(400, "text/html", `<h1>Bad Request</h1>`),
			want: []error{client.ErrProviderResponse}, wantCode: "", wantStatus: 400},
		{name: "502 in HTML", answer: answer(502, "text/html", `<h1>Bad Gateway</h1>`),
			want: []error{client.ErrProviderUnavailable}, wantCode: "", wantStatus: 502},
		{name: "503 with an error code", answer: answer(503, "application/json", `{"error":"temporarily_unavailable"}`),
			want: []error{client.ErrProviderUnavailable}, wantCode: "temporarily_unavailable", wantStatus: 503},
		{name: "200 with an error", answer: answer(200, "application/json", `{"error":"invalid_grant"}`),
			want: []error{client.ErrInvalidGrant}, wantCode: "invalid_grant", wantStatus: 200},
		{name: "200 not JSON", answer: answer(200, "text/plain", `access_token=x&token_type=bearer`),
			want: []error{client.ErrProviderResponse}},
		{name: "200 a JSON array", answer: answer(200, "application/json", `[]`),
			want: []error{client.ErrProviderResponse}},
		{name: "200 null", answer: answer(200, "application/json", `null`),
			want: []error{client.ErrProviderResponse}},
		{name: "200 over a megabyte", answer: answer(200, "application/json", `{"access_token":"`+strings.Repeat("a", 1<<20)+`","token_type":"Bearer"}`),
			want: []error{client.ErrProviderResponse}},
		{name: "timeout", answer: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			want: []error{client.ErrProviderUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rp := newFakeTokenEndpoint(t, tt.answer, 500*time.Millisecond)
			tok, err := rp.Refresh(testContext(t), "a-refresh-token", "")
			if err == nil || tok != nil {
				t.Fatalf("Refresh = %v, %v", tok, err)
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			var te *client.TokenError
			if tt.wantStatus == 0 {
				if errors.As(err, &te) {
					t.Errorf("err = %v is a *TokenError", err)
				}
				return
			}
			if !errors.As(err, &te) || te.Code != tt.wantCode || te.StatusCode != tt.wantStatus {
				t.Fatalf("err = %#v, want a *TokenError %q %d", err, tt.wantCode, tt.wantStatus)
			}
			if tt.description != "" && te.Description != tt.description {
				t.Errorf("description of %d bytes, want %d", len(te.Description), len(tt.description))
			}
			// What golang.org/x/oauth2 returned is still inside.
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != tt.wantCode || re.Response.StatusCode != tt.wantStatus {
				t.Errorf("no *oauth2.RetrieveError in %v", err)
			}
		})
	}
}

// TestTokenRequestForm checks what code exchange and refresh send: a form,
// with the grant's parameters and one client authentication.
func TestTokenRequestForm(t *testing.T) {
	te, rp := newFakeTokenEndpoint(t, answer(200, "application/json", `{"access_token":"at","token_type":"Bearer"}`), 5*time.Second)
	tok, err := rp.Refresh(testContext(t), "rt-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "rt-1" {
		t.Errorf("refresh token not kept when not rotated: %q", tok.RefreshToken)
	}
	r := <-te.got
	id, secret, basic := r.BasicAuth()
	want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/token":
		t.Errorf("%s %s", r.Method, r.URL)
	case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("Accept") != "application/json":
		t.Errorf("headers %v", r.Header)
	case !basic || id != oidctest.DefaultClient.ID || secret != oidctest.DefaultClient.Secret:
		t.Errorf("Basic %q %q %v", id, secret, basic)
	case r.PostForm.Encode() != want.Encode():
		t.Errorf("form %v, want %v", r.PostForm, want)
	}
}
