package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
)

// AuthRequest holds the optional parameters of one authorization request
// (OpenID Connect Core 3.1.2.1). The zero value asks for a plain login.
type AuthRequest struct {
	// Prompt is "none", "login", "consent", "select_account", or several
	// of them separated by spaces. If empty and the scope includes
	// offline_access, "consent" is sent, as OpenID Connect Core section 11
	// requires for offline access.
	Prompt string

	// MaxAge, if positive, is sent as max_age: the provider must
	// re-authenticate a user who logged in longer ago, and the ID token's
	// auth_time is then checked. It is rounded down to whole seconds. To
	// force a fresh login, use Prompt "login".
	MaxAge time.Duration

	ACRValues []string // acr_values, in order of preference
	LoginHint string   // login_hint, e.g. an email address
	UILocales []string // ui_locales, BCP 47 tags in order of preference

	// Claims is the claims request parameter (OpenID Connect Core 5.5), a
	// JSON object, sent as is.
	Claims string

	// Scopes, if non-nil, replace Config.Scopes for this request ("openid"
	// is added when missing).
	Scopes []string

	// Extra holds further parameters, such as "resource" (RFC 8707) or a
	// provider's own. It cannot override a parameter the client sets itself.
	Extra url.Values

	// ReturnTo is carried in the Flow for the caller (for example, the page
	// to return to after login); it is not sent to the provider.
	ReturnTo string
}

// Flow is what the caller must keep between redirecting the user to the
// provider and handling the callback: the secrets bound to this one
// authorization request. Keep it where only this user agent's callback can
// find it (the session package seals it in a cookie), and use it once.
// MarshalBinary and UnmarshalBinary give it a compact form; it also
// marshals to JSON.
type Flow struct {
	State    string        `json:"state"`    // sent as state, compared at the callback
	Nonce    string        `json:"nonce"`    // sent as nonce, must come back in the ID token
	Verifier string        `json:"verifier"` // PKCE code_verifier (RFC 7636), its S256 challenge was sent
	MaxAge   time.Duration `json:"max_age,omitempty"`
	IssuedAt time.Time     `json:"issued_at"`
	ReturnTo string        `json:"return_to,omitempty"`

	// DPoPKey is the login's DPoP key, with Config.DPoP: the code is
	// bound to it (dpop_jkt), and so are the tokens. The JSON form
	// redacts it; MarshalBinary keeps it.
	DPoPKey *DPoPKey `json:"dpop_key,omitempty"`
}

// reserved are the parameters AuthCodeURL sets itself.
var reserved = map[string]bool{
	"client_id": true, "redirect_uri": true, "response_type": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"prompt": true, "max_age": true, "acr_values": true, "login_hint": true,
	"ui_locales": true, "claims": true, "request": true, "request_uri": true, "response_mode": true,
	jktParam: true,
}

// authURLPrefix is the part of the authorization URL that is the same for
// every request, built once per metadata document.
type authURLPrefix struct {
	md     *discovery.Metadata
	prefix string // endpoint?client_id=..&redirect_uri=..&response_type=code&code_challenge_method=S256&scope=
	scope  string // the default scope, escaped
}

// AuthCodeURL returns the URL to send the user to, and the Flow to keep for
// the callback. Every request carries a fresh state, a nonce and a PKCE S256
// challenge, for confidential clients too (RFC 9700 section 2.1.1), and,
// with Config.DPoP, the thumbprint of a new DPoP key (dpop_jkt, RFC 9449
// section 10), the key kept in the Flow. It does no I/O; it fails with
// ErrInvalidConfig for invalid options or a client without a RedirectURL,
// and with ErrPARRequired when requests are pushed, which
// AuthCodeURLContext does.
func (rp *RP) AuthCodeURL(req AuthRequest) (string, Flow, error) {
	if rp.pushes() {
		return "", Flow{}, ErrPARRequired
	}
	return rp.authCodeURL(req)
}

// AuthCodeURLContext is AuthCodeURL for every configuration: when requests
// are pushed (RFC 9126: Config.PushedAuthorizationRequests, or the
// provider requires it), it sends the request's parameters to the
// provider's pushed_authorization_request_endpoint under ctx,
// authenticated as the client, and returns the authorization endpoint's
// URL with only client_id and the request_uri the provider gave. A failed
// push fails with an error matching ErrPAR (a *PARError for the provider's
// error response), never with an unpushed URL.
func (rp *RP) AuthCodeURLContext(ctx context.Context, req AuthRequest) (string, Flow, error) {
	u, flow, err := rp.authCodeURL(req)
	if err != nil || !rp.pushes() {
		return u, flow, err
	}
	if u, err = rp.push(ctx, u); err != nil {
		return "", Flow{}, err
	}
	return u, flow, nil
}

