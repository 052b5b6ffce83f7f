package discovery

import (
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// TestKeySetRedirects serves the key set behind a redirect: the key set is
// fetched only when every hop stays on the origin of jwks_uri. An https
// jwks_uri redirected to plain http would hand the keys that decide every
// login to whoever can tamper with the network; one redirected to another
// host hands them to that host.
func TestKeySetRedirects(t *testing.T) {
	k := key("ec256", jose.ES256, "k")
	tests := []struct {
		name string
		tls  bool // the provider serves https
		// target returns where /moved redirects to, and the provider
		// whose /jwks is then fetched.
		target   func(t *testing.T, op *fakeOP) (string, *fakeOP)
		wantFail bool
	}{
		{
			name: "https to http",
			tls:  true,
			target: func(t *testing.T, op *fakeOP) (string, *fakeOP) {
				other := newFakeOP(t)
				return other.issuer + "/jwks", other
			},
			wantFail: true,
		},
		{
			name: "https to another https origin",
			tls:  true,
			target: func(t *testing.T, op *fakeOP) (string, *fakeOP) {
				other := newFakeTLSOP(t)
				return other.issuer + "/jwks", other
			},
			wantFail: true,
		},
		{
			name: "http to another http origin",
			target: func(t *testing.T, op *fakeOP) (string, *fakeOP) {
				other := newFakeOP(t)
				return other.issuer + "/jwks", other
			},
			wantFail: true,
		},
		{
			name:   "https, same origin",
			tls:    true,
			target: func(t *testing.T, op *fakeOP) (string, *fakeOP) { return op.issuer + "/jwks", op },
		},
		{
			name:   "http, same origin, relative Location",
			target: func(t *testing.T, op *fakeOP) (string, *fakeOP) { return "/jwks", op },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP
			if tt.tls {
				op = newFakeTLSOP
			}
			provider := op(t)
			loc, target := tt.target(t, provider)
			target.publish(k)
			provider.edit(func() {
				provider.doc["jwks_uri"] = provider.issuer + "/moved"
				provider.redirects = map[string]string{"/moved": loc}
			})
			p := mustNew(t, provider.config(newClock()))

			payload, err := p.KeySet().VerifySignature(testContext(t), sign(t, k, "k", "x"))
			if !tt.wantFail {
				if err != nil {
					t.Fatalf("VerifySignature after a same-origin redirect: %v", err)
				}
				if string(payload) != "x" {
					t.Errorf("payload = %q, want %q", payload, "x")
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifySignature verified with keys fetched through a redirect to %s", loc)
			}
			if !errors.Is(err, ErrFetch) || !errors.Is(err, httpx.ErrRedirect) {
				t.Errorf("err = %v, want ErrFetch wrapping httpx.ErrRedirect", err)
			}
			var re *httpx.RedirectError
			if !errors.As(err, &re) {
				t.Errorf("err = %v, want an *httpx.RedirectError", err)
			}
			if got := target.jwksHits.Load(); got != 0 {
				t.Errorf("the redirect target was asked for keys %d times, want 0", got)
			}
		})
	}
}

// TestDiscoveryRedirects serves the discovery document behind a redirect.
// Another origin may serve it (the issuer check guards its content), but
// never over plain http once the issuer is https.
func TestDiscoveryRedirects(t *testing.T) {
	t.Run("https to http", func(t *testing.T) {
		op := newFakeTLSOP(t)
		other := newFakeOP(t)
		other.edit(func() { other.doc = op.defaultDoc(op.issuer) })
		op.edit(func() { op.redirects = map[string]string{WellKnownPath: other.issuer + WellKnownPath} })

		p, err := New(testContext(t), op.config(newClock()))
		if err == nil {
			p.Close()
			t.Fatal("New fetched the discovery document of an https issuer over http")
		}
		if !errors.Is(err, ErrFetch) || !errors.Is(err, httpx.ErrRedirect) {
			t.Errorf("err = %v, want ErrFetch wrapping httpx.ErrRedirect", err)
		}
		if got := other.docHits.Load(); got != 0 {
			t.Errorf("the http server was asked for the document %d times, want 0", got)
		}
	})
	t.Run("https to another https origin", func(t *testing.T) {
		op := newFakeTLSOP(t)
		other := newFakeTLSOP(t)
		other.edit(func() { other.doc = op.defaultDoc(op.issuer) })
		op.edit(func() { op.redirects = map[string]string{WellKnownPath: other.issuer + WellKnownPath} })

		mustNew(t, op.config(newClock()))
		if got := other.docHits.Load(); got != 1 {
			t.Errorf("the document was fetched %d times from its new home, want 1", got)
		}
	})
	t.Run("loopback http to a public http host", func(t *testing.T) {
		op := newFakeOP(t)
		op.edit(func() { op.redirects = map[string]string{WellKnownPath: "http://op.invalid" + WellKnownPath} })

		p, err := New(testContext(t), op.config(newClock()))
		if err == nil {
			p.Close()
			t.Fatal("New followed a redirect to plain http on a public host")
		}
		if !errors.Is(err, ErrFetch) || !errors.Is(err, httpx.ErrRedirect) {
			t.Errorf("err = %v, want ErrFetch wrapping httpx.ErrRedirect", err)
		}
	})
}
