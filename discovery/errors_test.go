package discovery

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	sentinels := []error{
		ErrIssuerMismatch, ErrInvalidMetadata, ErrFetch, ErrInvalidKeySet,
		ErrUnknownKey, ErrSignature, ErrInvalidConfig,
	}
	tests := []struct {
		name   string
		err    error
		is     error // the one sentinel err matches
		unwrap error // what errors.Unwrap gives
	}{
		{
			name: "IssuerMismatchError",
			err:  &IssuerMismatchError{Expected: "https://a.example.com", Got: "https://b.example.com"},
			is:   ErrIssuerMismatch,
		},
		{
			name: "MetadataError of a field",
			err:  &MetadataError{Field: "token_endpoint", Reason: "missing"},
			is:   ErrInvalidMetadata,
		},
		{
			name:   "MetadataError of the document",
			err:    &MetadataError{Reason: "not JSON", Err: io.ErrUnexpectedEOF},
			is:     ErrInvalidMetadata,
			unwrap: io.ErrUnexpectedEOF,
		},
		{
			name: "FetchError with a status",
			err:  &FetchError{URL: "https://op.example.com/jwks", StatusCode: 503},
			is:   ErrFetch,
		},
		{
			name:   "FetchError without a status",
			err:    &FetchError{URL: "https://op.example.com/jwks", Err: io.ErrUnexpectedEOF},
			is:     ErrFetch,
			unwrap: io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range sentinels {
				if got, want := errors.Is(tt.err, s), s == tt.is; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if got := errors.Unwrap(tt.err); got != tt.unwrap {
				t.Errorf("errors.Unwrap = %v, want %v", got, tt.unwrap)
			}
			if tt.unwrap != nil && !errors.Is(tt.err, tt.unwrap) {
				t.Errorf("errors.Is(err, %v) = false", tt.unwrap)
			}
			// The package's message convention (STYLE.md 11): lowercase,
			// with the package prefix. Not a test of the wording.
			if msg := tt.err.Error(); !strings.HasPrefix(msg, "discovery: ") {
				t.Errorf("Error() = %q, want the \"discovery: \" prefix", msg)
			}
		})
	}
}
