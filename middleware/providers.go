package middleware

import (
	"context"
	"encoding/binary"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/wire"
	"github.com/oidcrp/oidcrp/session"
)

// Provider is one of the providers users may log in with (Config.Providers).
type Provider struct {
	// Name names the provider in the login URL (LoginPath?provider=Name)
	// and to Provider(ctx): lower-case letters, digits and "-". Required.
	Name string

	// Label is shown on the chooser page. If empty, Name.
	Label string

	// RP is the provider's client. Required.
	RP *client.RP
}

// provider is a Provider, as an Auth keeps it.
type provider struct {
	name, label string
	rp          *client.RP
	issuer      string // rp.Config().Issuer
}

// ErrUnknownProvider: a login names a provider the app does not have
// (400).
var ErrUnknownProvider = events.NewError(events.ReasonInvalidRequest, "middleware: unknown provider")

var providerName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// providersOf checks cfg's provider or providers and returns them.
func providersOf(cfg *Config) ([]*provider, error) {
	list := cfg.Providers
	switch {
	case cfg.RP != nil && len(list) > 0:
		return nil, fmt.Errorf("%w: RP and Providers both set", ErrInvalidConfig)
	case cfg.RP != nil:
		list = []Provider{{Name: "default", RP: cfg.RP}}
	case len(list) == 0:
		return nil, fmt.Errorf("%w: no RP and no Providers", ErrInvalidConfig)
	}
	out := make([]*provider, 0, len(list))
	names, issuers := map[string]bool{}, map[string]bool{}
	for _, p := range list {
		switch {
		case p.RP == nil:
			return nil, fmt.Errorf("%w: provider %q has no RP", ErrInvalidConfig, p.Name)
		case !providerName.MatchString(p.Name):
			return nil, fmt.Errorf("%w: provider name %q is not [a-z0-9-]+", ErrInvalidConfig, p.Name)
		case names[p.Name]:
			return nil, fmt.Errorf("%w: provider %q twice", ErrInvalidConfig, p.Name)
		case issuers[p.RP.Config().Issuer]:
			// A sub or sid is unique per issuer: sessions and logouts of
			// two providers with one issuer could not be told apart.
			return nil, fmt.Errorf("%w: two providers with the issuer %s", ErrInvalidConfig, p.RP.Config().Issuer)
		case p.RP.Config().RedirectURL == "":
			return nil, fmt.Errorf("%w: provider %q's RP has no RedirectURL, which the login needs", ErrInvalidConfig, p.Name)
		}
		names[p.Name], issuers[p.RP.Config().Issuer] = true, true
		label := p.Label
		if label == "" {
			label = p.Name
		}
		out = append(out, &provider{name: p.Name, label: label, rp: p.RP, issuer: p.RP.Config().Issuer})
	}
	return out, nil
}

// named returns the provider called name.
func (a *Auth) named(name string) (*provider, bool) {
	for _, p := range a.providers {
		if p.name == name {
			return p, true
		}
	}
	return nil, false
}

// issuing returns the provider whose issuer is iss (see client.RP.IsIssuer).
func (a *Auth) issuing(iss string) (*provider, bool) {
	for _, p := range a.providers {
		if p.issuer == iss {
			return p, true
		}
	}
	for _, p := range a.providers {
		if p.rp.IsIssuer(iss) {
			return p, true
		}
	}
	return nil, false
}

// sessionProvider returns the provider s was logged in with.
func (a *Auth) sessionProvider(s *session.Session) (*provider, error) {
	if p, ok := a.issuing(s.Issuer); ok {
		return p, nil
	}
	// A provider removed from the configuration: its users log in again.
	return nil, fmt.Errorf("%w: the session's provider %q is not configured", session.ErrInvalid, s.Issuer)
}

// ProviderName returns the name of the provider the request's user logged
// in with (see Provider.Name; "default" for an app configured with one
// RP), or "".
func ProviderName(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil && st.p != nil {
		return st.p.name
	}
	return ""
}

// loginFlow is what a login leaves for its callback: the provider it was
// started with (so that a response from another is refused: the mix-up
// attack, RFC 9700 section 4.4), the client's Flow, and for a step-up
// (StepUp), the user it must be.
type loginFlow struct {
	provider string
	stepUp   string // the subject of the session a step-up must keep; "" for a login
	scopes   string // the scopes a step-up asked for, space-separated
	acr      string // the acr values a step-up asked for, one of which must come back
	flow     client.Flow
}

// loginFlowVersion is the first byte of a marshaled loginFlow. Flows saved
// before providers (a bare client.Flow, whose first byte is 1) are the one
// provider's.
const loginFlowVersion = 2

func (f *loginFlow) appendBinary(b []byte) []byte {
	b = append(b, loginFlowVersion)
	b = wire.AppendString(b, f.provider)
	b = wire.AppendString(b, f.stepUp)
	b = wire.AppendString(b, f.scopes)
	b = wire.AppendString(b, f.acr)
	// The flow, after its length: appended in place, then moved right by
	// the length's size.
	start := len(b)
	b, _ = f.flow.AppendBinary(b)
	n := len(b) - start
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	b = append(b, hdr[:h]...)
	copy(b[start+h:], b[start:start+n])
	copy(b[start:], hdr[:h])
	return b
}

func (f *loginFlow) unmarshal(data []byte, def string) error {
	if len(data) > 0 && data[0] != loginFlowVersion {
		*f = loginFlow{provider: def}
		return f.flow.UnmarshalBinary(data)
	}
	r := wire.NewCopyingReader(data)
	r.Byte()
	f.provider, f.stepUp, f.scopes, f.acr = r.String(), r.String(), r.String(), r.String()
	fb := r.Bytes()
	if r.Err() != nil || r.Len() != 0 {
		return client.ErrMalformedFlow
	}
	return f.flow.UnmarshalBinary(fb)
}

var chooserPage = template.Must(template.New("chooser").Parse(`<!doctype html>
<meta charset="utf-8">
<title>Log in</title>
<h1>Log in with</h1>
<ul>
{{range .}}<li><a href="{{.URL}}">{{.Label}}</a></li>
{{end}}</ul>
`))

// choose answers a login that names no provider when there are several:
// a page of links, one per provider, that keep return_to.
func (a *Auth) choose(w http.ResponseWriter, returnTo string) {
	type link struct{ URL, Label string }
	links := make([]link, 0, len(a.providers))
	for _, p := range a.providers {
		q := url.Values{"provider": {p.name}}
		if returnTo != a.cfg.DefaultReturnTo {
			q.Set("return_to", returnTo)
		}
		links = append(links, link{a.cfg.LoginPath + "?" + q.Encode(), p.label})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	chooserPage.Execute(w, links)
}
