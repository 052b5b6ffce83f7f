package middleware_test

import (
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
)

// modern is a harness whose RP pushes its requests, takes form_post
// responses and binds its tokens with DPoP, against a provider that
// requires nonces, with refresh tokens and one-minute access tokens.
func modern(t *testing.T, edit func(*options)) *harness {
	o := refreshing(options{})
	o.provider.DPoPNonce = true
	o.auth.UserInfo = true
	o.providerClock = true
	o.client = func(c *client.Config) {
		c.PushedAuthorizationRequests = client.PARAlways
		c.ResponseMode = client.ResponseModeFormPost
		c.DPoP = true
	}
	if edit != nil {
		edit(&o)
	}
	h := newHarness(t, o)
	return h
}

// TestPARFormPostDPoP: a login pushed, answered by form_post and bound by
// DPoP works end to end: the front channel carries only client_id and
// request_uri, the tokens are DPoP tokens, userinfo and the HTTP client
// send proofs (nonces fetched and retried once), a refresh past expiry
// keeps the binding, and a rotated nonce costs one retry.
func TestPARFormPostDPoP(t *testing.T) {
	h := modern(t, nil)
	clk := h.clock
	b := oidctest.NewBrowser()
	p := h.login(t, b, "/me")
	if p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v", p)
	}
	var authorize *url.URL
	for _, hop := range p.Hops {
		if strings.HasPrefix(hop, h.op.URL+"/authorize") {
			authorize, _ = url.Parse(hop)
		}
	}
	if authorize == nil {
		t.Fatalf("no authorization request in %v", p.Hops)
	}
	if q := authorize.Query(); len(q) != 2 || q.Get("client_id") == "" || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("front-channel parameters %v, want client_id and request_uri only", q)
	}
	st := h.op.Stats()
	if st.PushedRequests != 1 || st.CodeGrants != 1 || st.DPoPProofs < 2 || st.DPoPNonceChallenges < 1 {
		t.Fatalf("stats after login %+v: want one push, one code grant, proofs at token and userinfo, a nonce challenge", st)
	}

	call := func() int {
		t.Helper()
		p, err := b.Get(ctx(t), h.srv.URL+"/call?url="+url.QueryEscape(h.op.URL+"/userinfo"), "Accept", "application/json")
		if err != nil {
			t.Fatal(err)
		}
		return p.StatusCode
	}
	if got := call(); got != http.StatusOK {
		t.Fatalf("userinfo through HTTPClient: %d", got)
	}
	if status, tok := h.token(t, b); status != http.StatusOK || tok == "" {
		t.Fatalf("TokenSource: %d", status)
	}

	clk.Advance(2 * time.Minute) // the access token expired, at the provider too
	if got := call(); got != http.StatusOK {
		t.Fatalf("userinfo after expiry: %d, stats %+v", got, h.op.Stats())
	}
	if st := h.op.Stats(); st.RefreshGrants != 1 {
		t.Fatalf("refresh grants %d, want 1: %+v", st.RefreshGrants, st)
	}

	before := h.op.Stats().DPoPNonceChallenges
	h.op.RotateDPoPNonce()
	if got := call(); got != http.StatusOK {
		t.Fatalf("userinfo after the nonce rotated: %d", got)
	}
	if n := h.op.Stats().DPoPNonceChallenges - before; n != 1 {
		t.Fatalf("%d nonce challenges after the rotation, want 1 (one retry)", n)
	}
}

