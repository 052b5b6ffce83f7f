//go:build race

package middleware_test

// raceEnabled: the tests run with the race detector, which slows them
// several times over: timing checks are skipped.
const raceEnabled = true
