package client_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestCallbackViolations feeds authorization and token responses that break
// RFC 6749, RFC 7636 and RFC 9207 and asserts the error of each.
func TestCallbackViolations(t *testing.T) {
	tests := []struct {
		name  string
		hooks oidctest.Hooks
		edit  func(flow *client.Flow, q url.Values) // tamper with what reaches Callback
		want  error
	}{
		{
			name:  "state changed",
			hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Set("state", "forged") }},
			want:  client.ErrStateMismatch,
		},
		{
			name:  "state missing",
			hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("state") }},
			want:  client.ErrStateMismatch,
		},
		{
			name: "flow without state",
			edit: func(f *client.Flow, q url.Values) { f.State = ""; q.Set("state", "") },
			want: client.ErrStateMismatch,
		},
		{
			name:  "iss of another issuer",
			hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Set("iss", "https://evil.example.com") }},
			want:  client.ErrResponseIssuer,
		},
		{
			name:  "iss missing though advertised",
			hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("iss") }},
			want:  client.ErrMissingIssuer,
		},
		{
			name: "iss missing and not advertised",
			hooks: oidctest.Hooks{
				AuthorizeResponse: func(q url.Values) { q.Del("iss") },
				Discovery:         func(d map[string]any) { delete(d, "authorization_response_iss_parameter_supported") },
			},
		},
		{
			name:  "error response",
			hooks: oidctest.Hooks{AuthorizeResponse: denied},
			want:  &client.AuthError{Code: "access_denied", Description: "the user said no"},
		},
		{
			name:  "no code",
			hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code") }},
			want:  client.ErrMissingCode,
		},
		{
			name: "repeated parameter",
			edit: func(_ *client.Flow, q url.Values) { q.Add("code", "second") },
			want: client.ErrMalformedResponse,
		},
		{
			name: "wrong PKCE verifier",
			edit: func(f *client.Flow, _ url.Values) { f.Verifier = otherChar(f.Verifier[0]) + f.Verifier[1:] },
			want: client.ErrInvalidGrant,
		},
		{
			name: "forged code",
			edit: func(_ *client.Flow, q url.Values) { q.Set("code", "forged") },
			want: client.ErrInvalidGrant,
		},
		{
			name:  "token endpoint fails",
			hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 500, "server_error" }},
			want:  client.ErrProviderUnavailable,
		},
		{
			name:  "token endpoint garbles",
			hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "" }},
			want:  client.ErrProviderResponse,
		},
		{
			name:  "no id_token",
			hooks: oidctest.Hooks{TokenResponse: func(_ string, r map[string]any) { delete(r, "id_token") }},
			want:  client.ErrProviderResponse,
		},
		{
			name:  "no access_token",
			hooks: oidctest.Hooks{TokenResponse: func(_ string, r map[string]any) { delete(r, "access_token") }},
			want:  client.ErrProviderResponse,
		},
		{
			name:  "token_type not Bearer",
			hooks: oidctest.Hooks{TokenResponse: func(_ string, r map[string]any) { r["token_type"] = "MAC" }},
			want:  client.ErrProviderResponse,
		},
		{
			name:  "token_type bearer in lower case",
			hooks: oidctest.Hooks{TokenResponse: func(_ string, r map[string]any) { r["token_type"] = "bearer" }},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newRP(t, oidctest.Config{}, nil)
			op.SetHooks(tt.hooks)
			if tt.hooks.Discovery != nil {
				rp.Provider().Refresh(testContext(t))
			}
			u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			q := authorize(t, u)
			if tt.edit != nil {
				tt.edit(&flow, q)
			}
			tokens, err := rp.Callback(testContext(t), flow, q)
			var wantAuth *client.AuthError
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Callback: %v", err)
			case tt.want == nil:
				return
			case errors.As(tt.want, &wantAuth):
				var got *client.AuthError
				if !errors.As(err, &got) || *got != *wantAuth {
					t.Fatalf("err = %#v, want %#v", err, wantAuth)
				}
			case !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tokens != nil {
				t.Fatal("tokens returned with an error")
			}
		})
	}
}

// otherChar is a base64url character other than c.
func otherChar(c byte) string {
	if c == 'x' {
		return "y"
	}
	return "x"
}

func denied(q url.Values) {
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", "the user said no")
}

func TestCodeReplay(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	u, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	q := authorize(t, u)
	if _, err := rp.Callback(testContext(t), flow, q); err != nil {
		t.Fatal(err)
	}
	_, err := rp.Callback(testContext(t), flow, q)
	var te *client.TokenError
	if !errors.Is(err, client.ErrInvalidGrant) || !errors.As(err, &te) || te.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed code: err = %v, want a 400 invalid_grant *TokenError", err)
	}
}

func TestProviderDown(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	u, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	q := authorize(t, u)
	op.SetDown(true)
	if _, err := rp.Callback(testContext(t), flow, q); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("provider answering 503: err = %v", err)
	}
	op.Close()
	if _, err := rp.Callback(testContext(t), flow, q); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("provider gone: err = %v", err)
	}
}

