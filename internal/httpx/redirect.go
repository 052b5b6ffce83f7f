package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrRedirect is matched by the error of a call whose redirect its Policy
// refused. The error is a *RedirectError.
var ErrRedirect = errors.New("redirect refused")

// RedirectError is a redirect a Policy refused. errors.Is(err, ErrRedirect)
// holds for it.
type RedirectError struct {
	From, To string // the hop's URLs, without query or fragment
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// maxRedirects is how many redirects a call follows when the caller's client
// sets no CheckRedirect of its own, as net/http does.
const maxRedirects = 10

// Policy says which redirects a call to the provider may follow. Go's client
// follows up to ten redirects to any host and scheme; but an endpoint that
// passed the URL checks of discovery must not be able to send us elsewhere:
// an https key set redirected to plain http would be fetched in clear, and a
// token request redirected to another host would carry the code, the PKCE
// verifier and the client's credentials there.
//
// Whatever the policy, no hop goes from https to http, nor to a scheme other
// than these two. The zero value is the strictest: every hop stays on the
// origin (scheme, host and port) of the request, which therefore passes the
// URL checks the request's URL passed. Do, Send and Get apply it.
type Policy struct {
	// CrossOrigin follows redirects to other origins too, each hop checked
	// as discovery checks an endpoint: https, or http on a loopback host
	// (or on any host with AllowHTTP) while no hop before was https. For
	// requests that carry no secret and whose answer is checked otherwise,
	// such as the discovery document, whose issuer must match.
	CrossOrigin bool

	// AllowHTTP lets a cross-origin hop be http on any host, never after
	// https (discovery's InsecureAllowHTTP).
	AllowHTTP bool
}

// Client returns a copy of c (of DefaultClient when c is nil) that follows
// only the redirects p allows and, of those, the ones c's own CheckRedirect
// allows (by default, at most ten). c itself is not changed.
func (p Policy) Client(c *http.Client) *http.Client {
	c = Client(c)
	next := c.CheckRedirect
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := p.check(req, via); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &cc
}

// check is the policy for the hop to req, via the requests before it.
func (p Policy) check(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	from, to := via[len(via)-1].URL, req.URL
	refuse := func(reason string) error {
		return &RedirectError{From: hopURL(from), To: hopURL(to), Reason: reason}
	}
	switch to.Scheme {
	case "https":
	case "http":
		for _, r := range via {
			if r.URL.Scheme == "https" {
				return refuse("from https to http")
			}
		}
	default:
		return refuse(fmt.Sprintf("scheme %q", to.Scheme))
	}
	if !p.CrossOrigin {
		if !SameOrigin(via[0].URL, to) {
			return refuse("to another origin")
		}
		return nil
	}
	if to.Scheme == "http" && !p.AllowHTTP && !IsLoopback(to.Hostname()) {
		return refuse("to http on a host that is not loopback")
	}
	return nil
}

// SameOrigin reports whether a and b have the same origin (RFC 6454): scheme,
// host and port, the port defaulting to the scheme's.
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

// Origin is u's origin (RFC 6454) as a string: scheme and host in lower
// case and the port, the scheme's default made explicit, so that two URLs
// have the same Origin exactly when SameOrigin holds.
func Origin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]" // IPv6
	}
	return strings.ToLower(u.Scheme) + "://" + host + ":" + port(u)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// hopURL is u for an error message: without credentials, query or fragment.
func hopURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return v.String()
}

// IsLoopback reports whether host (a URL's Hostname, without brackets or
// port) is "localhost" or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
