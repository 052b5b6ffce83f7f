package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// UserInfo is the provider's userinfo response (OpenID Connect Core 5.3).
type UserInfo struct {
	Subject string
	claims  []byte
}

// Claims decodes the response into v, as json.Unmarshal does.
func (u *UserInfo) Claims(v any) error { return json.Unmarshal(u.claims, v) }

// RawClaims returns the response, a JSON object.
func (u *UserInfo) RawClaims() []byte { return u.claims }

// UserInfo calls the provider's userinfo endpoint with accessToken as a
// Bearer token. The response's sub must equal subject, the ID token's sub
// (OpenID Connect Core 5.3.2), else ErrUserInfoSubject. A signed response
// (application/jwt) is verified like an ID token's signature, and its iss and
// aud, when present, checked. It fails with ErrNoEndpoint,
// ErrAccessTokenRejected (401), ErrProviderUnavailable or ErrProviderResponse.
func (rp *RP) UserInfo(ctx context.Context, accessToken, subject string) (*UserInfo, error) {
	return rp.UserInfoDPoP(ctx, nil, accessToken, subject)
}

// UserInfoDPoP is UserInfo with an access token bound to key (RFC 9449
// section 7): "Authorization: DPoP" and a proof signed with key, with the
// token's hash (ath) and the provider's nonce; a use_dpop_nonce challenge
// is answered once with a new proof. With a nil key it is UserInfo.
func (rp *RP) UserInfoDPoP(ctx context.Context, key *DPoPKey, accessToken, subject string) (_ *UserInfo, err error) {
	md := rp.provider.Metadata()
	if md.UserinfoEndpoint == "" {
		return nil, fmt.Errorf("%w: userinfo", ErrNoEndpoint)
	}
	defer rp.called(ctx, "userinfo", "", time.Now(), &err)
	var (
		resp *http.Response
		body []byte
	)
	for attempt := 0; attempt < 2; attempt++ {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, md.UserinfoEndpoint, nil)
		if rerr != nil {
			return nil, fmt.Errorf("%w: %v", ErrProviderResponse, rerr)
		}
		req.Header.Set("Accept", "application/json, application/jwt")
		if key == nil {
			req.Header.Set("Authorization", "Bearer "+accessToken)
		} else {
			proof, perr := rp.proof(key, http.MethodGet, req.URL, accessToken, rp.nonces.get(httpx.Origin(req.URL)))
			if perr != nil {
				return nil, perr
			}
			req.Header.Set("Authorization", "DPoP "+accessToken)
			req.Header.Set("DPoP", proof)
		}
		resp, body, err = httpx.Do(rp.cfg.HTTPClient, req)
		if key == nil || resp == nil || !rp.rememberNonce(req.URL, resp.Header) || resp.StatusCode != http.StatusUnauthorized {
			break
		}
		if code, _ := DPoPError(resp.Header); code != "use_dpop_nonce" {
			break
		}
	}
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && (se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden) {
			return nil, fmt.Errorf("%w: userinfo answered %d", ErrAccessTokenRejected, se.StatusCode)
		}
		return nil, providerError(err)
	}
	if httpx.MediaType(resp) == "application/jwt" {
		body, err = rp.verifyUserInfoJWT(ctx, string(body))
		if err != nil {
			return nil, err
		}
	}
	var c struct {
		Subject string `json:"sub"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", ErrProviderResponse, err)
	}
	if c.Subject == "" || c.Subject != subject {
		return nil, fmt.Errorf("%w: %q, ID token says %q", ErrUserInfoSubject, c.Subject, subject)
	}
	return &UserInfo{Subject: c.Subject, claims: body}, nil
}

// verifyUserInfoJWT verifies a signed userinfo response (OpenID Connect Core
// 5.3.2): signature, and iss and aud when present.
func (rp *RP) verifyUserInfoJWT(ctx context.Context, raw string) ([]byte, error) {
	md := rp.provider.Metadata()
	algs := md.UserinfoSigningAlgValuesSupported
	if len(algs) == 0 {
		algs = md.IDTokenSigningAlgValuesSupported
	}
	var tok jws.Token
	if err := rp.verifySignature(ctx, raw, algs, &tok); err != nil {
		return nil, err
	}
	payload := tok.Payload
	var c jwt.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", ErrMalformedToken, err)
	}
	if c.Issuer != "" && !rp.issuerMatches(&c, md) {
		return nil, fmt.Errorf("%w: userinfo iss %q", ErrInvalidIssuer, c.Issuer)
	}
	if c.Audience != nil && !c.Audience.Contains(rp.cfg.ClientID) {
		return nil, fmt.Errorf("%w: userinfo aud", ErrInvalidAudience)
	}
	return payload, nil
}
