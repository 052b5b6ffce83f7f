package jws

import (
	"fmt"

	"github.com/oidcrp/oidcrp/internal/jsonx"
)

// headerNames are the members decode reads, by index: the names encoding/json
// matched to Header's fields and to crit and b64 before (exactly, else under
// case folding), so that the same headers are accepted.
var headerNames = []string{"alg", "kid", "typ", "jwk", "crit", "b64"}

// decode reads a protected header: alg, kid and typ (strings, sharing b's
// memory), jwk (the raw value). A header that is not a JSON object, has no
// alg, has crit or b64 (with any value), or has one of these members twice
// (which JSON parsers resolve differently) is ErrMalformed.
func (h *Header) decode(b []byte) error {
	var seen uint8
	obj := jsonx.NewObject(b)
	for {
		name, v, ok := obj.Next()
		if !ok {
			break
		}
		i := jsonx.Match(name, headerNames)
		if i < 0 {
			continue
		}
		if seen&(1<<i) != 0 {
			return fmt.Errorf("%w: header: %q twice", ErrMalformed, name)
		}
		seen |= 1 << i
		var err error
		switch i {
		case 0:
			h.Alg, err = jsonx.String(v)
		case 1:
			h.Kid, err = jsonx.String(v)
		case 2:
			h.Typ, err = jsonx.String(v)
		case 3:
			h.JWK = v
		default:
			return fmt.Errorf("%w: header has %s", ErrMalformed, name)
		}
		if err != nil {
			return fmt.Errorf("%w: header: %s: %v", ErrMalformed, name, err)
		}
	}
	if err := obj.Err(); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg == "" {
		return fmt.Errorf("%w: header lacks alg", ErrMalformed)
	}
	return nil
}
