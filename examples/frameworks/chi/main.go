// Command chi guards routes of a chi router with oidcrp: chi takes the
// middleware's net/http middleware (Auth.Require) as it is.
package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/oidcrp/oidcrp/examples/frameworks/internal/setup"
	"github.com/oidcrp/oidcrp/middleware"
)

func main() { setup.Main("chi", routes) }

// routes mounts the login handlers and the guarded routes.
func routes(auth *middleware.Auth, apiURL string) http.Handler {
	r := chi.NewRouter()
	r.Method(http.MethodGet, "/auth/login", auth.Login())
	r.Method(http.MethodGet, "/auth/callback", auth.Callback())
	r.Handle("/auth/logout", auth.Logout())
	r.Group(func(r chi.Router) {
		r.Use(auth.Require) // func(http.Handler) http.Handler: chi's middleware type
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			var claims struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			}
			middleware.Claims(r.Context(), &claims)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"sub": middleware.Subject(r.Context()), "name": claims.Name, "email": claims.Email})
		})
		r.Get("/api", func(w http.ResponseWriter, r *http.Request) {
			// The user's access token, refreshed when due, goes to apiURL's
			// origin only.
			resp, err := auth.HTTPClient(r).Get(apiURL)
			if err != nil {
				http.Error(w, "the API could not be called", middleware.ErrorStatus(err))
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, io.LimitReader(resp.Body, 1<<20))
		})
	})
	return r
}
