// Package auth is the authentication hook of the interceptor chain. It turns
// incoming credentials into an Identity that handlers and the timeline use.
//
// Two modes (Config, New): "oidc" verifies bearer tokens — people's OIDC
// JWTs against the issuer's JWKS (OIDC) and machines' per-client tokens
// (MachineTokens) — and "dev" trusts a header (Dev), for `make run` and
// tests only. Services call each other with their own machine token and
// name the person they act for in OnBehalfOfHeader.
package auth

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/apperr"
)

// Identity is who is calling.
type Identity struct {
	// Subject is the stable id of the person or machine.
	Subject string
	// Roles the subject holds.
	Roles []string
	// Customers are the customer ids the subject is assigned to; roles
	// scoped to customers (customer success) see only these.
	Customers []string
	// Machine is set for machine credentials (SIEMs, internal services).
	Machine bool
	// OnBehalfOf is the person an internal service is acting for, taken
	// from OnBehalfOfHeader and honoured only from services (IsService).
	OnBehalfOf string
}

// HasRole reports whether the identity holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// ServiceRolePrefix starts the roles of Breachline's own services, one per
// service ("service:intake", …; the permission table lists what each may
// call). Only their holders may name a person in OnBehalfOfHeader.
const ServiceRolePrefix = "service:"

// IsService reports whether the identity is one of Breachline's services.
func (id Identity) IsService() bool {
	return slices.ContainsFunc(id.Roles, func(r string) bool {
		return strings.HasPrefix(r, ServiceRolePrefix) && len(r) > len(ServiceRolePrefix)
	})
}

// OnBehalfOfHeader names the metadata key in which a service calling
// another names the person whose request it is serving, so the callee's
// timeline records the person.
const OnBehalfOfHeader = "x-breachline-on-behalf-of"

// onBehalfOf sets id.OnBehalfOf from md when id is a service.
func onBehalfOf(id Identity, md metadata.MD) (Identity, error) {
	vals := md.Get(OnBehalfOfHeader)
	if len(vals) == 0 || !id.IsService() {
		return id, nil
	}
	if !subjectRE.MatchString(vals[0]) {
		return Identity{}, fmt.Errorf("malformed %s: %w", OnBehalfOfHeader, apperr.ErrUnauthenticated)
	}
	id.OnBehalfOf = vals[0]
	return id, nil
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

// Development headers: the caller's name, roles (comma list) and assigned
// customers (comma list), trusted as sent by Dev.
const (
	DevSubjectHeader   = "x-breachline-dev-subject"
	DevRolesHeader     = "x-breachline-dev-roles"
	DevCustomersHeader = "x-breachline-dev-customers"
)

var subjectRE = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,128}$`)

// splitList splits a comma list of up to 64 names shaped like subjects.
func splitList(s string) ([]string, bool) {
	parts := strings.Split(s, ",")
	if len(parts) > 64 {
		return nil, false
	}
	for _, p := range parts {
		if !subjectRE.MatchString(p) {
			return nil, false
		}
	}
	return parts, true
}

// Dev trusts whoever calls. The subject comes from DevSubjectHeader (or
// "dev-anonymous"), the roles from DevRolesHeader (default "admin", or
// "service:<name>" for a subject "svc:<name>", as the services name
// themselves),
// the customers from DevCustomersHeader. It exists for `make run` and tests
// only: it verifies nothing and must never face a network (Config refuses
// dev mode on a non-loopback address).
type Dev struct{}

// Authenticate implements Authenticator.
func (Dev) Authenticate(_ context.Context, md metadata.MD) (Identity, error) {
	id := Identity{Subject: "dev-anonymous", Roles: []string{"admin"}}
	if vals := md.Get(DevSubjectHeader); len(vals) > 0 {
		if !subjectRE.MatchString(vals[0]) {
			return Identity{}, fmt.Errorf("malformed %s: %w", DevSubjectHeader, apperr.ErrUnauthenticated)
		}
		id.Subject = vals[0]
	}
	if name, ok := strings.CutPrefix(id.Subject, "svc:"); ok && name != "" {
		id.Roles, id.Machine = []string{ServiceRolePrefix + name}, true
	}
	for _, h := range []struct {
		key string
		dst *[]string
	}{{DevRolesHeader, &id.Roles}, {DevCustomersHeader, &id.Customers}} {
		if vals := md.Get(h.key); len(vals) > 0 {
			list, ok := splitList(vals[0])
			if !ok {
				return Identity{}, fmt.Errorf("malformed %s: %w", h.key, apperr.ErrUnauthenticated)
			}
			*h.dst = list
		}
	}
	return onBehalfOf(id, md)
}
