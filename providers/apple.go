package providers

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/jws"
)

// AppleIssuer is Sign in with Apple's issuer.
const AppleIssuer = "https://appleid.apple.com"

// AppleKey is the key Apple gave the developer team for Sign in with Apple
// (the .p8 file), with the IDs Apple shows for it.
type AppleKey struct {
	TeamID string        // the developer team's ID
	KeyID  string        // the key's ID
	Key    crypto.Signer // the .p8 file's P-256 key: client.ParsePrivateKey reads it
}

// appleSecretLifetime is how long a client secret is valid (Apple accepts
// up to six months); appleSecretRenew, how long before its end a new one
// is made.
const (
	appleSecretLifetime = time.Hour
	appleSecretRenew    = 10 * time.Minute
)

// Apple is Sign in with Apple. c.ClientID is the Services ID (c.ClientSecret
// is unused): the client secret is an ES256 JWT signed with key (iss the team,
// sub the Services ID, aud Apple, an hour long), made on first use and
// renewed ten minutes before it expires. scopes default to "name email";
// with either, Apple posts its response (form_post), and sends the user's
// name in it on the first login only, as a "user" parameter: it is kept with
// the session's claims (given_name, family_name, name). Apple sends no name
// at later logins; an app that needs it must keep it from the first.
func Apple(c Credentials, key AppleKey, scopes ...string) (client.Config, error) {
	if key.TeamID == "" || key.KeyID == "" || key.Key == nil {
		return client.Config{}, fmt.Errorf("%w: Apple needs the team ID, key ID and key", client.ErrInvalidConfig)
	}
	if pub, ok := key.Key.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return client.Config{}, fmt.Errorf("%w: Apple's key must be P-256 (the .p8 file)", client.ErrInvalidKey)
	}
	if scopes == nil {
		scopes = []string{"name", "email"}
	}
	cfg := c.config(AppleIssuer, append([]string{"openid"}, scopes...)...)
	cfg.ClientSecret = ""
	cfg.AuthMethod = client.AuthClientSecretPost
	s := &appleSecret{key: key, clientID: c.ClientID, now: time.Now}
	cfg.ClientSecretFunc = s.get
	if slices.Contains(scopes, "name") || slices.Contains(scopes, "email") {
		cfg.ResponseMode = client.ResponseModeFormPost
	}
	cfg.ResponseClaims = appleUser
	return cfg, nil
}

// appleSecret makes Apple client secrets, and keeps the current one.
type appleSecret struct {
	key      AppleKey
	clientID string
	now      func() time.Time

	mu      sync.Mutex // guards current and expires
	current string
	expires time.Time
}

func (s *appleSecret) get(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.current != "" && now.Before(s.expires.Add(-appleSecretRenew)) {
		return s.current, nil
	}
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": s.key.KeyID})
	expires := now.Add(appleSecretLifetime)
	payload, _ := json.Marshal(map[string]any{
		"iss": s.key.TeamID, "sub": s.clientID, "aud": AppleIssuer,
		"iat": now.Unix(), "exp": expires.Unix(),
	})
	secret, err := jws.Sign(s.key.Key, "ES256", header, payload)
	if err != nil {
		return "", fmt.Errorf("providers: Apple client secret: %w", err)
	}
	s.current, s.expires = secret, expires
	return secret, nil
}

// appleUser reads the "user" parameter Apple posts with the first login's
// response: {"name": {"firstName", "lastName"}, "email"}. The name is kept;
// the e-mail is not (the ID token carries it, with email_verified).
func appleUser(response url.Values) (json.RawMessage, error) {
	v := response.Get("user")
	if v == "" {
		return nil, nil
	}
	if len(v) > 4096 {
		return nil, errors.New("Apple's user parameter is too long")
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if err := json.Unmarshal([]byte(v), &u); err != nil {
		return nil, fmt.Errorf("Apple's user parameter: %w", err)
	}
	claims := map[string]string{}
	if u.Name.FirstName != "" {
		claims["given_name"] = u.Name.FirstName
	}
	if u.Name.LastName != "" {
		claims["family_name"] = u.Name.LastName
	}
	if name := strings.TrimSpace(u.Name.FirstName + " " + u.Name.LastName); name != "" {
		claims["name"] = name
	}
	if len(claims) == 0 {
		return nil, nil
	}
	return json.Marshal(claims)
}
