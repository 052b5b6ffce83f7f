package client

import (
	"errors"
	"time"

	"github.com/oidcrp/oidcrp/internal/wire"
)

// flowVersion is the first byte of a marshaled Flow.
const flowVersion = 1

// ErrMalformedFlow is returned by Flow.UnmarshalBinary for input that is not
// a marshaled Flow.
var ErrMalformedFlow = errors.New("client: malformed flow state")

// MarshalBinary encodes f compactly (about 150 bytes).
func (f Flow) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, 160+len(f.ReturnTo)))
}

// AppendBinary appends the encoding of f to b.
func (f Flow) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, flowVersion)
	b = wire.AppendString(b, f.State)
	b = wire.AppendString(b, f.Nonce)
	b = wire.AppendString(b, f.Verifier)
	b = wire.AppendUvarint(b, uint64(f.MaxAge/time.Second))
	b = wire.AppendVarint(b, f.IssuedAt.UnixMilli())
	b = wire.AppendString(b, f.ReturnTo)
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (f *Flow) UnmarshalBinary(data []byte) error {
	r := wire.NewCopyingReader(data)
	if r.Byte() != flowVersion {
		return ErrMalformedFlow
	}
	g := Flow{
		State:    r.String(),
		Nonce:    r.String(),
		Verifier: r.String(),
		MaxAge:   time.Duration(min(r.Uvarint(), 1<<32)) * time.Second,
		IssuedAt: time.UnixMilli(r.Varint()),
		ReturnTo: r.String(),
	}
	if r.Err() != nil || r.Len() != 0 {
		return ErrMalformedFlow
	}
	*f = g
	return nil
}
