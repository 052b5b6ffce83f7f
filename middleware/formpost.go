package middleware

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// The form_post response mode (OAuth 2.0 Form Post Response Mode): the
// provider's page posts the authorization response to the callback.

var errBadCallbackForm = errors.New("middleware: callback POST is not a bounded url-encoded form")

const (
	// maxFormBytes and maxFormParams bound the body of a callback POST,
	// which anyone can send: a response has a handful of parameters
	// (code, state, iss, session_state, or error and its description).
	maxFormBytes  = 16 << 10
	maxFormParams = 32

	// repostParam marks the callback POST that repost's page sends, so
	// that a POST still without the flow cookie fails (ErrNoFlow) instead
	// of being posted again.
	repostParam = "oidcrp_repost"
)

// formParams reads the url-encoded body of a callback POST, bounded in
// size and parameter count. The query of the URL, if any, is not read.
func formParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: Content-Type %q", errBadCallbackForm, r.Header.Get("Content-Type"))
	}
	buf, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: body over %d bytes", errBadCallbackForm, maxFormBytes)
		}
		return nil, fmt.Errorf("%w: %v", errBadCallbackForm, err)
	}
	raw := string(buf)
	if strings.Count(raw, "&") >= maxFormParams {
		return nil, fmt.Errorf("%w: more than %d parameters", errBadCallbackForm, maxFormParams)
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCallbackForm, err)
	}
	return params, nil
}

// repostPage posts the authorization response again, from this site. The
// provider's cross-site POST came without the SameSite=Lax flow cookie;
// this page's POST is same-site, so the browser sends it.
//
// Why not a flow cookie with SameSite=None for form_post logins: such a
// cookie must be Secure, which plain-http development (and Chromium's
// handling of http://127.0.0.1) does not always allow, and it would travel
// with every cross-site request for its ten minutes. The page costs a
// round trip, and keeps every cookie SameSite=Lax.
var repostPage = template.Must(template.New("repost").Parse(`<!doctype html>
<meta charset="utf-8">
<title>Signing in…</title>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Continue signing in: <button type="submit">Continue</button></p></noscript>
</form>
<script>` + repostScript + `</script>
`))

const repostScript = `document.forms[0].submit()`

// repostCSP allows the page's one script, by hash, and its form's POST
// to this origin only.
var repostCSP = func() string {
	sum := sha256.Sum256([]byte(repostScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// repostFields are the parameters of an authorization response the page
// carries (the client reads no others).
var repostFields = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// repost answers a cross-site callback POST with repostPage.
func repost(w http.ResponseWriter, r *http.Request, params url.Values) {
	type field struct{ Name, Value string }
	fields := make([]field, 0, len(repostFields)+1)
	for _, name := range repostFields {
		if v, ok := params[name]; ok && len(v) == 1 {
			fields = append(fields, field{name, v[0]})
		}
	}
	fields = append(fields, field{repostParam, "1"})
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", repostCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	repostPage.Execute(w, struct {
		Action string
		Fields []field
	}{r.URL.EscapedPath(), fields})
}
