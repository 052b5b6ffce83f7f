package client_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"

	jose "github.com/go-jose/go-jose/v4"
)

func discoveryParse(body []byte) (*rsa.PublicKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(*rsa.PublicKey); ok {
			return pub, nil
		}
	}
	return nil, errors.New("no RSA key")
}
