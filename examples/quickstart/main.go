// Command quickstart is the README's quick start, compiled by the tests so
// that it stays true. Run it with OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and
// SESSION_KEYS set, against a real provider (edit the issuer).
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/session"
)

func main() {
	// README quick start begins.
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{
		Issuer:       "https://accounts.example.com",
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err) // unreachable provider, issuer mismatch, bad config: found at start-up
	}
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS")) // 32 random bytes each, base64
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions, UserInfo: true})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /auth/login", auth.Login()) // ?return_to=/reports
	mux.Handle("GET /auth/callback", auth.Callback())
	mux.Handle("/auth/logout", auth.Logout()) // GET: a confirmation page; POST (same-origin): log out
	mux.Handle("GET /reports", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello,", middleware.Subject(r.Context()))
		// Call an API as the user; the token refreshes itself:
		// resp, err := auth.HTTPClient(r).Get("https://api.example.com/v1/reports")
	})))
	srv := &http.Server{Addr: ":8080", Handler: mux, MaxHeaderBytes: 64 << 10,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute}
	log.Fatal(srv.ListenAndServe())
	// README quick start ends.
}
