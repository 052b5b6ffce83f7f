module github.com/oidcrp/oidcrp/interop

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/oidcrp/oidcrp v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.62.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)

replace github.com/oidcrp/oidcrp => ../
