package oidctest

import (
	"net/url"
	"slices"
)

// registered reports whether uri is one of uris, or any is when uris is
// empty. A registered http redirect URI on a loopback IP literal matches
// the same URI on any port, as RFC 8252 section 7.3 asks for native apps,
// whose loopback listener gets an ephemeral port.
func registered(uris []string, uri string) bool {
	return len(uris) == 0 || slices.Contains(uris, uri) || slices.ContainsFunc(uris, func(r string) bool { return loopbackMatch(r, uri) })
}

func loopbackMatch(registered, uri string) bool {
	a, err1 := url.Parse(registered)
	b, err2 := url.Parse(uri)
	if err1 != nil || err2 != nil || a.Scheme != "http" || b.Scheme != "http" {
		return false
	}
	host := a.Hostname()
	if host != "127.0.0.1" && host != "::1" || b.Hostname() != host {
		return false
	}
	return a.EscapedPath() == b.EscapedPath() && a.RawQuery == b.RawQuery && a.User == nil && b.User == nil && a.Fragment == "" && b.Fragment == ""
}
