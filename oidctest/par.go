package oidctest

import (
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// Pushed authorization requests (RFC 9126) and the form_post response mode.

// pushedRequest is an authorization request pushed to /par, until its
// request_uri is used once or expires.
type pushedRequest struct {
	client  *Client
	params  url.Values
	expires time.Time
}

// parLifetime is how long a request_uri is valid.
const parLifetime = time.Minute

// par is the pushed authorization request endpoint (RFC 9126 section 2):
// the client authenticates as at the token endpoint and sends the
// authorization request's parameters; the answer is a one-time
// request_uri, which the authorization endpoint then takes instead of them.
func (s *Server) par(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, reason := s.authenticateClient(r, "/par")
	if client == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: "+reason)
		return
	}
	params := url.Values{}
	for name, v := range r.PostForm {
		switch name {
		case "client_secret", "client_assertion", "client_assertion_type":
			continue // authentication, not the request
		}
		if len(v) > 1 {
			oauthError(w, http.StatusBadRequest, "invalid_request", "parameter "+name+" repeated")
			return
		}
		params[name] = v
	}
	switch {
	case params.Has("request_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_request", "request_uri cannot be pushed (RFC 9126 section 2.1)")
		return
	case params.Get("redirect_uri") == "" || !registered(client.RedirectURIs, params.Get("redirect_uri")):
		oauthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is not registered")
		return
	}
	params.Set("client_id", client.ID)
	uri := "urn:ietf:params:oauth:request_uri:" + randstr.Token()
	now := s.now()
	for k, p := range s.pushed {
		if now.After(p.expires) {
			delete(s.pushed, k)
		}
	}
	s.pushed[uri] = &pushedRequest{client: client, params: params, expires: now.Add(parLifetime)}
	s.stats.PushedRequests++
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int(parLifetime / time.Second)})
}

// formPostPage is the form_post response mode (OAuth 2.0 Form Post
// Response Mode, section 2): a page whose script posts the authorization
// response to the redirect URI.
var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<meta charset="utf-8">
<title>Submitting…</title>
<form method="post" action="{{.Action}}">
{{range $name, $v := .Fields}}<input type="hidden" name="{{$name}}" value="{{index $v 0}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.forms[0].submit()</script>
`))

// formPost answers with formPostPage, posting resp to redirect.
func formPost(w http.ResponseWriter, redirect string, resp url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	formPostPage.Execute(w, struct {
		Action string
		Fields url.Values
	}{redirect, resp})
}
