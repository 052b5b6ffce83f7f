package session_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

func ExampleManager() {
	key := make([]byte, session.KeySize)
	rand.Read(key) // in an app: session.ParseKeys(os.Getenv("SESSION_KEYS"))
	m, err := session.New(session.Config{
		Keys: [][]byte{key},
		Now:  func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }, // for a stable output
	})
	if err != nil {
		log.Fatal(err)
	}

	// At the login callback: a fresh session.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback", nil)
	s := &session.Session{Subject: "248289761001"}
	s.SetTokens(session.Tokens{IDToken: "eyJ...", AccessToken: "eyJ..."})
	if err := m.Create(w, r, s); err != nil {
		log.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		fmt.Println("set", c.Name, "Secure:", c.Secure, "HttpOnly:", c.HttpOnly)
	}

	// On a later request, the browser sends the cookie back.
	r = httptest.NewRequest(http.MethodGet, "https://app.example/account", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	s, err = m.Load(r)
	if err != nil {
		log.Fatal(err) // ErrNoSession, ErrInvalid, ErrExpired...
	}
	fmt.Println("subject:", s.Subject)
	fmt.Println("logged in at:", s.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Println("tokens hidden from logs:", !strings.Contains(fmt.Sprint(s), s.AccessToken()))
	// Output:
	// set __Host-oidcrp_session Secure: true HttpOnly: true
	// subject: 248289761001
	// logged in at: 2030-01-02T03:04:05Z
	// tokens hidden from logs: true
}

func ExampleManager_SaveFlow() {
	key := make([]byte, session.KeySize)
	rand.Read(key)
	m, err := session.New(session.Config{Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	state := "k3Xq8vT1bN0sWc2yLr5uGh7jPz9aEd4fMo6iQwYtRe8" // client.Flow.State

	// At the login redirect: keep the flow in a cookie of its own.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil)
	if err := m.SaveFlow(w, r, session.LoginFlow, state, []byte("marshaled client.Flow")); err != nil {
		log.Fatal(err)
	}
	cookies := w.Result().Cookies()
	fmt.Println("set", cookies[0].Name)

	// At the callback, the provider sends state back: take the flow once.
	callback := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback?state="+state, nil)
	for _, c := range cookies {
		callback.AddCookie(c)
	}
	w = httptest.NewRecorder()
	data, err := m.TakeFlow(w, callback, session.LoginFlow, callback.URL.Query().Get("state"))
	fmt.Printf("%s, %v\n", data, err)
	fmt.Println("cookie deleted:", w.Result().Cookies()[0].MaxAge < 0)

	// The same callback replayed is refused.
	_, err = m.TakeFlow(httptest.NewRecorder(), callback, session.LoginFlow, state)
	fmt.Println(err)
	// Output:
	// set __Host-oidcrp_flow_k3Xq8vT1bN0sWc2y
	// marshaled client.Flow, <nil>
	// cookie deleted: true
	// session: login attempt already used
}

func ExampleParseKeys() {
	keys, err := session.ParseKeys("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=, ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=")
	fmt.Println(len(keys), len(keys[0]), err)
	// Output: 2 32 <nil>
}
