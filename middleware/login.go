package middleware

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/session"
)

// Login returns the handler that starts a login: it redirects the browser
// to the provider with a fresh state, nonce and PKCE challenge, kept in a
// flow cookie of their own. With several providers (Config.Providers), the
// provider query parameter names the one; without it, the answer is a
// chooser page linking to each, and an unknown name is refused with 400.
// The optional return_to query parameter, where to land after login, must
// be a local path (see IsLocalPath); any other value is refused with 400,
// so the login cannot be turned into an open redirect.
func (a *Auth) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		returnTo := a.cfg.DefaultReturnTo
		if v, ok, err := queryParam(r.URL.RawQuery, "return_to"); ok {
			if err != nil || !IsLocalPath(v) {
				a.failLogin(w, r, a.soleIssuer(), errBadReturnTo)
				return
			}
			returnTo = v
		}
		p := a.providers[0]
		switch name, ok, err := queryParam(r.URL.RawQuery, "provider"); {
		case err != nil:
			a.failLogin(w, r, a.soleIssuer(), ErrUnknownProvider)
			return
		case ok:
			if p, ok = a.named(name); !ok {
				a.failLogin(w, r, a.soleIssuer(), ErrUnknownProvider)
				return
			}
		case len(a.providers) > 1:
			a.choose(w, returnTo)
			return
		}
		var req client.AuthRequest
		if a.cfg.AuthRequest != nil {
			req = a.cfg.AuthRequest(r)
		}
		req.ReturnTo = returnTo
		a.startLogin(w, r, p, req, loginFlow{})
	})
}

// startLogin redirects the browser to p for req, leaving lf (with the
// client's Flow) for the callback.
func (a *Auth) startLogin(w http.ResponseWriter, r *http.Request, p *provider, req client.AuthRequest, lf loginFlow) {
	// With pushed authorization requests (RFC 9126) this is a request to
	// the provider; its failure is the login's (ErrorStatus: 502).
	authURL, flow, err := p.rp.AuthCodeURLContext(r.Context(), req)
	if err != nil {
		a.failLogin(w, r, p.issuer, err)
		return
	}
	lf.provider, lf.flow = p.name, flow
	var buf [400]byte
	if err := a.sessions.SaveFlow(w, r, session.LoginFlow, flow.State, lf.appendBinary(buf[:0])); err != nil {
		a.failLogin(w, r, p.issuer, err)
		return
	}
	a.emit(r, events.LoginStarted, p.issuer, "", "", nil)
	redirect(w, authURL)
}

// queryParam returns the value of the query parameter name in raw, and
// whether it is there. A parameter given twice, or badly escaped, is an
// error. Unlike url.ParseQuery it decodes only the parameter asked for.
func queryParam(raw, name string) (value string, ok bool, err error) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if strings.IndexByte(k, '%') < 0 && strings.IndexByte(k, '+') < 0 {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if ok {
			return "", true, errBadReturnTo
		}
		ok = true
		if value, err = url.QueryUnescape(v); err != nil {
			return "", true, err
		}
	}
	return value, ok, nil
}

// redirect answers 302 to an already-safe URL, without http.Redirect's
// parsing and HTML body.
func redirect(w http.ResponseWriter, u string) {
	h := w.Header()
	h.Set("Location", u)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// IsLocalPath reports whether p is safe to redirect to after login: a path
// on this site, starting with a single "/". It refuses absolute URLs,
// scheme-relative ones ("//host"), backslashes that browsers read as slashes
// ("/\host"), control characters that browsers strip ("/\t/host"), and the
// same forms percent-encoded, up to three times.
func IsLocalPath(p string) bool {
	if len(p) == 0 || len(p) > 2048 {
		return false
	}
	for range 4 {
		if !localPathOnce(p) {
			return false
		}
		u, err := url.PathUnescape(p)
		if err != nil {
			return false
		}
		if u == p {
			return true
		}
		p = u
	}
	return false // encoded more than three times: no honest link is
}

func localPathOnce(p string) bool {
	if p == "" || p[0] != '/' {
		// A decoded form that no longer starts with "/" came from an
		// encoded first slash ("%2F..."), which a browser would not decode
		// in a path; refuse it all the same.
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false // "//host" and "/\host" name another host
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	// A single leading "/" and no backslash or control character: neither
	// a scheme nor an authority can follow.
	return true
}
