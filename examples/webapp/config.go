package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

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
	if cfg.issuer != "" && cfg.clientID == "" {
		return config{}, errors.New("OIDC_CLIENT_ID is required when OIDC_ISSUER is set")
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
