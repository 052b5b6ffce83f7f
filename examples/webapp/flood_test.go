package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session/redisstore/redistest"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFrontchannelLogoutFlood: GET /auth/frontchannel-logout needs no
// credentials, so anyone can send it. 200 requests with 64 KiB sids, and
// 200 more with well-formed sids this app never issued, leave nothing
// behind: the process grows by less than 8 MiB, Redis holds no new key,
// and the logged-in user is unaffected.
func TestFrontchannelLogoutFlood(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		name := "memory"
		if withRedis {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			op := oidctest.NewServer(oidctest.Config{})
			defer op.Close()
			vars := providerVars(op, "")
			var rs *redistest.Server
			if withRedis {
				rs = redistest.Start(t)
				vars = sharedVars(t, op, "", rs.URL)
			}
			app := serveApp(t, "A", listen(t), vars)
			br := oidctest.NewBrowser()
			if p, err := br.Get(testContext(t), app.url+"/auth/login?return_to=/me"); err != nil || p.StatusCode != http.StatusOK {
				t.Fatalf("login: %v %v", p, err)
			}
			var keysBefore int64
			if rs != nil {
				keysBefore = rs.Client(t).DBSize(testContext(t)).Val()
			}
			iss := url.QueryEscape(op.URL)
			huge := strings.Repeat("s", 64<<10)
			before := heapInUse()
			for i := range 400 {
				sid := huge[:len(huge)-3] + string(rune('a'+i%26)) + "00"
				if i >= 200 {
					sid = rand.Text() + rand.Text() // well formed, never issued
				}
				resp, err := http.Get(app.url + "/auth/frontchannel-logout?iss=" + iss + "&sid=" + sid)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if i < 200 && resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("64 KiB sid: %d, want 400", resp.StatusCode)
				}
				if i >= 200 && resp.StatusCode != http.StatusOK {
					t.Fatalf("unknown sid: %d, want 200", resp.StatusCode)
				}
			}
			grown := int64(heapInUse()) - int64(before)
			t.Logf("400 front-channel logouts (200 with 64 KiB sids, 200 unknown sids): heap grew by %d KiB", grown>>10)
			if grown > 8<<20 {
				t.Errorf("heap grew by %d bytes, want < 8 MiB", grown)
			}
			if rs != nil {
				if keys := rs.Client(t).DBSize(testContext(t)).Val(); keys != keysBefore {
					t.Errorf("Redis keys: %d before the flood, %d after", keysBefore, keys)
				}
			}
			if status := get(t, br, app.url+"/me", nil); status != http.StatusOK {
				t.Fatalf("/me of the logged-in user after the flood: %d", status)
			}
		})
	}
}

// TestServerLimits: the app's server refuses request headers over 64 KiB,
// such as a Cookie header stuffed with junk flow cookies, before any
// handler runs.
func TestServerLimits(t *testing.T) {
	l := listen(t)
	srv := newServer(http.NotFoundHandler())
	go srv.Serve(l)
	defer srv.Close()
	req, _ := http.NewRequestWithContext(testContext(t), http.MethodGet, "http://"+l.Addr().String()+"/auth/login", nil)
	req.Header.Set("Cookie", "oidcrp_flow_x="+strings.Repeat("j", 80<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("80 KiB Cookie header: %d, want 431", resp.StatusCode)
	}
	if srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.ReadHeaderTimeout == 0 {
		t.Fatalf("server without timeouts: %+v", srv)
	}
}
