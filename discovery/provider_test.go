package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

func TestNew(t *testing.T) {
	clk := newClock()
	op := newFakeOP(t)
	p := mustNew(t, op.config(clk))

	md := p.Metadata()
	if md.Issuer != op.issuer {
		t.Errorf("Issuer = %q, want %q", md.Issuer, op.issuer)
	}
	if got, want := md.TokenEndpoint, op.issuer+"/token"; got != want {
		t.Errorf("TokenEndpoint = %q, want %q", got, want)
	}
	if got, want := md.JWKSURI, op.issuer+"/jwks"; got != want {
		t.Errorf("JWKSURI = %q, want %q", got, want)
	}
	if !md.SupportsPKCE() {
		t.Error("SupportsPKCE = false, want true")
	}
	if got := p.Issuer(); got != op.issuer {
		t.Errorf("Provider.Issuer = %q, want %q", got, op.issuer)
	}
	if got := op.docHits.Load(); got != 1 {
		t.Errorf("discovery fetched %d times, want 1", got)
	}
	if got := op.jwksHits.Load(); got != 0 {
		t.Errorf("key set fetched %d times by New, want 0 (it is fetched on first use)", got)
	}
	if p.KeySet() == nil {
		t.Error("KeySet = nil")
	}
}

func TestNewErrors(t *testing.T) {
	const other = "https://other.example.com"
	huge := bytes.Repeat([]byte(" "), httpx.MaxBody+1)
	huge[0] = '{'
	huge[len(huge)-1] = '}'

	tests := []struct {
		name  string
		setup func(op *fakeOP, cfg *Config) // edits op (under its lock) and cfg
		check func(t *testing.T, op *fakeOP, err error)
	}{
		{
			name:  "issuer mismatch",
			setup: func(op *fakeOP, cfg *Config) { op.doc["issuer"] = other },
			check: func(t *testing.T, op *fakeOP, err error) {
				var ime *IssuerMismatchError
				if !errors.As(err, &ime) {
					t.Fatalf("err = %v, want *IssuerMismatchError", err)
				}
				if !errors.Is(err, ErrIssuerMismatch) {
					t.Error("errors.Is(err, ErrIssuerMismatch) = false")
				}
				if ime.Expected != op.issuer || ime.Got != other {
					t.Errorf("Expected, Got = %q, %q; want %q, %q", ime.Expected, ime.Got, op.issuer, other)
				}
			},
		},
		{
			name:  "document issuer has a trailing slash the configured one lacks",
			setup: func(op *fakeOP, cfg *Config) { op.doc["issuer"] = op.issuer + "/" },
			check: wantIssuerMismatch,
		},
		{
			name:  "configured issuer has a trailing slash the document lacks",
			setup: func(op *fakeOP, cfg *Config) { cfg.Issuer = op.issuer + "/" },
			check: wantIssuerMismatch,
		},
		{
			name:  "document without issuer",
			setup: func(op *fakeOP, cfg *Config) { delete(op.doc, "issuer") },
			check: wantIssuerMismatch,
		},
		{
			name:  "status 404",
			setup: func(op *fakeOP, cfg *Config) { op.docStatus = http.StatusNotFound },
			check: wantFetchStatus(http.StatusNotFound),
		},
		{
			name:  "status 500",
			setup: func(op *fakeOP, cfg *Config) { op.docStatus = http.StatusInternalServerError },
			check: wantFetchStatus(http.StatusInternalServerError),
		},
		{
			name: "redirect to a missing document",
			setup: func(op *fakeOP, cfg *Config) {
				op.docStatus = http.StatusFound
				op.docHeader = http.Header{"Location": {"/nowhere"}}
			},
			check: wantFetchStatus(http.StatusNotFound),
		},
		{
			name:  "body over 1 MiB",
			setup: func(op *fakeOP, cfg *Config) { op.docBody = huge },
			check: func(t *testing.T, op *fakeOP, err error) {
				var fe *FetchError
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want *FetchError", err)
				}
				if !errors.Is(err, ErrFetch) || !errors.Is(err, httpx.ErrTooLarge) {
					t.Errorf("err = %v, want ErrFetch wrapping httpx.ErrTooLarge", err)
				}
				if fe.StatusCode != 0 {
					t.Errorf("StatusCode = %d, want 0", fe.StatusCode)
				}
			},
		},
		{
			name:  "malformed JSON",
			setup: func(op *fakeOP, cfg *Config) { op.docBody = []byte(`{"issuer": `) },
			check: func(t *testing.T, op *fakeOP, err error) {
				me := wantMetadataError(t, err, "")
				var se *json.SyntaxError
				if !errors.As(me, &se) {
					t.Errorf("err = %v, want it to wrap a *json.SyntaxError", err)
				}
			},
		},
		{
			name:  "not a JSON object",
			setup: func(op *fakeOP, cfg *Config) { op.docBody = []byte(`["issuer"]`) },
			check: func(t *testing.T, op *fakeOP, err error) {
				me := wantMetadataError(t, err, "")
				var ute *json.UnmarshalTypeError
				if !errors.As(me, &ute) {
					t.Errorf("err = %v, want it to wrap a *json.UnmarshalTypeError", err)
				}
			},
		},
		{
			name:  "member of the wrong type",
			setup: func(op *fakeOP, cfg *Config) { op.doc["token_endpoint"] = 42 },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "") },
		},
		{
			name:  "empty body",
			setup: func(op *fakeOP, cfg *Config) { op.docBody = []byte{} },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "") },
		},
		{
			name:  "missing authorization_endpoint",
			setup: func(op *fakeOP, cfg *Config) { delete(op.doc, "authorization_endpoint") },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "authorization_endpoint") },
		},
		{
			name:  "missing token_endpoint",
			setup: func(op *fakeOP, cfg *Config) { delete(op.doc, "token_endpoint") },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "token_endpoint") },
		},
		{
			name:  "missing jwks_uri",
			setup: func(op *fakeOP, cfg *Config) { delete(op.doc, "jwks_uri") },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "jwks_uri") },
		},
		{
			name: "missing issuer, issuer check skipped",
			setup: func(op *fakeOP, cfg *Config) {
				delete(op.doc, "issuer")
				cfg.InsecureSkipIssuerCheck = true
			},
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "issuer") },
		},
		{
			name:  "http endpoint on a non-loopback host",
			setup: func(op *fakeOP, cfg *Config) { op.doc["token_endpoint"] = "http://example.com/token" },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "token_endpoint") },
		},
		{
			name:  "optional endpoint not absolute",
			setup: func(op *fakeOP, cfg *Config) { op.doc["end_session_endpoint"] = "/logout" },
			check: func(t *testing.T, op *fakeOP, err error) { wantMetadataError(t, err, "end_session_endpoint") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			cfg := op.config(newClock())
			op.edit(func() { tt.setup(op, &cfg) })
			p, err := New(testContext(t), cfg)
			if err == nil {
				p.Close()
				t.Fatal("New succeeded, want an error")
			}
			if p != nil {
				t.Errorf("New returned a Provider with error %v", err)
			}
			tt.check(t, op, err)
		})
	}
}