func (rp *RP) authCodeURL(req AuthRequest) (string, Flow, error) {
	if rp.cfg.RedirectURL == "" {
		return "", Flow{}, errNoRedirectURL
	}
	if req.MaxAge < 0 {
		return "", Flow{}, fmt.Errorf("%w: negative MaxAge", ErrInvalidConfig)
	}
	for k := range req.Extra {
		if reserved[k] {
			return "", Flow{}, fmt.Errorf("%w: Extra cannot set %q", ErrInvalidConfig, k)
		}
	}
	p := rp.authURLPrefix()

	// One read of randomness for the three secrets, 256 bits each, each
	// encoded on its own: 43 base64url characters, the alphabet RFC 7636
	// section 4.1 allows a code_verifier.
	var raw [3 * 32]byte
	rand.Read(raw[:])
	var enc [3 * 43]byte
	for i := range 3 {
		base64.RawURLEncoding.Encode(enc[i*43:(i+1)*43], raw[i*32:(i+1)*32])
	}
	secrets := string(enc[:]) // one allocation for the three
	flow := Flow{
		State:    secrets[0:43],
		Nonce:    secrets[43:86],
		Verifier: secrets[86:129],
		MaxAge:   req.MaxAge.Truncate(time.Second),
		IssuedAt: rp.cfg.Now(),
		ReturnTo: req.ReturnTo,
	}
	sum := sha256.Sum256(enc[86:129])
	var challenge [43]byte
	base64.RawURLEncoding.Encode(challenge[:], sum[:])

	var b strings.Builder
	b.Grow(len(p.prefix) + len(p.scope) + 256)
	b.WriteString(p.prefix)
	scopes := rp.cfg.Scopes
	if req.Scopes != nil {
		scopes = req.Scopes
		b.WriteString(url.QueryEscape(rp.joinScopes(req.Scopes)))
	} else {
		b.WriteString(p.scope)
	}
	b.WriteString("&state=")
	b.WriteString(flow.State)
	if rp.cfg.OAuth2 == nil {
		b.WriteString("&nonce=")
		b.WriteString(flow.Nonce)
	} else {
		flow.Nonce = "" // no ID token will carry it
	}
	b.WriteString("&code_challenge=")
	b.Write(challenge[:])
	param := func(k, v string) {
		if v != "" {
			b.WriteByte('&')
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	prompt := req.Prompt
	if prompt == "" && slices.Contains(scopes, "offline_access") {
		prompt = "consent"
	}
	param("prompt", prompt)
	if flow.MaxAge > 0 {
		param("max_age", strconv.FormatInt(int64(flow.MaxAge/time.Second), 10))
	}
	param("acr_values", strings.Join(req.ACRValues, " "))
	param("login_hint", req.LoginHint)
	param("ui_locales", strings.Join(req.UILocales, " "))
	param("claims", req.Claims)
	if rp.cfg.ResponseMode != ResponseModeQuery {
		param("response_mode", rp.cfg.ResponseMode)
	}
	if rp.cfg.DPoP {
		key, err := NewDPoPKey(dpopAlg(p.md.DPoPSigningAlgValuesSupported))
		if err != nil {
			return "", Flow{}, err
		}
		flow.DPoPKey = key
		param(jktParam, key.Thumbprint())
	}
	for k, vs := range rp.cfg.AuthParams {
		if _, overridden := req.Extra[k]; !overridden {
			for _, v := range vs {
				param(url.QueryEscape(k), v)
			}
		}
	}
	if len(req.Extra) > 0 {
		b.WriteByte('&')
		b.WriteString(req.Extra.Encode())
	}
	return b.String(), flow, nil
}

func (rp *RP) authURLPrefix() *authURLPrefix {
	md := rp.provider.Metadata()
	if p := rp.authURL.Load(); p != nil && p.md == md {
		return p
	}
	sep := "?"
	if strings.Contains(md.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	p := &authURLPrefix{
		md: md,
		prefix: md.AuthorizationEndpoint + sep +
			"client_id=" + url.QueryEscape(rp.cfg.ClientID) +
			"&redirect_uri=" + url.QueryEscape(rp.cfg.RedirectURL) +
			"&response_type=code&code_challenge_method=S256&scope=",
		scope: url.QueryEscape(rp.joinScopes(rp.cfg.Scopes)),
	}
	rp.authURL.Store(p)
	return p
}

// joinScopes is the scope parameter of scopes: with "openid" for an
// OpenID Provider, as they are for an OAuth 2.0 one.
func (rp *RP) joinScopes(scopes []string) string {
	if rp.cfg.OAuth2 != nil {
		return strings.Join(scopes, " ")
	}
	for _, s := range scopes {
		if s == "openid" {
			return strings.Join(scopes, " ")
		}
	}
	return "openid " + strings.Join(scopes, " ")
}
