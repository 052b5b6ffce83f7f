package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// discardLog silences net/http's server log (a closed connection, a bad
// request line): nothing a user of a CLI should see.
var discardLog = log.New(io.Discard, "", 0)

// ErrNoBrowser: no browser could be started.
var ErrNoBrowser = errors.New("native: cannot open a browser")

// OpenSystemBrowser opens url in the user's browser: the command in the
// BROWSER environment variable when set (the URL its last argument), else
// xdg-open (Linux and BSDs), open (macOS) or rundll32's URL handler
// (Windows). It waits up to 10 seconds for the command, which hands the URL
// to the browser and returns, and fails with ErrNoBrowser when it cannot
// start or fails.
func OpenSystemBrowser(ctx context.Context, url string) error {
	var name string
	var args []string
	if b := strings.Fields(os.Getenv("BROWSER")); len(b) > 0 {
		name, args = b[0], b[1:]
	} else {
		switch runtime.GOOS {
		case "darwin":
			name = "open"
		case "windows":
			name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
		default:
			name = "xdg-open"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(args, url)...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoBrowser, name, err)
	}
	return nil
}
