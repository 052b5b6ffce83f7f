package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/oidcrp/oidcrp/internal/wire"
)

// flowVersion is the first byte of a marshaled Flow; flowVersionDPoP that
// of a Flow with a DPoP key, which follows the fields of version 1.
const (
	flowVersion     = 1
	flowVersionDPoP = 2
)

// ErrMalformedFlow is returned by Flow.UnmarshalBinary for input that is not
// a marshaled Flow.
var ErrMalformedFlow = errors.New("client: malformed flow state")

// MarshalBinary encodes f compactly (about 150 bytes, 34 to 50 more with a
// DPoP key).
func (f Flow) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, 210+len(f.ReturnTo)))
}

// AppendBinary appends the encoding of f to b.
func (f Flow) AppendBinary(b []byte) ([]byte, error) {
	version := byte(flowVersion)
	if f.DPoPKey != nil {
		version = flowVersionDPoP
	}
	b = append(b, version)
	b = wire.AppendString(b, f.State)
	b = wire.AppendString(b, f.Nonce)
	b = wire.AppendString(b, f.Verifier)
	b = wire.AppendUvarint(b, uint64(f.MaxAge/time.Second))
	b = wire.AppendVarint(b, f.IssuedAt.UnixMilli())
	b = wire.AppendString(b, f.ReturnTo)
	if f.DPoPKey != nil {
		key, _ := f.DPoPKey.MarshalBinary()
		b = wire.AppendBytes(b, key)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (f *Flow) UnmarshalBinary(data []byte) error {
	r := wire.NewCopyingReader(data)
	version := r.Byte()
	if version != flowVersion && version != flowVersionDPoP {
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
	if version == flowVersionDPoP {
		key, err := ParseDPoPKey(r.Bytes())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformedFlow, err)
		}
		g.DPoPKey = key
	}
	if r.Err() != nil || r.Len() != 0 {
		return ErrMalformedFlow
	}
	*f = g
	return nil
}
