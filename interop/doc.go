// Package interop holds oidcrp's interoperability suite: tests that run the
// example web app (examples/webapp) against oidc-provider, an
// OpenID-certified provider for Node.js, and log in through it with a plain
// HTTP client and with a real headless Chromium.
//
// The package has no code of its own; it is a module of its own so that the
// browser driver (chromedp) and the HTML parser stay out of the library's
// go.mod. Run it with
//
//	cd interop/provider && npm ci && cd .. && go test -v ./...
//
// It needs Node.js 20.18 or later and, for the browser tests, Debian's
// chromium package (/usr/bin/chromium). Outside CI a missing tool skips the
// tests that need it; with CI=true it fails them.
//
// Every server binds 127.0.0.1 on a free port: the provider (one per test,
// started from provider/provider.mjs) and the web app (built once, run per
// test, configured only through its documented environment variables).
package interop
