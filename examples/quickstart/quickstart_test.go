package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStart checks that the README's quick start is this
// package's main body, which the test build has just compiled.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Quick start")
	_, after, ok2 := strings.Cut(after, "```go\n")
	snippet, _, ok3 := strings.Cut(after, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no quick start code block")
	}
	_, body, ok := strings.Cut(string(src), "// README quick start begins.\n")
	body, _, ok2 = strings.Cut(body, "\t// README quick start ends.")
	if !ok || !ok2 {
		t.Fatal("main.go lacks the quick start markers")
	}
	var code strings.Builder
	for line := range strings.Lines(body) {
		code.WriteString(strings.TrimPrefix(line, "\t"))
	}
	if got, want := strings.TrimSpace(snippet), strings.TrimSpace(code.String()); got != want {
		t.Fatalf("README quick start differs from examples/quickstart/main.go:\n--- README\n%s\n--- main.go\n%s", got, want)
	}
}
