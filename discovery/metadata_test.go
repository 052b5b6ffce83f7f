package discovery

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckIssuerURL(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		wantErr   bool
	}{
		{name: "https", raw: "https://op.example.com"},
		{name: "https with port, path and query", raw: "https://op.example.com:8443/a/b?c=d"},
		{name: "upper-case scheme", raw: "HTTPS://op.example.com"},
		{name: "http on 127.0.0.1", raw: "http://127.0.0.1:8080/cb"},
		{name: "http on another loopback address", raw: "http://127.1.2.3"},
		{name: "http on ::1", raw: "http://[::1]:8080"},
		{name: "http on localhost", raw: "http://localhost"},
		{name: "http on LocalHost", raw: "http://LocalHost:3000"},
		{name: "http on a public host", raw: "http://op.example.com", wantErr: true},
		{name: "http on a public host allowed", raw: "http://op.example.com", allowHTTP: true},
		{name: "http on a subdomain of localhost", raw: "http://evil.localhost", wantErr: true},
		{name: "http on localhost as a subdomain", raw: "http://localhost.example.com", wantErr: true},
		{name: "http on a loopback-looking name", raw: "http://127.0.0.1.example.com", wantErr: true},
		{name: "http with loopback userinfo", raw: "http://localhost:80@example.com", wantErr: true},
		{name: "http on 0.0.0.0", raw: "http://0.0.0.0", wantErr: true},
		{name: "http on a private address", raw: "http://10.0.0.1", wantErr: true},
		{name: "other scheme", raw: "ftp://op.example.com", wantErr: true},
		{name: "other scheme with allowHTTP", raw: "ftp://op.example.com", allowHTTP: true, wantErr: true},
		{name: "javascript", raw: "javascript:alert(1)", wantErr: true},
		{name: "relative path", raw: "/token", wantErr: true},
		{name: "host without scheme", raw: "op.example.com", wantErr: true},
		{name: "scheme-relative", raw: "//op.example.com/token", wantErr: true},
		{name: "no host", raw: "https:///token", wantErr: true},
		{name: "empty", raw: "", wantErr: true},
		{name: "not a URL", raw: "https://op.example.com/%zz", wantErr: true},
		{name: "space in host", raw: "https://op example.com", wantErr: true},
		{name: "control character", raw: "https://op.example.com/\x7f\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkIssuerURL(tt.raw, tt.allowHTTP)
			if (err != nil) != tt.wantErr {
				t.Errorf("checkIssuerURL(%q, %v) = %v, want error: %v", tt.raw, tt.allowHTTP, err, tt.wantErr)
			}
		})
	}
}

// validMetadata is a document Validate accepts without allowHTTP.
func validMetadata() *Metadata {
	return &Metadata{
		Issuer:                "https://op.example.com",
		AuthorizationEndpoint: "https://op.example.com/authorize",
		TokenEndpoint:         "https://op.example.com/token",
		JWKSURI:               "https://op.example.com/jwks",
	}
}