// TestFormPostCrossSite: a form_post response that arrives without the
// flow cookie (a browser's cross-site POST) is answered with a page that
// posts it again from the app; with the cookie, the login completes. A
// re-posted response still without the cookie fails, without a loop.
func TestFormPostCrossSite(t *testing.T) {
	h := newHarness(t, options{client: func(c *client.Config) { c.ResponseMode = client.ResponseModeFormPost }})
	b := oidctest.NewBrowser()
	login, err := b.Client.Get(h.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	page, err := b.Client.Get(login.Header.Get("Location")) // the provider's form_post page
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	body := readAll(t, page)
	for _, name := range []string{"code", "state", "iss"} {
		form.Set(name, hiddenValue(t, body, name))
	}
	post := func(f url.Values, withCookies bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/auth/callback", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookies {
			u, _ := url.Parse(h.srv.URL)
			for _, c := range b.Jar.Cookies(u) {
				req.AddCookie(c)
			}
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(t, resp)
	}
	resp, repost := post(form, false)
	if resp.StatusCode != http.StatusOK || !strings.Contains(repost, `name="oidcrp_repost" value="1"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Fatalf("cross-site POST: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), repost)
	}
	reposted := url.Values{}
	for _, name := range []string{"code", "state", "iss", "oidcrp_repost"} {
		reposted.Set(name, hiddenValue(t, repost, name))
	}
	if reposted.Get("code") != form.Get("code") || reposted.Get("state") != form.Get("state") {
		t.Fatalf("the re-post page changed the response: %v, want %v", reposted, form)
	}
	// Still without the cookie: a clean failure, no second re-post.
	if resp, _ := post(reposted, false); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("re-post without the flow cookie: %d, want 400", resp.StatusCode)
	}
	// With it (the same-site POST): logged in. (The failed attempt above
	// spent nothing: the flow cookie was not there to take.)
	resp, _ = post(reposted, true)
	if resp.StatusCode != http.StatusFound || !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), " "), "oidcrp_session=") {
		t.Fatalf("same-site re-post: %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hiddenValue returns the value of the hidden input name of an HTML page.
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no hidden input %s in %s", name, page)
	}
	return html.UnescapeString(m[1])
}

// recordLogin runs auth's Login handler for one request.
func recordLogin(t *testing.T, auth *middleware.Auth) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	auth.Login().ServeHTTP(rec, httptest.NewRequestWithContext(ctx(t), http.MethodGet, "/auth/login", nil))
	return rec
}

// TestCallbackFormBounds: the callback POST's body is bounded in size and
// parameter count, and must be url-encoded.
func TestCallbackFormBounds(t *testing.T) {
	h := newHarness(t, options{})
	tests := map[string]struct {
		contentType, body string
	}{
		"too large":       {"application/x-www-form-urlencoded", "state=" + strings.Repeat("a", 17<<10)},
		"too many":        {"application/x-www-form-urlencoded", strings.Repeat("a=1&", 40) + "state=x"},
		"not url-encoded": {"multipart/form-data; boundary=x", "--x--"},
		"no content type": {"", "state=x"},
		"bad escape":      {"application/x-www-form-urlencoded", "state=%zz"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/auth/callback", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestPARErrorPage: a pushed request the provider refuses is a clean 502
// page at the login route, and no unpushed request is sent instead.
func TestPARErrorPage(t *testing.T) {
	h := newHarness(t, options{client: func(c *client.Config) { c.PushedAuthorizationRequests = client.PARAlways }})
	// The provider knows no such client: it refuses the push.
	bad, err := client.New(ctx(t), client.Config{
		Issuer: h.op.URL, ClientID: "nobody", ClientSecret: "wrong", RedirectURL: h.srv.URL + "/auth/callback",
		PushedAuthorizationRequests: client.PARAlways,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	auth, err := middleware.New(middleware.Config{RP: bad, Sessions: h.sessions, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rec := recordLogin(t, auth)
	if rec.Code != http.StatusBadGateway || rec.Header().Get("Location") != "" {
		t.Fatalf("login with a refused push: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if !strings.Contains(rec.Body.String(), "refused the sign-in request") {
		t.Fatalf("page: %s", rec.Body)
	}
	if st := h.op.Stats(); st.PushedRequests != 0 || st.Authorizations != 0 {
		t.Fatalf("stats %+v", st)
	}
	var pe *client.PARError
	_, _, err = bad.AuthCodeURLContext(ctx(t), client.AuthRequest{})
	if !errors.As(err, &pe) || pe.Code != "invalid_client" || !errors.Is(err, client.ErrPAR) || middleware.ErrorStatus(err) != http.StatusBadGateway {
		t.Fatalf("AuthCodeURLContext: %v", err)
	}
}

// TestErrorStatusRequests: the errors of pushed requests, DPoP and the
// callback's form map to their statuses.
func TestErrorStatusRequests(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&client.PARError{Code: "invalid_request", StatusCode: 400}, http.StatusBadGateway},
		{&client.PARError{Code: "server_error", StatusCode: 500}, http.StatusBadGateway},
		{fmt.Errorf("%w: %w", client.ErrPAR, client.ErrProviderUnavailable), http.StatusBadGateway},
		{client.ErrDPoPNotBound, http.StatusBadGateway},
		{client.ErrPARRequired, http.StatusInternalServerError},
		{client.ErrDPoPKey, http.StatusInternalServerError},
	} {
		if got := middleware.ErrorStatus(tc.err); got != tc.want {
			t.Errorf("ErrorStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
