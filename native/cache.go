package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/client"
)

// Errors of the cache.
var (
	// ErrNotLoggedIn: the cache holds no login (never logged in, logged
	// out, or the login ended at the provider).
	ErrNotLoggedIn = errors.New("native: not logged in")

	// ErrLoginExpired: the access token expired and there is no refresh
	// token to renew it, or the provider refused the refresh token
	// (invalid_grant, wrapped): log in again. Token deletes such a login.
	ErrLoginExpired = errors.New("native: login expired")

	// ErrCorruptCache: the cache file is not one this package wrote for
	// this issuer and client.
	ErrCorruptCache = errors.New("native: corrupt token cache")
)

// PermissionError is returned for a cache file or directory that others
// than its owner may read, or that another user owns: its tokens may have
// leaked, and it is not used. Fix the mode (chmod 600 the file, 700 the
// directory), or delete the file and log in again.
type PermissionError struct {
	Path string
	Mode fs.FileMode
	// Owner is set when the file belongs to another user (its uid).
	Owner int
}

func (e *PermissionError) Error() string {
	if e.Owner >= 0 {
		return fmt.Sprintf("native: %s belongs to user %d, not this one", e.Path, e.Owner)
	}
	return fmt.Sprintf("native: %s has mode %v: others may read it (want %v)", e.Path, e.Mode.Perm(), wantMode(e.Mode))
}

func wantMode(m fs.FileMode) fs.FileMode {
	if m.IsDir() {
		return 0o700
	}
	return 0o600
}

// CacheConfig names a login's cache file. Issuer and ClientID are
// required.
type CacheConfig struct {
	// Issuer and ClientID identify the login: one file per pair.
	Issuer   string
	ClientID string

	// Dir is the cache's directory. If empty, "oidcrp" in the user's
	// configuration directory (os.UserConfigDir: $XDG_CONFIG_HOME or
	// ~/.config on Linux, ~/Library/Application Support on macOS,
	// %AppData% on Windows). It is made 0700 when missing.
	Dir string

	// RefreshLeeway is how long before its expiry Token renews an access
	// token, never more than a quarter of its lifetime (the rule of
	// session.Config.RefreshLeeway). If zero, 30 seconds.
	RefreshLeeway time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Cache is the file that keeps one login. Its methods are safe for
// concurrent use; Token also locks the file against other processes (on
// Unix) while it refreshes, so that two runs of a CLI do not redeem one
// refresh token twice.
type Cache struct {
	path string
	cfg  CacheConfig
	mu   sync.Mutex // serializes Token's refreshes within the process
}

// maxCacheFile bounds what Load reads: a login is a few kilobytes.
const maxCacheFile = 256 << 10

// OpenCache returns the cache of cfg's login, making its directory (0700)
// when missing. It fails with ErrInvalidConfig, or a *PermissionError when
// the directory is open to others.
func OpenCache(cfg CacheConfig) (*Cache, error) {
	switch {
	case cfg.Issuer == "" || cfg.ClientID == "":
		return nil, fmt.Errorf("%w: Issuer and ClientID are required", ErrInvalidConfig)
	case cfg.RefreshLeeway < 0:
		return nil, fmt.Errorf("%w: negative RefreshLeeway", ErrInvalidConfig)
	case cfg.RefreshLeeway == 0:
		cfg.RefreshLeeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("%w: no user configuration directory: %v", ErrInvalidConfig, err)
		}
		cfg.Dir = filepath.Join(base, "oidcrp")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("native: token cache directory: %w", err)
	}
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("native: token cache directory: %w", err)
	}
	if err := checkPrivate(cfg.Dir, fi); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(cfg.Issuer + "\x00" + cfg.ClientID))
	return &Cache{path: filepath.Join(cfg.Dir, "tokens-"+hex.EncodeToString(sum[:12])+".json"), cfg: cfg}, nil
}

// Path returns the cache file's path.
func (c *Cache) Path() string { return c.path }

