package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// config is the app's configuration, read from the environment.
type config struct {
	issuer            string // "" starts the embedded provider
	clientID          string
	clientSecret      string
	redirectURL       string
	scopes            []string
	postLogoutURL     string
	listenAddr        string
	sessionKeys       [][]byte
	randomSessionKeys bool           // SESSION_KEYS was unset
	redis             *redis.Options // nil: sessions in cookies, this instance's memory for the rest

	authMethod    client.AuthMethod  // the one provider's
	authMethodEnv client.AuthMethod  // OIDC_AUTH_METHOD; "": each client's own default (clientAuth)
	privateKey    *client.PrivateKey // nil without OIDC_PRIVATE_KEY_FILE
	privateKeyID  string             // "": the key's thumbprint
	jwks          []byte             // privateKey's public half, served at /auth/jwks.json; nil without a key

	api apiConfig // GET /api/me (api.go)

	par          client.PARMode // OIDC_PAR
	responseMode string         // OIDC_RESPONSE_MODE: query or form_post
	dpop         bool           // OIDC_DPOP

	// providers are those of OIDC_PROVIDERS; nil without it, for the one
	// provider of OIDC_ISSUER (the fields above).
	providers []providerConfig

	otel otelConfig // OTEL_* (telemetry.go)
}

// configFromEnv reads and checks the configuration; its errors are one
// line each, naming the variable.
func configFromEnv(getenv func(string) string) (config, error) {
	cfg := config{
		issuer:        getenv("OIDC_ISSUER"),
		clientID:      getenv("OIDC_CLIENT_ID"),
		clientSecret:  getenv("OIDC_CLIENT_SECRET"),
		redirectURL:   getenv("OIDC_REDIRECT_URL"),
		postLogoutURL: getenv("OIDC_POST_LOGOUT_REDIRECT_URL"),
		listenAddr:    getenv("LISTEN_ADDR"),
		scopes:        strings.Fields(getenv("OIDC_SCOPES")),
	}
	if cfg.listenAddr == "" {
		cfg.listenAddr = "127.0.0.1:8080"
	}
	if _, _, err := net.SplitHostPort(cfg.listenAddr); err != nil {
		return config{}, fmt.Errorf("LISTEN_ADDR %q is not host:port", cfg.listenAddr)
	}
	if cfg.redirectURL == "" {
		cfg.redirectURL = "http://" + cfg.listenAddr + "/auth/callback"
	}
	if cfg.postLogoutURL == "" {
		cfg.postLogoutURL = "http://" + cfg.listenAddr + "/"
	}
	for name, v := range map[string]string{"OIDC_REDIRECT_URL": cfg.redirectURL, "OIDC_POST_LOGOUT_REDIRECT_URL": cfg.postLogoutURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("%s %q is not an absolute http(s) URL", name, v)
		}
	}
	if len(cfg.scopes) == 0 {
		cfg.scopes = []string{"openid", "profile", "email"}
	}
	providers, err := providersFromEnv(getenv)
	if err != nil {
		return config{}, err
	}
	if providers != nil {
		// OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are the one
		// provider's: ignored with several.
		cfg.providers, cfg.issuer, cfg.clientID, cfg.clientSecret = providers, "", "", ""
	}
	if cfg.providers == nil && cfg.issuer != "" && cfg.clientID == "" {
		return config{}, errors.New("OIDC_CLIENT_ID is required when OIDC_ISSUER is set")
	}
	if err := cfg.clientAuthFromEnv(getenv); err != nil {
		return config{}, err
	}
	if err := cfg.requestsFromEnv(getenv); err != nil {
		return config{}, err
	}
	if keys := getenv("SESSION_KEYS"); keys != "" {
		parsed, err := session.ParseKeys(keys)
		if err != nil {
			return config{}, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		cfg.sessionKeys = parsed
	} else {
		key := make([]byte, session.KeySize)
		rand.Read(key)
		cfg.sessionKeys, cfg.randomSessionKeys = [][]byte{key}, true
	}
	api, err := apiConfigFromEnv(getenv)
	if err != nil {
		return config{}, err
	}
	if cfg.otel, err = otelConfigFromEnv(getenv); err != nil {
		return config{}, err
	}
	cfg.api = api
	if v := getenv("REDIS_URL"); v != "" {
		opts, err := redis.ParseURL(v)
		if err != nil {
			var urlErr *url.Error
			if errors.As(err, &urlErr) {
				err = urlErr.Err // without the URL, which may hold a password
			}
			return config{}, fmt.Errorf("REDIS_URL is not a redis:// or rediss:// URL: %v", err)
		}
		cfg.redis = opts
	}
	return cfg, nil
}

