package server

import (
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// rawBodyJSON is the gateway's JSON marshaler with one difference: a
// request whose body maps to a bytes field (body: "payload" on a bytes
// field, as IngestSiemPayload does) receives the HTTP body verbatim instead
// of a base64 JSON string. SIEM webhooks post their own JSON and cannot wrap
// it, and a payload that is not even valid JSON must still reach intake so
// it can be quarantined.
type rawBodyJSON struct {
	*runtime.JSONPb
}

// NewDecoder implements runtime.Marshaler.
func (m rawBodyJSON) NewDecoder(r io.Reader) runtime.Decoder {
	inner := m.JSONPb.NewDecoder(r)
	return runtime.DecoderFunc(func(v any) error {
		b, ok := v.(*[]byte)
		if !ok {
			return inner.Decode(v)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		*b = data
		return nil
	})
}
