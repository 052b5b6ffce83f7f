package oidctest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// The device authorization grant (RFC 8628): the device authorization
// endpoint, the verification page, and the device_code grant of the token
// endpoint. Tests approve or deny a user code with ApproveDevice and
// DenyDevice, or by visiting the verification URI.

// DeviceGrantType is the grant_type of RFC 8628 section 3.4.
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// ErrUnknownUserCode is returned by ApproveDevice and DenyDevice for a user
// code the provider did not issue, or whose device code is used or expired.
var ErrUnknownUserCode = errors.New("oidctest: unknown or expired user code")

// maxDeviceRequests bounds the pending device authorizations: the oldest
// expired ones are dropped first, then the oldest.
const maxDeviceRequests = 1024

// deviceRequest is a device authorization the provider issued.
type deviceRequest struct {
	client   *Client
	scope    []string
	userCode string
	issued   time.Time
	expires  time.Time
	interval time.Duration // enforced; grows by 5 s at each slow_down
	lastPoll time.Time
	user     *User // who approved; nil while pending
	authTime time.Time
	denied   bool
	used     bool
}

// userCodeAlphabet is RFC 8628 section 6.1's example: no vowels, no
// characters that look alike.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	var b [8]byte
	rand.Read(b[:])
	code := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			code = append(code, '-')
		}
		code = append(code, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return string(code)
}

// normalizeUserCode makes what a person typed comparable: upper case,
// without dashes or spaces (RFC 8628 section 6.1).
func normalizeUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// deviceAuthorization is the device authorization endpoint (RFC 8628
// section 3.1): the client authenticates as at the token endpoint.
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, reason := s.authenticateClient(r, "/device_authorization")
	if client == nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed: "+reason)
		return
	}
	now := s.now()
	s.pruneDevices(now)
	deviceCode := randstr.Token()
	d := &deviceRequest{
		client:   client,
		scope:    strings.Fields(r.PostForm.Get("scope")),
		userCode: newUserCode(),
		issued:   now,
		expires:  now.Add(s.cfg.DeviceCodeTTL),
		interval: s.cfg.DeviceInterval,
	}
	s.devices[deviceCode] = d
	s.userCodes[normalizeUserCode(d.userCode)] = deviceCode
	s.stats.DeviceAuthorizations++
	verify := s.URL + "/device"
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 d.userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(d.userCode),
		"expires_in":                int(s.cfg.DeviceCodeTTL / time.Second),
		"interval":                  int((s.cfg.DeviceInterval + time.Second - 1) / time.Second),
	})
}

// pruneDevices drops expired and used device requests, then the oldest
// while there are too many. Called with s.mu held.
func (s *Server) pruneDevices(now time.Time) {
	for code, d := range s.devices {
		if d.used || now.After(d.expires.Add(time.Minute)) {
			delete(s.devices, code)
			delete(s.userCodes, normalizeUserCode(d.userCode))
		}
	}
	for len(s.devices) >= maxDeviceRequests {
		var oldest string
		for code, d := range s.devices {
			if oldest == "" || d.issued.Before(s.devices[oldest].issued) {
				oldest = code
			}
		}
		delete(s.userCodes, normalizeUserCode(s.devices[oldest].userCode))
		delete(s.devices, oldest)
	}
}

// ApproveDevice approves the device request of userCode as the first user,
// as if they had entered the code at the verification URI and consented.
func (s *Server) ApproveDevice(userCode string) error {
	return s.decideDevice(userCode, false)
}

// DenyDevice declines the device request of userCode: the device's next
// poll gets access_denied.
func (s *Server) DenyDevice(userCode string) error {
	return s.decideDevice(userCode, true)
}

func (s *Server) decideDevice(userCode string, deny bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decideDeviceLocked(userCode, deny)
}

func (s *Server) decideDeviceLocked(userCode string, deny bool) error {
	d := s.devices[s.userCodes[normalizeUserCode(userCode)]]
	if d == nil || d.used || s.now().After(d.expires) || d.user != nil || d.denied {
		return ErrUnknownUserCode
	}
	if deny {
		d.denied = true
		return nil
	}
	d.user, d.authTime = &s.cfg.Users[0], s.now()
	return nil
}

// devicePage is the verification URI. It authenticates no one: given a
// user_code, it approves the request as the first user at once (deny=1
// declines it); without one, it shows a form to enter it.
func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	code := q.Get("user_code")
	if code == "" {
		fmt.Fprint(w, `<!doctype html><title>oidctest: device</title><form method="get" action="/device"><label>Code <input name="user_code" autofocus></label> <button type="submit">Continue</button></form>`)
		return
	}
	deny := q.Get("deny") == "1"
	if err := s.decideDevice(code, deny); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<!doctype html><title>oidctest: device</title><p>%s</p>", html.EscapeString(err.Error()))
		return
	}
	verb := "approved"
	if deny {
		verb = "denied"
	}
	fmt.Fprintf(w, "<!doctype html><title>oidctest: device %s</title><p id=\"result\">Device %s. You may close this page.</p>", verb, verb)
}

// deviceGrant is the device_code grant (RFC 8628 section 3.4 and 3.5). It
// returns the response, or an error code and description. Called with s.mu
// held.
func (s *Server) deviceGrant(r *http.Request, client *Client) (map[string]any, string, string) {
	d := s.devices[r.PostForm.Get("device_code")]
	now := s.now()
	switch {
	case d == nil || d.client != client:
		return nil, "invalid_grant", "unknown device_code"
	case d.used:
		return nil, "invalid_grant", "device_code already used"
	case now.After(d.expires):
		return nil, "expired_token", "device_code expired"
	}
	tooSoon := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval
	d.lastPoll = now
	switch {
	case tooSoon:
		d.interval += 5 * time.Second
		s.stats.SlowDowns++
		return nil, "slow_down", "polled before the interval"
	case d.denied:
		d.used = true
		return nil, "access_denied", "the user declined"
	case d.user == nil:
		return nil, "authorization_pending", "the user has not yet finished"
	}
	d.used = true
	s.stats.DeviceGrants++
	sess := s.sessionFor(d.user, client)
	g := &grant{client: client, user: d.user, scope: d.scope, authTime: d.authTime, sid: sess.sid}
	resp := s.issue(g, "", s.cfg.AlwaysIssueRefreshToken || slices.Contains(d.scope, "offline_access"))
	if !slices.Contains(d.scope, "openid") {
		delete(resp, "id_token")
	}
	return resp, "", ""
}
