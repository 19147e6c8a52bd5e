package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// MaxJSONDepth bounds how deeply objects and arrays may nest in a request
// body. The deepest Breachline message is a few levels; the rest of the
// budget is for free-form SIEM payloads in a signal's raw field.
const MaxJSONDepth = 64

// opaqueFields are JSON fields whose value is a free-form document the
// services keep as inert text, never as query or update keys: a signal's
// raw SIEM payload (google.protobuf.Struct) is stored by intake as JSON
// text in raw_json. Their keys are exempt from the operator-key check (a
// Splunk payload may well contain "$" or "." keys); depth still applies.
var opaqueFields = map[string]bool{"raw": true}

// isRawBodyRoute reports whether the route hands the body to the service
// verbatim (IngestSiemPayload: a SIEM's own JSON, which intake quarantines
// when it cannot map it, so it must arrive even when it is not JSON).
func isRawBodyRoute(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/siem/") && strings.HasSuffix(r.URL.Path, ":ingest")
}

// inputError is a request body the gateway refuses before decoding: the
// JSON path at fault and why.
type inputError struct {
	Field, Reason string
}

func (e *inputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// CheckJSON is the gateway's pre-decoder check of a JSON request body, for
// what protojson would accept but the services must never see: invalid
// UTF-8 (encoding/json and some stores silently replace it), nesting deeper
// than MaxJSONDepth, and object keys that start with "$" or contain "."
// (MongoDB operators and field paths: {"$where": …}, {"content": {"a.b":
// …}}) anywhere but inside opaqueFields. Proto JSON names never start with
// "$" or contain "."; a map key that did would become a document key or an
// update path in a store. Syntax errors are left to protojson, which
// rejects them with its own message.
func CheckJSON(body []byte) error {
	if !utf8.Valid(body) {
		return &inputError{Reason: "the request body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkJSON(dec, 0, "", false)
	var ie *inputError
	if errors.As(err, &ie) {
		return ie
	}
	return nil // not JSON, or not well-formed: protojson reports it
}

func walkJSON(dec *json.Decoder, depth int, path string, opaque bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok || (delim != '{' && delim != '[') {
		return nil
	}
	if depth+1 > MaxJSONDepth {
		return &inputError{Field: path, Reason: fmt.Sprintf("nests deeper than %d levels", MaxJSONDepth)}
	}
	for i := 0; dec.More(); i++ {
		child := path + "[" + strconv.Itoa(i) + "]"
		childOpaque := opaque
		if delim == '{' {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			child = key
			if path != "" {
				child = path + "." + key
			}
			if !opaque && (strings.HasPrefix(key, "$") || strings.Contains(key, ".")) {
				field := path
				if field == "" {
					field = key
				}
				return &inputError{Field: field, Reason: fmt.Sprintf(
					"object key %q is not allowed: keys starting with \"$\" or containing \".\" are query operators or field paths, never field names", key)}
			}
			childOpaque = opaque || opaqueFields[key]
		}
		if err := walkJSON(dec, depth+1, child, childOpaque); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// limitBody bounds every request body to n bytes (413 past it) and runs
// CheckJSON on the bodies grpc-gateway will decode (400 with a
// google.rpc.BadRequest field violation naming the JSON path). Bodies are
// read whole: at most n bytes, and grpc-gateway reads them whole anyway.
// The CSV import route never gets here (it streams with its own limit);
// the SIEM raw route gets the size limit only.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge := func() {
			writeStatus(w, http.StatusRequestEntityTooLarge, withDetails(codes.InvalidArgument,
				fmt.Sprintf("request body exceeds %d bytes", n), "BODY_TOO_LARGE",
				map[string]string{"max_body_bytes": strconv.FormatInt(n, 10)}))
		}
		if r.ContentLength > n {
			tooLarge()
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, n+1))
		_ = r.Body.Close()
		switch {
		case err != nil:
			writeStatus(w, http.StatusBadRequest, withDetails(codes.InvalidArgument, "could not read the request body", "BODY_UNREADABLE", nil))
			return
		case int64(len(body)) > n:
			tooLarge()
			return
		}
		if !isRawBodyRoute(r) {
			var ie *inputError
			if errors.As(CheckJSON(body), &ie) {
				writeStatus(w, http.StatusBadRequest, withDetails(codes.InvalidArgument, "invalid request body: "+ie.Error(), "INVALID_JSON", nil,
					&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: ie.Field, Description: ie.Reason}}}))
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
