package jws

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// TestASN1Signature compares the DER built on the stack with
// encoding/asn1's, for each curve's size, including values with leading
// zeros and high bits, and r and s small enough for P-521's sequence to
// take the short length form.
func TestASN1Signature(t *testing.T) {
	for _, size := range []int{32, 48, 66} {
		for _, tt := range []struct{ r, s []byte }{
			{bytes.Repeat([]byte{0xff}, size), bytes.Repeat([]byte{0x7f}, size)},
			{append([]byte{0, 0, 0x80}, bytes.Repeat([]byte{1}, size-3)...), append(make([]byte, size-1), 1)},
			{append(make([]byte, size-20), bytes.Repeat([]byte{0x90}, 20)...), append(make([]byte, size-size/2), bytes.Repeat([]byte{0x10}, size/2)...)},
			{make([]byte, size), make([]byte, size)},
		} {
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(tt.r), new(big.Int).SetBytes(tt.s)})
			if err != nil {
				t.Fatal(err)
			}
			var buf [2*66 + 9]byte
			if got := asn1Signature(buf[:], append(tt.r, tt.s...)); !bytes.Equal(got, want) {
				t.Errorf("size %d, r %x, s %x:\n got %x\nwant %x", size, tt.r, tt.s, got, want)
			}
		}
	}
}
