package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/flight"
	"github.com/oidcrp/oidcrp/internal/httpx"
)

// WellKnownPath is appended to the issuer to find its configuration
// (OpenID Connect Discovery 1.0 section 4).
const WellKnownPath = "/.well-known/openid-configuration"

// Config says which provider to discover and how.
// The zero value of every field but Issuer is a sensible default.
type Config struct {
	// Issuer is the provider's issuer identifier, e.g.
	// "https://accounts.example.com". Required. It must be https, except
	// for loopback hosts (see checkURL) or when InsecureAllowHTTP is set.
	Issuer string

	// HTTPClient makes every request to the provider. If nil, a client with
	// a 30-second timeout is used. Each request follows only the redirects
	// that keep to the rules of the URL it was made for: the key set's stay
	// on the origin of jwks_uri, the discovery document's may go elsewhere
	// but, from an https issuer, never to http. The client itself is not
	// changed: a copy gets the policy, then applies the client's own
	// CheckRedirect.
	HTTPClient *http.Client

	// DocumentIssuer, if set, is the issuer the discovery document must
	// name, exactly, when it is not Issuer (the URL the document is fetched
	// from): a multi-tenant endpoint whose document carries an issuer
	// template, such as Microsoft Entra ID's "organizations", fetched from
	// "https://login.microsoftonline.com/organizations/v2.0" and naming
	// "https://login.microsoftonline.com/{tenantid}/v2.0" (see the client
	// package's MultiTenant). The check is made all the same.
	DocumentIssuer string

	// InsecureSkipIssuerCheck accepts a discovery document whose "issuer"
	// differs from Issuer (and DocumentIssuer). Leave it off: the check is
	// what stops a compromised or mistyped discovery URL from naming
	// another issuer (OpenID Connect Discovery 1.0 section 4.3). For a
	// provider known to differ, name what it says in DocumentIssuer.
	InsecureSkipIssuerCheck bool

	// InsecureAllowHTTP accepts http URLs for the issuer and the endpoints
	// on any host. Without it, http is accepted only for a loopback issuer
	// (http://127.0.0.1:port, http://localhost:port) and, for such an issuer
	// alone, endpoints on loopback hosts; an https issuer's endpoints must
	// all be https. Never use it in production.
	InsecureAllowHTTP bool

	// MinCacheAge and MaxCacheAge bound how long a fetched document or key
	// set is used before it is fetched again: the provider's Cache-Control
	// max-age is honoured within these bounds, and a document without one is
	// kept for an hour (within the bounds). A failed re-fetch keeps the old
	// document and is retried after MinCacheAge. If zero, 1 minute and 24
	// hours.
	MinCacheAge, MaxCacheAge time.Duration

	// KeyRefetchInterval is the least time between two fetches of the key set
	// caused by tokens naming an unknown key ID, so that a flood of tokens
	// with made-up kids cannot make us hammer the provider. If zero, 10
	// seconds.
	KeyRefetchInterval time.Duration

	// Events receives the provider's events: DiscoveryFetched and
	// DiscoveryFailed, KeySetFetched, KeySetFailed and UnknownKey, with the
	// time each fetch took. If nil, they are logged with slog.Default() (see
	// events.Log).
	Events events.Sink

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time

	oauth2Only bool // NewOAuth2: no ID tokens, so no jwks_uri
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Provider is a discovered OpenID Provider: its validated metadata and key
// set, both cached and refreshed in the background, off the request path.
// A Provider is safe for concurrent use. Call Close to stop its background work.
type Provider struct {
	cfg     Config
	client  *http.Client
	keys    *KeySet
	current atomic.Pointer[cached[*Metadata]]
	fetches flight.Group[*cached[*Metadata]]
	bg      background
}

// cached is a fetched value and when it goes stale.
type cached[T any] struct {
	value T
	stale time.Time
}

// New fetches the provider's discovery document, checks that its issuer is
// cfg.Issuer and that it is usable, and returns the Provider. It fails with
// an error matching ErrInvalidConfig, ErrFetch, ErrInvalidMetadata or
// ErrIssuerMismatch, or with ctx's error if ctx ends first.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p := newProvider(cfg)
	if _, err := p.Refresh(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// NewStatic returns a Provider for metadata known in advance, for providers
// without a discovery endpoint. The metadata is validated as a fetched
// document would be and never re-fetched; the key set is fetched as usual.
func NewStatic(md *Metadata, cfg Config) (*Provider, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = md.Issuer
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := cfg.checkMetadata(md); err != nil {
		return nil, err
	}
	p := newProvider(cfg)
	p.current.Store(&cached[*Metadata]{value: md, stale: time.Unix(1<<62, 0)})
	return p, nil
}

// NewOAuth2 returns a Provider for an OAuth 2.0 authorization server that
// is not an OpenID Provider (RFC 8414 metadata without jwks_uri, such as
// GitHub's, known in advance): it issues no ID tokens, so its key set is
// never fetched. The metadata is validated otherwise as NewStatic does.
func NewOAuth2(md *Metadata, cfg Config) (*Provider, error) {
	cfg.oauth2Only = true
	return NewStatic(md, cfg)
}

func (c *Config) check() error {
	if c.Issuer == "" {
		return fmt.Errorf("%w: Issuer is empty", ErrInvalidConfig)
	}
	if err := checkIssuerURL(c.Issuer, c.InsecureAllowHTTP); err != nil {
		return fmt.Errorf("%w: Issuer: %v", ErrInvalidConfig, err)
	}
	if c.MinCacheAge < 0 || c.MaxCacheAge < 0 || c.KeyRefetchInterval < 0 {
		return fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	}
	if c.MinCacheAge == 0 {
		c.MinCacheAge = time.Minute
	}
	if c.MaxCacheAge == 0 {
		c.MaxCacheAge = 24 * time.Hour
	}
	if c.MaxCacheAge < c.MinCacheAge {
		return fmt.Errorf("%w: MaxCacheAge is less than MinCacheAge", ErrInvalidConfig)
	}
	if c.KeyRefetchInterval == 0 {
		c.KeyRefetchInterval = 10 * time.Second
	}
	c.Events = events.OrLog(c.Events, nil)
	return nil
}

func newProvider(cfg Config) *Provider {
	p := &Provider{cfg: cfg, client: httpx.Client(cfg.HTTPClient)}
	p.bg.init()
	p.keys = &KeySet{
		uri:    func() string { return p.Metadata().JWKSURI },
		client: p.client,
		cfg:    &p.cfg,
		bg:     &p.bg,
	}
	return p
}

// Issuer returns the issuer the provider was configured with.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Metadata returns the provider's current metadata without blocking. When
// the cached document is stale, it starts a background re-fetch and returns
// the cached one meanwhile.
func (p *Provider) Metadata() *Metadata {
	c := p.current.Load()
	if p.cfg.now().After(c.stale) {
		p.bg.start("metadata", func(ctx context.Context) { p.Refresh(ctx) })
	}
	return c.value
}

// Refresh fetches the discovery document now and, if it is valid, makes it
// current. Concurrent callers share one fetch. On failure the previous
// document stays current and is tried again after MinCacheAge.
func (p *Provider) Refresh(ctx context.Context) (*Metadata, error) {
	c, _, err := p.fetches.Do(ctx, "", func(ctx context.Context) (*cached[*Metadata], error) {
		// The fetch is shared, so no one caller can cancel it (bg.shared:
		// Close ends it). It records its own outcome: fetches run one at a
		// time, so stores are ordered, and a caller who gives up can neither
		// lose the result nor undo it.
		ctx, cancel := p.bg.shared(ctx)
		defer cancel()
		start := time.Now()
		c, err := p.fetch(ctx)
		p.cfg.emitFetch(ctx, events.DiscoveryFetched, events.DiscoveryFailed, "", start, err)
		if err != nil {
			if old := p.current.Load(); old != nil {
				p.current.Store(&cached[*Metadata]{value: old.value, stale: p.cfg.now().Add(p.cfg.MinCacheAge)})
			}
			return nil, err
		}
		p.current.Store(c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return c.value, nil
}

func (p *Provider) fetch(ctx context.Context) (*cached[*Metadata], error) {
	u := strings.TrimSuffix(p.cfg.Issuer, "/") + WellKnownPath
	// The document may have moved to another origin (its issuer must still
	// match), but every hop passes the checks an endpoint would.
	redirects := httpx.Policy{CrossOrigin: true, AllowHTTP: p.cfg.InsecureAllowHTTP}
	resp, body, err := redirects.Get(ctx, p.client, u, "application/json")
	if err != nil {
		return nil, fetchError(u, err)
	}
	md, err := ParseMetadata(body)
	if err != nil {
		return nil, err
	}
	if err := p.cfg.checkMetadata(md); err != nil {
		return nil, err
	}
	return &cached[*Metadata]{value: md, stale: p.cfg.now().Add(cacheAge(resp.Header, &p.cfg))}, nil
}

// ParseMetadata decodes a discovery document. It checks only that it is a
// JSON object; see Metadata.Validate for the rest.
func ParseMetadata(body []byte) (*Metadata, error) {
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, &MetadataError{Reason: "not a JSON object of the expected shape", Err: err}
	}
	return &md, nil
}

func (c *Config) checkMetadata(md *Metadata) error {
	want := c.Issuer
	if c.DocumentIssuer != "" {
		want = c.DocumentIssuer
	}
	if md.Issuer != want && !c.InsecureSkipIssuerCheck {
		return &IssuerMismatchError{Expected: want, Got: md.Issuer}
	}
	// Endpoints may be http on loopback hosts only for a loopback http
	// issuer. The configured one decides: it is where the document came
	// from, and the document's may differ (InsecureSkipIssuerCheck).
	return md.validate(c.InsecureAllowHTTP, isLoopbackHTTP(c.Issuer), !c.oauth2Only)
}

// emitFetch emits ok, or failed with err's reason, for a fetch of kind that
// began at start (measured by the real clock: Now may be a test's).
func (c *Config) emitFetch(ctx context.Context, ok, failed events.Name, kind string, start time.Time, err error) {
	name := ok
	if err != nil {
		name = failed
	}
	if !c.Events.Enabled(ctx, name) {
		return
	}
	c.Events.Emit(ctx, events.Event{Name: name, Issuer: c.Issuer, Kind: kind, Duration: time.Since(start),
		Reason: events.ReasonOf(err), Err: err})
}

func fetchError(u string, err error) error {
	fe := &FetchError{URL: u, Err: err}
	if se, ok := err.(*httpx.StatusError); ok {
		fe.StatusCode = se.StatusCode
	}
	return fe
}

// cacheAge is how long a response may be used: its Cache-Control max-age
// less its Age, or an hour without one, within the configured bounds.
// no-store and no-cache mean the lower bound.
func cacheAge(h http.Header, cfg *Config) time.Duration {
	age := time.Hour
	for directive := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return cfg.MinCacheAge
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && n >= 0 {
				age = time.Duration(min(n, 1<<30)) * time.Second
				if a, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && a > 0 {
					age -= time.Duration(min(a, 1<<30)) * time.Second
				}
			}
		}
	}
	return min(max(age, cfg.MinCacheAge), cfg.MaxCacheAge)
}

// Close stops background refreshes and waits for any under way to end.
// The Provider keeps answering from its cache afterwards.
func (p *Provider) Close() error {
	p.bg.close()
	return nil
}

// background owns the goroutines that refresh cached documents: at most one
// per name at a time, all cancelled and awaited by close.
type background struct {
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex // guards running and closed; wg.Add happens under it
	running map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

func (b *background) init() {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.running = make(map[string]bool)
}

func (b *background) start(name string, fn func(context.Context)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.running[name] {
		return
	}
	b.running[name] = true
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.ctx, httpx.DefaultTimeout)
		defer cancel()
		fn(ctx)
		b.mu.Lock()
		delete(b.running, name)
		b.mu.Unlock()
	}()
}

// shared returns the context of a fetch that callers share: the first
// caller's values (its trace, so that the fetch's span is a child of the
// request that caused it), none of its cancellation (flight.Do dropped
// it), ended by close, and bounded by httpx.DefaultTimeout.
func (b *background) shared(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpx.DefaultTimeout)
	stop := context.AfterFunc(b.ctx, cancel)
	if b.ctx.Err() != nil {
		cancel() // closed already: AfterFunc's own call would come too late
	}
	return ctx, func() {
		stop()
		cancel()
	}
}

func (b *background) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}
