// Package auth is the authentication hook of the interceptor chain. It turns
// incoming credentials into an Identity that handlers and the timeline use.
// Real verifiers (OIDC JWTs, client tokens, mTLS) plug in behind
// Authenticator; the foundation ships the explicitly-unsafe development one.
package auth

import (
	"context"
	"regexp"

	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/apperr"
)

// Identity is who is calling.
type Identity struct {
	// Subject is the stable id of the person or machine.
	Subject string
	// Roles the subject holds.
	Roles []string
}

// Authenticator verifies the credentials in incoming metadata.
type Authenticator interface {
	// Authenticate returns the caller's identity, or an error wrapping
	// apperr.ErrUnauthenticated when the credentials are missing or invalid.
	Authenticate(ctx context.Context, md metadata.MD) (Identity, error)
}

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity stored in ctx by the auth interceptor.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// DevSubjectHeader names the metadata key the development authenticator
// takes the caller's name from.
const DevSubjectHeader = "x-breachline-dev-subject"

var subjectRE = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,128}$`)

// Dev trusts whoever calls, naming them from the x-breachline-dev-subject
// header (or "dev-anonymous"). It exists for `make run` and tests only: it
// verifies nothing and must never face a network.
type Dev struct{}

// Authenticate implements Authenticator.
func (Dev) Authenticate(_ context.Context, md metadata.MD) (Identity, error) {
	subject := "dev-anonymous"
	if vals := md.Get(DevSubjectHeader); len(vals) > 0 {
		if !subjectRE.MatchString(vals[0]) {
			return Identity{}, apperr.ErrUnauthenticated
		}
		subject = vals[0]
	}
	return Identity{Subject: subject, Roles: []string{"dev"}}, nil
}
