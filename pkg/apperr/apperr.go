// Package apperr holds the domain error vocabulary shared by every service.
// Domain code returns these (wrapped with short %w context); one boundary in
// pkg/grpcx maps them to gRPC status codes with error details, so handlers
// never build statuses themselves.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Wrap them with context: fmt.Errorf("incident %s: %w", id, apperr.ErrNotFound).
var (
	// ErrNotFound: the named resource does not exist (codes.NotFound).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource with that id exists (codes.AlreadyExists).
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a concurrent change won, e.g. a stale etag (codes.Aborted).
	ErrConflict = errors.New("conflict")
	// ErrFailedPrecondition: the resource is not in a state that allows the
	// operation (codes.FailedPrecondition).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: a dependency is down; the caller may retry (codes.Unavailable).
	ErrUnavailable = errors.New("unavailable")
	// ErrPermissionDenied: the caller may not do this (codes.PermissionDenied).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnauthenticated: the caller is not authenticated (codes.Unauthenticated).
	ErrUnauthenticated = errors.New("unauthenticated")
)

// FieldViolation says what is wrong with one request field. Field is the
// proto field path in snake_case, e.g. "signal.source_event_id".
type FieldViolation struct {
	Field       string
	Description string
}

// InvalidError is bad input: it carries every field violation found, so the
// caller can fix them all at once (codes.InvalidArgument with BadRequest).
type InvalidError struct {
	// Message, when set, leads the error text (e.g. where the rejected
	// input was kept); it must hold no personal data.
	Message    string
	Violations []FieldViolation
}

func (e *InvalidError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Description)
	}
	if e.Message != "" {
		return "invalid argument: " + e.Message + ": " + strings.Join(parts, "; ")
	}
	return "invalid argument: " + strings.Join(parts, "; ")
}

// Violations collects field violations; its zero value is ready to use.
type Violations []FieldViolation

// Add records a violation of field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Merge appends others, prefixing their fields with prefix (and a dot) when
// prefix is not empty.
func (v *Violations) Merge(prefix string, others Violations) {
	for _, o := range others {
		if prefix != "" {
			o.Field = prefix + "." + o.Field
		}
		*v = append(*v, o)
	}
}

// Err returns an *InvalidError when any violation was recorded, else nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &InvalidError{Violations: append([]FieldViolation(nil), v...)}
}

// Invalid returns an *InvalidError for a single field.
func Invalid(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}

// AsInvalid reports whether err is (or wraps) an *InvalidError and returns it.
func AsInvalid(err error) (*InvalidError, bool) {
	var ie *InvalidError
	ok := errors.As(err, &ie)
	return ie, ok
}
