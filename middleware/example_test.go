package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// newApp wires an app in front of a provider: what the README's quick start
// does, with oidctest standing in for the provider and httptest for the
// server. It returns the app's URL.
func newApp(op *oidctest.Server, routes func(mux *http.ServeMux, auth *middleware.Auth)) (*httptest.Server, func()) {
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	rp, err := client.New(context.Background(), client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  app.URL + "/auth/callback",
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /auth/login", auth.Login())
	mux.Handle("GET /auth/callback", auth.Callback())
	mux.Handle("/auth/logout", auth.Logout())
	routes(mux, auth)
	return app, func() { app.Close(); rp.Close() }
}

// Protect a handler: a browser without a session is sent through the
// provider's login and brings its session back.
func ExampleAuth_Require() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app, done := newApp(op, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("GET /reports", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var claims struct {
				Name string `json:"name"`
			}
			middleware.Claims(r.Context(), &claims)
			fmt.Fprintf(w, "reports of %s (%s)", claims.Name, middleware.Subject(r.Context()))
		})))
	})
	defer done()

	browser := oidctest.NewBrowser()
	page, err := browser.Get(context.Background(), app.URL+"/reports")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.StatusCode, string(page.Body))
	fmt.Println("redirects followed:", len(page.Hops)-1)
	// Output:
	// 200 reports of Alice Example (alice)
	// redirects followed: 4
}

// Call an API as the user with a client whose access token refreshes
// itself. Here access tokens live one second: after two, the token is
// refreshed on the way, once, and the call succeeds.
func ExampleAuth_HTTPClient() {
	op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: time.Second, RotateRefreshTokens: true})
	defer op.Close()
	userinfo := op.URL + "/userinfo" // any API that takes the provider's access tokens
	app, done := newApp(op, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("GET /profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", userinfo, nil)
			resp, err := auth.HTTPClient(r).Do(req)
			if err != nil {
				http.Error(w, "API call failed", middleware.ErrorStatus(err))
				return
			}
			defer resp.Body.Close()
			var info struct {
				Email string `json:"email"`
			}
			json.NewDecoder(resp.Body).Decode(&info)
			fmt.Fprint(w, info.Email)
		})))
	})
	defer done()

	browser := oidctest.NewBrowser()
	page, _ := browser.Get(context.Background(), app.URL+"/profile")
	fmt.Println(string(page.Body), "refreshes:", op.Stats().RefreshGrants)
	time.Sleep(2 * time.Second) // the access token expires
	page, _ = browser.Get(context.Background(), app.URL+"/profile")
	fmt.Println(string(page.Body), "refreshes:", op.Stats().RefreshGrants)
	// Output:
	// alice@example.com refreshes: 0
	// alice@example.com refreshes: 1
}

// Offer several providers: the login without a provider shows a chooser;
// with one, it starts that provider's login. Each session knows its
// provider.
func ExampleConfig_providers() {
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	var list []middleware.Provider
	for _, name := range []string{"work", "github"} {
		op := oidctest.NewServer(oidctest.Config{})
		defer op.Close()
		rp, err := client.New(context.Background(), client.Config{
			Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, ClientSecret: oidctest.DefaultClient.Secret,
			RedirectURL: app.URL + "/auth/callback", // one callback serves them all
		})
		if err != nil {
			log.Fatal(err)
		}
		defer rp.Close()
		list = append(list, middleware.Provider{Name: name, RP: rp})
	}
	sessions, _ := session.New(session.Config{Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	auth, err := middleware.New(middleware.Config{Providers: list, Sessions: sessions})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /auth/login", auth.Login())
	mux.Handle("GET /auth/callback", auth.Callback())
	mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s with %s", middleware.Subject(r.Context()), middleware.ProviderName(r.Context()))
	})))

	browser := oidctest.NewBrowser()
	page, _ := browser.Get(context.Background(), app.URL+"/auth/login")
	fmt.Println(page.StatusCode, page.Header.Get("Content-Type"))
	page, _ = browser.Get(context.Background(), app.URL+"/auth/login?provider=github")
	fmt.Println(string(page.Body))
	// Output:
	// 200 text/html; charset=utf-8
	// alice with github
}

// Ask for more scopes when a page needs them: the user is sent to the
// provider for them and comes back to the page, keeping the session.
func ExampleAuth_RequireStepUp() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app, done := newApp(op, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("GET /calendar", auth.RequireStepUp(middleware.StepUp{Scopes: []string{"calendar"}},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.SessionFrom(r.Context())
				fmt.Fprintf(w, "calendar of %s, scopes %q", s.Subject, s.Scopes)
			})))
	})
	defer done()

	browser := oidctest.NewBrowser()
	browser.Get(context.Background(), app.URL+"/auth/login")
	page, _ := browser.Get(context.Background(), app.URL+"/calendar")
	fmt.Println(string(page.Body), "logins:", op.Stats().Authorizations)
	// Output:
	// calendar of alice, scopes "calendar email offline_access openid profile" logins: 2
}
