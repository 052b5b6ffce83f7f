package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// IDToken is a verified ID token (OpenID Connect Core section 2). Claims
// decodes the rest of its payload.
type IDToken struct {
	Issuer          string
	Subject         string
	Audience        []string
	AuthorizedParty string    // azp, "" when absent
	Expiry          time.Time // exp
	IssuedAt        time.Time // iat
	AuthTime        time.Time // auth_time, zero when absent
	Nonce           string
	SessionID       string // sid: the provider's session, named by logout requests
	ACR             string
	AMR             []string
	TenantID        string // tid, of multi-tenant providers (see MultiTenant); "" when absent
	AccessTokenHash string // at_hash, "" when absent

	claims []byte
}

// Claims decodes the token's payload into v, as json.Unmarshal does.
func (t *IDToken) Claims(v any) error {
	return json.Unmarshal(t.claims, v)
}

// RawClaims returns a copy of the token's payload, a JSON object. (The
// token's strings share the payload's memory, which is never modified.)
func (t *IDToken) RawClaims() []byte { return bytes.Clone(t.claims) }

// IDTokenChecks are the expectations an ID token is checked against that
// depend on the request it answers.
type IDTokenChecks struct {
	// Nonce, if set, must equal the token's nonce claim. ID tokens answering
	// an authorization request always carry one: Callback sets it from the Flow.
	Nonce string

	// MaxAge, if positive, was sent as max_age: the token must carry
	// auth_time no older than MaxAge (OpenID Connect Core 3.1.2.1).
	MaxAge time.Duration

	// AccessToken, if set, is the access token issued with the ID token: an
	// at_hash claim present in the token must be its hash (section 3.1.3.8).
	AccessToken string
}

// VerifyIDToken verifies raw as an ID token of this client, following OpenID
// Connect Core 3.1.3.7: the signature with the provider's keys and an
// algorithm it advertises (never "none"; HMAC only with
// Config.HMACSignatures), iss, aud, azp, exp, nbf (when present), iat, sub, and, per checks,
// nonce, auth_time and at_hash. Each failed check has its own error
// (ErrInvalidSignature, ErrInvalidIssuer, ...).
func (rp *RP) VerifyIDToken(ctx context.Context, raw string, checks IDTokenChecks) (*IDToken, error) {
	md := rp.provider.Metadata()
	var tok jws.Token
	if err := rp.verifySignature(ctx, raw, md.IDTokenSigningAlgValuesSupported, &tok); err != nil {
		return nil, err
	}
	payload := tok.Payload
	if typ := tok.Header.Typ; typ != "" && !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "application/jwt") {
		return nil, fmt.Errorf("%w: typ %q is not an ID token's", ErrInvalidTokenType, typ)
	}
	var c jwt.Claims
	if err := c.Decode(payload); err != nil {
		return nil, err
	}
	now := rp.cfg.Now()
	if err := rp.checkCommon(&c, md, now, true); err != nil {
		rp.clockSkew(ctx, "id_token", &c, now, err)
		return nil, err
	}
	if c.Subject == "" {
		return nil, ErrMissingSubject
	}
	if checks.Nonce != "" && (c.Nonce == nil || subtle.ConstantTimeCompare(bytesOf(*c.Nonce), bytesOf(checks.Nonce)) != 1) {
		return nil, ErrInvalidNonce
	}
	if checks.MaxAge > 0 {
		if c.AuthTime == nil {
			return nil, fmt.Errorf("%w: max_age was sent but auth_time is absent", ErrAuthTime)
		}
		if now.After(c.AuthTime.Time().Add(checks.MaxAge + rp.cfg.ClockSkew)) {
			return nil, fmt.Errorf("%w: authenticated at %v, max_age %v", ErrAuthTime, c.AuthTime.Time().UTC(), checks.MaxAge)
		}
	}
	if c.AtHash != "" && checks.AccessToken != "" {
		if !checkHash(tok.Header.Alg, checks.AccessToken, c.AtHash) {
			return nil, ErrAccessTokenHash
		}
	}
	t := &IDToken{
		Issuer:          c.Issuer,
		Subject:         c.Subject,
		Audience:        c.Audience,
		AuthorizedParty: c.AZP,
		Expiry:          c.Expiry.Time(),
		IssuedAt:        c.IssuedAt.Time(),
		AuthTime:        c.AuthTime.Time(),
		SessionID:       c.SID,
		ACR:             c.ACR,
		AMR:             c.AMR,
		AccessTokenHash: c.AtHash,
		claims:          payload,
	}
	if c.Nonce != nil {
		t.Nonce = *c.Nonce
	}
	t.TenantID = c.TenantID
	if err := rp.checkIDToken(t); err != nil {
		return nil, err
	}
	return t, nil
}

// verifySignature parses raw once into t and verifies its signature with
// an algorithm the provider advertises in advertised (RS256 when it lists
// none) that this client accepts.
func (rp *RP) verifySignature(ctx context.Context, raw string, advertised []string, t *jws.Token) error {
	if err := t.Parse(raw); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	alg := t.Header.Alg
	if !rp.algorithmAllowed(alg, advertised) {
		return fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, alg)
	}
	var err error
	if strings.HasPrefix(alg, "HS") {
		err = t.Verify([]byte(rp.cfg.ClientSecret))
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrInvalidSignature, err)
		}
	} else {
		err = rp.provider.KeySet().Verify(ctx, t.Header.Kid, alg, t.Verify)
		switch {
		case errors.Is(err, discovery.ErrFetch):
			err = fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
		case err != nil:
			err = fmt.Errorf("%w: %w", ErrInvalidSignature, err)
		}
	}
	return err
}

