// Package providers holds presets for the providers most apps offer: each
// a function that returns a client.Config with the provider's issuer,
// scopes, parameters and checks filled in, for client.New. They are plain
// values, not a framework: change any field before calling client.New.
//
//	cfg := providers.Google(providers.Credentials{
//		ClientID: id, ClientSecret: secret, RedirectURL: "https://app.example.com/auth/callback",
//	}, "example.com") // Workspace domains allowed; none: any Google account
//	rp, err := client.New(ctx, cfg)
//
// Each handles its provider's traps:
//   - Google: the hd claim checked against the Workspace domains allowed
//     (the hd request parameter is only a hint to the account chooser),
//     ID tokens with the issuer "accounts.google.com" as well as
//     "https://accounts.google.com", refresh tokens through
//     access_type=offline rather than offline_access, and
//     include_granted_scopes for incremental authorization.
//   - Microsoft Entra ID: one tenant's issuer; or the multi-tenant
//     "organizations" and "common" endpoints, whose discovery issuer is a
//     template: every token's iss is checked against the template filled
//     with its own tid, which must be an allowed tenant (client.MultiTenant),
//     never by skipping the issuer check.
//   - Okta, Auth0 (its issuer ends with a slash; audience for API access
//     tokens), Keycloak (realms) and GitLab (gitlab.com or self-managed).
//   - Sign in with Apple: the client secret is an ES256 JWT signed with the
//     team's .p8 key, made and renewed before it expires; the response is
//     posted (form_post) when name or email are asked for; the user's name
//     comes in the response, on the first login only (client.Config's
//     ResponseClaims keeps it).
//   - GitHub: OAuth 2.0 without OpenID Connect: no ID token; the user is
//     what its API says (client.Identity, never an ID token): the numeric
//     user ID as the subject (logins can be renamed), and the primary e-mail
//     only when GitHub verified it.
//   - OAuth2: any other OAuth 2.0 provider (Discord, Slack, Bitbucket, ...)
//     in a few lines, its user API mapped to a subject, a name and a
//     verified e-mail, keeping state and PKCE.
package providers
