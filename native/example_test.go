package native_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/native"
	"github.com/oidcrp/oidcrp/oidctest"
)

// A CLI logs its user in through the browser, keeps the login, and later
// gets a valid access token from the cache.
func ExampleLogin() {
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{{ID: "my-cli", RedirectURIs: []string{"http://127.0.0.1/callback"}}}})
	defer op.Close()
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{Issuer: op.URL, ClientID: "my-cli", Scopes: []string{"openid", "offline_access"}})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	tokens, err := native.Login(ctx, native.LoginConfig{
		RP: rp,
		// Without OpenBrowser, the system browser; here a stand-in.
		OpenBrowser: func(ctx context.Context, url string) error {
			go oidctest.NewBrowser().Get(ctx, url)
			return nil
		},
		Output: io.Discard, // without it, os.Stderr shows the URL
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in as", tokens.IDToken.Subject)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	cache, err := native.OpenCache(native.CacheConfig{Issuer: op.URL, ClientID: "my-cli", Dir: dir}) // Dir "": the user's config directory
	if err != nil {
		log.Fatal(err)
	}
	if err := cache.Save(native.NewRecord(rp, tokens, time.Now(), nil)); err != nil {
		log.Fatal(err)
	}

	// Another run of the CLI:
	rec, err := cache.Token(ctx, rp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cached login of", rec.Subject, "with a refresh token:", rec.RefreshToken != "")
	// Output:
	// logged in as alice
	// cached login of alice with a refresh token: true
}