// algorithmAllowed reports whether alg is advertised (RS256 when nothing
// is, the default of OpenID Connect Discovery 1.0) and one we verify: the
// asymmetric algorithms, and HMAC ones only when enabled. Never "none".
func (rp *RP) algorithmAllowed(alg string, advertised []string) bool {
	if len(advertised) == 0 && alg != "RS256" || len(advertised) > 0 && !slices.Contains(advertised, alg) {
		return false
	}
	switch alg {
	case "HS256", "HS384", "HS512":
		return rp.cfg.HMACSignatures
	}
	return slices.Contains(discovery.SignatureAlgorithms, alg)
}

// checkCommon checks the claims every token of the provider for this client
// shares: iss, aud, azp, exp (required when needExp), nbf, iat.
func (rp *RP) checkCommon(c *jwt.Claims, md *discovery.Metadata, now time.Time, needExp bool) error {
	if !rp.issuerMatches(c, md) {
		return fmt.Errorf("%w: %q", ErrInvalidIssuer, c.Issuer)
	}
	if !c.Audience.Contains(rp.cfg.ClientID) {
		return fmt.Errorf("%w: aud %q", ErrInvalidAudience, []string(c.Audience))
	}
	for _, a := range c.Audience {
		if a != rp.cfg.ClientID && !slices.Contains(rp.cfg.TrustedAudiences, a) {
			return fmt.Errorf("%w: untrusted audience %q", ErrInvalidAudience, a)
		}
	}
	if c.AZP != "" && c.AZP != rp.cfg.ClientID {
		return fmt.Errorf("%w: %q", ErrInvalidAuthorizedParty, c.AZP)
	}
	if len(c.Audience) > 1 && c.AZP == "" {
		return fmt.Errorf("%w: several audiences and no azp", ErrInvalidAuthorizedParty)
	}
	// ID and logout tokens get the clock skew past exp too.
	return c.CheckTimes(jwt.Times{Now: now, Skew: rp.cfg.ClockSkew, ExpiryLeeway: rp.cfg.ClockSkew,
		RequireExpiry: needExp, RequireIssuedAt: true})
}

// clockSkew emits ClockSkew when err is a failed time check of the token
// of kind whose claims are c, checked at now as checkCommon does (the clock
// skew on every side): how far outside the window the claim was says by how
// much one of the clocks is off.
func (rp *RP) clockSkew(ctx context.Context, kind string, c *jwt.Claims, now time.Time, err error) {
	var off time.Duration
	switch {
	case errors.Is(err, ErrExpired) && c.Expiry != nil:
		off = now.Sub(c.Expiry.Time().Add(rp.cfg.ClockSkew))
	case errors.Is(err, ErrNotYetValid):
		off = c.NotBefore.Time().Sub(now.Add(rp.cfg.ClockSkew))
	case errors.Is(err, ErrIssuedInFuture):
		off = c.IssuedAt.Time().Sub(now.Add(rp.cfg.ClockSkew))
	default:
		return // not a time check, or no exp at all
	}
	if s := rp.cfg.Events; s.Enabled(ctx, events.ClockSkew) {
		s.Emit(ctx, events.Event{Name: events.ClockSkew, Issuer: rp.cfg.Issuer, Kind: kind,
			Reason: events.ReasonOf(err), Skew: off})
	}
}

// issuerMatches compares iss with the provider's issuer, exactly: for a
// multi-tenant provider, the template filled with the token's own tid, an
// allowed tenant (see MultiTenant); with InsecureSkipIssuerCheck, the
// document's issuer may stand for the configured one.
func (rp *RP) issuerMatches(c *jwt.Claims, md *discovery.Metadata) bool {
	if mt := rp.cfg.MultiTenant; mt != nil {
		return mt.allows(c.Issuer, c.TenantID)
	}
	return c.Issuer == rp.cfg.Issuer || slices.Contains(rp.cfg.IssuerAliases, c.Issuer) ||
		(rp.cfg.InsecureSkipIssuerCheck && c.Issuer == md.Issuer)
}

// checkHash reports whether claim is the left half of the hash of value,
// with the hash of the token's signing algorithm (OpenID Connect Core
// 3.1.3.6; EdDSA uses SHA-512 as for Ed25519).
func checkHash(alg, value, claim string) bool {
	var (
		buf [sha512.Size]byte
		sum []byte
	)
	switch v := bytesOf(value); {
	case strings.HasSuffix(alg, "256"):
		s := sha256.Sum256(v)
		sum = append(buf[:0], s[:]...)
	case strings.HasSuffix(alg, "384"):
		s := sha512.Sum384(v)
		sum = append(buf[:0], s[:]...)
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		s := sha512.Sum512(v)
		sum = append(buf[:0], s[:]...)
	default:
		return false
	}
	var want [43]byte // base64url of at most 32 bytes
	n := base64.RawURLEncoding.EncodedLen(len(sum) / 2)
	base64.RawURLEncoding.Encode(want[:], sum[:len(sum)/2])
	return subtle.ConstantTimeCompare(want[:n], bytesOf(claim)) == 1
}

// bytesOf views s as bytes without copying, for functions that only read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
