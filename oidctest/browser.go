package oidctest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser is an HTTP client that behaves like a browser in login tests: it
// keeps cookies, and follows redirects one hop at a time, recording each, so
// a test can log in through an app and the provider and check every step.
type Browser struct {
	Jar    *cookiejar.Jar
	Client *http.Client // follows no redirects by itself
}

// NewBrowser returns a Browser with an empty cookie jar and a 10-second
// timeout per request.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{
		Jar: jar,
		Client: &http.Client{
			Jar:           jar,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Page is the final answer of a navigation, body read.
type Page struct {
	URL        *url.URL // where the answer came from
	StatusCode int
	Header     http.Header
	Body       []byte
	Hops       []string // every URL requested, in order, the last being URL
}

// String summarizes the page for test failures.
func (p *Page) String() string {
	return fmt.Sprintf("%d from %s after %d hops (%s): %.300s", p.StatusCode, p.URL, len(p.Hops), strings.Join(p.Hops, " -> "), p.Body)
}

// maxHops bounds a navigation, as browsers do.
const maxHops = 20

// Get navigates to rawURL, following redirects, and returns the last page.
func (b *Browser) Get(ctx context.Context, rawURL string, header ...string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	return b.Do(req, header...)
}

// PostForm submits form to rawURL, following redirects.
func (b *Browser) PostForm(ctx context.Context, rawURL string, form url.Values, header ...string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req, header...)
}

// Do sends req, with header given as name, value pairs, and follows
// redirects (turning 301/302/303 into GETs, as browsers do).
func (b *Browser) Do(req *http.Request, header ...string) (*Page, error) {
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	var hops []string
	for {
		hops = append(hops, req.URL.String())
		resp, err := b.Client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if form, ok := autoPostForm(req.URL, resp, body); ok {
			// A page that posts a form by script (form_post responses,
			// re-posts): submit it, as a browser would, from the page's
			// origin.
			if len(hops) >= maxHops {
				return nil, errors.New("oidctest: too many redirects")
			}
			nreq, err := http.NewRequestWithContext(req.Context(), http.MethodPost, form.action, strings.NewReader(form.values.Encode()))
			if err != nil {
				return nil, err
			}
			nreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			nreq.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
			req = nreq
			continue
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return &Page{URL: req.URL, StatusCode: resp.StatusCode, Header: resp.Header, Body: body, Hops: hops}, nil
		}
		if len(hops) >= maxHops {
			return nil, errors.New("oidctest: too many redirects")
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("oidctest: bad Location %q: %w", loc, err)
		}
		method, body2 := req.Method, req.GetBody
		if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
			method, body2 = http.MethodGet, nil
		}
		nreq, err := http.NewRequestWithContext(req.Context(), method, next.String(), nil)
		if err != nil {
			return nil, err
		}
		if body2 != nil {
			nreq.Body, _ = body2()
			nreq.GetBody = body2
		}
		for k, v := range req.Header {
			if k != "Cookie" && (method == req.Method || k != "Content-Type") {
				nreq.Header[k] = v
			}
		}
		req = nreq
	}
}

// Cookie returns the value of the cookie named name that the browser would
// send to rawURL, and whether it has one.
func (b *Browser) Cookie(rawURL, name string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// SetCookie stores a cookie for rawURL, as if a page had set it.
func (b *Browser) SetCookie(rawURL string, c *http.Cookie) {
	u, err := url.Parse(rawURL)
	if err == nil {
		b.Jar.SetCookies(u, []*http.Cookie{c})
	}
}

// postForm is a form a page posts by script.
type postForm struct {
	action string
	values url.Values
}

var (
	formTag     = regexp.MustCompile(`(?i)<form method="post" action="([^"]*)">`)
	hiddenInput = regexp.MustCompile(`(?i)<input type="hidden" name="([^"]*)" value="([^"]*)"\s*/?>`)
)

// autoPostForm recognizes the pages that post a form as soon as they load
// (a 200 HTML page, or 400 for an error response, with one form of method
// post and a script calling submit), such as a form_post authorization response, and returns the
// form with its hidden fields.
func autoPostForm(base *url.URL, resp *http.Response, body []byte) (postForm, bool) {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), ".submit()") {
		return postForm{}, false
	}
	m := formTag.FindSubmatch(body)
	if m == nil {
		return postForm{}, false
	}
	action, err := base.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return postForm{}, false
	}
	values := url.Values{}
	for _, in := range hiddenInput.FindAllSubmatch(body, -1) {
		values.Add(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return postForm{action: action.String(), values: values}, true
}