// Record is a login as the cache keeps it. Its String, GoString, LogValue
// and MarshalJSON methods redact the tokens.
type Record struct {
	Issuer       string
	ClientID     string
	Subject      string // the ID token's sub at login
	AccessToken  string
	TokenType    string
	RefreshToken string    // "" when none was issued
	IDToken      string    // the raw ID token, for id_token_hint; the latest issued
	Expiry       time.Time // of the access token; zero when unknown
	IssuedAt     time.Time // when the access token was received, for the leeway rule
	Scope        string
}

// NewRecord returns the record of a login or refresh by rp, received now.
// A refresh that issued no ID token keeps prev's, and prev's subject.
func NewRecord(rp *client.RP, tokens *client.Tokens, now time.Time, prev *Record) *Record {
	cfg := rp.Config()
	r := &Record{
		Issuer:       cfg.Issuer,
		ClientID:     cfg.ClientID,
		AccessToken:  tokens.AccessToken,
		TokenType:    tokens.TokenType,
		RefreshToken: tokens.RefreshToken,
		IDToken:      tokens.RawIDToken,
		Expiry:       tokens.Expiry,
		IssuedAt:     now,
		Scope:        tokens.Scope,
	}
	if tokens.IDToken != nil {
		r.Subject = tokens.IDToken.Subject
	}
	if prev != nil {
		if r.Subject == "" {
			r.Subject = prev.Subject
		}
		if r.IDToken == "" {
			r.IDToken = prev.IDToken
		}
	}
	return r
}

// String describes the record without its tokens.
func (r Record) String() string {
	return fmt.Sprintf("native.Record{Issuer:%q ClientID:%q Subject:%q Expiry:%s AccessToken:%s RefreshToken:%s IDToken:%s}",
		r.Issuer, r.ClientID, r.Subject, r.Expiry.Format(time.RFC3339), redacted(r.AccessToken), redacted(r.RefreshToken), redacted(r.IDToken))
}

// GoString is String, so that %#v redacts too.
func (r Record) GoString() string { return r.String() }

