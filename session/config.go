package session

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// String describes the configuration without its keys: how many there are,
// never their bytes.
func (c Config) String() string {
	return fmt.Sprintf("session.Config{Keys:%s Codecs:%d Store:%v CookieName:%q Secure:%v AbsoluteTimeout:%v IdleTimeout:%v}",
		redactedKeys(c.Keys), len(c.Codecs), c.Store != nil, c.CookieName, c.Secure, c.AbsoluteTimeout, c.IdleTimeout)
}

// GoString is String, so that %#v redacts too.
func (c Config) GoString() string { return c.String() }

// LogValue describes the configuration in structured logs without its keys.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("keys", redactedKeys(c.Keys)),
		slog.Bool("store", c.Store != nil),
		slog.String("cookie_name", c.CookieName),
		slog.Bool("secure", c.Secure),
		slog.Duration("absolute_timeout", c.AbsoluteTimeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
	)
}

// MarshalJSON describes the configuration without its keys.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Keys            string `json:"keys"`
		Store           bool   `json:"store"`
		CookieName      string `json:"cookie_name"`
		Secure          bool   `json:"secure"`
		AbsoluteTimeout string `json:"absolute_timeout"`
		IdleTimeout     string `json:"idle_timeout"`
	}{redactedKeys(c.Keys), c.Store != nil, c.CookieName, c.Secure, c.AbsoluteTimeout.String(), c.IdleTimeout.String()})
}

func redactedKeys(keys [][]byte) string {
	return fmt.Sprintf("[%d redacted]", len(keys))
}