func wantIssuerMismatch(t *testing.T, op *fakeOP, err error) {
	t.Helper()
	var ime *IssuerMismatchError
	if !errors.As(err, &ime) || !errors.Is(err, ErrIssuerMismatch) {
		t.Fatalf("err = %v, want *IssuerMismatchError", err)
	}
}

func wantFetchStatus(status int) func(t *testing.T, op *fakeOP, err error) {
	return func(t *testing.T, op *fakeOP, err error) {
		t.Helper()
		var fe *FetchError
		if !errors.As(err, &fe) {
			t.Fatalf("err = %v, want *FetchError", err)
		}
		if !errors.Is(err, ErrFetch) {
			t.Error("errors.Is(err, ErrFetch) = false")
		}
		if fe.StatusCode != status {
			t.Errorf("StatusCode = %d, want %d", fe.StatusCode, status)
		}
		if want := op.issuer + WellKnownPath; fe.URL != want {
			t.Errorf("URL = %q, want %q", fe.URL, want)
		}
		var se *httpx.StatusError
		if !errors.As(err, &se) || se.StatusCode != status {
			t.Errorf("err = %v, want it to wrap an *httpx.StatusError with status %d", err, status)
		}
	}
}

func wantMetadataError(t *testing.T, err error, field string) *MetadataError {
	t.Helper()
	var me *MetadataError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MetadataError", err)
	}
	if !errors.Is(err, ErrInvalidMetadata) {
		t.Error("errors.Is(err, ErrInvalidMetadata) = false")
	}
	if me.Field != field {
		t.Errorf("Field = %q, want %q (err = %v)", me.Field, field, err)
	}
	return me
}