// LogValue describes the record in structured logs without its tokens.
func (r Record) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON describes the record without its tokens: the cache file has
// a format of its own.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Issuer, ClientID, Subject string
		Expiry                    time.Time
		AccessToken, RefreshToken string
	}{r.Issuer, r.ClientID, r.Subject, r.Expiry, redacted(r.AccessToken), redacted(r.RefreshToken)})
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// fileFormat is the cache file: version 1.
type fileFormat struct {
	Version      int       `json:"version"`
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	Subject      string    `json:"sub,omitempty"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	IssuedAt     time.Time `json:"issued_at"`
	Scope        string    `json:"scope,omitempty"`
}

// parseRecord reads a cache file's content, strictly.
func parseRecord(data []byte) (*Record, error) {
	var f fileFormat
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptCache, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrCorruptCache)
	}
	switch {
	case f.Version != 1:
		return nil, fmt.Errorf("%w: version %d", ErrCorruptCache, f.Version)
	case f.Issuer == "" || f.ClientID == "" || f.AccessToken == "" || f.TokenType == "":
		return nil, fmt.Errorf("%w: issuer, client_id, access_token or token_type missing", ErrCorruptCache)
	}
	return &Record{
		Issuer: f.Issuer, ClientID: f.ClientID, Subject: f.Subject,
		AccessToken: f.AccessToken, TokenType: f.TokenType, RefreshToken: f.RefreshToken, IDToken: f.IDToken,
		Expiry: f.Expiry, IssuedAt: f.IssuedAt, Scope: f.Scope,
	}, nil
}

// Load reads the login. It fails with ErrNotLoggedIn when there is none, a
// *PermissionError when the file is open to others or not the user's, and
// ErrCorruptCache when it is not a login of this issuer and client.
func (c *Cache) Load() (*Record, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotLoggedIn
	}
	if err != nil {
		return nil, fmt.Errorf("native: token cache: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("native: token cache: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorruptCache, c.path)
	}
	if err := checkPrivate(c.path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCacheFile+1))
	if err != nil {
		return nil, fmt.Errorf("native: token cache: %w", err)
	}
	if len(data) > maxCacheFile {
		return nil, fmt.Errorf("%w: over %d bytes", ErrCorruptCache, maxCacheFile)
	}
	r, err := parseRecord(data)
	if err != nil {
		return nil, err
	}
	if r.Issuer != c.cfg.Issuer || r.ClientID != c.cfg.ClientID {
		return nil, fmt.Errorf("%w: a login of %s at %s, not of %s at %s", ErrCorruptCache, r.ClientID, r.Issuer, c.cfg.ClientID, c.cfg.Issuer)
	}
	return r, nil
}

// Save replaces the login with r, atomically: it writes a temporary file
// (0600) in the cache's directory, syncs it to disk, renames it over the
// cache file and syncs the directory, so that a crash at any point leaves
// either the old login or the new one, whole.
func (c *Cache) Save(r *Record) error {
	if r.Issuer != c.cfg.Issuer || r.ClientID != c.cfg.ClientID {
		return fmt.Errorf("%w: record of %s at %s saved in the cache of %s at %s", ErrInvalidConfig, r.ClientID, r.Issuer, c.cfg.ClientID, c.cfg.Issuer)
	}
	data, err := json.MarshalIndent(fileFormat{
		Version: 1, Issuer: r.Issuer, ClientID: r.ClientID, Subject: r.Subject,
		AccessToken: r.AccessToken, TokenType: r.TokenType, RefreshToken: r.RefreshToken, IDToken: r.IDToken,
		Expiry: r.Expiry, IssuedAt: r.IssuedAt, Scope: r.Scope,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	return writeAtomic(c.path, append(data, '\n'))
}

// writeAtomic replaces path with data as Save says.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tokens-*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("native: token cache: %w", err)
	}
	syncDir(dir)
	return nil
}

// Delete removes the login; a missing one is not an error.
func (c *Cache) Delete() error {
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("native: token cache: %w", err)
	}
	syncDir(filepath.Dir(c.path))
	return nil
}

// Token returns the login with a valid access token: as cached while it is
// not due (see CacheConfig.RefreshLeeway), else renewed with rp.Refresh and
// saved, the rotated refresh token included, before it is returned. While
// the provider cannot be reached a token that has not yet expired is
// returned as is. It fails with ErrNotLoggedIn, ErrLoginExpired (the login
// is then deleted when the provider refused it), Load's errors, or the
// client package's refresh errors.
func (c *Cache) Token(ctx context.Context, rp *client.RP) (*Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.Load()
	if err != nil || !c.due(r) {
		return r, err
	}
	unlock, err := lockFile(ctx, c.path+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have refreshed while this one waited.
	if r, err = c.Load(); err != nil || !c.due(r) {
		return r, err
	}
	now := c.cfg.Now()
	expired := !r.Expiry.IsZero() && !now.Before(r.Expiry)
	if r.RefreshToken == "" {
		if expired {
			return nil, fmt.Errorf("%w: the access token expired at %s and there is no refresh token", ErrLoginExpired, r.Expiry.Format(time.RFC3339))
		}
		return r, nil
	}
	tokens, err := rp.Refresh(ctx, r.RefreshToken, r.IDToken)
	switch {
	case errors.Is(err, client.ErrInvalidGrant):
		c.Delete()
		return nil, fmt.Errorf("%w: %w", ErrLoginExpired, err)
	case err != nil && !expired && errors.Is(err, client.ErrProviderUnavailable):
		return r, nil // still valid for a while
	case err != nil:
		return nil, err
	}
	next := NewRecord(rp, tokens, c.cfg.Now(), r)
	if err := c.Save(next); err != nil {
		// The provider may have rotated the refresh token: the login is
		// lost unless this is fixed. Say so.
		return next, fmt.Errorf("native: the refreshed login could not be saved, log in again next time: %w", err)
	}
	return next, nil
}

// due reports whether r's access token should be renewed: the rule of
// session.Manager.RefreshDue.
func (c *Cache) due(r *Record) bool {
	if r.Expiry.IsZero() {
		return false
	}
	leeway := min(c.cfg.RefreshLeeway, r.Expiry.Sub(r.IssuedAt)/4)
	return !c.cfg.Now().Before(r.Expiry.Add(-leeway))
}