func TestValidate(t *testing.T) {
	const public = "http://op.example.com/x" // http on a non-loopback host
	tests := []struct {
		name      string
		edit      func(md *Metadata)
		allowHTTP bool
		wantField string // "" means valid
	}{
		{name: "minimal", edit: func(*Metadata) {}},
		{
			name: "every endpoint",
			edit: func(md *Metadata) {
				md.UserinfoEndpoint = "https://op.example.com/userinfo"
				md.RegistrationEndpoint = "https://op.example.com/register"
				md.RevocationEndpoint = "https://op.example.com/revoke"
				md.IntrospectionEndpoint = "https://op.example.com/introspect"
				md.PushedAuthorizationRequestEndpoint = "https://op.example.com/par"
				md.DeviceAuthorizationEndpoint = "https://op.example.com/device"
				md.EndSessionEndpoint = "https://op.example.com/logout"
			},
		},
		{
			name: "loopback http",
			edit: func(md *Metadata) {
				*md = Metadata{
					Issuer:                "http://127.0.0.1:9999",
					AuthorizationEndpoint: "http://localhost:9999/authorize",
					TokenEndpoint:         "http://[::1]:9999/token",
					JWKSURI:               "http://127.0.0.1:9999/jwks",
				}
			},
		},
		{name: "issuer with a path", edit: func(md *Metadata) { md.Issuer = "https://op.example.com/tenant/" }},
		{name: "endpoints on another host", edit: func(md *Metadata) { md.TokenEndpoint = "https://api.example.net/token" }},
		{name: "endpoint with a query", edit: func(md *Metadata) { md.AuthorizationEndpoint += "?tenant=a" }},
		{name: "missing issuer", edit: func(md *Metadata) { md.Issuer = "" }, wantField: "issuer"},
		{name: "missing authorization_endpoint", edit: func(md *Metadata) { md.AuthorizationEndpoint = "" }, wantField: "authorization_endpoint"},
		{name: "missing token_endpoint", edit: func(md *Metadata) { md.TokenEndpoint = "" }, wantField: "token_endpoint"},
		{name: "missing jwks_uri", edit: func(md *Metadata) { md.JWKSURI = "" }, wantField: "jwks_uri"},
		{name: "http issuer", edit: func(md *Metadata) { md.Issuer = "http://op.example.com" }, wantField: "issuer"},
		{name: "http issuer allowed", edit: func(md *Metadata) { md.Issuer = "http://op.example.com" }, allowHTTP: true},
		{name: "relative issuer", edit: func(md *Metadata) { md.Issuer = "op.example.com" }, wantField: "issuer"},
		{name: "issuer not a URL", edit: func(md *Metadata) { md.Issuer = "https://op.example.com/%zz" }, wantField: "issuer"},
		{name: "issuer with a query", edit: func(md *Metadata) { md.Issuer += "?a=b" }, wantField: "issuer"},
		{name: "issuer with a fragment", edit: func(md *Metadata) { md.Issuer += "#top" }, wantField: "issuer"},
		{name: "http authorization_endpoint", edit: func(md *Metadata) { md.AuthorizationEndpoint = public }, wantField: "authorization_endpoint"},
		{name: "http token_endpoint", edit: func(md *Metadata) { md.TokenEndpoint = public }, wantField: "token_endpoint"},
		{name: "http jwks_uri", edit: func(md *Metadata) { md.JWKSURI = public }, wantField: "jwks_uri"},
		{name: "http userinfo_endpoint", edit: func(md *Metadata) { md.UserinfoEndpoint = public }, wantField: "userinfo_endpoint"},
		{name: "http registration_endpoint", edit: func(md *Metadata) { md.RegistrationEndpoint = public }, wantField: "registration_endpoint"},
		{name: "http revocation_endpoint", edit: func(md *Metadata) { md.RevocationEndpoint = public }, wantField: "revocation_endpoint"},
		{name: "http introspection_endpoint", edit: func(md *Metadata) { md.IntrospectionEndpoint = public }, wantField: "introspection_endpoint"},
		{
			name:      "http pushed_authorization_request_endpoint",
			edit:      func(md *Metadata) { md.PushedAuthorizationRequestEndpoint = public },
			wantField: "pushed_authorization_request_endpoint",
		},
		{
			name:      "http device_authorization_endpoint",
			edit:      func(md *Metadata) { md.DeviceAuthorizationEndpoint = public },
			wantField: "device_authorization_endpoint",
		},
		{name: "http end_session_endpoint", edit: func(md *Metadata) { md.EndSessionEndpoint = public }, wantField: "end_session_endpoint"},
		{
			name: "every http endpoint allowed",
			edit: func(md *Metadata) {
				md.TokenEndpoint, md.UserinfoEndpoint, md.EndSessionEndpoint = public, public, public
			},
			allowHTTP: true,
		},
		{name: "relative endpoint", edit: func(md *Metadata) { md.TokenEndpoint = "/token" }, wantField: "token_endpoint"},
		{name: "endpoint of another scheme", edit: func(md *Metadata) { md.JWKSURI = "file:///etc/jwks" }, wantField: "jwks_uri"},
		{name: "endpoint not a URL", edit: func(md *Metadata) { md.UserinfoEndpoint = "https://op.example.com/%zz" }, wantField: "userinfo_endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := validMetadata()
			tt.edit(md)
			err := md.Validate(tt.allowHTTP)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantMetadataError(t, err, tt.wantField)
		})
	}
}

