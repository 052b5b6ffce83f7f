// Command gin guards routes of a gin engine with oidcrp: gin cannot take
// net/http middleware as it is, so a small adapter (adapter.go) runs
// Auth.Require; the handlers are wrapped with gin.WrapH.
package main

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oidcrp/oidcrp/examples/frameworks/internal/setup"
	"github.com/oidcrp/oidcrp/middleware"
)

func main() { setup.Main("gin", routes) }

// routes mounts the login handlers and the guarded routes.
func routes(auth *middleware.Auth, apiURL string) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/auth/login", gin.WrapH(auth.Login()))
	r.GET("/auth/callback", gin.WrapH(auth.Callback()))
	r.Any("/auth/logout", gin.WrapH(auth.Logout()))

	g := r.Group("", require(auth.Require))
	g.GET("/me", func(c *gin.Context) {
		ctx := c.Request.Context()
		var claims struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		middleware.Claims(ctx, &claims)
		c.JSON(http.StatusOK, gin.H{"sub": middleware.Subject(ctx), "name": claims.Name, "email": claims.Email})
	})
	g.GET("/api", func(c *gin.Context) {
		resp, err := auth.HTTPClient(c.Request).Get(apiURL)
		if err != nil {
			c.String(middleware.ErrorStatus(err), "the API could not be called")
			return
		}
		defer resp.Body.Close()
		c.DataFromReader(resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"), io.LimitReader(resp.Body, 1<<20), nil)
	})
	return r
}