func TestAuthMethods(t *testing.T) {
	public := oidctest.Client{ID: "public-app"}
	confidential := oidctest.Client{ID: "web-app", Secret: "web-app-secret-0123456789abcdefghij"}
	tests := []struct {
		name   string
		client oidctest.Client
		method client.AuthMethod
		secret string
		want   error
	}{
		{"basic by default", confidential, "", confidential.Secret, nil},
		{"post", confidential, client.AuthClientSecretPost, confidential.Secret, nil},
		{"none for a public client", public, "", "", nil},
		{"wrong secret", confidential, client.AuthClientSecretBasic, "wrong", &client.TokenError{Code: "invalid_client"}},
		{"secret missing", confidential, client.AuthNone, "", &client.TokenError{Code: "invalid_client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rp := newRP(t, oidctest.Config{Clients: []oidctest.Client{tt.client}}, func(c *client.Config) {
				c.ClientSecret, c.AuthMethod = tt.secret, tt.method
			})
			_, err := login(t, rp, client.AuthRequest{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			var te *client.TokenError
			if !errors.As(err, &te) || te.Code != tt.want.(*client.TokenError).Code {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAuthResponse(t *testing.T) {
	tests := []struct {
		query string
		want  *client.AuthResponse
		err   error
	}{
		{"code=c&state=s&iss=https%3A%2F%2Fop", &client.AuthResponse{Code: "c", State: "s", Issuer: "https://op"}, nil},
		{"state=s&error=access_denied&error_description=no&error_uri=https%3A%2F%2Fe",
			&client.AuthResponse{State: "s", Error: &client.AuthError{Code: "access_denied", Description: "no", URI: "https://e"}}, nil},
		{"code=a&code=b", nil, client.ErrMalformedResponse},
		{"state=a&state=b", nil, client.ErrMalformedResponse},
		{"error=a&error=b", nil, client.ErrMalformedResponse},
		{"", &client.AuthResponse{}, nil},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := client.ParseAuthResponse(q)
		if !errors.Is(err, tt.err) {
			t.Errorf("%q: err = %v, want %v", tt.query, err, tt.err)
			continue
		}
		if tt.want == nil {
			continue
		}
		if got.Code != tt.want.Code || got.State != tt.want.State || got.Issuer != tt.want.Issuer ||
			(got.Error == nil) != (tt.want.Error == nil) || (got.Error != nil && *got.Error != *tt.want.Error) {
			t.Errorf("%q: got %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

func TestAuthErrorMessage(t *testing.T) {
	for _, e := range []*client.AuthError{{Code: "access_denied"}, {Code: "login_required", Description: "log in"}} {
		if e.Error() == "" {
			t.Errorf("%#v: empty message", e)
		}
	}
	for _, e := range []*client.TokenError{{Code: "invalid_grant"}, {Code: "invalid_grant", Description: "x"}, {StatusCode: 502}} {
		if e.Error() == "" {
			t.Errorf("%#v: empty message", e)
		}
	}
}

// TestResponseErrorsMatchUmbrella: every error of an authorization-response
// check matches ErrInvalidResponse, and no other error does.
func TestResponseErrorsMatchUmbrella(t *testing.T) {
	for _, err := range []error{
		client.ErrMalformedResponse, client.ErrStateMismatch, client.ErrResponseIssuer,
		client.ErrMissingIssuer, client.ErrMissingCode,
	} {
		if !errors.Is(err, client.ErrInvalidResponse) || errors.Is(err, client.ErrInvalidToken) {
			t.Errorf("%v: matches ErrInvalidResponse %v, ErrInvalidToken %v", err, errors.Is(err, client.ErrInvalidResponse), errors.Is(err, client.ErrInvalidToken))
		}
	}
	for _, err := range []error{client.ErrInvalidGrant, client.ErrExpired, client.ErrProviderResponse, &client.AuthError{Code: "access_denied"}} {
		if errors.Is(err, client.ErrInvalidResponse) {
			t.Errorf("%v matches ErrInvalidResponse", err)
		}
	}
}

// TestNewErrors: client.New says what went wrong in its own terms, with
// the discovery package's error wrapped.
func TestNewErrors(t *testing.T) {
	down := oidctest.NewServer(oidctest.Config{})
	down.Close()
	liar := oidctest.NewServer(oidctest.Config{})
	defer liar.Close()
	liar.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["issuer"] = "https://elsewhere.example.com" }})
	tests := []struct {
		name      string
		issuer    string
		want, via error
	}{
		{"unreachable", down.URL, client.ErrProviderUnavailable, discovery.ErrFetch},
		{"another issuer", liar.URL, client.ErrProviderResponse, discovery.ErrIssuerMismatch},
		{"http off loopback", "http://op.example.com", client.ErrInvalidConfig, discovery.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.New(testContext(t), client.Config{Issuer: tt.issuer, ClientID: "c", RedirectURL: "http://127.0.0.1/cb"})
			if !errors.Is(err, tt.want) || !errors.Is(err, tt.via) {
				t.Fatalf("New: %v, want %v wrapping %v", err, tt.want, tt.via)
			}
		})
	}
}
