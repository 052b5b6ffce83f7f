package client

import (
	"errors"
	"fmt"
	"net/url"
)

// ErrLogoutRequest: a front-channel logout request is malformed: its iss
// names another issuer, iss and sid do not come together, a parameter is
// repeated, or the sid is longer than 255 bytes or holds other than visible
// ASCII characters.
var ErrLogoutRequest = errors.New("client: malformed front-channel logout request")

// maxSIDLen bounds a sid read from an anonymous request. Providers' session
// IDs are a few dozen characters.
const maxSIDLen = 255

// FrontchannelLogout reads the query of a front-channel logout request
// (OpenID Connect Front-Channel Logout 1.0 section 2), which the provider
// has the browser load in an iframe: iss and sid together, or neither. The
// request carries no credentials (anyone can send it), so it is checked
// strictly: iss must be the provider's issuer, and sid at most 255 visible
// ASCII characters. It returns the sid, "" when the request names none.
func (rp *RP) FrontchannelLogout(query url.Values) (string, error) {
	iss, sid := query["iss"], query["sid"]
	switch {
	case len(iss) > 1 || len(sid) > 1:
		return "", fmt.Errorf("%w: repeated parameter", ErrLogoutRequest)
	case len(iss) != len(sid) || (len(iss) == 1 && (iss[0] == "") != (sid[0] == "")):
		return "", fmt.Errorf("%w: iss and sid go together", ErrLogoutRequest)
	case len(iss) == 0 || iss[0] == "":
		return "", nil
	case iss[0] != rp.cfg.Issuer && iss[0] != rp.provider.Metadata().Issuer:
		return "", fmt.Errorf("%w: iss names another issuer", ErrLogoutRequest)
	case !validSID(sid[0]):
		return "", fmt.Errorf("%w: sid of %d bytes, or not visible ASCII", ErrLogoutRequest, len(sid[0]))
	}
	return sid[0], nil
}

func validSID(sid string) bool {
	if len(sid) > maxSIDLen {
		return false
	}
	for i := 0; i < len(sid); i++ {
		if sid[i] < 0x21 || sid[i] > 0x7e {
			return false
		}
	}
	return true
}
