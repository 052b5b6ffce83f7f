package session

import "encoding/binary"

// encodeWithIssuerRef encodes a version 5 session whose ID token packs to
// packed and whose issuer is a reference of n bytes at off into it.
func encodeWithIssuerRef(packed []byte, off, n int) []byte {
	b := []byte{sessionVersion}
	b = binary.AppendUvarint(b, uint64(len(packed)))
	b = append(b, packed...)
	b = append(b, 0, 0, 0) // access and refresh tokens, ID
	b = binary.AppendUvarint(b, uint64(off)+1)
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, 0, 0, 0, 0) // subject and sid, as empty strings
	b = append(b, 0, 0, 0, 0) // four times
	return append(b, 0)       // no claims
}
