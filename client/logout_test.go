package client_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestEndSessionURL(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	raw, err := rp.EndSessionURL("the-id-token", "http://127.0.0.1/bye", "xyz")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if u.Path != "/end_session" || q.Get("id_token_hint") != "the-id-token" ||
		q.Get("post_logout_redirect_uri") != "http://127.0.0.1/bye" || q.Get("state") != "xyz" ||
		q.Get("client_id") != oidctest.DefaultClient.ID {
		t.Fatalf("EndSessionURL = %s", raw)
	}
	// state without a redirect is meaningless and left out.
	raw, _ = rp.EndSessionURL("", "", "xyz")
	if u, _ := url.Parse(raw); u.Query().Has("state") || u.Query().Has("id_token_hint") {
		t.Fatalf("EndSessionURL = %s", raw)
	}

	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["end_session_endpoint"] = op.URL + "/end?x=1" }})
	rp.Provider().Refresh(testContext(t))
	if raw, _ := rp.EndSessionURL("", "", ""); raw != op.URL+"/end?x=1&client_id="+oidctest.DefaultClient.ID {
		t.Fatalf("endpoint with a query: %s", raw)
	}
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "end_session_endpoint") }})
	rp.Provider().Refresh(testContext(t))
	if _, err := rp.EndSessionURL("t", "", ""); !errors.Is(err, client.ErrNoEndpoint) {
		t.Fatalf("err = %v", err)
	}
}
