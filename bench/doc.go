// Package bench measures the library against the other Go options, side by
// side in one run: ID-token verification by this library, by golang-jwt/v5
// and by go-oidc, each against the same floor (parse once, check the
// signature, decode the claims once), for RS256, ES256 and EdDSA.
//
// It is a module of its own so that the library's go.mod does not carry
// golang-jwt, which only these benchmarks use. scripts/bench runs it with
// the library's benchmarks and checks the targets (internal/benchtable):
//
//	go test -run '^$' -bench . -benchmem ./bench
package bench
