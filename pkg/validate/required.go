// Package validate checks requests against what their protos declare. Today
// that is google.api.field_behavior = REQUIRED; semantic rules (formats,
// ranges) live in each service's domain package, which knows the meaning.
package validate

import (
	"fmt"
	"strings"
	"sync"

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
	for _, r := range rulesOf(m.Descriptor()) {
		switch {
		case r.required && !m.Has(r.fd):
			v.Add(prefix+string(r.fd.Name()), "is required")
		case !r.descend || !recurse || !m.Has(r.fd):
		case r.fd.IsList():
			path := prefix + string(r.fd.Name())
			list := m.Get(r.fd).List()
			for j := range list.Len() {
				required(list.Get(j).Message(), fmt.Sprintf("%s[%d].", path, j), true, v)
			}
		default:
			required(m.Get(r.fd).Message(), prefix+string(r.fd.Name())+".", true, v)
		}
	}
}

// fieldRule is what Required checks of one field.
type fieldRule struct {
	fd protoreflect.FieldDescriptor
	// required: marked REQUIRED.
	required bool
	// descend: a message (or list of messages) of this project whose own
	// fields are checked when set.
	descend bool
}

// rules caches, per message descriptor, the fields Required looks at: the
// field options are read once per message type, not on every request (the
// check runs on every call, some of them hot read paths).
var rules sync.Map // protoreflect.MessageDescriptor → []fieldRule

func rulesOf(md protoreflect.MessageDescriptor) []fieldRule {
	if r, ok := rules.Load(md); ok {
		return r.([]fieldRule) // only rulesOf stores, always a []fieldRule
	}
	var out []fieldRule
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		r := fieldRule{
			fd:       fd,
			required: isRequired(fd),
			descend:  fd.Kind() == protoreflect.MessageKind && !fd.IsMap() && isOurs(fd.Message()),
		}
		if r.required || r.descend {
			out = append(out, r)
		}
	}
	rules.Store(md, out)
	return out
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
