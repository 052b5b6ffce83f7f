package client_test

import (
	"crypto/rsa"
	"errors"

	"github.com/oidcrp/oidcrp/discovery"
)

func discoveryParse(body []byte) (*rsa.PublicKey, error) {
	keys, err := discovery.ParseKeySet(body)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if pub, ok := k.Key.(*rsa.PublicKey); ok {
			return pub, nil
		}
	}
	return nil, errors.New("no RSA key")
}
