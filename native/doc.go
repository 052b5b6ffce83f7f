// Package native logs the users of command-line tools and desktop apps in,
// and keeps their tokens between runs.
//
// Login runs the authorization-code flow of a native app (RFC 8252): it
// listens on an ephemeral port of the loopback interface (127.0.0.1, else
// [::1]; section 7.3), opens the system browser on the provider's login
// page, and waits for the one callback that carries the login's state,
// with PKCE S256, state and nonce as every login of the client package.
// Any other request to the listener gets 400 and does not end the wait;
// the listener closes after the valid callback, the timeout or ctx's end.
//
// Cache keeps one login per (issuer, client) in a file of the user's
// configuration directory, readable by the user alone (0600 in a 0700
// directory): it refuses to read a file others can read, replaces the file
// atomically (a temporary file, fsync, rename), so that a crash mid-write
// never loses the login, and redeems the refresh token when the access
// token is due, saving the rotated one before returning.
//
// The happy path of a CLI:
//
//	rp, err := client.New(ctx, client.Config{Issuer: issuer, ClientID: "my-cli"}) // a public client
//	cache, err := native.OpenCache(native.CacheConfig{Issuer: issuer, ClientID: "my-cli"})
//	// my-cli login
//	tokens, err := native.Login(ctx, native.LoginConfig{RP: rp})
//	err = cache.Save(native.NewRecord(rp, tokens))
//	// my-cli anything, later: a valid access token, refreshed when due
//	rec, err := cache.Token(ctx, rp)
//	req.Header.Set("Authorization", "Bearer "+rec.AccessToken)
//
// Register the redirect URI http://127.0.0.1/callback (any port, RFC 8252
// section 7.3) at the provider, as a native application.
package native
