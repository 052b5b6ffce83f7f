//go:build !unix

package native

import (
	"context"
	"io/fs"
)

// checkPrivate accepts any file: outside Unix, file modes do not say who
// may read a file (Windows keeps it in ACLs; the user's %AppData% is
// private by default).
func checkPrivate(string, fs.FileInfo) error { return nil }

func syncDir(string) {}

// lockFile does not lock outside Unix: two runs refreshing at once may
// lose a rotated login.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
