package session

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/wire"
)

var (
	// ErrNoFlow: no login attempt is pending for the state of a callback:
	// none was started in this browser, or it timed out, or the state was
	// forged.
	ErrNoFlow = events.NewError(events.ReasonState, "session: no pending login for this state")

	// ErrFlowUsed: the login attempt was completed already; its callback is
	// being replayed.
	ErrFlowUsed = events.NewError(events.ReasonReplay, "session: login attempt already used")
)

// flowKeyLen is how much of the state names a flow cookie: 96 bits.
const flowKeyLen = 16

// FlowKind says what a pending flow is for, so that the state of one kind
// of flow cannot complete another.
type FlowKind byte

const (
	// LoginFlow is a login attempt: its data is a marshaled client.Flow.
	LoginFlow FlowKind = 1
	// LogoutFlow is an RP-initiated logout, whose state the provider
	// echoes to the post-logout page.
	LogoutFlow FlowKind = 2
)

// flowVersion is the first byte of a flow record: version 2 carries the
// kind; version 1 records (written before it, and usable for FlowTimeout)
// are logins, or logouts when their data is the 'L' the middleware wrote.
const flowVersion = 2

// flowName is the cookie name for state, or "" when state cannot be one of
// ours (too short, or not base64url).
func (m *Manager) flowName(state string) string {
	if len(state) < flowKeyLen {
		return ""
	}
	for i := range flowKeyLen {
		c := state[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return m.cfg.FlowCookieName + "_" + state[:flowKeyLen]
}

// SaveFlow keeps data, the state of one flow of kind (for a login, a
// marshaled client.Flow), in a short-lived cookie of its own named after
// state, so that logins started in several tabs do not overwrite each other. If the
// browser already holds MaxFlows pending attempts, the oldest are dropped.
func (m *Manager) SaveFlow(w http.ResponseWriter, r *http.Request, kind FlowKind, state string, data []byte) error {
	name := m.flowName(state)
	if name == "" {
		return fmt.Errorf("session: save flow: state must start with %d base64url characters", flowKeyLen)
	}
	now := m.cfg.Now()
	m.dropOldFlows(w, r)
	record := func(b []byte) []byte {
		b = append(b, flowVersion, byte(kind))
		b = wire.AppendVarint(b, now.UnixMilli())
		b = wire.AppendString(b, state)
		return wire.AppendBytes(b, data)
	}
	var value string
	var err error
	if m.codec != nil {
		value, err = m.codec.seal(name, record) // into the codec's buffer
	} else {
		value, err = m.encode(name, record(make([]byte, 0, 24+len(state)+len(data))))
	}
	if err != nil {
		return err
	}
	c := m.cookie(r, name)
	c.Value = value
	c.MaxAge = int(m.cfg.FlowTimeout / time.Second)
	setCookie(w, &c)
	return nil
}

// TakeFlow returns the data saved for state, a flow of kind, and deletes its
// cookie: each flow can be completed once. It fails with ErrNoFlow when
// there is no valid, unexpired flow of kind for state, and ErrFlowUsed when
// the flow was taken before (a replayed callback).
func (m *Manager) TakeFlow(w http.ResponseWriter, r *http.Request, kind FlowKind, state string) ([]byte, error) {
	name := m.flowName(state)
	if name == "" {
		return nil, ErrNoFlow
	}
	c := m.cookie(r, name)
	value, ok := cookieValue(r, c.Name)
	if !ok {
		return nil, ErrNoFlow
	}
	expire(w, c)
	savedKind, issued, savedState, data, err := m.openFlow(name, value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFlow, err)
	}
	if subtle.ConstantTimeCompare([]byte(savedState), []byte(state)) != 1 {
		return nil, ErrNoFlow
	}
	if savedKind != kind {
		return nil, fmt.Errorf("%w: a flow of another kind", ErrNoFlow)
	}
	expires := issued.Add(m.cfg.FlowTimeout)
	if m.cfg.Now().After(expires) {
		return nil, fmt.Errorf("%w: timed out", ErrNoFlow)
	}
	fresh, err := m.cfg.Replay.Use(r.Context(), "flow:"+state, expires)
	if err != nil {
		return nil, fmt.Errorf("%w: replay cache: %w", ErrStore, err)
	}
	if !fresh {
		return nil, ErrFlowUsed
	}
	return data, nil
}

// FlowPending reports whether r carries the cookie of a pending flow for
// state, without opening or taking it. The middleware's form_post callback
// asks it to tell a cross-site POST, which browsers send without the
// SameSite=Lax flow cookie, from one that has it.
func (m *Manager) FlowPending(r *http.Request, state string) bool {
	name := m.flowName(state)
	if name == "" {
		return false
	}
	_, ok := cookieValue(r, m.cookie(r, name).Name)
	return ok
}

func (m *Manager) openFlow(name, value string) (kind FlowKind, issued time.Time, state string, data []byte, err error) {
	var rec []byte
	if err := m.decode(name, value, &rec); err != nil {
		return 0, time.Time{}, "", nil, err
	}
	rd := wire.NewReader(rec)
	switch rd.Byte() {
	case 1:
	case flowVersion:
		kind = FlowKind(rd.Byte())
	default:
		return 0, time.Time{}, "", nil, ErrMalformed
	}
	issued = time.UnixMilli(rd.Varint())
	state = rd.String()
	data = rd.Bytes()
	if rd.Err() != nil || rd.Len() != 0 {
		return 0, time.Time{}, "", nil, ErrMalformed
	}
	if kind == 0 { // version 1
		kind = LoginFlow
		if len(data) == 1 && data[0] == 'L' {
			kind = LogoutFlow
		}
	}
	return kind, issued, state, data, nil
}

// dropOldFlows deletes the request's flow cookies that are invalid,
// expired or, past MaxFlows-1, the oldest, making room for one more. It
// looks at no more than 2*MaxFlows flow cookies (a browser holds at most
// MaxFlows of ours; more are junk sent on purpose), so that a request
// stuffed with thousands costs one pass over its Cookie header and a few
// deletions.
func (m *Manager) dropOldFlows(w http.ResponseWriter, r *http.Request) {
	type pending struct {
		name, value string
		issued      time.Time
	}
	prefix := m.cookie(r, m.cfg.FlowCookieName+"_").Name
	n := 0
	for _, line := range r.Header["Cookie"] {
		n += strings.Count(line, prefix) // at least the number of flow cookies
	}
	if n < m.cfg.MaxFlows {
		return // the usual case, without allocating
	}
	limit := 2 * m.cfg.MaxFlows
	flows := make([]pending, 0, limit)
	cookiesWithPrefix(r, prefix, func(name, value string) bool {
		flows = append(flows, pending{name: name, value: value})
		return len(flows) < limit
	})
	if len(flows) < m.cfg.MaxFlows {
		return
	}
	live := flows[:0]
	for _, f := range flows {
		_, issued, _, _, err := m.openFlow(strings.TrimPrefix(f.name, hostPrefix), f.value)
		if err != nil || m.cfg.Now().After(issued.Add(m.cfg.FlowTimeout)) {
			m.expireFlow(w, r, f.name)
			continue
		}
		f.issued = issued
		live = append(live, f)
	}
	slices.SortFunc(live, func(a, b pending) int { return a.issued.Compare(b.issued) })
	for len(live) >= m.cfg.MaxFlows {
		m.expireFlow(w, r, live[0].name)
		live = live[1:]
	}
}

func (m *Manager) expireFlow(w http.ResponseWriter, r *http.Request, cookieName string) {
	c := m.cookie(r, "")
	c.Name = cookieName
	expire(w, c)
}