func TestNewAcceptsWhatTheChecksAllow(t *testing.T) {
	const other = "https://login.example.com/{tenantid}/v2.0"
	tests := []struct {
		name       string
		setup      func(op *fakeOP, cfg *Config)
		wantIssuer string // of the Metadata; "" means the configured one
	}{
		{
			name: "issuer check skipped",
			setup: func(op *fakeOP, cfg *Config) {
				op.doc["issuer"] = other
				cfg.InsecureSkipIssuerCheck = true
			},
			wantIssuer: other,
		},
		{
			name: "http endpoint allowed",
			setup: func(op *fakeOP, cfg *Config) {
				op.doc["token_endpoint"] = "http://example.com/token"
				cfg.InsecureAllowHTTP = true
			},
		},
		{
			name:  "https endpoints elsewhere",
			setup: func(op *fakeOP, cfg *Config) { op.doc["end_session_endpoint"] = "https://example.com/logout" },
		},
		{
			name:  "unknown members ignored",
			setup: func(op *fakeOP, cfg *Config) { op.doc["x_vendor_extension"] = map[string]any{"a": []int{1}} },
		},
		{
			name: "body of exactly 1 MiB",
			setup: func(op *fakeOP, cfg *Config) {
				body, _ := json.Marshal(op.doc)
				op.docBody = append(body, bytes.Repeat([]byte(" "), httpx.MaxBody-len(body))...)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			cfg := op.config(newClock())
			op.edit(func() { tt.setup(op, &cfg) })
			p := mustNew(t, cfg)
			want := tt.wantIssuer
			if want == "" {
				want = cfg.Issuer
			}
			if got := p.Metadata().Issuer; got != want {
				t.Errorf("Metadata().Issuer = %q, want %q", got, want)
			}
			if got := p.Issuer(); got != cfg.Issuer {
				t.Errorf("Issuer() = %q, want %q", got, cfg.Issuer)
			}
		})
	}
}

func TestNewIssuerPath(t *testing.T) {
	tests := []struct {
		name     string
		suffix   string // appended to the server's URL to make the issuer
		wantPath string // of the discovery request
	}{
		{"bare host", "", WellKnownPath},
		{"trailing slash", "/", WellKnownPath},
		{"path", "/tenant", "/tenant" + WellKnownPath},
		{"path with trailing slash", "/tenant/", "/tenant" + WellKnownPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			issuer := op.issuer + tt.suffix
			op.edit(func() { op.doc["issuer"] = issuer })
			cfg := op.config(newClock())
			cfg.Issuer = issuer
			p := mustNew(t, cfg)
			if got := p.Metadata().Issuer; got != issuer {
				t.Errorf("Metadata().Issuer = %q, want %q", got, issuer)
			}
			op.edit(func() {
				if len(op.paths) != 1 || op.paths[0] != tt.wantPath {
					t.Errorf("requested %q, want [%q]", op.paths, tt.wantPath)
				}
			})
		})
	}
}

func TestNewUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	issuer := srv.URL
	srv.Close() // nothing listens on the port any more

	_, err := New(testContext(t), Config{Issuer: issuer, HTTPClient: &http.Client{Timeout: testTimeout}})
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FetchError", err)
	}
	if !errors.Is(err, ErrFetch) {
		t.Error("errors.Is(err, ErrFetch) = false")
	}
	if fe.StatusCode != 0 {
		t.Errorf("StatusCode = %d, want 0", fe.StatusCode)
	}
	if fe.Err == nil {
		t.Error("FetchError.Err = nil, want the network error")
	}
	if want := issuer + WellKnownPath; fe.URL != want {
		t.Errorf("URL = %q, want %q", fe.URL, want)
	}
}

