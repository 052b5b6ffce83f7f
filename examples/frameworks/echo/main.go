// Command echo guards routes of an echo server with oidcrp:
// echo.WrapMiddleware adapts the middleware's net/http middleware
// (Auth.Require), and echo.WrapHandler its handlers.
package main

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oidcrp/oidcrp/examples/frameworks/internal/setup"
	"github.com/oidcrp/oidcrp/middleware"
)

func main() { setup.Main("echo", routes) }

// routes mounts the login handlers and the guarded routes.
func routes(auth *middleware.Auth, apiURL string) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.GET("/auth/login", echo.WrapHandler(auth.Login()))
	e.GET("/auth/callback", echo.WrapHandler(auth.Callback()))
	e.Any("/auth/logout", echo.WrapHandler(auth.Logout()))

	// WrapMiddleware hands the handler the request and response writer the
	// middleware passes on: the session in the context, and the writer
	// that writes a refreshed session before the first byte.
	g := e.Group("", echo.WrapMiddleware(auth.Require))
	g.GET("/me", func(c echo.Context) error {
		ctx := c.Request().Context()
		var claims struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		middleware.Claims(ctx, &claims)
		return c.JSON(http.StatusOK, map[string]string{"sub": middleware.Subject(ctx), "name": claims.Name, "email": claims.Email})
	})
	g.GET("/api", func(c echo.Context) error {
		resp, err := auth.HTTPClient(c.Request()).Get(apiURL)
		if err != nil {
			return echo.NewHTTPError(middleware.ErrorStatus(err), "the API could not be called")
		}
		defer resp.Body.Close()
		return c.Stream(resp.StatusCode, resp.Header.Get("Content-Type"), io.LimitReader(resp.Body, 1<<20))
	})
	return e
}
