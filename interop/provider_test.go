package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// providerDir holds provider.mjs and, after npm ci, node_modules.
const providerDir = "provider"

// clientMetadata is a client registration for oidc-provider, in RFC 7591
// names. provider.mjs defaults the grant types to authorization_code and
// refresh_token, and the response types to code when the code grant is
// allowed.
type clientMetadata struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	IDTokenSignedAlg        string   `json:"id_token_signed_response_alg,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI    string   `json:"backchannel_logout_uri,omitempty"`

	// ApplicationType: "", web; "native" for the CLI (loopback redirect
	// URIs on any port, RFC 8252 section 7.3).
	ApplicationType string `json:"application_type,omitempty"`

	// private_key_jwt: the client's public keys, and the one algorithm its
	// assertions may be signed with.
	JWKS                     json.RawMessage `json:"jwks,omitempty"`
	TokenEndpointAuthSigning string          `json:"token_endpoint_auth_signing_alg,omitempty"`

	GrantTypes []string `json:"grant_types,omitempty"` // if empty, provider.mjs's default

	// RequirePAR makes the provider refuse the client's unpushed
	// authorization requests (RFC 9126 section 5).
	RequirePAR bool `json:"require_pushed_authorization_requests,omitempty"`
}

// resourceServer is a resource indicator's access tokens (provider.mjs).
type resourceServer struct {
	Audience string `json:"audience"`
	Scope    string `json:"scope"`
	Format   string `json:"format"` // "jwt" or "opaque"
}

// providerConfig is provider.mjs's configuration file.
type providerConfig struct {
	Port           int              `json:"port"`
	Host           string           `json:"host,omitempty"`           // the issuer's host: "" (127.0.0.1) or "localhost"
	AccessTokenTTL int              `json:"accessTokenTTL,omitempty"` // seconds; 0: 600
	RequirePAR     bool             `json:"requirePAR,omitempty"`     // every client must push (RFC 9126)
	DPoPNonce      bool             `json:"dpopNonce,omitempty"`      // DPoP proofs need the provider's nonce
	Clients        []clientMetadata `json:"clients"`

	ResourceServers map[string]resourceServer `json:"resourceServers,omitempty"`
}

// providerEvent is one "EVENT {...}" line of provider.mjs.
type providerEvent struct {
	Event      string `json:"event"`
	GrantType  string `json:"grant_type"`
	ClientID   string `json:"client_id"`
	Sub        string `json:"sub"`
	Error      string `json:"error"`
	Path       string `json:"path"`
	AuthMethod string `json:"auth_method"` // of grant.success: how the client authenticated
	TokenType  string `json:"token_type"`  // of grant.success: Bearer or DPoP
	Actor      string `json:"actor"`       // of token_exchange.success: the actor token's client
}

// provider is a running oidc-provider.
type provider struct {
	Issuer string
	proc   *process
	log    *logBuffer

	mu      sync.Mutex // guards events and changed
	events  []providerEvent
	changed chan struct{} // closed and replaced on each new event
}

// needProvider ends the test unless Node.js and the installed provider are
// available.
func needProvider(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node is not installed (the interop suite runs oidc-provider on Node.js)")
	}
	if _, err := os.Stat(filepath.Join(providerDir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run npm ci in interop/provider")
	}
}

// providerStarts holds a token for each oidc-provider starting.
var providerStarts = make(chan struct{}, 2)

// processStartTimeout bounds the start of a provider or an app. Alone one
// takes under a second; eight providers started at once on 2 idle cores
// took 5 s each.
const processStartTimeout = 30 * time.Second

// startProvider starts oidc-provider with cfg (cfg.Port 0: a free port),
// waits until it listens, and stops it when the test ends.
func startProvider(t testing.TB, cfg providerConfig) *provider {
	t.Helper()
	needProvider(t)
	if cfg.Port == 0 {
		cfg.Port = freePorts(t, 1)[0]
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "provider.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// A start costs Node.js about half a CPU-second (loading oidc-provider,
	// generating an RSA key): a few at a time, so that on a loaded 2-core
	// machine each gets the CPU it needs rather than all crawling together.
	providerStarts <- struct{}{}
	released := false
	release := func() {
		if !released {
			released = true
			<-providerStarts
		}
	}
	defer release()

	p := &provider{log: new(logBuffer), changed: make(chan struct{})}
	cmd := exec.Command("node", "provider.mjs", cfgPath)
	cmd.Dir = providerDir
	cmd.Stderr = p.log
	// Its standard input stays open while the test runs: provider.mjs stops
	// when it closes, should this process die without cleaning up.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	p.proc = startProcess(t, "oidc-provider", cmd, 5*time.Second)
	t.Cleanup(func() { stdin.Close() })
	go scanLines(stdout, p.log, func(line string) {
		switch {
		case strings.HasPrefix(line, "READY "):
			ready <- strings.TrimPrefix(line, "READY ")
		case strings.HasPrefix(line, "EVENT "):
			var ev providerEvent
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "EVENT ")), &ev) == nil {
				p.mu.Lock()
				p.events = append(p.events, ev)
				close(p.changed)
				p.changed = make(chan struct{})
				p.mu.Unlock()
			}
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("oidc-provider output:\n%s", p.log)
		}
	})

	select {
	case p.Issuer = <-ready:
	case <-p.proc.done:
		t.Fatalf("oidc-provider %v (%v):\n%s", errExited, p.proc.err, p.log)
	case <-time.After(processStartTimeout):
		t.Fatalf("oidc-provider not ready within %v (%s):\n%s", processStartTimeout, diagnose(cmd.Process.Pid, cfg.Port), p.log)
	}
	release()
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if want := fmt.Sprintf("http://%s:%d", host, cfg.Port); p.Issuer != want {
		t.Fatalf("oidc-provider is ready at %q, want %q", p.Issuer, want)
	}
	return p
}

// Events returns the events so far that match.
func (p *provider) Events(match func(providerEvent) bool) []providerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []providerEvent
	for _, ev := range p.events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// WaitEvent waits until an event matches, and returns it.
func (p *provider) WaitEvent(ctx context.Context, match func(providerEvent) bool) (providerEvent, error) {
	for {
		p.mu.Lock()
		for _, ev := range p.events {
			if match(ev) {
				p.mu.Unlock()
				return ev, nil
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return providerEvent{}, ctx.Err()
		}
	}
}

// WaitEvents waits until more than n events match, and returns them all:
// the provider reports an event on its standard output, which this process
// may read after the HTTP answer that followed it.
func (p *provider) WaitEvents(ctx context.Context, match func(providerEvent) bool, n int) ([]providerEvent, error) {
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		if evs := p.Events(match); len(evs) > n {
			return evs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return p.Events(match), ctx.Err()
		}
	}
}

// grant matches a successful token request of grantType by clientID.
func grant(grantType, clientID string) func(providerEvent) bool {
	return func(ev providerEvent) bool {
		return ev.Event == "grant.success" && ev.GrantType == grantType && ev.ClientID == clientID
	}
}

// diagnose describes a process that is not ready: its state and what it
// waits on, by /proc, and whether its port accepts connections.
func diagnose(pid, port int) string {
	var b strings.Builder
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		fmt.Fprintf(&b, "stat %s", strings.TrimSpace(string(stat)))
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		wchan, _ := os.ReadFile(task + "/wchan")
		status, _ := os.ReadFile(task + "/stat")
		fields := strings.Fields(string(status))
		if len(fields) > 2 {
			fmt.Fprintf(&b, "; task %s %s %s wchan %s", filepath.Base(task), fields[1], fields[2], wchan)
		}
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err != nil {
		fmt.Fprintf(&b, "; port %d: %v", port, err)
	} else {
		c.Close()
		fmt.Fprintf(&b, "; port %d accepts connections", port)
	}
	// The native stacks, where gdb is installed.
	if _, err := exec.LookPath("gdb"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "gdb", "-p", strconv.Itoa(pid), "-batch", "-ex", "thread apply all bt 25").CombinedOutput()
		fmt.Fprintf(&b, "; gdb (%v):\n%s", err, out)
	}
	return b.String()
}
