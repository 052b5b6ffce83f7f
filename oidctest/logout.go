package oidctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// BackchannelLogoutEvent is the event a logout token carries (OpenID
// Connect Back-Channel Logout 1.0 section 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// delivery is a logout token on its way to a client.
type delivery struct {
	uri, token string
}

// Logout ends every session of the user with subject sub at the provider,
// as if the user had logged out there, and delivers back-channel logout
// tokens to the clients that take part in them. It returns the sids ended.
func (s *Server) Logout(sub string) []string {
	s.mu.Lock()
	var sids []string
	var deliveries []delivery
	for sid, sess := range s.sessions {
		if sess.user.Subject == sub {
			sids = append(sids, sid)
			deliveries = append(deliveries, s.endSessionLocked(sid)...)
		}
	}
	s.mu.Unlock()
	s.deliver(deliveries)
	return sids
}

// endSessionLocked ends the session sid (if any): its refresh and access
// tokens stop working, and a logout token is made for each client with a
// back-channel logout URI. Called with s.mu held.
func (s *Server) endSessionLocked(sid string) []delivery {
	sess := s.sessions[sid]
	if sess == nil {
		return nil
	}
	delete(s.sessions, sid)
	for tok, g := range s.accessTokens {
		if g.sid == sid {
			delete(s.accessTokens, tok)
		}
	}
	var out []delivery
	for _, c := range sess.clients {
		if c.BackchannelLogoutURI != "" {
			out = append(out, delivery{c.BackchannelLogoutURI, s.logoutTokenLocked(c.ID, sess.user.Subject, sid, nil)})
		}
	}
	return out
}

// LogoutToken returns a logout token for the client, signed with the
// current key, naming sub and sid (either may be empty). edit, if not nil,
// changes its claims before signing, to make invalid tokens for tests.
func (s *Server) LogoutToken(clientID, sub, sid string, edit func(claims map[string]any)) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logoutTokenLocked(clientID, sub, sid, edit)
}

func (s *Server) logoutTokenLocked(clientID, sub, sid string, edit func(map[string]any)) string {
	now := s.now()
	claims := map[string]any{
		"iss":    s.URL,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    randstr.New(16),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	if edit != nil {
		edit(claims)
	}
	return s.keys[len(s.keys)-1].sign(claims, "logout+jwt")
}

// SignJWT signs arbitrary claims with the provider's current key, for tests
// that need a token the provider would not issue by itself.
func (s *Server) SignJWT(claims map[string]any, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1].sign(claims, typ)
}

// deliver POSTs each logout token to its client, as the provider's
// back-channel does. Failures are kept for DeliveryErrors.
func (s *Server) deliver(ds []delivery) {
	for _, d := range ds {
		err := post(d.uri, d.token)
		s.mu.Lock()
		if err != nil {
			s.logoutErrors = append(s.logoutErrors, fmt.Errorf("oidctest: back-channel logout to %s: %w", d.uri, err))
		} else {
			s.stats.BackchannelLogouts++
		}
		s.mu.Unlock()
	}
}

func post(uri, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// DeliveryErrors returns the back-channel logout deliveries that failed.
func (s *Server) DeliveryErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.logoutErrors...)
}

// verifyOwnToken checks that raw was signed by one of the provider's keys and
// returns its claims. Expiry is not checked: an id_token_hint may be expired.
// Called with s.mu held.
func (s *Server) verifyOwnToken(raw string) (map[string]any, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(s.cfg.SigningAlg)})
	if err != nil {
		return nil, err
	}
	for _, k := range s.keys {
		if payload, err := jws.Verify(k.priv.Public()); err == nil {
			var claims map[string]any
			if err := json.Unmarshal(payload, &claims); err != nil {
				return nil, err
			}
			if claims["iss"] != s.URL {
				return nil, errors.New("issued by another provider")
			}
			return claims, nil
		}
	}
	return nil, errors.New("signature does not verify")
}
