package jws

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
)

// Sign returns the compact JWS of payload (a JSON object) under header (a
// JSON object naming alg) signed by signer with alg: RS256/384/512,
// PS256/384/512, ES256/384 (the signature turned from crypto.Signer's DER
// into R‖S) or EdDSA (also named Ed25519). It is for the few JWTs a relying party makes: client
// assertions, Sign in with Apple's client secret.
func Sign(signer crypto.Signer, alg string, header, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	input := make([]byte, 0, enc.EncodedLen(len(header))+1+enc.EncodedLen(len(payload)))
	input = enc.AppendEncode(input, header)
	input = append(input, '.')
	input = enc.AppendEncode(input, payload)
	sig, err := SignInput(signer, alg, input)
	if err != nil {
		return "", err
	}
	return string(enc.AppendEncode(append(input, '.'), sig)), nil
}

// SignInput signs a JWS signing input (header.payload) with signer under
// alg, as Sign does.
func SignInput(signer crypto.Signer, alg string, input []byte) ([]byte, error) {
	if alg == "EdDSA" || alg == "Ed25519" { // RFC 8037, and its fully specified name (RFC 9864)
		return signer.Sign(rand.Reader, input, crypto.Hash(0)) // Ed25519 signs the message itself
	}
	hash, ok := hashes[alg[min(2, len(alg)):]]
	if !ok || len(alg) != 5 {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	h := hash.New()
	h.Write(input)
	digest := h.Sum(nil)
	switch alg[:2] {
	case "RS":
		return signer.Sign(rand.Reader, digest, hash)
	case "PS":
		return signer.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash})
	case "ES":
		der, err := signer.Sign(rand.Reader, digest, hash)
		if err != nil {
			return nil, err
		}
		return ECDSAFromDER(der, hash.Size())
	}
	return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
}

// ECDSAFromDER turns an ASN.1 DER ECDSA signature, as crypto.Signer returns
// it, into the JWS form: R and S, each size bytes, big-endian (RFC 7518
// section 3.4). For ES256 and ES384 the size is the hash's.
func ECDSAFromDER(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	switch {
	case err != nil:
		return nil, fmt.Errorf("ECDSA signature: %v", err)
	case len(rest) > 0:
		return nil, fmt.Errorf("ECDSA signature: trailing data")
	case rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size:
		return nil, fmt.Errorf("ECDSA signature: R or S out of range")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