func TestNewContextEnds(t *testing.T) {
	op := newFakeOP(t)
	arrived := op.hold() // the provider never answers

	ctx, cancel := context.WithTimeout(testContext(t), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	p, err := New(ctx, op.config(newClock()))
	if err == nil {
		p.Close()
		t.Fatal("New succeeded against a provider that never answers")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > testTimeout/2 {
		t.Errorf("New took %v after its context ended", d)
	}
	select {
	case <-arrived:
	default:
		t.Error("no request reached the provider")
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty issuer", Config{}},
		{"http issuer on a non-loopback host", Config{Issuer: "http://example.com"}},
		{"issuer of another scheme", Config{Issuer: "ftp://example.com"}},
		{"issuer of another scheme with InsecureAllowHTTP", Config{Issuer: "ftp://example.com", InsecureAllowHTTP: true}},
		{"relative issuer", Config{Issuer: "example.com"}},
		{"issuer not a URL", Config{Issuer: "https://exa mple.com"}},
		{"negative MinCacheAge", Config{Issuer: "https://example.com", MinCacheAge: -time.Second}},
		{"negative MaxCacheAge", Config{Issuer: "https://example.com", MaxCacheAge: -time.Second}},
		{"negative KeyRefetchInterval", Config{Issuer: "https://example.com", KeyRefetchInterval: -time.Second}},
		{"MaxCacheAge less than MinCacheAge", Config{Issuer: "https://example.com", MinCacheAge: time.Hour, MaxCacheAge: time.Minute}},
		{"MinCacheAge above the default MaxCacheAge", Config{Issuer: "https://example.com", MinCacheAge: 48 * time.Hour}},
		{"MaxCacheAge below the default MinCacheAge", Config{Issuer: "https://example.com", MaxCacheAge: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A client that fails the test if used: a bad Config must be
			// rejected before any request.
			tt.cfg.HTTPClient = &http.Client{Transport: failingTransport{t}}
			p, err := New(testContext(t), tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New: err = %v, want ErrInvalidConfig", err)
			}
			if p != nil {
				t.Error("New returned a Provider")
			}

			md := &Metadata{
				Issuer:                tt.cfg.Issuer,
				AuthorizationEndpoint: "https://example.com/authorize",
				TokenEndpoint:         "https://example.com/token",
				JWKSURI:               "https://example.com/jwks",
			}
			if _, err := NewStatic(md, tt.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("NewStatic: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("failingTransport")
}

func TestConfigDefaults(t *testing.T) {
	cfg := Config{Issuer: "https://example.com"}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	if cfg.MinCacheAge != time.Minute || cfg.MaxCacheAge != 24*time.Hour || cfg.KeyRefetchInterval != 10*time.Second {
		t.Errorf("defaults = %v, %v, %v; want 1m, 24h, 10s", cfg.MinCacheAge, cfg.MaxCacheAge, cfg.KeyRefetchInterval)
	}
	before := time.Now()
	if now := cfg.now(); now.Before(before) || time.Since(now) > time.Minute {
		t.Errorf("now() = %v without Config.Now, want about %v", now, before)
	}

	insecure := Config{Issuer: "http://example.com", InsecureAllowHTTP: true, MinCacheAge: time.Hour, MaxCacheAge: time.Hour}
	if err := insecure.check(); err != nil {
		t.Errorf("check with InsecureAllowHTTP and MinCacheAge == MaxCacheAge: %v", err)
	}
	loopback := Config{Issuer: "http://localhost:8080"}
	if err := loopback.check(); err != nil {
		t.Errorf("check with a loopback http issuer: %v", err)
	}
}

func TestCacheAge(t *testing.T) {
	base := Config{Issuer: "https://example.com"} // 1m to 24h
	if err := base.check(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		cacheControl string
		age          string
		min, max     time.Duration // override base when non-zero
		want         time.Duration
	}{
		{name: "no header means an hour", want: time.Hour},
		{name: "max-age", cacheControl: "max-age=300", want: 5 * time.Minute},
		{name: "max-age among other directives", cacheControl: "public, max-age=600, must-revalidate", want: 10 * time.Minute},
		{name: "directive names are case-insensitive", cacheControl: "Public, MAX-AGE=600", want: 10 * time.Minute},
		{name: "quoted max-age", cacheControl: `max-age="600"`, want: 10 * time.Minute},
		{name: "max-age below MinCacheAge", cacheControl: "max-age=10", want: time.Minute},
		{name: "max-age zero", cacheControl: "max-age=0", want: time.Minute},
		{name: "max-age above MaxCacheAge", cacheControl: "max-age=172800", want: 24 * time.Hour},
		{name: "max-age overflowing int64", cacheControl: "max-age=99999999999999999999", want: time.Hour},
		{name: "max-age near the int64 limit", cacheControl: "max-age=9223372036854775807", want: 24 * time.Hour},
		{name: "negative max-age ignored", cacheControl: "max-age=-5", want: time.Hour},
		{name: "garbled max-age ignored", cacheControl: "max-age=soon", want: time.Hour},
		{name: "no-store", cacheControl: "no-store", want: time.Minute},
		{name: "no-cache", cacheControl: "no-cache", want: time.Minute},
		{name: "no-cache wins over max-age", cacheControl: "max-age=600, no-cache", want: time.Minute},
		{name: "no-store wins over max-age", cacheControl: "no-store, max-age=600", want: time.Minute},
		{name: "Age subtracted", cacheControl: "max-age=600", age: "100", want: 500 * time.Second},
		{name: "Age beyond max-age", cacheControl: "max-age=600", age: "1000", want: time.Minute},
		{name: "huge Age", cacheControl: "max-age=600", age: "9223372036854775807", want: time.Minute},
		{name: "Age without max-age ignored", age: "100", want: time.Hour},
		{name: "garbled Age ignored", cacheControl: "max-age=600", age: "old", want: 10 * time.Minute},
		{name: "negative Age ignored", cacheControl: "max-age=600", age: "-100", want: 10 * time.Minute},
		{name: "default hour clamped down", min: time.Second, max: 10 * time.Minute, want: 10 * time.Minute},
		{name: "default hour clamped up", min: 2 * time.Hour, max: 3 * time.Hour, want: 2 * time.Hour},
		{name: "no-store with a custom minimum", cacheControl: "no-store", min: 5 * time.Second, max: time.Hour, want: 5 * time.Second},
		{name: "fixed age", cacheControl: "max-age=1", min: 5 * time.Minute, max: 5 * time.Minute, want: 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.min != 0 {
				cfg.MinCacheAge, cfg.MaxCacheAge = tt.min, tt.max
			}
			h := http.Header{}
			if tt.cacheControl != "" {
				h.Set("Cache-Control", tt.cacheControl)
			}
			if tt.age != "" {
				h.Set("Age", tt.age)
			}
			if got := cacheAge(h, &cfg); got != tt.want {
				t.Errorf("cacheAge = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMetadataCacheExpiry checks, through a real fetch, when a document goes
// stale: not a second before its cache age has passed, and at once after.
func TestMetadataCacheExpiry(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		age          string
		want         time.Duration
	}{
		{name: "default", want: time.Hour},
		{name: "max-age honoured", cacheControl: "max-age=300", want: 5 * time.Minute},
		{name: "max-age clamped to MinCacheAge", cacheControl: "max-age=5", want: time.Minute},
		{name: "max-age clamped to MaxCacheAge", cacheControl: "max-age=999999", want: 24 * time.Hour},
		{name: "no-store", cacheControl: "no-store", want: time.Minute},
		{name: "no-cache", cacheControl: "no-cache", want: time.Minute},
		{name: "Age subtracted", cacheControl: "max-age=600", age: "100", want: 500 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			op := newFakeOP(t)
			op.edit(func() {
				op.docHeader = http.Header{}
				if tt.cacheControl != "" {
					op.docHeader.Set("Cache-Control", tt.cacheControl)
				}
				if tt.age != "" {
					op.docHeader.Set("Age", tt.age)
				}
			})
			p := mustNew(t, op.config(clk))

			clk.Advance(tt.want - time.Second)
			p.Metadata()
			if backgroundRunning(p, "metadata") {
				t.Fatalf("refresh started %v after the fetch, before the document went stale", tt.want-time.Second)
			}
			clk.Advance(2 * time.Second)
			p.Metadata()
			waitIdle(t, p)
			if got := op.docHits.Load(); got != 2 {
				t.Errorf("discovery fetched %d times, want 2 (one refresh once stale)", got)
			}
		})
	}
}

// TestMetadataBackgroundRefresh checks that a stale document is returned at
// once while exactly one background refresh replaces it.
func TestMetadataBackgroundRefresh(t *testing.T) {
	clk := newClock()
	op := newFakeOP(t)
	p := mustNew(t, op.config(clk))
	old := p.Metadata()

	arrived := op.hold()
	op.edit(func() { op.doc["userinfo_endpoint"] = op.issuer + "/userinfo2" })
	clk.Advance(2 * time.Hour)

	// With the provider held, a Metadata call that waited for the refresh
	// would never return; every call must return the cached document.
	const callers = 20
	results := make(chan *Metadata, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() { results <- p.Metadata() })
	}
	waitGroup(t, &wg)
	close(results)
	for md := range results {
		if md != old {
			t.Fatalf("Metadata() = %p during the refresh, want the cached %p", md, old)
		}
	}
	select {
	case <-arrived:
	case <-time.After(testTimeout):
		t.Fatal("no background refresh reached the provider")
	}
	for range callers {
		p.Metadata()
	}
	if got := op.docHits.Load(); got != 2 {
		t.Fatalf("discovery fetched %d times, want 2 (New and one refresh)", got)
	}

	op.release()
	waitFor(t, "the refreshed document", func() bool { return p.Metadata() != old })
	waitIdle(t, p)
	if got, want := p.Metadata().UserinfoEndpoint, op.issuer+"/userinfo2"; got != want {
		t.Errorf("UserinfoEndpoint = %q after the refresh, want %q", got, want)
	}
	p.Metadata()
	if backgroundRunning(p, "metadata") {
		t.Error("a fresh document started another refresh")
	}
	if got := op.docHits.Load(); got != 2 {
		t.Errorf("discovery fetched %d times, want 2", got)
	}
}

// waitGroup waits for wg, failing the test after testTimeout.
func waitGroup(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for goroutines")
	}
}

func TestRefreshFailureKeepsDocument(t *testing.T) {
	tests := []struct {
		name    string
		breakOP func(op *fakeOP)
		check   func(t *testing.T, err error)
	}{
		{
			name:    "status 503",
			breakOP: func(op *fakeOP) { op.docStatus = http.StatusServiceUnavailable },
			check:   func(t *testing.T, err error) { wantStatus(t, err, http.StatusServiceUnavailable) },
		},
		{
			name:    "issuer changed",
			breakOP: func(op *fakeOP) { op.doc["issuer"] = "https://evil.example.com" },
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrIssuerMismatch) {
					t.Errorf("err = %v, want ErrIssuerMismatch", err)
				}
			},
		},
		{
			name:    "invalid document",
			breakOP: func(op *fakeOP) { delete(op.doc, "jwks_uri") },
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrInvalidMetadata) {
					t.Errorf("err = %v, want ErrInvalidMetadata", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			op := newFakeOP(t)
			p := mustNew(t, op.config(clk))
			old := p.Metadata()
			op.edit(func() { tt.breakOP(op) })

			// An explicit refresh fails, keeping the document.
			md, err := p.Refresh(testContext(t))
			if md != nil {
				t.Error("Refresh returned metadata with its error")
			}
			tt.check(t, err)
			if p.Metadata() != old {
				t.Error("a failed Refresh replaced the document")
			}

			// So does a background one, once the document is stale.
			clk.Advance(2 * time.Hour)
			if p.Metadata() != old {
				t.Error("Metadata() did not return the cached document")
			}
			waitIdle(t, p)
			if got := op.docHits.Load(); got != 3 {
				t.Fatalf("discovery fetched %d times, want 3", got)
			}
			if p.Metadata() != old {
				t.Error("a failed background refresh replaced the document")
			}

			// The next attempt comes after MinCacheAge, not before.
			clk.Advance(time.Minute - time.Second)
			p.Metadata()
			if backgroundRunning(p, "metadata") {
				t.Error("refresh retried before MinCacheAge")
			}
			clk.Advance(2 * time.Second)
			op.edit(func() { op.doc, op.docStatus = op.defaultDoc(op.issuer), 0 })
			p.Metadata()
			waitIdle(t, p)
			if got := op.docHits.Load(); got != 4 {
				t.Errorf("discovery fetched %d times, want 4", got)
			}
			if p.Metadata() == old {
				t.Error("the provider recovered but the document was not replaced")
			}
		})
	}
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFetch) {
		t.Fatalf("err = %v, want *FetchError", err)
	}
	if fe.StatusCode != status {
		t.Errorf("StatusCode = %d, want %d", fe.StatusCode, status)
	}
}

func TestRefreshShared(t *testing.T) {
	clk := newClock()
	op := newFakeOP(t)
	p := mustNew(t, op.config(clk))
	arrived := op.hold()

	const callers = 8
	type result struct {
		md  *Metadata
		err error
	}
	results := make(chan result, callers)
	waiting := make([]*waitingContext, callers)
	for i := range waiting {
		waiting[i] = newWaitingContext(testContext(t))
		go func() {
			md, err := p.Refresh(waiting[i])
			results <- result{md, err}
		}()
	}
	// Every caller is waiting for a fetch, and that fetch is held at the
	// provider: they can only be sharing it.
	for i, ctx := range waiting {
		select {
		case <-ctx.entered:
		case <-time.After(testTimeout):
			t.Fatalf("caller %d never waited for the fetch", i)
		}
	}
	select {
	case <-arrived:
	case <-time.After(testTimeout):
		t.Fatal("no fetch reached the provider")
	}
	op.release()

	var first *Metadata
	for range callers {
		r := <-results
		if r.err != nil {
			t.Fatalf("Refresh: %v", r.err)
		}
		if first == nil {
			first = r.md
		}
		if r.md != first {
			t.Error("callers got different documents from one shared fetch")
		}
	}
	if got := op.docHits.Load(); got != 2 {
		t.Errorf("discovery fetched %d times, want 2 (New and one shared refresh)", got)
	}
	if p.Metadata() != first {
		t.Error("the refreshed document is not current")
	}
}

// TestRefreshCallerGivesUp checks that a caller whose context ends stops
// waiting, without aborting the fetch for the others.
func TestRefreshCallerGivesUp(t *testing.T) {
	op := newFakeOP(t)
	p := mustNew(t, op.config(newClock()))
	arrived := op.hold()

	patient := make(chan error, 1)
	go func() {
		_, err := p.Refresh(testContext(t))
		patient <- err
	}()
	<-arrived

	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := p.Refresh(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Refresh with a cancelled context: err = %v, want context.Canceled", err)
	}
	op.release()
	select {
	case err := <-patient:
		if err != nil {
			t.Errorf("the patient caller's Refresh: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the patient caller never got an answer")
	}
}

// TestRefreshCallerGivesUpDuringSuccess checks that a caller who gives up on
// a shared refresh cannot put back the document that refresh replaced.
func TestRefreshCallerGivesUpDuringSuccess(t *testing.T) {
	clk := newClock()
	op := newFakeOP(t)
	p := mustNew(t, op.config(clk))
	arrived := op.hold()

	patient := make(chan error, 1)
	go func() {
		_, err := p.Refresh(testContext(t))
		patient <- err
	}()
	select {
	case <-arrived:
	case <-time.After(testTimeout):
		t.Fatal("no fetch reached the provider")
	}

	// The impatient caller joins the fetch with a context already ended.
	// Should it read the clock (as it records its failure), it is held there.
	trap := clk.trapNext()
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	impatient := make(chan error, 1)
	go func() {
		_, err := p.Refresh(ctx)
		impatient <- err
	}()
	held := false
	select {
	case <-trap.entered:
		held = true
	case err := <-impatient:
		impatient <- err
		if !clk.disarm(trap) {
			t.Fatal("the clock trap was sprung by another caller")
		}
	case <-time.After(testTimeout):
		t.Fatal("the impatient caller neither returned nor read the clock")
	}

	// The shared fetch succeeds with a new document.
	op.edit(func() { op.doc["userinfo_endpoint"] = op.issuer + "/userinfo2" })
	op.release()
	select {
	case err := <-patient:
		if err != nil {
			t.Fatalf("the patient caller's Refresh: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the patient caller never got an answer")
	}
	if held {
		close(trap.release)
	}
	select {
	case err := <-impatient:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the impatient caller's Refresh: err = %v, want context.Canceled", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the impatient caller never returned")
	}
	if got, want := p.Metadata().UserinfoEndpoint, op.issuer+"/userinfo2"; got != want {
		t.Errorf("UserinfoEndpoint = %q after a successful refresh, want %q", got, want)
	}
}

func TestClose(t *testing.T) {
	t.Run("stops later refreshes", func(t *testing.T) {
		clk := newClock()
		op := newFakeOP(t)
		p := mustNew(t, op.config(clk))
		old := p.Metadata()
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		clk.Advance(48 * time.Hour)
		if p.Metadata() != old {
			t.Error("Metadata() after Close did not return the cached document")
		}
		if backgroundRunning(p, "metadata") {
			t.Error("Metadata() after Close started a refresh")
		}
		_, err := p.Refresh(testContext(t))
		if !errors.Is(err, ErrFetch) || !errors.Is(err, context.Canceled) {
			t.Errorf("Refresh after Close: err = %v, want ErrFetch wrapping context.Canceled", err)
		}
		if got := op.docHits.Load(); got != 1 {
			t.Errorf("discovery fetched %d times, want 1", got)
		}
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("ends a refresh under way", func(t *testing.T) {
		clk := newClock()
		op := newFakeOP(t)
		p := mustNew(t, op.config(clk))
		old := p.Metadata()
		arrived := op.hold() // the provider never answers the refresh
		clk.Advance(2 * time.Hour)
		p.Metadata()
		select {
		case <-arrived:
		case <-time.After(testTimeout):
			t.Fatal("no background refresh reached the provider")
		}

		closed := make(chan error, 1)
		go func() { closed <- p.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("Close did not end the refresh under way")
		}
		if backgroundRunning(p, "metadata") {
			t.Error("a refresh is still running after Close")
		}
		if p.Metadata() != old {
			t.Error("the cancelled refresh replaced the document")
		}
	})
}

func TestNewStatic(t *testing.T) {
	clk := newClock()
	op := newFakeOP(t)
	k := key("rsa1", "RS256", "k1")
	op.edit(func() { op.jwks = []jose.JSONWebKey{k.jwk()} })
	md := &Metadata{
		Issuer:                op.issuer,
		AuthorizationEndpoint: op.issuer + "/authorize",
		TokenEndpoint:         op.issuer + "/token",
		JWKSURI:               op.issuer + "/jwks",
	}
	cfg := op.config(clk)
	cfg.Issuer = "" // taken from the metadata
	p, err := NewStatic(md, cfg)
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	t.Cleanup(func() { p.Close() })

	if p.Metadata() != md {
		t.Error("Metadata() is not the static document")
	}
	if got := p.Issuer(); got != op.issuer {
		t.Errorf("Issuer() = %q, want %q", got, op.issuer)
	}
	clk.Advance(100 * 365 * 24 * time.Hour)
	if p.Metadata() != md || backgroundRunning(p, "metadata") {
		t.Error("a static document was refreshed")
	}
	payload, err := p.KeySet().VerifySignature(testContext(t), sign(t, k, "k1", "static"))
	if err != nil || string(payload) != "static" {
		t.Errorf("VerifySignature = %q, %v; want the payload", payload, err)
	}
	if got := op.docHits.Load(); got != 0 {
		t.Errorf("discovery fetched %d times, want 0", got)
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}

func TestNewStaticErrors(t *testing.T) {
	valid := func() *Metadata {
		return &Metadata{
			Issuer:                "https://op.example.com",
			AuthorizationEndpoint: "https://op.example.com/authorize",
			TokenEndpoint:         "https://op.example.com/token",
			JWKSURI:               "https://op.example.com/jwks",
		}
	}
	tests := []struct {
		name   string
		md     func() *Metadata
		cfg    Config
		wantOK bool
		want   error
		field  string
	}{
		{name: "valid", md: valid, wantOK: true},
		{name: "issuer given and equal", md: valid, cfg: Config{Issuer: "https://op.example.com"}, wantOK: true},
		{name: "issuer mismatch", md: valid, cfg: Config{Issuer: "https://other.example.com"}, want: ErrIssuerMismatch},
		{
			name:   "issuer mismatch skipped",
			md:     valid,
			cfg:    Config{Issuer: "https://other.example.com", InsecureSkipIssuerCheck: true},
			wantOK: true,
		},
		{
			name: "missing token endpoint",
			md:   func() *Metadata { md := valid(); md.TokenEndpoint = ""; return md },
			want: ErrInvalidMetadata, field: "token_endpoint",
		},
		{
			name: "http endpoint",
			md:   func() *Metadata { md := valid(); md.UserinfoEndpoint = "http://op.example.com/userinfo"; return md },
			want: ErrInvalidMetadata, field: "userinfo_endpoint",
		},
		{
			name:   "http endpoint allowed",
			md:     func() *Metadata { md := valid(); md.UserinfoEndpoint = "http://op.example.com/userinfo"; return md },
			cfg:    Config{InsecureAllowHTTP: true},
			wantOK: true,
		},
		{
			name: "http issuer",
			md:   func() *Metadata { md := valid(); md.Issuer = "http://op.example.com"; return md },
			want: ErrInvalidConfig,
		},
		{name: "no issuer anywhere", md: func() *Metadata { return &Metadata{} }, want: ErrInvalidConfig},
		{name: "bad config", md: valid, cfg: Config{KeyRefetchInterval: -1}, want: ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.HTTPClient = &http.Client{Transport: failingTransport{t}}
			p, err := NewStatic(tt.md(), cfg)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("NewStatic: %v", err)
				}
				p.Close()
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Error("NewStatic returned a Provider with its error")
			}
			if tt.field != "" {
				wantMetadataError(t, err, tt.field)
			}
		})
	}
}

// TestNewRefusesLoopbackHTTPForHTTPSIssuer discovers an https provider whose
// document names an http endpoint on 127.0.0.1: refused, while the same
// document from an http loopback issuer (the test provider) is accepted.
func TestNewRefusesLoopbackHTTPForHTTPSIssuer(t *testing.T) {
	t.Run("https issuer", func(t *testing.T) {
		op := newFakeTLSOP(t)
		op.edit(func() { op.doc["token_endpoint"] = "http://127.0.0.1:1/token" })
		p, err := New(testContext(t), op.config(newClock()))
		if err == nil {
			p.Close()
			t.Fatal("New accepted an http loopback token_endpoint from an https issuer")
		}
		wantMetadataError(t, err, "token_endpoint")
	})
	t.Run("https issuer, document naming a loopback http issuer", func(t *testing.T) {
		op := newFakeTLSOP(t)
		op.edit(func() {
			op.doc["issuer"] = "http://127.0.0.1:1"
			op.doc["token_endpoint"] = "http://127.0.0.1:1/token"
		})
		cfg := op.config(newClock())
		cfg.InsecureSkipIssuerCheck = true
		p, err := New(testContext(t), cfg)
		if err == nil {
			p.Close()
			t.Fatal("New accepted an http loopback token_endpoint from an https issuer")
		}
		wantMetadataError(t, err, "token_endpoint")
	})
	t.Run("http loopback issuer", func(t *testing.T) {
		op := newFakeOP(t)
		op.edit(func() { op.doc["token_endpoint"] = "http://127.0.0.1:1/token" })
		mustNew(t, op.config(newClock()))
	})
}
