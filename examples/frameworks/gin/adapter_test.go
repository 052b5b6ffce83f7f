package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// lateCookie stands for Auth.Require after a refresh: it lets the request
// through with a writer that adds the new session cookie when the handler
// writes its header, the way the middleware saves a refreshed session.
func lateCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&cookieWriter{ResponseWriter: w}, r)
	})
}

type cookieWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *cookieWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Add("Set-Cookie", "session=refreshed")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// TestRequireWritesThroughTheMiddleware: whatever way a gin handler
// answers (JSON, a string, a status alone, a redirect), its first byte goes
// through the middleware's writer, so a refreshed session's cookie is in
// the response; and a request the middleware answers itself stops the
// chain.
func TestRequireWritesThroughTheMiddleware(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	g := r.Group("", require(lateCookie))
	g.GET("/json", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	g.GET("/string", func(c *gin.Context) { c.String(http.StatusTeapot, "short and stout") })
	g.GET("/status", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	g.GET("/redirect", func(c *gin.Context) { c.Redirect(http.StatusFound, "/elsewhere") })
	for path, want := range map[string]int{"/json": 200, "/string": 418, "/status": 204, "/redirect": 302} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want || rec.Header().Get("Set-Cookie") != "session=refreshed" {
			t.Errorf("%s: %d, Set-Cookie %q; want %d with the refreshed session's cookie", path, rec.Code, rec.Header().Get("Set-Cookie"), want)
		}
	}

	ran := false
	refusing := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "log in", http.StatusUnauthorized) })
	}
	r2 := gin.New()
	r2.GET("/me", require(refusing), func(c *gin.Context) { ran = true; c.String(http.StatusOK, "secret") })
	rec := httptest.NewRecorder()
	r2.ServeHTTP(rec, httptest.NewRequest("GET", "/me", nil))
	if rec.Code != http.StatusUnauthorized || ran {
		t.Errorf("refused request: %d, handler ran %v; want 401 and no handler", rec.Code, ran)
	}
}