// clientAuthFromEnv reads how the app authenticates to the providers:
// OIDC_AUTH_METHOD, OIDC_PRIVATE_KEY_FILE and OIDC_PRIVATE_KEY_ID, and with
// one provider, its method (see clientAuth).
func (cfg *config) clientAuthFromEnv(getenv func(string) string) error {
	if path := getenv("OIDC_PRIVATE_KEY_FILE"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("OIDC_PRIVATE_KEY_FILE: %w", err)
		}
		if cfg.privateKey, err = client.ParsePrivateKey(data); err != nil {
			return fmt.Errorf("OIDC_PRIVATE_KEY_FILE %s: %w", path, err)
		}
		cfg.privateKeyID = getenv("OIDC_PRIVATE_KEY_ID")
		if cfg.jwks, err = client.PublicJWKS(cfg.privateKey, cfg.privateKeyID); err != nil {
			return fmt.Errorf("OIDC_PRIVATE_KEY_FILE %s: %w", path, err)
		}
	} else if getenv("OIDC_PRIVATE_KEY_ID") != "" {
		return errors.New("OIDC_PRIVATE_KEY_ID is set without OIDC_PRIVATE_KEY_FILE")
	}

	cfg.authMethodEnv = client.AuthMethod(getenv("OIDC_AUTH_METHOD"))
	switch cfg.authMethodEnv {
	case "", client.AuthClientSecretBasic, client.AuthClientSecretPost, client.AuthClientSecretJWT, client.AuthPrivateKeyJWT, client.AuthNone:
	default:
		return fmt.Errorf("OIDC_AUTH_METHOD %q is not one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none", cfg.authMethodEnv)
	}
	if cfg.providers != nil {
		return nil // each provider's, in clientAuth
	}
	var err error
	cfg.authMethod, cfg.clientID, cfg.clientSecret, err = cfg.clientAuth("OIDC_", cfg.issuer == "", cfg.clientID, cfg.clientSecret)
	return err
}

// clientAuth returns the authentication method of a client with clientID
// and secret (variables named prefix+CLIENT_ID, ...): OIDC_AUTH_METHOD, or
// when unset, client_secret_basic with a secret, else private_key_jwt with
// a private key, else none. The client of an embedded provider with no
// client ID is the provider's demo client, with its secret when the method
// needs one.
func (cfg *config) clientAuth(prefix string, embedded bool, clientID, secret string) (client.AuthMethod, string, string, error) {
	demoClient := embedded && clientID == ""
	method := cfg.authMethodEnv
	if method == "" {
		switch {
		case secret != "":
			method = client.AuthClientSecretBasic
		case cfg.privateKey != nil:
			method = client.AuthPrivateKeyJWT
		case demoClient:
			method = client.AuthClientSecretBasic // with the demo client's secret
		default:
			method = client.AuthNone
		}
	}
	usesSecret := method == client.AuthClientSecretBasic || method == client.AuthClientSecretPost || method == client.AuthClientSecretJWT
	if demoClient {
		clientID = oidctest.DefaultClient.ID
		if usesSecret && secret == "" {
			secret = oidctest.DefaultClient.Secret
		}
	}
	switch {
	case usesSecret && secret == "":
		return "", "", "", fmt.Errorf("OIDC_AUTH_METHOD %s needs %sCLIENT_SECRET", method, prefix)
	case !usesSecret && secret != "":
		return "", "", "", fmt.Errorf("OIDC_AUTH_METHOD %s does not use %sCLIENT_SECRET: unset it", method, prefix)
	case method == client.AuthPrivateKeyJWT && cfg.privateKey == nil:
		return "", "", "", errors.New("OIDC_AUTH_METHOD private_key_jwt needs OIDC_PRIVATE_KEY_FILE")
	}
	return method, clientID, secret, nil
}

// requestsFromEnv reads how authorization requests are made and tokens
// bound: OIDC_PAR (unset: push when the provider requires it; true:
// always; false: never), OIDC_RESPONSE_MODE (query, the default, or
// form_post) and OIDC_DPOP (true binds the tokens to a key per login).
func (cfg *config) requestsFromEnv(getenv func(string) string) error {
	switch v := getenv("OIDC_PAR"); v {
	case "":
		cfg.par = client.PARWhenRequired
	case "true":
		cfg.par = client.PARAlways
	case "false":
		cfg.par = client.PARNever
	default:
		return fmt.Errorf("OIDC_PAR %q is neither true nor false (unset: push when the provider requires it)", v)
	}
	switch v := getenv("OIDC_RESPONSE_MODE"); v {
	case "", client.ResponseModeQuery:
		cfg.responseMode = client.ResponseModeQuery
	case client.ResponseModeFormPost:
		cfg.responseMode = v
	default:
		return fmt.Errorf("OIDC_RESPONSE_MODE %q is neither query nor form_post", v)
	}
	switch v := getenv("OIDC_DPOP"); v {
	case "", "false":
	case "true":
		cfg.dpop = true
	default:
		return fmt.Errorf("OIDC_DPOP %q is neither true nor false", v)
	}
	return nil
}
