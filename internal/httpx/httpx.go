// Package httpx holds the HTTP plumbing shared by the packages that talk to a
// provider: bounded reads, status classification and the redirects a call may
// follow (see Policy).
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// MaxBody bounds what is read from a provider's response: discovery documents,
// key sets, userinfo and token responses are a few kilobytes; a provider that
// sends more is misbehaving, and we will not buffer it.
const MaxBody = 1 << 20

// DefaultTimeout bounds one call to the provider when the caller's client has
// no timeout of its own.
const DefaultTimeout = 30 * time.Second

// DefaultClient is used when a configuration leaves its HTTPClient nil. Unlike
// http.DefaultClient it has a timeout, so a provider that hangs cannot hold a
// request or a background refresh forever.
var DefaultClient = &http.Client{Timeout: DefaultTimeout}

// Client returns c, or DefaultClient when c is nil.
func Client(c *http.Client) *http.Client {
	if c == nil {
		return DefaultClient
	}
	return c
}

// StatusError is a non-2xx answer.
type StatusError struct {
	StatusCode int
	Body       []byte // at most a few hundred bytes of the body, for logs
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http status %d", e.StatusCode)
}

// ErrTooLarge is returned for a body over MaxBody.
var ErrTooLarge = errors.New("response body too large")

// Do sends req with c under the zero Policy (redirects followed only on the
// origin of req) and returns the body of a 2xx response, read up to MaxBody.
// A non-2xx status yields a *StatusError, a refused redirect an error
// matching ErrRedirect.
func Do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	return Policy{}.Do(c, req)
}

// Send sends req with c under the zero Policy and returns the body, read up
// to MaxBody, whatever the status: for protocols whose error answers are
// documents to read in full (RFC 6749 section 5.2), which StatusError
// truncates.
func Send(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	return Policy{}.Send(c, req)
}

// Get fetches url with an Accept header under the zero Policy.
func Get(ctx context.Context, c *http.Client, url, accept string) (*http.Response, []byte, error) {
	return Policy{}.Get(ctx, c, url, accept)
}

// Do is Do under p.
func (p Policy) Do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, body, err := p.Send(c, req)
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, nil, &StatusError{StatusCode: resp.StatusCode, Body: body[:min(len(body), 512)]}
	}
	return resp, body, nil
}

// Send is Send under p.
func (p Policy) Send(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := p.Client(c).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return resp, nil, err
	}
	if len(body) > MaxBody {
		return resp, nil, ErrTooLarge
	}
	return resp, body, nil
}

// Get is Get under p.
func (p Policy) Get(ctx context.Context, c *http.Client, url, accept string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	return p.Do(c, req)
}

// MediaType returns the media type of resp's Content-Type, lowercased and
// without parameters; "" when absent or malformed.
func MediaType(resp *http.Response) string {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}
