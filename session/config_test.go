package session_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/session"
)

// TestConfigRedacts: however a Config is printed or logged, its keys do
// not appear.
func TestConfigRedacts(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	cfg := session.Config{Keys: [][]byte{key}, CookieName: "sid"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
	js, _ := json.Marshal(cfg)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprintf("%s", cfg), "json": string(js), "slog": logged.String(),
	} {
		for _, secret := range []string{string(key), base64.StdEncoding.EncodeToString(key), fmt.Sprint(key), "48 49 50"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows the key: %s", name, out)
			}
		}
		if !strings.Contains(out, "redacted") || !strings.Contains(out, "sid") {
			t.Errorf("%s: %s", name, out)
		}
	}
}
