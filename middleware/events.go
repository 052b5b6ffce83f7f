package middleware

import (
	"errors"
	"net/http"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/session"
)

// emit emits the event name for r about the provider of issuer, with kind,
// the user's subject and, for a failure, err and its reason. Nothing is
// built unless the sink wants it.
func (a *Auth) emit(r *http.Request, name events.Name, issuer, kind, subject string, err error) {
	ctx := r.Context()
	if s := a.cfg.Events; s.Enabled(ctx, name) {
		s.Emit(ctx, events.Event{Name: name, Issuer: issuer, Kind: kind, Subject: subject,
			Reason: events.ReasonOf(err), Err: err})
	}
}

// failLogin answers a login or callback that failed, and emits its event:
// CallbackReplayed for a login attempt used already, else LoginFailed.
// issuer is the login's provider's, or "" before it is known (soleIssuer).
// The event is the log line: the default error handler does not log it
// again.
func (a *Auth) failLogin(w http.ResponseWriter, r *http.Request, issuer string, err error) {
	if errors.Is(err, session.ErrFlowUsed) {
		a.emit(r, events.CallbackReplayed, issuer, "", "", nil)
	} else {
		a.emit(r, events.LoginFailed, issuer, "", "", err)
	}
	a.answer(w, r, err)
}

// soleIssuer is the issuer of the app's provider when it has one, else "":
// the issuer of events that happen before a request names its provider.
func (a *Auth) soleIssuer() string {
	if len(a.providers) == 1 {
		return a.providers[0].issuer
	}
	return ""
}

// The kinds of logout (events.LogoutSucceeded, events.LogoutFailed).
const (
	logoutRP           = "rp_initiated"
	logoutBackchannel  = "backchannel"
	logoutFrontchannel = "frontchannel"
)
