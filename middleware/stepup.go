package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

// StepUp is more than a login that a route needs: scopes the user must
// have granted (incremental authorization: "connect your calendar"), or a
// recent or stronger authentication (step-up authentication: OpenID
// Connect Core's acr_values and max_age). See RequireStepUp.
type StepUp struct {
	// Scopes the user must have granted. Those missing are asked for with
	// those granted before, and the session keeps all it gets.
	Scopes []string

	// ACRValues, if set: the authentication's acr (the ID token's) must be
	// one of them; a login is asked for with them as acr_values otherwise.
	ACRValues []string

	// MaxAge, if positive: the authentication (auth_time) must be at most
	// this old; a login is asked for with max_age otherwise.
	MaxAge time.Duration
}

var (
	// ErrStepUpUser: a step-up's login came back as another user, or from
	// another provider, than the session's. It is refused, and the session
	// kept (403).
	ErrStepUpUser = errors.New("middleware: step-up login of another user")

	// ErrStepUpACR: a step-up's login came back with an authentication
	// (acr) other than those asked for (403).
	ErrStepUpACR = errors.New("middleware: step-up login without the authentication asked for")

	// ErrStepUpRequired: the session lacks what the route needs (StepUp),
	// and the request is not one a browser can be sent to the provider
	// with (403, with an RFC 6750 / RFC 9470 challenge).
	ErrStepUpRequired = errors.New("middleware: the route needs more scopes or a stronger authentication")
)

// RequireStepUp returns middleware that lets through, like Require, only
// requests with a valid session, and of those only the ones whose session
// has what up asks: the scopes granted, an authentication of one of
// ACRValues, at most MaxAge old. A browser navigating with GET is otherwise
// sent to the session's provider for it, keeping the session: the login
// that comes back must be the same user's at the same provider (else
// ErrStepUpUser, and the old session stays), its acr must be one asked for,
// and the scopes it grants are recorded in the session. Other requests get
// 403 with a WWW-Authenticate challenge: error="insufficient_scope" with
// the scopes (RFC 6750 section 3.1), or
// error="insufficient_user_authentication" with acr_values and max_age
// (RFC 9470).
func (a *Auth) RequireStepUp(up StepUp, next http.Handler) http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := a.state(r.Context())
		missing, weak := st.lacks(up, a.now())
		if len(missing) == 0 && !weak {
			next.ServeHTTP(w, r)
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !wantsJSON(r) {
			a.startStepUp(w, r, st, up)
			return
		}
		h := w.Header()
		if len(missing) > 0 {
			h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, strings.Join(up.Scopes, " ")))
		} else {
			challenge := `Bearer error="insufficient_user_authentication"`
			if len(up.ACRValues) > 0 {
				challenge += fmt.Sprintf(`, acr_values=%q`, strings.Join(up.ACRValues, " "))
			}
			if up.MaxAge > 0 {
				challenge += fmt.Sprintf(`, max_age=%d`, int64(up.MaxAge/time.Second))
			}
			h.Set("WWW-Authenticate", challenge)
		}
		writeError(w, r, http.StatusForbidden, "step_up_required", "This needs more permissions or a fresh sign-in.")
	}))
}

// lacks returns the scopes of up the session's user has not granted, and
// whether its authentication is weaker or older than up asks.
func (st *requestState) lacks(up StepUp, now time.Time) (missing []string, weak bool) {
	s := st.session()
	granted := grantedList(st.p, s)
	for _, sc := range up.Scopes {
		if !slices.Contains(granted, sc) {
			missing = append(missing, sc)
		}
	}
	if len(up.ACRValues) > 0 || up.MaxAge > 0 {
		acr, authTime := authentication(s.IDTokenPayload())
		weak = (len(up.ACRValues) > 0 && !slices.Contains(up.ACRValues, acr)) ||
			(up.MaxAge > 0 && (authTime.IsZero() || now.Sub(authTime) > up.MaxAge))
	}
	return missing, weak
}

// startStepUp sends the browser to the session's provider for up, back to
// the page it asked for.
func (a *Auth) startStepUp(w http.ResponseWriter, r *http.Request, st *requestState, up StepUp) {
	s := st.session()
	var req client.AuthRequest
	if a.cfg.AuthRequest != nil {
		req = a.cfg.AuthRequest(r)
	}
	scopes := grantedList(st.p, s)
	for _, sc := range up.Scopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	req.Scopes, req.ACRValues, req.MaxAge = scopes, up.ACRValues, up.MaxAge
	req.ReturnTo = r.URL.RequestURI()
	if !IsLocalPath(req.ReturnTo) {
		req.ReturnTo = a.cfg.DefaultReturnTo
	}
	a.startLogin(w, r, st.p, req, loginFlow{stepUp: s.Subject, scopes: strings.Join(scopes, " "), acr: strings.Join(up.ACRValues, " ")})
}

// grantedList is the scopes the user of s granted at p: the session's own,
// or those p asks for at every login.
func grantedList(p *provider, s *session.Session) []string {
	if s.Scopes != "" {
		return strings.Fields(s.Scopes)
	}
	return slices.Clone(p.rp.Config().Scopes)
}

// grantedScopes is what a session records of the scopes a login granted:
// the token response's scope, else those the step-up asked for, and ""
// when that is what p asks for at every login.
func grantedScopes(p *provider, tokenScope, requested string) string {
	granted := strings.Fields(tokenScope)
	if len(granted) == 0 {
		granted = strings.Fields(requested)
	}
	if len(granted) == 0 || sameSet(granted, p.rp.Config().Scopes) {
		return ""
	}
	slices.Sort(granted)
	return strings.Join(slices.Compact(granted), " ")
}

func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// authentication reads the acr and auth_time of an ID token's payload,
// verified when it was issued.
func authentication(payload []byte) (acr string, authTime time.Time) {
	var c struct {
		ACR      string      `json:"acr"`
		AuthTime json.Number `json:"auth_time"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", time.Time{}
	}
	if sec, err := strconv.ParseFloat(string(c.AuthTime), 64); err == nil && sec > 0 {
		authTime = time.Unix(int64(sec), 0)
	}
	return c.ACR, authTime
}
