package main

import (
	"context"
	"net/http/httptest"
	"testing"
)

// BenchmarkRoutes serves both routes in process, without the network: the
// guard's share of the handler's own cost, which scripts/macrobench sets
// against a whole request's.
func BenchmarkRoutes(b *testing.B) {
	s, err := start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	for _, path := range []string{"/plain/me", "/me"} {
		b.Run(path, func(b *testing.B) {
			r := httptest.NewRequest("GET", "http://x"+path, nil)
			r.Header.Set("Cookie", s.cookie)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.handler.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
