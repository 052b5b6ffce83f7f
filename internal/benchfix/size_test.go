package benchfix

import "testing"

func TestSizes(t *testing.T) {
	t.Logf("ID token %d bytes, access token %d bytes, refresh token %d bytes", len(IDToken), len(AccessToken), len(RefreshToken))
	if len(IDToken) < 850 || len(IDToken) > 1000 || len(AccessToken) < 950 || len(AccessToken) > 1100 {
		t.Fatal("reference tokens are not of the reference sizes")
	}
}
