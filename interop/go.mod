module github.com/oidcrp/oidcrp/interop

go 1.26.0

require (
	github.com/oidcrp/oidcrp v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.62.0
)

require (
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)

replace github.com/oidcrp/oidcrp => ../
