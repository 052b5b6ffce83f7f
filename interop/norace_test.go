//go:build !race

package interop_test

// raceEnabled: the tests run with the race detector, and so does the web
// app they build.
const raceEnabled = false
