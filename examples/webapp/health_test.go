package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// healthz fetches /healthz and returns its status and JSON answer.
func healthz(t *testing.T, app string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(app + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/healthz: %v, %s", err, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, v
}

// TestHealthz: 200 once the provider's keys are loaded, and while the
// provider is down afterwards; 503 with a reason when they cannot be.
func TestHealthz(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := startApp(t, providerVars(op, ""))
	if status, v := healthz(t, app); status != http.StatusOK || v["status"] != "ok" {
		t.Fatalf("/healthz: %d %v", status, v)
	}
	op.SetDown(true)
	if status, v := healthz(t, app); status != http.StatusOK {
		t.Fatalf("/healthz with the keys loaded and the provider down: %d %v", status, v)
	}

	// Another app, whose provider goes down before the keys are loaded.
	op2 := oidctest.NewServer(oidctest.Config{})
	defer op2.Close()
	app2 := startApp(t, providerVars(op2, ""))
	op2.SetDown(true)
	for range 2 { // the second answer repeats the first failure
		if status, v := healthz(t, app2); status != http.StatusServiceUnavailable || v["status"] != "unavailable" || !strings.Contains(v["reason"], "keys") {
			t.Fatalf("/healthz with the provider down from the start: %d %v", status, v)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the exporters' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestTelemetryConsole: with OTEL_METRICS_EXPORTER and OTEL_TRACES_EXPORTER
// set to console, a login exports the library's metrics and the spans of
// the calls to the provider, under the request's span, with
// OTEL_SERVICE_NAME; and never a token.
func TestTelemetryConsole(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars := providerVars(op, "openid profile email offline_access")
	vars["LISTEN_ADDR"] = l.Addr().String()
	vars["OTEL_METRICS_EXPORTER"], vars["OTEL_TRACES_EXPORTER"] = "console", "console"
	t.Setenv("OTEL_SERVICE_NAME", "webapp-under-test") // the SDK reads the process's environment
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	out := new(syncBuffer)
	cfg.otel.out = out
	a, err := newApp(testContext(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a}
	go srv.Serve(l)
	url := "http://" + l.Addr().String()
	b := oidctest.NewBrowser()
	p, err := b.Get(testContext(t), url+"/auth/login?return_to=/userinfo")
	if err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	srv.Close()
	a.Close() // exports what is pending
	got := out.String()
	for _, want := range []string{
		`"Name":"oidcrp.endpoint.succeeded"`, `"Name":"oidcrp.provider.request.duration"`,
		`"Name":"oidcrp.discovery.fetched"`, `"Name":"oidcrp.login.succeeded"`, `"Value":"authorization_code"`, `"Value":"webapp-under-test"`,
		`"Name":"GET /auth/callback"`, `"SpanKind":3`, // a client span (the token request)
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the console export lacks %s", want)
		}
	}
	if s, ok := b.Cookie(url, "oidcrp_session"); !ok || strings.Contains(got, s) || strings.Contains(got, op.Client().Secret) {
		t.Error("the export carries the session cookie or the client secret")
	}
	if t.Failed() {
		t.Logf("export:\n%s", got)
	}
}

// TestOTELVariables: the exporters the example has, and nothing else.
func TestOTELVariables(t *testing.T) {
	for _, tt := range []struct {
		vars    map[string]string
		on      bool
		wantErr string
	}{
		{vars: map[string]string{}},
		{vars: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}},
		{vars: map[string]string{"OTEL_METRICS_EXPORTER": "console"}, on: true},
		{vars: map[string]string{"OTEL_METRICS_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}},
		{vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, wantErr: "OTEL_TRACES_EXPORTER"},
	} {
		c, err := otelConfigFromEnv(env(tt.vars))
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%v: err = %v", tt.vars, err)
		case tt.wantErr == "" && (err != nil || c.enabled() != tt.on):
			t.Errorf("%v: %+v, %v", tt.vars, c, err)
		}
	}
}
