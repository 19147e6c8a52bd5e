// Package validate checks requests against what their protos declare. Today
// that is google.api.field_behavior = REQUIRED; semantic rules (formats,
// ranges) live in each service's domain package, which knows the meaning.
package validate

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/breachline/breachline/pkg/apperr"
)

// Required reports every field of msg, and of the messages set within it,
// that is marked REQUIRED but not set. For proto3 scalars "not set" means the
// zero value: an empty string, a zero number, false, or the *_UNSPECIFIED enum.
//
// Fields of a message are not checked when the request carries an
// update_mask (AIP-134): a partial update names what it changes, so the
// resource's own REQUIRED fields need not all be present.
func Required(msg proto.Message) error {
	var v apperr.Violations
	m := msg.ProtoReflect()
	required(m, "", m.Descriptor().Fields().ByName("update_mask") == nil, &v)
	return v.Err()
}

func required(m protoreflect.Message, prefix string, recurse bool, v *apperr.Violations) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		if isRequired(fd) && !m.Has(fd) {
			v.Add(path, "is required")
			continue
		}
		if !recurse || fd.Kind() != protoreflect.MessageKind || !m.Has(fd) || fd.IsMap() {
			continue
		}
		if !isOurs(fd.Message()) {
			continue
		}
		if fd.IsList() {
			list := m.Get(fd).List()
			for j := range list.Len() {
				required(list.Get(j).Message(), fmt.Sprintf("%s[%d].", path, j), true, v)
			}
			continue
		}
		required(m.Get(fd).Message(), path+".", true, v)
	}
}

// isOurs limits recursion to this project's messages: well-known types such as
// Struct carry no field behaviours and may be large.
func isOurs(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.ParentFile().Package()), "breachline.")
}

func isRequired(fd protoreflect.FieldDescriptor) bool {
	behaviors, ok := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	if !ok {
		return false
	}
	for _, b := range behaviors {
		if b == annotations.FieldBehavior_REQUIRED {
			return true
		}
	}
	return false
}
