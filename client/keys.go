package client

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// PrivateKey is a private key read by ParsePrivateKey, for
// Config.PrivateKey. It is a crypto.Signer, and it redacts itself: String,
// GoString, LogValue and MarshalJSON name the key's type and its key ID
// (public values), never the private part. The zero PrivateKey is not
// usable.
type PrivateKey struct {
	signer crypto.Signer
	kind   string // "RSA 2048", "ECDSA P-256", "Ed25519"
	id     string // the RFC 7638 thumbprint
}

// Public returns the public key: an *rsa.PublicKey, an *ecdsa.PublicKey or
// an ed25519.PublicKey.
func (k PrivateKey) Public() crypto.PublicKey { return k.signer.Public() }

// Sign signs digest as crypto.Signer says.
func (k PrivateKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.signer.Sign(rand, digest, opts)
}

// String describes the key without revealing it.
func (k PrivateKey) String() string {
	return fmt.Sprintf("client.PrivateKey{%s thumbprint:%s private:[redacted]}", k.kind, k.id)
}

// GoString is String, so that %#v redacts too.
func (k PrivateKey) GoString() string { return k.String() }

// LogValue describes the key in structured logs without revealing it.
func (k PrivateKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", k.kind), slog.String("thumbprint", k.id), slog.String("private", "[redacted]"))
}

// MarshalJSON describes the key without revealing it.
func (k PrivateKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"type"`
		Thumbprint string `json:"thumbprint"`
		Private    string `json:"private"`
	}{k.kind, k.id, "[redacted]"})
}

// ParsePrivateKey reads one PEM-encoded private key for private_key_jwt:
// PKCS#8 ("PRIVATE KEY": RSA, ECDSA or Ed25519), PKCS#1 ("RSA PRIVATE KEY")
// or SEC1 ("EC PRIVATE KEY"). The key must be usable for client assertions:
// RSA of at least 2048 bits, ECDSA on P-256 or P-384, or Ed25519. Every
// failure matches ErrInvalidKey, and one of ErrKeyNotPEM (no PEM block, or
// more than one), ErrKeyEncrypted, ErrKeyMalformed (the block does not
// parse) or ErrKeyUnsupported (a public key or certificate, another key
// type, curve or size).
func ParsePrivateKey(data []byte) (*PrivateKey, error) {
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: no PEM block found", ErrKeyNotPEM)
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, fmt.Errorf("%w: more than the one PEM block of the key (put the key in a file of its own)", ErrKeyNotPEM)
	case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
		return nil, fmt.Errorf("%w: decrypt it first (openssl pkey -in key.pem -out plain.pem)", ErrKeyEncrypted)
	}
	var (
		key    any
		err    error
		format string
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		format = "PKCS#8"
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		format = "PKCS#1"
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
		format = "SEC1"
	case "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("%w: an OpenSSH key; convert it to PKCS#8 (ssh-keygen -p -m PKCS8 -f key)", ErrKeyUnsupported)
	default:
		return nil, fmt.Errorf("%w: a PEM block of type %q holds no private key this package reads (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY)", ErrKeyUnsupported, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the %s block is not a %s key (%v)", ErrKeyMalformed, block.Type, format, err)
	}
	var signer crypto.Signer
	switch k := key.(type) {
	case *rsa.PrivateKey:
		signer = k
	case *ecdsa.PrivateKey:
		signer = k
	case ed25519.PrivateKey:
		signer = k
	case *ecdh.PrivateKey:
		return nil, fmt.Errorf("%w: an X25519 or ECDH key cannot sign", ErrKeyUnsupported)
	default:
		return nil, fmt.Errorf("%w: a %T", ErrKeyUnsupported, key)
	}
	kind, err := checkKey(signer.Public())
	if err != nil {
		return nil, err
	}
	id, err := thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{signer: signer, kind: kind, id: id}, nil
}

// checkKey reports whether pub is a key this package signs client
// assertions with, and names it.
func checkKey(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 {
			return "", fmt.Errorf("%w: an RSA key of %d bits; at least 2048 are required", ErrKeyUnsupported, bits)
		}
		return fmt.Sprintf("RSA %d", k.N.BitLen()), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384():
			return "ECDSA " + k.Curve.Params().Name, nil
		}
		return "", fmt.Errorf("%w: an ECDSA key on %s; P-256 or P-384 are supported", ErrKeyUnsupported, k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: an Ed25519 key of %d bytes", ErrKeyUnsupported, len(k))
		}
		return "Ed25519", nil
	default:
		return "", fmt.Errorf("%w: a %T; RSA, ECDSA (P-256, P-384) and Ed25519 keys are supported", ErrKeyUnsupported, pub)
	}
}

// thumbprint is pub's RFC 7638 JWK thumbprint, SHA-256, base64url.
func thumbprint(pub crypto.PublicKey) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %v", ErrKeyUnsupported, err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// PublicJWKS returns the JSON Web Key Set (RFC 7517 section 5) of key's
// public half, "use":"sig", with keyID as its "kid" (if empty, the RFC 7638
// thumbprint, as Config.PrivateKeyID defaults to): what a provider that
// verifies private_key_jwt assertions needs, registered as the client's
// "jwks" or served at its "jwks_uri". It fails with ErrInvalidKey for a key
// that Config.PrivateKey would refuse. PublicJWKSet publishes several keys,
// to rotate them.
func PublicJWKS(key crypto.Signer, keyID string) ([]byte, error) {
	return PublicJWKSet(SigningKey{Key: key, ID: keyID})
}

// SigningKey is one of a client's signing keys, for PublicJWKSet: the key
// and the ID it is published and sent under (if empty, its RFC 7638
// thumbprint, as Config.PrivateKeyID defaults to).
type SigningKey struct {
	Key crypto.Signer
	ID  string
}

// PublicJWKSet returns the JSON Web Key Set of keys' public halves, in
// their order, as PublicJWKS does for one. It serves a key rotation at
// the client's "jwks_uri": publish the next key next to the current one,
// wait until the provider has fetched the set again (its cache of
// jwks_uri), switch Config.PrivateKey and Config.PrivateKeyID to the next
// key, and drop the old key once no assertion signed with it can still be
// in flight (they live a minute). It fails with
// ErrInvalidKey for no key, for a key Config.PrivateKey would refuse, and
// for two keys under one ID (a provider could not tell which verifies).
func PublicJWKSet(keys ...SigningKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrKeyUnsupported)
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k.Key == nil {
			return nil, fmt.Errorf("%w: no key", ErrKeyUnsupported)
		}
		pub := k.Key.Public()
		if _, err := checkKey(pub); err != nil {
			return nil, err
		}
		id := k.ID
		if id == "" {
			var err error
			if id, err = thumbprint(pub); err != nil {
				return nil, err
			}
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: two keys with the key ID %q", ErrInvalidKey, id)
		}
		seen[id] = true
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: id, Use: "sig"})
	}
	return json.Marshal(set)
}