func TestSupportsPKCE(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
		want    bool
	}{
		{"absent", nil, false},
		{"plain only", []string{"plain"}, false},
		{"S256", []string{"plain", "S256"}, true},
		{"case matters", []string{"s256"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := &Metadata{CodeChallengeMethodsSupported: tt.methods}
			if got := md.SupportsPKCE(); got != tt.want {
				t.Errorf("SupportsPKCE() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSupportsAuthMethod(t *testing.T) {
	tests := []struct {
		name      string
		supported []string
		method    string
		want      bool
	}{
		{"absent: basic by default", nil, "client_secret_basic", true},
		{"absent: not post", nil, "client_secret_post", false},
		{"absent: not private_key_jwt", nil, "private_key_jwt", false},
		{"listed", []string{"client_secret_post", "private_key_jwt"}, "private_key_jwt", true},
		{"listed without basic", []string{"client_secret_post"}, "client_secret_basic", false},
		{"empty list is absent", []string{}, "client_secret_basic", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := &Metadata{TokenEndpointAuthMethodsSupported: tt.supported}
			if got := md.SupportsAuthMethod(tt.method); got != tt.want {
				t.Errorf("SupportsAuthMethod(%q) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	doc := `{
		"issuer": "https://op.example.com",
		"authorization_endpoint": "https://op.example.com/authorize",
		"token_endpoint": "https://op.example.com/token",
		"jwks_uri": "https://op.example.com/jwks",
		"end_session_endpoint": "https://op.example.com/logout",
		"pushed_authorization_request_endpoint": "https://op.example.com/par",
		"require_pushed_authorization_requests": true,
		"backchannel_logout_supported": true,
		"authorization_response_iss_parameter_supported": true,
		"request_uri_parameter_supported": false,
		"code_challenge_methods_supported": ["S256"],
		"token_endpoint_auth_methods_supported": ["private_key_jwt"],
		"id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
		"x_unknown": {"nested": [1, 2, 3]}
	}`
	md, err := ParseMetadata([]byte(doc))
	if err != nil {
		t.Fatalf("ParseMetadata: %v", err)
	}
	if err := md.Validate(false); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if md.EndSessionEndpoint != "https://op.example.com/logout" || md.PushedAuthorizationRequestEndpoint != "https://op.example.com/par" {
		t.Errorf("endpoints = %q, %q", md.EndSessionEndpoint, md.PushedAuthorizationRequestEndpoint)
	}
	if !md.RequirePushedAuthorizationRequests || !md.BackchannelLogoutSupported || !md.AuthorizationResponseISSParameterSupported {
		t.Error("a boolean member was not decoded")
	}
	if md.RequestURIParameterSupported == nil || *md.RequestURIParameterSupported {
		t.Errorf("RequestURIParameterSupported = %v, want a pointer to false", md.RequestURIParameterSupported)
	}
	if !md.SupportsPKCE() || !md.SupportsAuthMethod("private_key_jwt") || md.SupportsAuthMethod("client_secret_basic") {
		t.Error("supported methods were not decoded")
	}

	// Round trip: what we encode, we decode the same.
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the document:\n%s\n%s", b, b2)
	}

	absent, err := ParseMetadata([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if absent.RequestURIParameterSupported != nil {
		t.Error("RequestURIParameterSupported is set for a document without it")
	}
}

func TestParseMetadataErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"not JSON", "<html>"},
		{"truncated", `{"issuer": "https://op.example.com"`},
		{"array", `["https://op.example.com"]`},
		{"string", `"https://op.example.com"`},
		{"issuer a number", `{"issuer": 1}`},
		{"list a string", `{"scopes_supported": "openid"}`},
		{"flag a string", `{"backchannel_logout_supported": "true"}`},
		{"trailing garbage", `{} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseMetadata([]byte(tt.body))
			if md != nil {
				t.Error("metadata returned with an error")
			}
			me := wantMetadataError(t, err, "")
			if me.Err == nil {
				t.Error("MetadataError.Err = nil, want the decode error")
			}
			if errors.Unwrap(err) != me.Err {
				t.Error("MetadataError does not unwrap to its Err")
			}
		})
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://op.example.com","authorization_endpoint":"https://op.example.com/a",` +
		`"token_endpoint":"https://op.example.com/t","jwks_uri":"https://op.example.com/k"}`))
	f.Add([]byte(`{"issuer":"http://127.0.0.1:8080","authorization_endpoint":"http://localhost/a",` +
		`"token_endpoint":"http://[::1]/t","jwks_uri":"http://127.0.0.1/k","end_session_endpoint":"http://example.com/l"}`))
	f.Add([]byte(`{"issuer":"https://op.example.com?x#y","request_uri_parameter_supported":false}`))
	f.Add([]byte(`{"issuer":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := ParseMetadata(body)
		if err != nil {
			var me *MetadataError
			if !errors.As(err, &me) || !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("ParseMetadata: err = %v, want a *MetadataError", err)
			}
			return
		}
		strict := md.Validate(false)
		lax := md.Validate(true)
		for _, err := range []error{strict, lax} {
			if err == nil {
				continue
			}
			var me *MetadataError
			if !errors.As(err, &me) || me.Field == "" || !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("Validate: err = %v, want a *MetadataError naming a field", err)
			}
		}
		if strict == nil {
			if lax != nil {
				t.Fatalf("valid without http but not with it: %v", lax)
			}
			if err := checkIssuerURL(md.Issuer, false); err != nil {
				t.Fatalf("Validate accepted issuer %q: %v", md.Issuer, err)
			}
		}
	})
}

// TestValidateLoopbackHTTP checks that http endpoints on loopback hosts are
// accepted only from a provider that is itself a loopback http issuer (a
// development or test provider): a public https issuer naming
// http://127.0.0.1/... would have the relying party send codes and secrets
// in clear to whatever listens on its own machine.
func TestValidateLoopbackHTTP(t *testing.T) {
	tests := []struct {
		name      string
		md        Metadata
		allowHTTP bool
		wantField string // "" means valid
	}{
		{
			name: "https issuer, http loopback token_endpoint",
			md: Metadata{
				Issuer:                "https://op.example.com",
				AuthorizationEndpoint: "https://op.example.com/authorize",
				TokenEndpoint:         "http://127.0.0.1/token",
				JWKSURI:               "https://op.example.com/jwks",
			},
			wantField: "token_endpoint",
		},
		{
			name: "https issuer, http localhost jwks_uri",
			md: Metadata{
				Issuer:                "https://op.example.com",
				AuthorizationEndpoint: "https://op.example.com/authorize",
				TokenEndpoint:         "https://op.example.com/token",
				JWKSURI:               "http://localhost:8080/jwks",
			},
			wantField: "jwks_uri",
		},
		{
			name: "https issuer, http loopback userinfo_endpoint",
			md: Metadata{
				Issuer:                "https://op.example.com",
				AuthorizationEndpoint: "https://op.example.com/authorize",
				TokenEndpoint:         "https://op.example.com/token",
				JWKSURI:               "https://op.example.com/jwks",
				UserinfoEndpoint:      "http://[::1]/userinfo",
			},
			wantField: "userinfo_endpoint",
		},
		{
			name: "https loopback issuer, http loopback token_endpoint",
			md: Metadata{
				Issuer:                "https://127.0.0.1:8443",
				AuthorizationEndpoint: "https://127.0.0.1:8443/authorize",
				TokenEndpoint:         "http://127.0.0.1:8080/token",
				JWKSURI:               "https://127.0.0.1:8443/jwks",
			},
			wantField: "token_endpoint",
		},
		{
			name: "https issuer, http loopback token_endpoint, InsecureAllowHTTP",
			md: Metadata{
				Issuer:                "https://op.example.com",
				AuthorizationEndpoint: "https://op.example.com/authorize",
				TokenEndpoint:         "http://127.0.0.1/token",
				JWKSURI:               "https://op.example.com/jwks",
			},
			allowHTTP: true,
		},
		{
			name: "http loopback issuer, http loopback endpoints",
			md: Metadata{
				Issuer:                "http://127.0.0.1:9999",
				AuthorizationEndpoint: "http://localhost:9999/authorize",
				TokenEndpoint:         "http://[::1]:9999/token",
				JWKSURI:               "http://127.0.0.1:9999/jwks",
				EndSessionEndpoint:    "http://127.0.0.1:9999/logout",
			},
		},
		{
			name: "http localhost issuer, https endpoints",
			md: Metadata{
				Issuer:                "http://localhost:9999",
				AuthorizationEndpoint: "https://op.example.com/authorize",
				TokenEndpoint:         "https://op.example.com/token",
				JWKSURI:               "https://op.example.com/jwks",
			},
		},
		{
			name: "http loopback issuer, http public endpoint",
			md: Metadata{
				Issuer:                "http://127.0.0.1:9999",
				AuthorizationEndpoint: "http://127.0.0.1:9999/authorize",
				TokenEndpoint:         "http://op.example.com/token",
				JWKSURI:               "http://127.0.0.1:9999/jwks",
			},
			wantField: "token_endpoint",
		},
		{
			name: "http public issuer, http loopback endpoint, InsecureAllowHTTP",
			md: Metadata{
				Issuer:                "http://op.example.com",
				AuthorizationEndpoint: "http://op.example.com/authorize",
				TokenEndpoint:         "http://127.0.0.1/token",
				JWKSURI:               "http://op.example.com/jwks",
			},
			allowHTTP: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.md.Validate(tt.allowHTTP)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %s = an http loopback URL of issuer %s", tt.wantField, tt.md.Issuer)
			}
			wantMetadataError(t, err, tt.wantField)
		})
	}
}
