package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// require adapts net/http middleware, such as oidcrp's Auth.Require, to
// gin: the handlers after it run with the request the middleware passes on
// (its context holds the session) and write through the writer it passes
// on (which writes a refreshed session's cookie before the first byte).
// When the middleware answers the request itself (a redirect to the
// login, a 401), the chain is aborted.
func require(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			orig := c.Writer
			c.Request = r
			c.Writer = &writer{ResponseWriter: orig, w: w}
			c.Next()
			c.Writer = orig
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// writer is gin's ResponseWriter (status, size) whose writes go through
// the middleware's writer, which then writes to gin's.
type writer struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (w *writer) WriteHeader(code int) { w.w.WriteHeader(code) }

func (w *writer) Write(b []byte) (int, error) { return w.w.Write(b) }

func (w *writer) WriteString(s string) (int, error) { return w.w.Write([]byte(s)) }

// WriteHeaderNow writes the header gin has pending, through the middleware.
func (w *writer) WriteHeaderNow() {
	if !w.Written() {
		w.w.WriteHeader(w.Status())
	}
}

func (w *writer) Flush() { http.NewResponseController(w.w).Flush() }

func (w *writer) Unwrap() http.ResponseWriter { return w.w }
