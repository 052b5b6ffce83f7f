package interop_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser driver: Debian's chromium, headless, driven through the
// DevTools protocol by chromedp, typing and clicking as a person would.

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// needChromium ends the test unless Chromium is installed, and returns its
// path.
func needChromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missing(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// browserLifetime bounds a browser's life: each step has a shorter timeout
// of its own, so that a step that times out can still have its screenshot
// taken.
const browserLifetime = 3 * time.Minute

// startChromium starts a headless Chromium with a fresh profile that can
// reach 127.0.0.1 only, and returns the context of its first tab. The
// browser and every process it started stop when the test ends, or after
// browserLifetime.
func startChromium(t *testing.T, path string) context.Context {
	t.Helper()
	profile := t.TempDir() // removed last, after the browser has stopped
	tmp := t.TempDir()     // Chromium's own temporary files, removed with it
	output := new(logBuffer)
	var (
		mu  sync.Mutex // guards cmd
		cmd *exec.Cmd
	)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root, in a container
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// No network but the loopback: the provider's pages @import web
		// fonts, which must fail at once rather than time out. localhost
		// is another site than 127.0.0.1, for the cross-site tests.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(output),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			// A process group of its own, killed with the test binary:
			// Chromium's helper processes go with it.
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			mu.Lock()
			cmd = c
			mu.Unlock()
		}),
	)
	lifetime, cancelLifetime := context.WithTimeout(t.Context(), browserLifetime)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(lifetime, opts...)
	browserLog := new(logBuffer)
	logf := func(format string, args ...any) { fmt.Fprintf(browserLog, format+"\n", args...) }
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancelLifetime()
		mu.Lock()
		c := cmd
		mu.Unlock()
		if c != nil && c.Process != nil {
			killGroup(t, c.Process.Pid)
		}
		if t.Failed() {
			t.Logf("chromium output:\n%s\nchromedp log:\n%s", output, browserLog)
		}
	})
	// Start the browser now, so that a browser that cannot start fails
	// here. (The first action's context becomes the browser's: it must be
	// the tab's own, not one with a shorter deadline.)
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start %s: %v\n%s", path, err, output)
	}
	return tabCtx
}

// killGroup kills what is left of process group pgid and waits, up to 5
// seconds, until it is gone.
func killGroup(t testing.TB, pgid int) {
	syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("process group %d still has processes after SIGKILL", pgid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stepTimeout bounds each step of a browser scenario.
const stepTimeout = 20 * time.Second

// page drives one browser tab through a scenario, step by step; a failing
// step saves a screenshot and fails the test.
type page struct {
	t   *testing.T
	ctx context.Context // the tab's
}

// step runs actions within stepTimeout; when one fails, it saves a
// screenshot of the tab for the log and ends the test.
func (p *page) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(name, err)
	}
}

// openLogin opens app's home page and clicks its Log in link, which must
// lead to the provider's login form.
func (p *page) openLogin(app *webapp) {
	p.t.Helper()
	p.step("open the app",
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login")))
	p.step("click Log in",
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)))
}

// signIn plays the user at oidc-provider's login form, open in the tab:
// the login name and a password, then the consent (the step named
// consent), which must end on the page landed waits for.
func (p *page) signIn(login, consent string, landed chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.step("type the login name and password",
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "any password"))
	p.step("sign in",
		chromedp.Click(chromedp.CSS(`form:has(input[name="login"]) button[type="submit"]`)),
		chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)))
	p.step(consent,
		chromedp.Click(chromedp.CSS(`form:has(input[name="prompt"][value="consent"]) button[type="submit"]`)),
		landed)
}

// wantHome checks that the tab is on app's home page, which names login's
// user.
func (p *page) wantHome(app *webapp, login string) {
	p.t.Helper()
	if name, want := run(p, "read the user's name", chromedp.Text(chromedp.ID("user"))), "Interop "+login; strings.TrimSpace(name) != want {
		p.fail("logged in", fmt.Errorf("#user = %q, want %q", name, want))
	}
	if location := run(p, "read the address", chromedp.Location()); location != app.URL+"/" {
		p.fail("logged in", fmt.Errorf("at %q, want the app's home page %s/", location, app.URL))
	}
}

// run runs action within stepTimeout and returns its value; when it fails,
// it saves a screenshot and ends the test.
func run[T any](p *page, name string, action chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		p.fail(name, err)
	}
	return v
}

// fail saves a screenshot and the page's address, and ends the test.
func (p *page) fail(name string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	location, _ := chromedp.Run(ctx, chromedp.Location())
	shot, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: a PNG
	if serr == nil {
		path, werr := saveScreenshot(p.t.Name(), shot)
		if werr == nil {
			p.t.Logf("screenshot of the failed step %q (at %s): %s", name, location, path)
		} else {
			p.t.Logf("saving a screenshot: %v", werr)
		}
	} else {
		p.t.Logf("taking a screenshot: %v", serr)
	}
	p.t.Fatalf("browser step %q (at %s): %v", name, location, err)
}

// saveScreenshot writes a PNG to a directory that outlives the test, and
// returns its path.
func saveScreenshot(testName string, png []byte) (string, error) {
	dir := os.Getenv("INTEROP_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "oidcrp-interop-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(testName)
	f, err := os.CreateTemp(dir, name+"-*.png")
	if err != nil {
		return "", err
	}
	_, err = f.Write(png)
	return f.Name(), errors.Join(err, f.Close())
}

// TestBrowserLoginLogout logs in with a real browser: the app's login link,
// typing a login name and password into the provider's form, consenting,
// landing on the app logged in; then logs out, confirming at the provider,
// and lands on the app's home page logged out.
func TestBrowserLoginLogout(t *testing.T) {
	t.Parallel()
	chromium := needChromium(t)
	s := startStack(t, stackConfig{Confidential: true})
	app := s.Confidential
	tab := &page{t: t, ctx: startChromium(t, chromium)}
	login := uniqueLogin("mia")

	// Each step waits for an element only the next page has, so that no
	// click races the navigation it starts.
	tab.openLogin(app)
	tab.signIn(login, "consent", chromedp.WaitVisible(chromedp.ID("user")))

	tab.wantHome(app, login)
	if status := run(tab, "fetch /me", fetchStatus("/me")); status != 200 {
		tab.fail("logged in", fmt.Errorf("fetch /me: %d, want 200", status))
	}

	tab.step("log out",
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.CSS(`button[name="logout"][value="yes"]`)))
	tab.step("confirm at the provider",
		chromedp.Click(chromedp.CSS(`button[name="logout"][value="yes"]`)),
		chromedp.WaitVisible(chromedp.ID("login")))

	if location := run(tab, "read the address", chromedp.Location()); location != app.URL+"/" {
		tab.fail("logged out", fmt.Errorf("at %q, want the app's home page %s/", location, app.URL))
	}
	if status := run(tab, "fetch /me", fetchStatus("/me")); status != 401 {
		tab.fail("logged out", fmt.Errorf("fetch /me: %d, want 401", status))
	}
	if ends := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "end_session.success" }); len(ends) != 1 {
		t.Errorf("provider's end_session.success events: %+v, want 1", ends)
	}
}

// fetchStatus has the page fetch path as a script of the app would, with
// its cookies, and returns the status.
func fetchStatus(path string) chromedp.Action[int] {
	return chromedp.Evaluate[int](
		fmt.Sprintf(`fetch(%q, {headers: {Accept: "application/json"}, redirect: "manual"}).then(r => r.status)`, path),
		chromedp.EvalAwaitPromise)
}
