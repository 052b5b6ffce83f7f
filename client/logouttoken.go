package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// BackchannelLogoutEvent is the member of a logout token's events claim that
// makes it one (OpenID Connect Back-Channel Logout 1.0 section 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxLogoutTokenAge bounds the age of a logout token without exp.
const maxLogoutTokenAge = 5 * time.Minute

// LogoutToken is a verified back-channel logout token: the provider says the
// user's session SessionID (or every session of Subject) has ended.
type LogoutToken struct {
	Issuer    string
	Subject   string // "" when the token names only a session
	SessionID string // sid; "" when the token names only a subject
	JTI       string // unique per token: remember it to refuse replays
	IssuedAt  time.Time
	Expiry    time.Time // exp, or IssuedAt plus five minutes when absent

	claims []byte
}

// Claims decodes the token's payload into v.
func (t *LogoutToken) Claims(v any) error { return json.Unmarshal(t.claims, v) }

// VerifyLogoutToken verifies raw as a logout token for this client, as
// OpenID Connect Back-Channel Logout 1.0 section 2.6 says: signed with the
// provider's keys and an advertised algorithm (never "none"), iss, aud, iat,
// exp when present, nbf when present, an events claim holding the back-channel logout event,
// sid and/or sub, no nonce, and a jti. It does not check the jti against
// earlier tokens; the caller must (the middleware package does, refusing a
// replay with middleware.ErrLogoutReplay).
func (rp *RP) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	md := rp.provider.Metadata()
	var tok jws.Token
	if err := rp.verifySignature(ctx, raw, md.IDTokenSigningAlgValuesSupported, &tok); err != nil {
		return nil, err
	}
	payload := tok.Payload
	switch typ := strings.ToLower(tok.Header.Typ); typ {
	case "", "jwt", "logout+jwt", "application/logout+jwt":
	default:
		return nil, fmt.Errorf("%w: typ %q is not a logout token's", ErrInvalidTokenType, typ)
	}
	var c jwt.Claims
	if err := c.Decode(payload); err != nil {
		return nil, err
	}
	now := rp.cfg.Now()
	if err := rp.checkCommon(&c, md, now, false); err != nil {
		rp.clockSkew(ctx, "logout_token", &c, now, err)
		return nil, err
	}
	event, ok := c.Events[BackchannelLogoutEvent]
	if !ok || len(event) == 0 || event[0] != '{' {
		return nil, ErrLogoutEvent
	}
	if c.Nonce != nil {
		return nil, ErrLogoutNonce
	}
	if c.Subject == "" && c.SID == "" {
		return nil, ErrLogoutSubject
	}
	if c.JTI == "" {
		return nil, fmt.Errorf("%w: no jti", ErrMalformedToken)
	}
	t := &LogoutToken{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		SessionID: c.SID,
		JTI:       c.JTI,
		IssuedAt:  c.IssuedAt.Time(),
		Expiry:    c.Expiry.Time(),
		claims:    payload,
	}
	if c.Expiry == nil {
		t.Expiry = t.IssuedAt.Add(maxLogoutTokenAge)
		if !now.Before(t.Expiry.Add(rp.cfg.ClockSkew)) {
			return nil, fmt.Errorf("%w: issued at %v, no exp", ErrExpired, t.IssuedAt.UTC())
		}
	}
	return t, nil
}
