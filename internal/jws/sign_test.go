package jws

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// TestECDSAFromDER turns DER signatures into R||S: short values are padded to
// the curve's size, anything else is refused.
func TestECDSAFromDER(t *testing.T) {
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big1 := big.NewInt(1)
	full := new(big.Int).Lsh(big1, 255) // 32 bytes, top bit set: DER adds a zero byte
	tooBig := new(big.Int).Lsh(big1, 256)
	got, err := ECDSAFromDER(der(big.NewInt(0x0102), full), 32)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(make([]byte, 30), 1, 2), full.FillBytes(make([]byte, 32))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for name, sig := range map[string][]byte{
		"R too big":     der(tooBig, big1),
		"S negative":    der(big1, big.NewInt(-1)),
		"R zero":        der(new(big.Int), big1),
		"trailing data": append(der(big1, big1), 0),
		"not DER":       []byte("r||s"),
	} {
		if _, err := ECDSAFromDER(sig, 32); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
