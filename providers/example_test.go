package providers_test

import (
	"fmt"

	"github.com/oidcrp/oidcrp/providers"
)

// Google, for the accounts of one Workspace domain.
func ExampleGoogle() {
	cfg := providers.Google(providers.Credentials{
		ClientID: "1234.apps.googleusercontent.com", ClientSecret: "secret",
		RedirectURL: "https://app.example.com/auth/callback",
	}, "example.com")
	// rp, err := client.New(ctx, cfg)
	fmt.Println(cfg.Issuer, cfg.AuthParams.Encode())
	// Output: https://accounts.google.com access_type=offline&hd=example.com&include_granted_scopes=true
}

// A provider without a preset, Discord, in a few lines.
func ExampleOAuth2() {
	cfg, err := providers.OAuth2{
		Issuer:  "https://discord.com",
		AuthURL: "https://discord.com/oauth2/authorize", TokenURL: "https://discord.com/api/oauth2/token",
		Scopes:  []string{"identify", "email"},
		UserURL: "https://discord.com/api/users/@me",
		Subject: "id", Username: "username", Name: "global_name", Email: "email", EmailVerified: "verified",
	}.Config(providers.Credentials{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://app.example.com/auth/callback"})
	if err != nil {
		panic(err)
	}
	// rp, err := client.New(ctx, cfg)
	fmt.Println(cfg.OAuth2.Issuer, cfg.Scopes)
	// Output: https://discord.com [identify email]
}
