package server

import (
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
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

// marshaler is the one marshaler of every route: protojson that rejects
// unknown fields, with the raw-body passthrough.
func marshaler() runtime.Marshaler {
	return rawBodyJSON{&runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
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

// Marshal implements runtime.Marshaler. A response whose REST body is a
// bytes field (response_body: "content", as dispatch's GetArtifact does) is
// written verbatim: the download is the file, not a base64 JSON string.
func (m rawBodyJSON) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return m.JSONPb.Marshal(v)
}

// ContentType implements runtime.Marshaler: a file download carries the
// file's own media type. (grpc-gateway passes the response wrapped in a
// response_body struct that embeds it, hence the method-set match.)
func (m rawBodyJSON) ContentType(v any) string {
	if a, ok := v.(interface{ GetArtifact() *dispatchv1.Artifact }); ok && a.GetArtifact().GetContentType() != "" {
		return a.GetArtifact().GetContentType()
	}
	return m.JSONPb.ContentType(v)
}
