package main

import (
	"testing"

	"github.com/oidcrp/oidcrp/examples/frameworks/internal/setuptest"
)

// TestGuardedRoutes: log in through the guarded route, read the user, call
// the API as the user.
func TestGuardedRoutes(t *testing.T) { setuptest.Check(t, routes) }
