package session

import (
	"net/http"
	"strconv"
	"strings"
)

// maxChunk is the most of a value one cookie carries. Browsers allow about
// 4096 bytes for name, value and attributes together (RFC 6265 section 6.1);
// this leaves room for the rest.
const maxChunk = 3800

// maxChunks bounds how many cookies one value may span.
const maxChunks = 8

// cookieValue returns the value of the cookie name in r, scanning the Cookie
// headers in place: unlike r.Cookie it neither allocates nor validates every
// byte of every cookie, which on a 3 KB session cookie is half of the
// per-request cost. The value is checked by the codec, which rejects anything
// it did not seal.
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := strings.TrimRight(part[len(name)+1:], " \t")
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

// cookiesWithPrefix calls fn with the name and value of each of r's cookies
// whose name starts with prefix, in one pass over the Cookie headers, until
// fn returns false.
func cookiesWithPrefix(r *http.Request, prefix string, fn func(name, value string) bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if ok && strings.HasPrefix(name, prefix) && !fn(name, strings.TrimRight(value, " \t")) {
				return
			}
		}
	}
}

// readChunked returns the value stored under name, joining chunks: a value
// too long for one cookie is stored as "N.chunk0" in name and the rest in
// name.1 ... name.N-1 ("." never occurs in the codecs' base64url or
// base64 output). present reports whether the cookie name exists; complete,
// whether its chunks are all there.
func readChunked(r *http.Request, name string) (value string, present, complete bool) {
	v, ok := cookieValue(r, name)
	if !ok {
		return "", false, false
	}
	count, first, chunked := strings.Cut(v, ".")
	if !chunked {
		return v, true, true
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 2 || n > maxChunks {
		return "", true, false
	}
	var b strings.Builder
	b.Grow(n * maxChunk)
	b.WriteString(first)
	for i := 1; i < n; i++ {
		part, ok := cookieValue(r, name+"."+strconv.Itoa(i))
		if !ok {
			return "", true, false
		}
		b.WriteString(part)
	}
	return b.String(), true, true
}

// writeChunked sets value under name, in chunks when it is too long for one
// cookie, and deletes chunks of an earlier, longer value that r carries.
func writeChunked(w http.ResponseWriter, r *http.Request, tmpl http.Cookie, value string) (chunks int) {
	chunks = (len(value) + maxChunk - 1) / maxChunk
	name := tmpl.Name
	for i := range chunks {
		c := tmpl
		c.Value = value[i*maxChunk : min(len(value), (i+1)*maxChunk)]
		if i == 0 && chunks > 1 {
			c.Value = strconv.Itoa(chunks) + "." + c.Value
		}
		if i > 0 {
			c.Name = name + "." + strconv.Itoa(i)
		}
		setCookie(w, &c)
	}
	deleteChunks(w, r, tmpl, max(chunks, 1))
	return chunks
}

// deleteChunks deletes the chunk cookies name.from, name.from+1, ... that r
// carries: at most one per chunk a value can have, however many cookies the
// request names so.
func deleteChunks(w http.ResponseWriter, r *http.Request, tmpl http.Cookie, from int) {
	var seen [maxChunks]bool
	cookiesWithPrefix(r, tmpl.Name+".", func(n, _ string) bool {
		i, err := strconv.Atoi(n[len(tmpl.Name)+1:])
		if err == nil && i >= from && i < maxChunks && !seen[i] {
			seen[i] = true
			c := tmpl
			c.Name = n
			expire(w, c)
		}
		return true
	})
}

// expire tells the browser to drop the cookie c names.
func expire(w http.ResponseWriter, c http.Cookie) {
	c.Value = ""
	c.MaxAge = -1
	setCookie(w, &c)
}

// setCookie adds a Set-Cookie header for c, with the attributes the Manager
// uses: Path, Max-Age (no Expires: every browser in use honours Max-Age),
// HttpOnly, Secure, SameSite. The Manager sets only cookies whose names it
// validated and whose values its codecs wrote (base64 text), so the byte-wise
// sanitizing of http.SetCookie, a fifth of the login redirect's cost, is
// not needed.
func setCookie(w http.ResponseWriter, c *http.Cookie) {
	var b strings.Builder
	b.Grow(len(c.Name) + len(c.Value) + 72)
	b.WriteString(c.Name)
	b.WriteByte('=')
	b.WriteString(c.Value)
	b.WriteString("; Path=")
	b.WriteString(c.Path)
	switch {
	case c.MaxAge > 0:
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.Itoa(c.MaxAge))
	case c.MaxAge < 0:
		b.WriteString("; Max-Age=0")
	}
	if c.HttpOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	}
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], b.String())
}

// validCookieName reports whether name is an RFC 6265 cookie name (an RFC
// 7230 token), so that no configured name can break the header.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
